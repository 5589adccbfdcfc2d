"""Pure referral rules: clauses, screening, matching, the procedure, the schedule."""
