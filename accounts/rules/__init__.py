"""Pure rules of the accounts app: the access-log partitioning months and SQL."""
