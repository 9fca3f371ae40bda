"""Sales: quote requests (leads), charger orders, finding a cooperative, organisation numbers."""
