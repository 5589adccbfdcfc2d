"""Writes of the accounts app: the access log and the two-factor devices."""
