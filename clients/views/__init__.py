"""The client pages: the register, peer contacts and the IX documentation."""
