"""RQ job functions by area; each takes ids, opens its own session, commits once."""
