"""Running the fleet of chargers: files to and from chargers (firmware, diagnostics) and the signed URLs
chargers use for them."""
