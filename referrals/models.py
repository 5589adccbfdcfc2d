"""Screening, matching and the referral procedure (policy IV–VIII)."""
