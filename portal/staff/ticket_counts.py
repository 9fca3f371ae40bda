"""The ticket part of /staff: counts per status and category, and the tickets where the customer answered
the signed-in assignee (the marker, gone once they open the ticket)."""
from __future__ import annotations

from flask_login import current_user

from portal.extensions import db_session
from portal.labels import TICKET_CATEGORY_LABELS
from portal.services.helpdesk.assignee import answered_for
from portal.services.staff import queue


def ticket_desk(site_id: int | None) -> dict:
    from portal.staff.tickets import status_labels

    return {"counts": queue.counts(db_session(), site_id), "answered": answered_for(db_session(), current_user),
            "labels": status_labels(), "categories": TICKET_CATEGORY_LABELS}
