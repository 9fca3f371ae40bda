"""The site's power, circuits and chargers in the database, checked by the pure floor module before any change
is kept. Flask-free; functions flush, never commit; the caller enqueues the floors after COMMIT (queueing).

A charger counts as one we can limit unless its capabilities say it has no SmartCharging or it answered its
profile with Rejected or NotSupported; a charger not read yet is planned as smart (it gets its profile after
its next boot, and is counted at its maximum from the moment it refuses)."""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, ChargerPower, PowerCircuit, SitePower
from portal.services.smart import floor as f
from portal.services.smart import grid as g

NOT_LIMITED = ("Rejected", "NotSupported")


class PowerRefused(ValueError):
    def __init__(self, problems: list[f.Problem]) -> None:
        super().__init__(", ".join(p.code for p in problems))
        self.problems = problems


def power_of(session: Session, site_id: int) -> SitePower | None:
    return session.get(SitePower, site_id)


def circuits_of(session: Session, site_id: int) -> list[PowerCircuit]:
    return list(session.scalars(select(PowerCircuit).where(PowerCircuit.site_id == site_id)
                                .order_by(PowerCircuit.id)))


def chargers_of(session: Session, site_id: int) -> list[tuple[ChargePoint, ChargerPower]]:
    """The site's chargers with their power rows (made with defaults when missing)."""
    out = []
    for cp in session.scalars(select(ChargePoint).where(ChargePoint.site_id == site_id).order_by(ChargePoint.id)):
        row = session.get(ChargerPower, cp.id)
        if row is None:
            row = ChargerPower(charge_point_id=cp.id, phases=3, lines="", max_current_a=16, tolerates_pause=False,
                               rate_units="", profile_unit="", profile_status="", profile_detail="")
            session.add(row)
        out.append((cp, row))
    return out


def can_limit(row: ChargerPower) -> bool:
    return row.smart is not False and row.profile_status not in NOT_LIMITED


def model(session: Session, site_id: int) -> tuple[f.Site, list[f.Circuit], list[f.Charger]] | None:
    """The site as the floor module sees it; None when no power is set for it."""
    power = power_of(session, site_id)
    if power is None:
        return None
    site = f.Site(power.max_current_a, power.phases, g.grid_of(power.voltage))
    circuits = [f.Circuit(c.id, c.max_current_a, c.parent_id) for c in circuits_of(session, site_id)]
    chargers = [f.Charger(cp.id, row.phases, row.lines if row.phases == 1 else "", row.max_current_a,
                          row.circuit_id, can_limit(row), row.tolerates_pause) for cp, row in chargers_of(session, site_id)]
    return site, circuits, chargers


def check(site: f.Site, circuits: list[f.Circuit], chargers: list[f.Charger]) -> list[f.Problem]:
    """What is wrong with a configuration: invalid limits, or limits the floors cannot hold."""
    problems = f.validate(site, circuits, chargers)
    if not problems and not f.compute(site, circuits, chargers).holds:
        problems.append(f.Problem("cannot_hold"))
    return problems


def plan(session: Session, site_id: int, trying: int | None = None) -> f.Plan | None:
    """The floors now (forced: never above a limit, even when a refusing charger makes the limit unholdable).

    `trying`: a charger about to be sent its profile again after it refused, planned as if it accepts (the
    others' floors, computed with it at its maximum, stay safe: its floor is below its maximum)."""
    found = model(session, site_id)
    if found is None or f.validate(*found):
        return None
    site, circuits, chargers = found
    if trying is not None and (row := session.get(ChargerPower, trying)) is not None and row.smart is not False:
        chargers = [replace(c, smart=True) if c.id == trying else c for c in chargers]
    return f.compute(site, circuits, chargers, force=True)


def _audit(session: Session, actor, site_id: int, entity: str, entity_id: int, action: str, before: dict,
           after: dict) -> None:
    from portal.services.sites import audit
    if audit.changed(before, after):
        audit.record(session, actor, site_id, entity, entity_id, action, before, after)


def fitted(row: ChargerPower, grid: str, phases: int) -> tuple[int, str]:
    """A charger's phases and lines on a site of this grid and phases: on a one-phase site every charger is
    one-phase on the only lines there are; a one-phase charger keeps its place when the grid changes
    (L1 <-> L1-L2, L2 <-> L2-L3, L3 <-> L3-L1)."""
    if phases == 1:
        return 1, g.line_choices(grid, 1)[0]
    if row.phases == 3:
        return 3, ""
    pairs = dict(zip(g.TN_CHOICES, g.IT_CHOICES))
    if grid == g.IT:
        return 1, pairs.get(row.lines, row.lines)
    return 1, {v: k for k, v in pairs.items()}.get(row.lines, row.lines)


def set_power(session: Session, site_id: int, max_a: int, phases: int, voltage: int, actor=None) -> SitePower:
    """Keep the site's power (in the site's change log), or raise PowerRefused (nothing changed). The
    chargers' phases and lines follow the site's (see `fitted`)."""
    if phases not in (1, 3) or voltage not in g.VOLTAGES:
        raise PowerRefused([f.Problem("bad_choice")])
    grid = g.grid_of(voltage)
    rows = chargers_of(session, site_id)
    fits = {cp.id: fitted(row, grid, phases) for cp, row in rows}
    circuits = [f.Circuit(c.id, c.max_current_a, c.parent_id) for c in circuits_of(session, site_id)]
    chargers = [f.Charger(cp.id, fits[cp.id][0], fits[cp.id][1], row.max_current_a, row.circuit_id, can_limit(row),
                          row.tolerates_pause) for cp, row in rows]
    problems = check(f.Site(max_a, phases, grid), circuits, chargers)
    if problems:
        raise PowerRefused(problems)
    for cp, row in rows:
        row.phases, row.lines = fits[cp.id]
    power = power_of(session, site_id) or SitePower(site_id=site_id)
    before = {"max_current_a": power.max_current_a, "phases": power.phases, "voltage": power.voltage} \
        if power.max_current_a else {}
    power.max_current_a, power.phases, power.voltage, power.updated_at = max_a, phases, voltage, utcnow()
    session.add(power)
    session.flush()
    _audit(session, actor, site_id, "site", site_id, "power", before,
           {"max_current_a": max_a, "phases": phases, "voltage": voltage})
    return power


def _must_hold(session: Session, site_id: int, site: f.Site | None, circuits: list[f.Circuit],
               chargers: list[f.Charger]) -> None:
    if site is None:
        if power_of(session, site_id) is None:
            raise PowerRefused([f.Problem("site_missing")])
        return
    problems = check(site, circuits, chargers)
    if problems:
        raise PowerRefused(problems)


def set_charger(session: Session, site_id: int, cp_id: int, phases: int, lines: str, max_a: int,
                circuit_id: int | None, tolerates_pause: bool, actor=None) -> ChargerPower:
    """Keep one charger's connection, or raise PowerRefused."""
    if phases not in (1, 3):
        raise PowerRefused([f.Problem("bad_choice")])
    site, circuits, chargers = model(session, site_id) or (None, [], [])
    if site is None:
        raise PowerRefused([f.Problem("site_missing")])
    chargers = [replace(c, phases=phases, connection=lines if phases == 1 else "", max_a=max_a, circuit_id=circuit_id,
                        tolerates_pause=tolerates_pause) if c.id == cp_id else c for c in chargers]
    _must_hold(session, site_id, site, circuits, chargers)
    row = session.get(ChargerPower, cp_id)
    fields = ("phases", "lines", "max_current_a", "circuit_id", "tolerates_pause")
    before = {k: getattr(row, k) for k in fields}
    row.phases, row.lines, row.max_current_a = phases, lines if phases == 1 else "", max_a
    row.circuit_id, row.tolerates_pause = circuit_id, tolerates_pause
    session.flush()
    _audit(session, actor, site_id, "charge_point", cp_id, "power", before, {k: getattr(row, k) for k in fields})
    return row


def add_circuit(session: Session, site_id: int, name: str, max_a: int, parent_id: int | None,
                actor=None) -> PowerCircuit:
    site, circuits, chargers = model(session, site_id) or (None, [], [])
    if site is None:
        raise PowerRefused([f.Problem("site_missing")])
    new_id = max([c.id for c in circuits] + [0]) + 10**6  # a stand-in id for the check
    _must_hold(session, site_id, site, circuits + [f.Circuit(new_id, max_a, parent_id)], chargers)
    circuit = PowerCircuit(site_id=site_id, name=name.strip()[:80] or f"{max_a} A", max_current_a=max_a,
                           parent_id=parent_id)
    session.add(circuit)
    session.flush()
    _audit(session, actor, site_id, "site", site_id, "power_circuit", {},
           {"circuit": circuit.name, "max_current_a": max_a, "parent_id": parent_id})
    return circuit


def spread_lines(session: Session, site_id: int, actor=None) -> dict[int, str]:
    """Put the one-phase chargers on the suggested lines (kept only if the floors still hold)."""
    site, circuits, chargers = model(session, site_id) or (None, [], [])
    if site is None:
        raise PowerRefused([f.Problem("site_missing")])
    suggestion = f.spread(site, circuits, chargers)
    moved = [replace(c, connection=suggestion[c.id]) if c.id in suggestion else c for c in chargers]
    _must_hold(session, site_id, site, circuits, moved)
    before = {}
    for cp_id, lines in suggestion.items():
        row = session.get(ChargerPower, cp_id)
        before[str(cp_id)], row.lines = row.lines, lines
    session.flush()
    _audit(session, actor, site_id, "site", site_id, "power_spread", before, {str(k): v for k, v in suggestion.items()})
    return suggestion
