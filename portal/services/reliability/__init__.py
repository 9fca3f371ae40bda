"""Reliability of the chargers: uptime and first-time success (uptime.py, first_start.py, pure), the
record they are read from (record.py), maintenance windows and the monthly report to boards."""
