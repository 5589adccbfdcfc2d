"""The account pages: sign-in, two-factor, the role homes, the access log."""
