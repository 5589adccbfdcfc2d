"""The referral pages: screening, client input, groups, the procedure, sheet and worklist."""
