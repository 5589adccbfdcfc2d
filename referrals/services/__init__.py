"""Writes for referrals: screening, the referral, the procedure and its follow-ups."""
