"""Reads of the annotated referral list: querysets and plans, never a write."""
