"""Reads of the benchmark: what the database holds and what the pages are measured on."""
