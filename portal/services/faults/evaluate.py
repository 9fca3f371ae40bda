"""One pass of the fault rules (every minute, worker/jobs/faults.py): incidents opened, touched,
recovered and resolved, their tickets written, site outages told. Flushes, never commits; returns the
outbox ids (and charger action ids) to enqueue after the caller's commit."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from portal.services.faults import failed_starts, notices, outage, recovery, rules, steps, story
from portal.services.faults.thresholds import SiteThresholds


@dataclass
class Result:
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    outbox_ids: list[int] = field(default_factory=list)
    action_ids: list[int] = field(default_factory=list)


def evaluate(session: Session, now: datetime) -> Result:
    limits = SiteThresholds(session)
    found = rules.Evaluation()
    recovery.site_dark(session, now, found)
    rules.faulted(session, now, found)
    rules.held_back(session, now, limits, found)
    rules.offline(session, now, limits, found)
    failed_starts.failed_starts(session, now, limits, found)
    session.flush()
    recovery.recover(session, now, limits, found)
    result = Result()
    for incident in found.opened:
        story.open_ticket(session, incident)
        result.opened.append(incident.id)
        if incident.cause == "site_dark":
            result.outbox_ids += outage.began(session, incident, now)
        reset = steps.auto_soft_reset(session, incident, limits.of(incident.site_id).auto_soft_reset)
        if reset is not None:
            result.action_ids.append(reset.action_request_id)
    for incident in found.resolved:
        story.resolved(session, incident, now)
        result.resolved.append(incident.id)
        result.outbox_ids += notices.tell_followers(session, incident)
        if incident.cause == "site_dark":
            result.outbox_ids += outage.ended(session, incident, now)
    session.flush()
    return result
