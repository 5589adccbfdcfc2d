"""Writes of the scale tooling: the synthetic county data, its loader, the page runs."""
