"""Smart charging within the building's fuse (issue 22). Step one: the static safe floor.

grid: line currents per grid (230 V IT, 400 V TN); floor: the floors (pure, deterministic); power: the site's
power, circuits and chargers in the database; profiles: the TxDefaultProfile sent to a charger."""
