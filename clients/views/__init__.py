"""The client pages: register, peer contacts, and the IX documentation (attendance, feedback, review, note)."""
