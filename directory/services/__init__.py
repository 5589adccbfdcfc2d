"""Writes to the annotated referral list, each in one transaction with its history."""
