"""Reads of the accounts app: the access log, the staff, the second factor, partitions."""
