"""The safe floor (issue 22, step one): a current for every smart charger such that all the site's chargers,
charging at once, stay within every line's and every circuit's limit with no help from the central system.

Rules (pure and deterministic; the same input gives the same floors):
- A charger we cannot limit (no smart charging, or it rejected its profile) counts at its maximum current.
- A smart charger's floor is 0 A or between 6 A (the least a car accepts, IEC 61851) and its own maximum.
- Floors are raised together, 1 A at a time (max-min fair): a charger stops rising when it reaches its own
  maximum or when one more ampere would overload a line of the site or of a circuit it sits behind.
- When 6 A for every smart charger is already too much, chargers marked as tolerating pauses get 0 A, one at
  a time (in id order, among those behind an overloaded limit) until the rest fit. If the limits still cannot
  be held, the plan does not hold: a configuration change is refused; at run time (a charger rejected its
  profile) `compute(force=True)` also pauses the other smart chargers behind the overloaded limit rather than
  go above it, and the board and staff are told the limit cannot be held.
Line currents per grid: portal.services.smart.grid."""
from __future__ import annotations

from dataclasses import dataclass, field

from portal.services.smart import grid as g

MIN_A = 6


@dataclass(frozen=True)
class Site:
    limit_a: int
    phases: int
    grid: str


@dataclass(frozen=True)
class Circuit:
    id: int
    limit_a: int
    parent_id: int | None = None


@dataclass(frozen=True)
class Charger:
    id: int
    phases: int
    connection: str
    max_a: int
    circuit_id: int | None = None
    smart: bool = True
    tolerates_pause: bool = False


@dataclass(frozen=True)
class Problem:
    code: str  # site_below_min, circuit_below_min, child_above_parent, circuit_loop, unknown_parent,
    #            charger_below_min, phases_missing, bad_lines, unknown_circuit, cannot_hold
    subject: int | None = None
    limit_a: int | None = None


@dataclass(frozen=True)
class Limit:
    circuit_id: int | None  # None: the site's own limit
    line: str
    limit_a: int
    members: frozenset[int]  # chargers whose current flows in this line behind this limit


@dataclass
class Plan:
    floors: dict[int, int] = field(default_factory=dict)  # smart chargers only
    counted: dict[int, int] = field(default_factory=dict)  # every charger: what it may draw
    paused: list[int] = field(default_factory=list)
    holds: bool = True
    loads: dict[tuple[int | None, str], int] = field(default_factory=dict)
    unlimited_a: dict[str, int] = field(default_factory=dict)  # per site line: taken by chargers we cannot limit

    @property
    def lowest_floor(self) -> int | None:
        running = [a for a in self.floors.values() if a > 0]
        return min(running) if running else None


def validate(site: Site, circuits: list[Circuit], chargers: list[Charger]) -> list[Problem]:
    """Limits that cannot work, each with its subject (circuit or charger id)."""
    problems: list[Problem] = []
    if site.limit_a < MIN_A:
        problems.append(Problem("site_below_min", None, site.limit_a))
    by_id = {c.id: c for c in circuits}
    for circuit in circuits:
        if circuit.limit_a < MIN_A:
            problems.append(Problem("circuit_below_min", circuit.id, circuit.limit_a))
        parent = by_id.get(circuit.parent_id) if circuit.parent_id is not None else None
        if circuit.parent_id is not None and parent is None:
            problems.append(Problem("unknown_parent", circuit.id))
        elif _loops(circuit, by_id):
            problems.append(Problem("circuit_loop", circuit.id))
        elif circuit.limit_a > (parent.limit_a if parent else site.limit_a):
            problems.append(Problem("child_above_parent", circuit.id, parent.limit_a if parent else site.limit_a))
    for charger in chargers:
        if charger.max_a < MIN_A:
            problems.append(Problem("charger_below_min", charger.id, charger.max_a))
        if charger.phases == 3 and site.phases != 3:
            problems.append(Problem("phases_missing", charger.id, site.phases))
        elif not g.valid_connection(site.grid, site.phases, charger.phases, charger.connection):
            problems.append(Problem("bad_lines", charger.id))
        if charger.circuit_id is not None and charger.circuit_id not in by_id:
            problems.append(Problem("unknown_circuit", charger.id))
    return problems


def _loops(circuit: Circuit, by_id: dict[int, Circuit]) -> bool:
    seen, current = {circuit.id}, circuit
    while current.parent_id is not None and current.parent_id in by_id:
        if current.parent_id in seen:
            return True
        seen.add(current.parent_id)
        current = by_id[current.parent_id]
    return False


def chain(circuit_id: int | None, by_id: dict[int, Circuit]) -> list[int]:
    """A circuit and every circuit above it (empty for a charger straight on the site)."""
    out: list[int] = []
    while circuit_id is not None and circuit_id in by_id and circuit_id not in out:
        out.append(circuit_id)
        circuit_id = by_id[circuit_id].parent_id
    return out


def limits(site: Site, circuits: list[Circuit], chargers: list[Charger]) -> list[Limit]:
    """Every (site or circuit, line) limit and the chargers loading it."""
    by_id = {c.id: c for c in circuits}
    lines = g.site_lines(site.grid, site.phases)
    behind: dict[int | None, set[int]] = {None: set(), **{c.id: set() for c in circuits}}
    loaded = {c.id: set(g.loaded_lines(site.grid, c.phases, c.connection)) for c in chargers}
    for charger in chargers:
        behind[None].add(charger.id)
        for cid in chain(charger.circuit_id, by_id):
            behind[cid].add(charger.id)
    out = []
    for cid, members in sorted(behind.items(), key=lambda kv: (kv[0] is not None, kv[0] or 0)):
        limit = site.limit_a if cid is None else by_id[cid].limit_a
        for line in lines:
            out.append(Limit(cid, line, limit, frozenset(m for m in members if line in loaded[m])))
    return out


def _load(limit: Limit, current: dict[int, int]) -> int:
    return sum(current[m] for m in limit.members)


def _over(all_limits: list[Limit], current: dict[int, int]) -> list[Limit]:
    return [lim for lim in all_limits if _load(lim, current) > lim.limit_a]


def compute(site: Site, circuits: list[Circuit], chargers: list[Charger], force: bool = False) -> Plan:
    """The floors (see the module docstring). Expects `validate` to have found nothing."""
    all_limits = limits(site, circuits, chargers)
    smart = sorted(c.id for c in chargers if c.smart)
    by_id = {c.id: c for c in chargers}
    current = {c.id: (MIN_A if c.smart else c.max_a) for c in chargers}
    plan = Plan()
    plan.paused = _pause(all_limits, current, by_id, force)
    plan.holds = not _over(all_limits, current)
    if plan.holds:
        _raise(all_limits, current, by_id, [i for i in smart if i not in plan.paused])
    plan.counted = dict(current)
    plan.floors = {i: current[i] for i in smart}
    plan.loads = {(lim.circuit_id, lim.line): _load(lim, current) for lim in all_limits}
    plan.unlimited_a = {line: sum(c.max_a for c in chargers if not c.smart
                                  and line in g.loaded_lines(site.grid, c.phases, c.connection))
                        for line in g.site_lines(site.grid, site.phases)}
    return plan


def _pause(all_limits: list[Limit], current: dict[int, int], by_id: dict[int, Charger], force: bool) -> list[int]:
    """0 A for smart chargers behind overloaded limits: those tolerating pauses first, the others only if forced."""
    paused: list[int] = []
    for allowed in ((lambda c: c.tolerates_pause), (lambda c: force)):
        while over := _over(all_limits, current):
            candidates = sorted({m for lim in over for m in lim.members
                                 if by_id[m].smart and current[m] > 0 and allowed(by_id[m])})
            if not candidates:
                break
            current[candidates[0]] = 0
            paused.append(candidates[0])
    return paused


def _raise(all_limits: list[Limit], current: dict[int, int], by_id: dict[int, Charger], rising: list[int]) -> None:
    """Raise the rising chargers together, 1 A at a time, freezing each at its maximum or at a full limit."""
    active = {i for i in rising if current[i] < by_id[i].max_a}
    while active:
        trial = dict(current)
        for i in active:
            trial[i] += 1
        while over := _over(all_limits, trial):
            stuck = {m for lim in over for m in lim.members if m in active}
            for i in stuck:
                trial[i] = current[i]
            active -= stuck
        current.update(trial)
        active = {i for i in active if current[i] < by_id[i].max_a}


def spread(site: Site, circuits: list[Circuit], chargers: list[Charger]) -> dict[int, str]:
    """A suggestion: each one-phase charger on the lines that keep the busiest line lowest (largest first)."""
    choices = g.line_choices(site.grid, site.phases)
    by_circuit = {c.id: c for c in circuits}
    placed = [c for c in chargers if c.phases == 3]
    out: dict[int, str] = {}
    for charger in sorted((c for c in chargers if c.phases == 1), key=lambda c: (-c.max_a, c.id)):
        best = None
        for choice in choices:
            trial = placed + [Charger(charger.id, 1, choice, charger.max_a, charger.circuit_id)]
            scope = set(chain(charger.circuit_id, by_circuit)) | {None}
            loads = [_load(lim, {c.id: c.max_a for c in trial})
                     for lim in limits(site, circuits, trial) if lim.circuit_id in scope]
            key = (sorted(loads, reverse=True), choices.index(choice))
            if best is None or key < best[0]:
                best = (key, choice)
        out[charger.id] = best[1]
        placed.append(Charger(charger.id, 1, best[1], charger.max_a, charger.circuit_id))
    return out
