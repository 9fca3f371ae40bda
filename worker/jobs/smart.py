"""The safe floor on the charger queue (issue 22, step one): read a charger's smart-charging capabilities
(from the fleet's after-boot job, in the same job so one call is in flight per charger) and install its floor
profile (portal.services.smart). A charger whose answer changes whether we can limit it changes everybody's
floor: the site's other chargers get theirs again."""
from __future__ import annotations

import logging

from portal.db import Database, utcnow
from portal.models import ChargePoint, ChargerPower
from portal.services.smart import power, profiles
from portal.services.smart import grid as g
from portal.services.smart import queueing

log = logging.getLogger(__name__)


def read_capabilities(db: Database, call, cp_id: int) -> None:
    """GetConfiguration of the four smart-charging keys; kept on the charger's power row."""
    from worker.jobs.fleet import reported
    values, _ = reported(call("GetConfiguration", {"key": profiles.CAPABILITY_KEYS}))
    with db.session() as session:
        cp = session.get(ChargePoint, cp_id)
        rows = dict(power.chargers_of(session, cp.site_id))
        row = rows[cp]
        for name, value in profiles.capabilities(values).items():
            setattr(row, name, value)
        row.capabilities_at = utcnow()
        session.commit()


def install_floor(cp_id: int, database_url: str | None = None, redis_url: str | None = None) -> str:
    """Send the charger its floor and record the answer; returns the answer (or why nothing was sent)."""
    from worker.jobs.fleet import Caller, Unreachable, _identity, _open
    db, redis = _open(database_url, redis_url)
    found = _identity(db, cp_id)
    if found is None:
        return "missing"
    with db.session() as session:
        cp = session.get(ChargePoint, cp_id)
        site_id, plan = cp.site_id, power.plan(session, cp.site_id, trying=cp_id)
        row = session.get(ChargerPower, cp_id) or dict(power.chargers_of(session, site_id))[cp]
        was_limited = power.can_limit(row)
        if plan is None:
            session.commit()
            return "no_power"
        if row.smart is False:
            _record(row, None, "", None, "NotSupported", "no SmartCharging in SupportedFeatureProfiles")
            session.commit()
            return "NotSupported"
        floor_a = plan.floors.get(cp_id, 0)
        site = power.model(session, site_id)[0]
        request = profiles.floor_profile(floor_a, row.rate_units, site.grid, row.phases)
        session.commit()
    call = Caller(redis, found[0])
    try:
        status, detail = call("SetChargingProfile", request).get("status", "Failed"), ""
    except Unreachable as exc:
        status, detail = "Failed", str(exc)[:200]
    schedule = request["csChargingProfiles"]["chargingSchedule"]
    with db.session() as session:
        row = session.get(ChargerPower, cp_id)
        _record(row, floor_a, schedule["chargingRateUnit"], schedule["chargingSchedulePeriod"][0]["limit"],
                status, detail)
        changed = power.can_limit(row) != was_limited
        session.commit()
        if changed and status != "Failed":
            log.info("%s: floor profile %s: the site's floors are computed again", found[0], status)
            queueing.for_site(session, redis, site_id, but=cp_id)
    log.info("%s: floor %s A (%s): %s", found[0], floor_a, g.PHASE_VOLTAGE, status)
    return status


def _record(row: ChargerPower, floor_a, unit: str, limit, status: str, detail: str) -> None:
    if status != "Failed":  # no answer: keep what the charger last said
        row.floor_a, row.profile_unit, row.profile_limit = floor_a, unit, limit
        row.profile_status = status
    row.profile_detail, row.profile_at = detail, utcnow()
    if status == "Failed":
        row.profile_detail = (detail or "no answer")[:200]


def after_boot(cp_id: int, database_url: str | None = None, redis_url: str | None = None) -> str:
    """From worker.jobs.fleet.after_boot (the same job, so one call at a time): capabilities, then the floor
    (a charger may forget its profiles on a reboot)."""
    from worker.jobs.fleet import Caller, Unreachable, _identity, _open
    db, redis = _open(database_url, redis_url)
    found = _identity(db, cp_id)
    if found is None:
        return "missing"
    call = Caller(redis, found[0])
    with db.session() as session:
        cp = session.get(ChargePoint, cp_id)
        if cp is None or power.power_of(session, cp.site_id) is None:
            return "no_power"
        before = power.can_limit(session.get(ChargerPower, cp_id) or ChargerPower(smart=None, profile_status=""))
    try:
        read_capabilities(db, call, cp_id)
    except Unreachable as exc:
        return f"unreachable: {exc}"
    with db.session() as session:
        if power.can_limit(session.get(ChargerPower, cp_id)) != before:  # everybody's floor changes
            queueing.for_site(session, redis, session.get(ChargePoint, cp_id).site_id, but=cp_id)
    return install_floor(cp_id, database_url, redis_url)
