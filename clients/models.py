"""Clients, attendance, feedback and peer contacts (policy VIII.K, IX)."""
