"""Sites and boards: running a site (tariffs, groups, plans, invites, members, chargers), onboarding users, sites and chargers, and the audit trail of those changes."""
