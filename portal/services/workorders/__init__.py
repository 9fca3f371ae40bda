"""Work orders for technicians: the state machine (states.py, pure), the operations (orders.py), the
technician's private link and photos (visits.py)."""
