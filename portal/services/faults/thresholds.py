"""The fault rules' thresholds of a site: its own (site_fault_settings) or the deployment's (settings)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal import settings
from portal.models import SiteFaultSettings


@dataclass(frozen=True)
class Thresholds:
    offline_heartbeats: int
    suspended_after_s: int
    recovery_after_s: int
    failed_starts: int
    failed_starts_window_s: int
    auto_soft_reset: bool


def defaults() -> Thresholds:
    return Thresholds(
        offline_heartbeats=int(settings.get("incident_offline_heartbeats")),
        suspended_after_s=int(settings.get("incident_suspended_after_s")),
        recovery_after_s=int(settings.get("incident_recovery_after_s")),
        failed_starts=int(settings.get("incident_failed_starts")),
        failed_starts_window_s=int(settings.get("incident_failed_starts_window_s")),
        auto_soft_reset=False,
    )


class SiteThresholds:
    """Thresholds per site id, read once per evaluation."""

    def __init__(self, session: Session) -> None:
        self.base = defaults()
        self.own = {row.site_id: row for row in session.query(SiteFaultSettings)}

    def of(self, site_id: int | None) -> Thresholds:
        row = self.own.get(site_id)
        if row is None:
            return self.base
        base = self.base
        return Thresholds(
            offline_heartbeats=row.offline_heartbeats or base.offline_heartbeats,
            suspended_after_s=row.suspended_after_s or base.suspended_after_s,
            recovery_after_s=row.recovery_after_s or base.recovery_after_s,
            failed_starts=row.failed_starts or base.failed_starts,
            failed_starts_window_s=base.failed_starts_window_s,
            auto_soft_reset=bool(row.auto_soft_reset),
        )
