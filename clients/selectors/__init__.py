"""Reads for clients: the register, peer contacts and the IX documentation."""
