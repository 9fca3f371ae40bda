"""Issue 22 step one on the real path: an OCPP node (real WebSocket), simulated chargers, an RQ worker
process carrying the calls, and the board and staff pages.

A site of 80 A per line (400 V TN) with four three-phase chargers of 32 A: two smart, one without smart
charging, one that rejects profiles. After their boots the two smart chargers hold TxDefaultProfiles of
(80 - 32 - 32) / 2 = 8 A; the others are counted at their maximum and shown so. A car charging behind a
floor draws no more than the floor; a charger that forgets its profiles on a reboot gets its floor back."""
from __future__ import annotations

import asyncio
import re
from decimal import Decimal

import pytest
from sqlalchemy import select

from ocpp_server import sim_smart
from portal.models import ActionRequest, ChargePoint, ChargerPower, IdTag, MeterValue, SitePower
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


async def wait_db(db, fn, timeout: float = 60, what: str = ""):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await query(db, fn)):
        assert asyncio.get_running_loop().time() < deadline, f"not reached in {timeout}s: {what}"
        await asyncio.sleep(0.3)
    return value


async def wait_for(condition, timeout: float = 40, what: str = ""):
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"not reached in {timeout}s: {what}"
        await asyncio.sleep(0.1)


def held(sim) -> float | None:
    return sim_smart.limit_a(sim)


def test_floors_after_boot_non_smart_rejected_and_forgetting_reboot(db, session, client, login, redis_url, env,
                                                                     worker):
    site = make_site(session, "smart-one", name="Garasjen smart")
    group, plan = standard_setup(session, site)
    ids = {}
    for name in ("SM-1", "SM-2", "SM-NS", "SM-REJ"):
        ids[name] = make_charge_point(session, site, f"CP-{name}", group=group, online=False,
                                      status="Unavailable").id
        session.add(ChargerPower(charge_point_id=ids[name], phases=3, lines="", max_current_a=32))
    session.add(SitePower(site_id=site.id, max_current_a=80, phases=3, voltage=400))
    resident = make_user(session, "alice@smart.test", site=site)
    subscribe(session, resident, plan)
    session.add(IdTag(tag="ALICE-0001", user_id=resident.id, kind="rfid"))
    board = make_user(session, "board@smart.test", site=site, role="board")
    support = make_user(session, "support@smart.test", staff_role="support")
    session.commit()

    def rows(s):
        return {name: s.get(ChargerPower, cp_id) for name, cp_id in ids.items()}

    def settled(s):
        r = rows(s)
        return (r["SM-1"].floor_a == 8 and r["SM-2"].floor_a == 8 and r["SM-1"].profile_status == "Accepted"
                and r["SM-2"].profile_status == "Accepted" and r["SM-NS"].profile_status == "NotSupported"
                and r["SM-REJ"].profile_status == "Rejected") and r

    async def scenario():
        async with ocpp_node(db, redis_url, "smart-node-1") as node, \
                simulator(node, "CP-SM-1") as sm1, \
                simulator(node, "CP-SM-2", forget_profiles_on_reboot=True) as sm2, \
                simulator(node, "CP-SM-NS", no_smart_charging=True) as ns, \
                simulator(node, "CP-SM-REJ", reject_charging_profiles=True) as rej:
            r = await wait_db(db, settled, what="the floors computed and installed after the boots")
            assert r["SM-NS"].smart is False and r["SM-1"].smart is True
            assert r["SM-1"].rate_units == "Current,Power" and r["SM-1"].max_profiles == 10
            await wait_for(lambda: held(sm1) == 8 and held(sm2) == 8, what="the chargers hold 8 A")
            sent = next(c for c in reversed(sm1.calls_received) if c[0] == "SetChargingProfile")
            profile = sent[2]
            assert sent[1] == 0 and profile["charging_profile_purpose"] == "TxDefaultProfile"
            assert profile["stack_level"] == 0 and "valid_to" not in profile
            assert profile["charging_schedule"]["charging_rate_unit"] == "A"
            assert held(ns) is None and held(rej) is None
            assert not any(c[0] == "SetChargingProfile" for c in ns.calls_received)  # never asked: it cannot

            # the board sees the floors and what the chargers we cannot limit cost
            await asyncio.to_thread(login, client, board)
            html = (await asyncio.to_thread(client.get, "/manage/smart-one/power")).get_data(as_text=True)
            floors = dict(re.findall(r'data-identity="([^"]+)" data-floor="(\d*)"', html))
            assert floors == {"CP-SM-1": "8", "CP-SM-2": "8", "CP-SM-NS": "", "CP-SM-REJ": ""}
            assert html.count("Cannot be limited: counted at its maximum, 32 A.") == 2
            assert "L1: 64 A" in html and "The lowest floor the other chargers get: 8 A" in html

            # staff see the profile each charger holds, and the one that rejected
            await asyncio.to_thread(login, client, support)
            page = (await asyncio.to_thread(client.get, "/staff/chargers/CP-SM-REJ")).get_data(as_text=True)
            assert 'data-testid="charger-power" data-status="Rejected"' in page
            page = (await asyncio.to_thread(client.get, "/staff/chargers/CP-SM-1")).get_data(as_text=True)
            assert "Profile sent: 8.0 A, answer Accepted" in page
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            asked = await asyncio.to_thread(client.post, "/staff/chargers/CP-SM-1/schedule", data={"csrf_token": token})
            assert asked.status_code in (302, 303)
            action_id = int(asked.headers["Location"].rstrip("/").rsplit("/", 1)[1])
            answer = await wait_db(db, lambda s: (row := s.get(ActionRequest, action_id)).response and row.response,
                                   what="the composite schedule read")
            assert answer["status"] == "Accepted"
            assert answer["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 8

            # a car behind the floor draws no more than the floor
            tx = await sm1.swipe(1, "ALICE-0001")
            assert tx is not None
            currents = await wait_db(db, lambda s: [v.value for v in s.scalars(select(MeterValue).where(
                MeterValue.transaction_id == tx, MeterValue.measurand == "Current.Import"))] or None,
                what="currents reported")
            assert currents and all(Decimal("0") < value <= Decimal("8") for value in currents)
            assert sim_smart.power_w(sm1) == pytest.approx(8 * 230 * 3)
            await sm1.stop_transaction(1)

            # a charger that forgets its profiles on a reboot gets its floor back
            before = sum(1 for c in sm2.calls_received if c[0] == "SetChargingProfile")
            await sm2.reboot("HardReset")
            await wait_for(lambda: held(sm2) is None, what="the profile forgotten")
            await wait_for(lambda: held(sm2) == 8, timeout=60, what="the floor installed again after the boot")
            assert sum(1 for c in sm2.calls_received if c[0] == "SetChargingProfile") > before
            assert await query(db, lambda s: s.get(ChargePoint, ids["SM-2"]).online)

    run(scenario(), timeout=150)
