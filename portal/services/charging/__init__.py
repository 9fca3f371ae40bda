"""Charging and sessions: who may start where, the requests a tap makes and their life, what a session measured and cost so far, favourites and finding chargers."""
