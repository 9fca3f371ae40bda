"""Issue 21 on the real path: an OCPP node (real WebSocket), a simulated charger, an RQ worker process
carrying the calls, and the staff and resident pages.

A configuration template applied after boot (a read-only key rejected, a reboot-required key shown, an
unknown key not supported), drift found and put right; the local list sent full, then as a differential
update when a tag is blocked; a charger without its link refusing the blocked tag from its list and letting
the other in (the session sent when back); a charger claiming a version it does not have getting the full
list; and the commissioning checklist turning "ready" by itself."""
from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import select

from ocpp_server import sim_locallist
from portal.models import ChargePoint, ConfigTemplate, IdTag, LocalListState, Transaction
from portal.services.fleet import queueing
from portal.services.fleet.config_templates import SAMPLED, keys_of
from tests.factories import make_charge_point, make_site, make_user, standard_setup, subscribe
from tests.integration.ocpp_helpers import ocpp_node, query, run, simulator
from tests.support.stack import start_worker


@pytest.fixture
def env(database_url, redis_url, monkeypatch):
    monkeypatch.setenv("FLEET_SYNC", "1")  # the in-process node and the pages
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "WORKER_PROCESSES": "1", "FLEET_SYNC": "1",
            "ACTION_DEADLINE_S": "10"}


@pytest.fixture
def worker(env):
    proc = start_worker(env)
    yield proc
    proc.stop()


async def wait_db(db, fn, timeout: float = 40, what: str = ""):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await query(db, fn)):
        assert asyncio.get_running_loop().time() < deadline, f"not reached in {timeout}s: {what}"
        await asyncio.sleep(0.2)
    return value


async def wait_for(condition, timeout: float = 30, what: str = ""):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not reached in {timeout}s: {what}"
        await asyncio.sleep(0.1)


async def page(client, url: str) -> str:
    response = await asyncio.to_thread(client.get, url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def row_status(html: str, key: str) -> str | None:
    found = re.search(rf'data-key="{key}" data-status="([^"]*)"', html)
    return found.group(1) if found else None


def test_template_after_boot_with_refusals_and_drift_put_right(db, session, client, login, redis_url, env, worker):
    site = make_site(session, "fleet-one", name="Fleet sameie")
    cp_id = make_charge_point(session, site, "CP-FLEET-1", online=False, status="Unavailable").id
    session.add(ConfigTemplate(name="SimuCharge 22", vendor="SimuCharge", model="Sim-22", entries=[
        ["MeterValuesSampledData", SAMPLED], ["MeterValueSampleInterval", "15"], ["HeartbeatInterval", "120"],
        ["ChargeProfileMaxStackLevel", "8"],  # read-only on this charger
        ["WebSocketPingInterval", "60"],  # in force after a reboot
        ["VendorTurboMode", "on"],  # a key this charger does not have
    ]))
    support = make_user(session, "fleet-support@console.test", staff_role="support")
    session.commit()
    login(client, support)

    async def scenario():
        async with ocpp_node(db, redis_url, "fleet-node-1") as node, simulator(node, "CP-FLEET-1") as sim:
            answers = await wait_db(db, lambda s: (k := keys_of(s, cp_id)) and len(k) == 6
                                    and all(r.status for r in k.values()) and {n: r.status for n, r in k.items()},
                                    what="every key answered after the boot")
            assert answers == {"MeterValuesSampledData": "Accepted", "MeterValueSampleInterval": "Accepted",
                               "HeartbeatInterval": "Accepted", "ChargeProfileMaxStackLevel": "Rejected",
                               "WebSocketPingInterval": "RebootRequired", "VendorTurboMode": "NotSupported"}
            assert sim.config["MeterValueSampleInterval"] == "15" and sim.config["ChargeProfileMaxStackLevel"] == "3"
            assert await query(db, lambda s: s.get(ChargePoint, cp_id).heartbeat_interval) == 120
            html = await page(client, "/staff/chargers/CP-FLEET-1/fleet")
            assert row_status(html, "ChargeProfileMaxStackLevel") == "Rejected"
            assert row_status(html, "WebSocketPingInterval") == "RebootRequired"
            assert row_status(html, "VendorTurboMode") == "NotSupported"
            assert "Rejected by the charger" in html and "in force after a reboot" in html

            sim.config["MeterValueSampleInterval"] = "300"  # changed on the charger by someone on site
            asked = await asyncio.to_thread(client.post, "/staff/chargers/CP-FLEET-1/fleet/configuration")
            assert asked.status_code == 303
            drift = await wait_db(db, lambda s: (r := keys_of(s, cp_id)["MeterValueSampleInterval"]).drift_at
                                  and r.drift_value, what="drift recorded")
            assert drift == "300"
            await wait_for(lambda: sim.config["MeterValueSampleInterval"] == "15", what="drift put right")
            html = await page(client, "/staff/chargers/CP-FLEET-1/fleet")
            assert 'data-testid="drift-MeterValueSampleInterval"' in html and "300" in html
            assert 'data-testid="drift-HeartbeatInterval"' not in html

    run(scenario(), timeout=90)


def _people(session, site, plan):
    people = {}
    for name, subscribed in (("alice", True), ("bob", True), ("carol", False)):
        user = make_user(session, f"{name}@fleet.test", site=site)
        if subscribed:
            subscribe(session, user, plan)
        session.add(IdTag(tag=f"{name.upper()}-0001", user_id=user.id, kind="rfid"))
        people[name] = user
    outsider = make_user(session, "dave@fleet.test")
    session.add(IdTag(tag="DAVE-0001", user_id=outsider.id, kind="rfid"))
    session.flush()
    return people


def test_local_list_offline_mismatch_and_commissioning(db, session, client, login, redis_url, env, worker):
    site = make_site(session, "fleet-two", name="Garasjen sameie")
    group, plan = standard_setup(session, site)
    people = _people(session, site, plan)
    cp_id = make_charge_point(session, site, "CP-FLEET-2", group=group, online=False, status="Unavailable").id
    session.add(ConfigTemplate(name="Fast default", vendor="", model="", entries=[
        ["MeterValuesSampledData", SAMPLED], ["MeterValueSampleInterval", "1"], ["HeartbeatInterval", "2"],
        ["LocalAuthListEnabled", "true"], ["LocalAuthorizeOffline", "true"], ["AuthorizeRemoteTxRequests", "false"]]))
    support = make_user(session, "fleet-support-2@console.test", staff_role="support")
    session.commit()
    bob_tag = session.scalar(select(IdTag.id).where(IdTag.tag == "BOB-0001"))

    def state(s):
        return s.get(LocalListState, cp_id)

    async def scenario():
        async with ocpp_node(db, redis_url, "fleet-node-2") as node, simulator(node, "CP-FLEET-2") as sim:
            await wait_db(db, lambda s: (st := state(s)) and st.version == 1 and st.outcome == "Accepted",
                          what="the full list after boot")
            local = sim_locallist.of(sim)
            assert sorted(local.entries) == ["ALICE-0001", "BOB-0001"]  # carol has no tariff, dave no access
            assert ("SendLocalList", 1, "Full", 2) in sim.calls_received

            login(client, people["bob"])  # bob loses his card and blocks it
            blocked = await asyncio.to_thread(client.post, f"/tags/{bob_tag}/block")
            assert blocked.status_code in (204, 303), blocked.status_code
            await wait_db(db, lambda s: state(s).version == 2, what="the differential update")
            assert (await query(db, lambda s: state(s).last_kind)) == "Differential"
            assert sorted(local.entries) == ["ALICE-0001"] and local.version == 2
            assert ("SendLocalList", 2, "Differential", 1) in sim.calls_received

            await sim_locallist.go_offline(sim)  # the garage loses its link
            assert await sim_locallist.swipe_offline(sim, 1, "BOB-0001") == "Invalid"
            assert await sim_locallist.swipe_offline(sim, 1, "ALICE-0001") == "Accepted"
            await sim_locallist.go_online(sim)  # the session started offline is sent when back
            tx_id = await wait_db(db, lambda s: s.scalar(select(Transaction.id).where(
                Transaction.charge_point_id == cp_id, Transaction.id_tag == "ALICE-0001")), what="offline start")
            assert await query(db, lambda s: s.get(Transaction, tx_id).user_id) == people["alice"].id
            assert not await query(db, lambda s: s.scalar(select(Transaction.id).where(
                Transaction.id_tag == "BOB-0001")))
            await asyncio.sleep(4)  # metering: per-phase current and power, as configured
            await sim.stop_transaction(1)

            local.version = 9  # the charger claims a list version it does not have
            await asyncio.to_thread(queueing.local_lists, redis_url, [cp_id])
            await wait_db(db, lambda s: state(s).version == 10, what="the full list after a mismatch")
            assert (await query(db, lambda s: state(s).last_kind)) == "Full"
            assert sorted(local.entries) == ["ALICE-0001"] and ("SendLocalList", 10, "Full", 1) in sim.calls_received

            login(client, support)
            deadline = asyncio.get_running_loop().time() + 40
            while 'data-ready="yes"' not in (html := await page(client, "/staff/chargers/CP-FLEET-2/commissioning")):
                assert asyncio.get_running_loop().time() < deadline, html
                await asyncio.sleep(0.5)
            assert html.count('data-done="yes"') == 5 and "Ready for use" in html
            client.set_cookie("lang", "nb")  # printed for a Norwegian installer
            assert "Klar til bruk" in await page(client, "/staff/chargers/CP-FLEET-2/commissioning")

    run(scenario(), timeout=150)
