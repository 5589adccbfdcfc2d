"""The annotated referral list (policy VII.D). Its models arrive with the catalogue."""
