"""The help desk: support tickets and their photos, private links for visitors, and the FAQ."""
