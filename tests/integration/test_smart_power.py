"""Issue 22 step one: the site's power on the board page and the CLI; impossible limits refused with the
reason; a board member of one site never sees or changes another's."""
from __future__ import annotations

import re

import pytest

from portal.models import AuditEntry, ChargerPower, PowerCircuit, SitePower
from tests.factories import make_charge_point, make_site, make_user


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def test_cli_sets_power_and_refuses_impossible_limits(runner, session):
    site = make_site(session, "kraft")
    for n in range(1, 4):
        make_charge_point(session, site, f"CP-KRAFT-{n}")
    session.commit()
    ok = runner.invoke(args=["sites", "power", "kraft", "--max-current", "63", "--phases", "3", "--voltage", "400"])
    assert ok.exit_code == 0, ok.output
    assert "CP-KRAFT-1: floor 16 A" in ok.output  # 3 x 16 A = 48 A <= 63 A
    low = runner.invoke(args=["sites", "power", "kraft", "--max-current", "5"])
    assert low.exit_code != 0 and "at least 6 A" in low.output
    tight = runner.invoke(args=["sites", "power", "kraft", "--max-current", "12"])
    assert tight.exit_code != 0 and "cannot be held" in tight.output  # 3 x 6 A = 18 A > 12 A
    session.expire_all()
    assert session.get(SitePower, site.id).max_current_a == 63
    rows = session.query(ChargerPower).all()
    assert len(rows) == 3 and all(r.phases == 3 for r in rows)
    # a one-phase 230 V IT site: every charger is one-phase between L1 and L2, so both carry all three
    one_phase = runner.invoke(args=["sites", "power", "kraft", "--max-current", "40", "--phases", "1",
                                    "--voltage", "230"])
    assert one_phase.exit_code == 0, one_phase.output
    assert "CP-KRAFT-1: floor 13 A" in one_phase.output  # 3 x 13 = 39 <= 40
    session.expire_all()
    assert {(r.phases, r.lines) for r in session.query(ChargerPower).all()} == {(1, "L1-L2")}
    assert runner.invoke(args=["sites", "power", "nowhere", "--max-current", "40"]).exit_code != 0


def test_board_page_refuses_with_explanation_keeping_what_was_typed(client, login, session):
    site = make_site(session, "fuse-a", name="Fuse A")
    other = make_site(session, "fuse-b", name="Fuse B")
    cp = make_charge_point(session, site, "CP-FUSE-A1")
    cp2 = make_charge_point(session, site, "CP-FUSE-A2")
    other_cp = make_charge_point(session, other, "CP-FUSE-B1")
    board = make_user(session, "board@fuse.test", site=site, role="board", language="nb")
    session.commit()
    login(client, board)
    client.set_cookie("lang", "nb")
    page = client.get("/manage/fuse-a/power")
    assert page.status_code == 200
    token = csrf(page.get_data(as_text=True))
    refused = client.post("/manage/fuse-a/power", data={"csrf_token": token, "max_current": "4", "phases": "3",
                                                        "voltage": "400"})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'value="4"' in html and "minst 6 A" in html  # in the reader's language, what was typed kept
    saved = client.post("/manage/fuse-a/power", data={"csrf_token": token, "max_current": "40", "phases": "3",
                                                      "voltage": "230"})
    assert saved.status_code in (302, 303)
    # a one-phase charger on IT between two lines, a circuit, then a child circuit above its parent: refused
    assert client.post(f"/manage/fuse-a/power/chargers/{cp.id}", data={
        "csrf_token": token, f"cp{cp.id}-charger_phases": "1", f"cp{cp.id}-lines": "L1-L2",
        f"cp{cp.id}-charger_max": "32", f"cp{cp.id}-circuit": ""}).status_code in (302, 303)
    assert client.post("/manage/fuse-a/power/circuits", data={"csrf_token": token, "name": "Rad 1",
                                                              "circuit_max": "25", "parent": ""}).status_code == 303
    parent = session.query(PowerCircuit).filter_by(site_id=site.id).one()
    child = client.post("/manage/fuse-a/power/circuits", data={"csrf_token": token, "name": "Rad 1b",
                                                               "circuit_max": "32", "parent": str(parent.id)})
    assert child.status_code == 422 and "høyere grense" in child.get_data(as_text=True)
    below = client.post(f"/manage/fuse-a/power/chargers/{cp2.id}", data={
        "csrf_token": token, f"cp{cp2.id}-charger_phases": "3", f"cp{cp2.id}-lines": "",
        f"cp{cp2.id}-charger_max": "5", f"cp{cp2.id}-circuit": ""})
    assert below.status_code == 422 and 'value="5"' in below.get_data(as_text=True)
    html = client.get("/manage/fuse-a/power").get_data(as_text=True)
    assert 'data-identity="CP-FUSE-A1" data-floor="' in html
    floors = dict(re.findall(r'data-identity="([^"]+)" data-floor="(\d*)"', html))
    # A2 (three-phase) stops at its own 16 A; A1 (one-phase, on L1 and L2 on IT) rises to 40 - 16 = 24 A
    assert floors == {"CP-FUSE-A1": "24", "CP-FUSE-A2": "16"}
    log = client.get("/manage/fuse-a/audit")
    assert log.status_code == 200
    entries = session.query(AuditEntry).filter_by(site_id=site.id).all()
    assert {(e.entity, e.action) for e in entries} >= {("site", "power"), ("charge_point", "power"),
                                                        ("site", "power_circuit")}
    assert all(e.actor_id == board.id for e in entries)
    # site B: neither seen nor changed from site A's board
    assert client.get("/manage/fuse-b/power").status_code == 403
    assert client.post(f"/manage/fuse-a/power/chargers/{other_cp.id}", data={
        "csrf_token": token, f"cp{other_cp.id}-charger_phases": "3", f"cp{other_cp.id}-charger_max": "16",
        f"cp{other_cp.id}-circuit": ""}).status_code == 404
    session.expire_all()
    assert session.get(ChargerPower, other_cp.id) is None and session.get(SitePower, other.id) is None


def test_spread_balances_one_phase_chargers(client, login, session):
    site = make_site(session, "spread")
    cps = [make_charge_point(session, site, f"CP-SPREAD-{n}") for n in range(6)]
    board = make_user(session, "board@spread.test", site=site, role="board")
    session.add(SitePower(site_id=site.id, max_current_a=100, phases=3, voltage=400))
    for cp in cps:
        session.add(ChargerPower(charge_point_id=cp.id, phases=1, lines="L1", max_current_a=32))
    session.commit()
    login(client, board)
    token = csrf(client.get("/manage/spread/power").get_data(as_text=True))
    assert client.post("/manage/spread/power/spread", data={"csrf_token": token}).status_code == 303
    session.expire_all()
    lines = sorted(session.get(ChargerPower, cp.id).lines for cp in cps)
    assert lines == ["L1", "L1", "L2", "L2", "L3", "L3"]
