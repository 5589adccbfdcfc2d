"""Reads for referrals: querysets with their joins, and the facts the rules work on."""
