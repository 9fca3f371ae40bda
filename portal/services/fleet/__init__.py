"""Running a fleet of chargers: the waiting list of refused chargers, claiming them to a site, and taking
over a cooperative's chargers, residents and tags from another operator."""
