"""The waiting list (issue 21): refused handshakes recorded per identity (unknown identity, wrong password,
no password), bounded against strangers, and a claimed charger let in at its next attempt with a real node
and a plain OCPP client."""
from __future__ import annotations

import asyncio
import json

from sqlalchemy import func, select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from portal.models import AuditEntry, ChargePoint, WaitingCharger
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user
from tests.integration.ocpp_helpers import basic, eventually, ocpp_node, query, run


async def _try(node, identity: str, password: str | None, **headers) -> int:
    extra = dict(basic(identity, password) if password is not None else {}, **headers)
    try:
        async with connect(f"{node.url}/{identity}", subprotocols=["ocpp1.6"], additional_headers=extra) as ws:
            await ws.send(json.dumps([2, "b1", "BootNotification",
                                      {"chargePointVendor": "Acme", "chargePointModel": "Garage 11"}]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply[2]["status"] == "Accepted"
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


def _rows(s):
    return {w.identity: (w.reason, w.attempts, w.charge_point_id, w.user_agent)
            for w in s.scalars(select(WaitingCharger))}


def test_unknown_wrong_and_missing_passwords_are_recorded_once_per_identity(db, redis_url, session):
    site = make_site(session)
    known = make_charge_point(session, site, "CP-KNOWN-1", online=False)
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            answers = [await _try(node, "ACME-NEW-7", "Some-Password-123", **{"User-Agent": "AcmeBox/2.1"})
                       for _ in range(3)]
            answers.append(await _try(node, "CP-KNOWN-1", "not-the-secret-000"))
            answers.append(await _try(node, "CP-KNOWN-2", None))
            await node.refused.flush()
            return answers, await query(db, _rows)

    answers, rows = run(scenario())
    assert answers == [401] * 5
    assert rows["ACME-NEW-7"] == ("unknown_identity", 3, None, "AcmeBox/2.1")
    assert rows["CP-KNOWN-1"][:3] == ("wrong_password", 1, known.id)
    assert rows["CP-KNOWN-2"][:2] == ("unknown_identity", 1)


def test_a_known_charger_without_a_password_is_recorded_as_such(db, redis_url, session):
    site = make_site(session)
    make_charge_point(session, site, "CP-NOPASS", online=False)
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            assert await _try(node, "CP-NOPASS", None) == 401
            assert await _try(node, "CP-NOPASS", CHARGER_SECRET) == 101  # the right secret still gets in
            await node.refused.flush()
            return await query(db, _rows)

    assert run(scenario())["CP-NOPASS"][:2] == ("no_password", 1)


def test_strangers_cannot_fill_the_table(db, redis_url, monkeypatch):
    """Random identities from one address: rows stop once the address is suspect (the Redis failure
    counters), and the table never holds more than OCPP_WAITING_MAX_ROWS."""
    monkeypatch.setenv("OCPP_AUTH_PENALTY_S", "0.01")
    monkeypatch.setenv("OCPP_WAITING_MAX_ROWS", "6")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            for n in range(15):
                await _try(node, f"STRANGER-{n}", "guess-guess-guess-1")
            await node.refused.flush()
            count = await query(db, lambda s: s.scalar(select(func.count()).select_from(WaitingCharger)))
            monkeypatch.setenv("OCPP_WAITING_MAX_ROWS", "500")
            await node.redis.delete("ocpp:authfail:ip:127.0.0.1")
            for n in range(15, 30):
                await _try(node, f"STRANGER-{n}", "guess-guess-guess-1")
            await node.refused.flush()
            later = await query(db, lambda s: s.scalar(select(func.count()).select_from(WaitingCharger)))
            return count, later

    count, later = run(scenario(), timeout=60)
    assert count == 6  # the cap
    assert later == 6 + 10  # after the counters expired: OCPP_AUTH_MAX_FAILURES more, then suspect again


def test_the_handshake_does_not_wait_for_the_waiting_list(db, redis_url, monkeypatch):
    monkeypatch.setenv("OCPP_WAITING_FLUSH_S", "3600")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            assert await _try(node, "ACME-LATER", "Some-Password-123") == 401
            before = await query(db, _rows)
            await node.refused.flush()
            return before, await query(db, _rows)

    before, after = run(scenario())
    assert before == {} and after["ACME-LATER"][:2] == ("unknown_identity", 1)


def test_refused_then_claimed_then_connected(app, client, login, db, redis_url, session):
    """The whole story with a real node: refused, claimed on the staff page, in with the shown secret."""
    site = make_site(session, "fjordgarasjen", name="Fjordgarasjen borettslag")
    support = make_user(session, "support@fleet.test", staff_role="support")
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            assert await _try(node, "ACME-0099", "factory-default-pw") == 401
            await node.refused.flush()
            login(client, support)
            page = await asyncio.to_thread(client.get, "/staff/chargers/waiting")
            assert "ACME-0099" in page.get_data(as_text=True) and "Unknown identity" in page.get_data(as_text=True)
            answer = await asyncio.to_thread(client.post, "/staff/chargers/waiting/claim", data={
                "identity": "ACME-0099", "site": "fjordgarasjen", "name": "Plass 14", "cp_type": "private",
                "connectors": "2", "tariff_group": "", "reason": "electrician on the phone"})
            assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
            secret = answer.get_data(as_text=True).split('data-testid="secret">')[1].split("<")[0]
            assert answer.headers["Cache-Control"] == "no-store"
            assert await _try(node, "ACME-0099", "factory-default-pw") == 401  # the old one stays out
            assert await _try(node, "ACME-0099", secret) == 101
            return await eventually(db, lambda s: [(cp.id, cp.name, cp.site_id, len(cp.connectors)) for cp in s.scalars(
                select(ChargePoint).where(ChargePoint.identity == "ACME-0099", ChargePoint.vendor == "Acme"))])

    [(cp_id, name, site_id, connectors)] = run(scenario(), timeout=60)
    assert name == "Plass 14" and site_id == site.id and connectors == 3
    with db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "claimed"))
        assert entry.actor_id == support.id and entry.area == "staff" and entry.entity_id == cp_id
        assert entry.reason == "electrician on the phone"
        assert not any(secret_like in json.dumps(entry.after) for secret_like in ("secret", "hash"))
        row = s.scalar(select(WaitingCharger).where(WaitingCharger.identity == "ACME-0099"))
        assert row.claimed_by_id == support.id and row.charge_point_id == cp_id


def test_the_simulated_charger_retries_with_backoff_until_claimed(db, redis_url, session, tmp_path):
    from ocpp_server.sim_onboarding import InstalledCharger, password_from_file, start_until_let_in
    from ocpp_server.simulator import Options
    from portal.services.fleet import onboarding

    site = make_site(session)
    support = make_user(session, staff_role="support")
    session.commit()
    typed = tmp_path / "password"  # what the electrician types into the charger

    def claim() -> str:
        with db.session() as s:
            done = onboarding.claim_new(s, s.get(type(support), support.id), "SIMU-NEW-1",
                                        onboarding.NewCharger(s.get(type(site), site.id), connectors=2))
            s.commit()
            return done.secret

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            charger = InstalledCharger(node.url, "SIMU-NEW-1", "as-delivered-0000", Options(connectors=2, vendor="Simu", model="Box-7"),
                                       response_timeout=5)
            trying = asyncio.create_task(start_until_let_in(
                charger, first_s=0.05, max_s=0.3, password_source=password_from_file(typed, "as-delivered-0000")))
            await eventually(db, lambda s: s.scalar(select(WaitingCharger.attempts).where(
                WaitingCharger.identity == "SIMU-NEW-1", WaitingCharger.attempts >= 2)))
            assert not trying.done()
            typed.write_text(await asyncio.to_thread(claim))
            refused = await asyncio.wait_for(trying, 30)
            try:
                await asyncio.wait_for(charger.booted.wait(), 10)
                row = await query(db, lambda s: _rows(s)["SIMU-NEW-1"])
                online = await eventually(db, lambda s: s.scalar(select(ChargePoint.online).where(
                    ChargePoint.identity == "SIMU-NEW-1", ChargePoint.vendor == "Simu")))
            finally:
                await charger.close()
            return refused, row, online

    refused, row, online = run(scenario(), timeout=60)
    assert refused >= 2 and online
    assert row[0] == "unknown_identity" and row[3] == "Simu/Box-7"  # the handshake's User-Agent


def test_a_new_secret_for_a_known_charger_shuts_out_the_old_one_at_once(db, redis_url, session):
    """The node remembered the old secret as verified; after the reset it must not let it in any more."""
    from portal.services.fleet import onboarding

    site = make_site(session)
    make_charge_point(session, site, "CP-RESET-1", online=False)
    support = make_user(session, staff_role="support")
    session.commit()

    def reset() -> str:
        with db.session() as s:
            done = onboarding.claim_known(s, s.get(type(support), support.id), "CP-RESET-1", "lost secret")
            s.commit()
            return done.secret

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            assert await _try(node, "CP-RESET-1", CHARGER_SECRET) == 101  # remembered by the node
            assert await _try(node, "CP-RESET-1", "what-the-charger-has-now") == 401
            await node.refused.flush()
            secret = await asyncio.to_thread(reset)
            return [await _try(node, "CP-RESET-1", CHARGER_SECRET), await _try(node, "CP-RESET-1", secret)]

    assert run(scenario()) == [401, 101]
