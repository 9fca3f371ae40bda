"""Chargers that report their own faults: the record of statuses and connections (history), the rules
that find incidents in it (rules, incidents), the ticket and e-mails they make (story, outage), and the
remote steps offered on them (steps)."""
