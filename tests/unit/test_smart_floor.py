"""The safe floor (issue 22 step one): properties for any site, and hand-worked cases."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from portal.services.smart import floor as f
from portal.services.smart import grid as g


@st.composite
def sites(draw):
    grid = draw(st.sampled_from([g.IT, g.TN]))
    phases = draw(st.sampled_from([1, 3]))
    site = f.Site(draw(st.integers(6, 400)), phases, grid)
    circuits: list[f.Circuit] = []
    for cid in range(1, draw(st.integers(0, 4)) + 1):
        parent = draw(st.sampled_from([None, *[c.id for c in circuits]]))
        ceiling = site.limit_a if parent is None else circuits[parent - 1].limit_a
        circuits.append(f.Circuit(cid, draw(st.integers(6, ceiling)), parent))
    chargers = []
    for i in range(1, draw(st.integers(0, 25)) + 1):
        cp_phases = 1 if phases == 1 else draw(st.sampled_from([1, 3]))
        connection = "" if cp_phases == 3 else draw(st.sampled_from(g.line_choices(grid, phases)))
        chargers.append(f.Charger(i, cp_phases, connection, draw(st.integers(6, 63)),
                                  draw(st.sampled_from([None, *[c.id for c in circuits]])),
                                  smart=draw(st.booleans()) if draw(st.integers(0, 4)) == 0 else True,
                                  tolerates_pause=draw(st.booleans())))
    return site, circuits, chargers


def line_loads(site, circuits, chargers, counted):
    """Independent of floor.limits: the current in each (circuit or site, line) with everybody at full draw."""
    by_id = {c.id: c for c in circuits}
    loads: dict = {}
    for charger in chargers:
        scopes = [None]
        cid = charger.circuit_id
        while cid is not None:
            scopes.append(cid)
            cid = by_id[cid].parent_id
        if charger.phases == 3:
            lines = ["L1", "L2", "L3"]
        elif site.grid == g.IT:
            lines = charger.connection.split("-")
        else:
            lines = [charger.connection]
        for scope in scopes:
            for line in lines:
                loads[(scope, line)] = loads.get((scope, line), 0) + counted[charger.id]
    return loads


@settings(max_examples=300, deadline=None)
@given(sites(), st.booleans())
def test_no_line_and_no_circuit_above_its_limit(example, force):
    site, circuits, chargers = example
    assert f.validate(site, circuits, chargers) == []
    plan = f.compute(site, circuits, chargers, force=force)
    for charger in chargers:
        drawn = plan.counted[charger.id]
        if not charger.smart:
            assert drawn == charger.max_a  # we cannot limit it: counted at its maximum
            continue
        assert drawn == plan.floors[charger.id]
        assert drawn == 0 or f.MIN_A <= drawn <= charger.max_a  # never between 0 and 6 A
        assert drawn > 0 or charger.tolerates_pause or force or not plan.holds
    if plan.holds:
        limits = {None: site.limit_a, **{c.id: c.limit_a for c in circuits}}
        for (scope, line), load in line_loads(site, circuits, chargers, plan.counted).items():
            assert load <= limits[scope], (scope, line, load)
    elif not force:
        # refused: even with every pause-tolerant charger at 0 and the others at 6 A a limit is overloaded
        assert any(c.smart is False or not c.tolerates_pause for c in chargers)


@settings(max_examples=200, deadline=None)
@given(sites())
def test_forced_plan_never_above_a_limit_that_smart_chargers_could_hold(example):
    site, circuits, chargers = example
    plan = f.compute(site, circuits, chargers, force=True)
    only_unlimited = {c.id: (c.max_a if not c.smart else 0) for c in chargers}
    limits = {None: site.limit_a, **{c.id: c.limit_a for c in circuits}}
    fixed = line_loads(site, circuits, chargers, only_unlimited)
    for key, load in line_loads(site, circuits, chargers, plan.counted).items():
        if fixed.get(key, 0) <= limits[key[0]]:
            assert load <= limits[key[0]], key


@settings(max_examples=200, deadline=None)
@given(sites())
def test_deterministic_and_one_phase_it_loads_two_lines(example):
    site, circuits, chargers = example
    assert f.compute(site, circuits, chargers) == f.compute(site, circuits, chargers)
    for charger in chargers:
        lines = g.loaded_lines(site.grid, charger.phases, charger.connection)
        assert len(lines) == (3 if charger.phases == 3 else 2 if site.grid == g.IT else 1)


@settings(max_examples=100, deadline=None)
@given(sites())
def test_spread_gives_valid_lines(example):
    site, circuits, chargers = example
    suggestion = f.spread(site, circuits, chargers)
    assert set(suggestion) == {c.id for c in chargers if c.phases == 1}
    assert all(choice in g.line_choices(site.grid, site.phases) for choice in suggestion.values())


def test_125a_three_phase_tn_with_40_chargers():
    site = f.Site(125, 3, g.TN)
    chargers = [f.Charger(i, 3, "", 32) for i in range(1, 41)]
    plan = f.compute(site, [], chargers)
    # 40 x 6 A = 240 A > 125 A: nobody tolerates pauses, so the plan does not hold (refused)
    assert not plan.holds
    pausing = [f.Charger(i, 3, "", 32, tolerates_pause=i > 20) for i in range(1, 41)]
    plan = f.compute(site, [], pausing)
    assert plan.holds
    assert sorted(plan.paused) == list(range(21, 41))  # 20 x 6 A = 120 A fits; the rest pause
    assert {plan.floors[i] for i in range(1, 21)} == {6}
    assert plan.loads[(None, "L1")] == 120


def test_125a_tn_with_one_phase_chargers_spread():
    site = f.Site(125, 3, g.TN)
    chargers = [f.Charger(i, 1, "L1", 32) for i in range(1, 13)]
    suggestion = f.spread(site, [], chargers)
    assert sorted(suggestion.values()).count("L1") == 4 and sorted(suggestion.values()).count("L3") == 4
    spread_out = [f.Charger(i, 1, suggestion[i], 32) for i in range(1, 13)]
    plan = f.compute(site, [], spread_out)
    assert set(plan.floors.values()) == {31}  # 4 per line: 4 x 31 = 124 <= 125
    assert f.compute(site, [], chargers).floors[1] == 10  # all on L1: 12 x 10 = 120


def test_230v_it_one_phase_chargers_load_two_lines():
    site = f.Site(63, 3, g.IT)
    chargers = [f.Charger(1, 1, "L1-L2", 32), f.Charger(2, 1, "L2-L3", 32), f.Charger(3, 1, "L3-L1", 32)]
    plan = f.compute(site, [], chargers)
    # every line carries two chargers: 2 x 31 = 62 <= 63
    assert plan.floors == {1: 31, 2: 31, 3: 31}
    assert plan.loads[(None, "L2")] == 62


def test_non_smart_charger_counts_at_its_maximum_and_costs_the_others():
    site = f.Site(40, 1, g.TN)
    chargers = [f.Charger(1, 1, "L1", 16, smart=False), f.Charger(2, 1, "L1", 32), f.Charger(3, 1, "L1", 32)]
    plan = f.compute(site, [], chargers)
    assert plan.unlimited_a == {"L1": 16}
    assert plan.floors == {2: 12, 3: 12}
    assert plan.counted[1] == 16


def test_nested_circuit_holds_its_own_limit():
    site = f.Site(100, 3, g.TN)
    circuits = [f.Circuit(1, 40), f.Circuit(2, 20, parent_id=1)]
    chargers = [f.Charger(1, 3, "", 32, 2), f.Charger(2, 3, "", 32, 2), f.Charger(3, 3, "", 32, 1),
                f.Charger(4, 3, "", 32)]
    plan = f.compute(site, circuits, chargers)
    assert plan.floors[1] == plan.floors[2] == 10  # 20 A shared
    assert plan.floors[3] == 20  # the rest of the 40 A circuit
    assert plan.floors[4] == 32


def test_limits_that_cannot_work_are_found():
    site = f.Site(32, 1, g.TN)
    circuits = [f.Circuit(1, 5), f.Circuit(2, 40), f.Circuit(3, 45, parent_id=2)]
    chargers = [f.Charger(1, 3, "", 16), f.Charger(2, 1, "L1", 4), f.Charger(3, 1, "L2", 16)]
    codes = {(p.code, p.subject) for p in f.validate(site, circuits, chargers)}
    assert ("circuit_below_min", 1) in codes
    assert ("child_above_parent", 2) in codes  # above the site
    assert ("child_above_parent", 3) in codes  # above its parent
    assert ("phases_missing", 1) in codes
    assert ("charger_below_min", 2) in codes
    assert ("bad_lines", 3) in codes  # a one-phase TN site has L1 only


def test_watts_for_chargers_that_take_only_watts():
    assert g.watts(g.TN, 3, 16) == 11040
    assert g.watts(g.IT, 1, 16) == 3680
    assert g.watts(g.IT, 3, 10) == 3983
