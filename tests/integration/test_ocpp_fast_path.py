"""The node's hot path: no write per Heartbeat, unchanged status writes nothing, group commit keeps its promise."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import event, select

from ocpp_server.writer import GroupWriter
from portal.models import ChargePoint, Connector, MeterValue
from portal.services import ocpp_ingest
from tests.factories import make_charge_point, make_site
from tests.integration.ocpp_helpers import eventually, ocpp_node, query, raw_charger, run


class Writes:
    """Counts INSERT/UPDATE/DELETE statements the engine runs (executemany counts once)."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self) -> "Writes":
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, params, context, executemany) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            if "ocpp_messages" not in statement:  # the message log is written in its own batches
                self.statements.append(statement)


def test_heartbeats_and_unchanged_status_write_nothing_until_the_batch(db, redis_url, session):
    make_charge_point(session, make_site(session), "CP-FAST-1", online=False)
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            node.seen.flush_s = 3600  # only explicit flushes in this test
            async with raw_charger(node, "CP-FAST-1") as raw:
                await raw.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
                status = {"connectorId": 1, "errorCode": "NoError", "status": "Charging"}
                await raw.call("StatusNotification", status)
                before = (await query(db, lambda s: s.scalar(select(ChargePoint).where(
                    ChargePoint.identity == "CP-FAST-1")))).last_seen_at
                with Writes(db.engine) as writes:
                    for _ in range(5):
                        assert (await raw.call("Heartbeat", {}))[0] == 3
                    await raw.call("StatusNotification", status)  # the same again
                    assert writes.statements == []
                    await node.seen.flush()
                    assert len(writes.statements) == 1 and "last_seen_at" in writes.statements[0]
                cp = await query(db, lambda s: s.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-FAST-1")))
                assert cp.last_seen_at > before and cp.online
                await raw.call("Heartbeat", {})
            # the disconnect writes the last time it had not written yet
            cp = await eventually(db, lambda s: (c := s.scalar(select(ChargePoint).where(
                ChargePoint.identity == "CP-FAST-1"))) and not c.online and c)
            assert cp.last_seen_at > before

    run(scenario())


def test_status_change_is_still_stored(db, redis_url, session):
    make_charge_point(session, make_site(session), "CP-FAST-2", online=False)
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, "CP-FAST-2") as raw:
                await raw.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
                for status in ("Preparing", "Preparing", "Charging"):
                    await raw.call("StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": status})
                    got = await query(db, lambda s: s.scalar(select(Connector.status).join(ChargePoint).where(
                        ChargePoint.identity == "CP-FAST-2", Connector.connector_id == 1)))
                    assert got == status  # answered means stored

    run(scenario())


def test_group_commit_shares_a_transaction_and_a_bad_message_fails_alone(db, session):
    cp = make_charge_point(session, make_site(session), "CP-FAST-3")
    session.commit()
    def good(s, n):
        sample = [{"timestamp": cp.created_at + timedelta(seconds=n), "sampled_value": [{"value": "100", "unit": "Wh"}]}]
        return ocpp_ingest.meter_values(s, "CP-FAST-3", connector_id=1, transaction_id=None,
                                        meter_value=sample, now=cp.created_at + timedelta(minutes=1)) + n

    def bad(s):
        ocpp_ingest.charge_point(s, "NO-SUCH-CHARGER")

    async def scenario():
        writer = GroupWriter(db, window_s=0.05)
        writer.start()
        try:
            results = await asyncio.gather(writer.submit(good, 0), writer.submit(bad), writer.submit(good, 10),
                                           return_exceptions=True)
        finally:
            await writer.stop()
        return results, writer

    results, writer = run(scenario())
    assert results[0] == 1 and results[2] == 11
    assert isinstance(results[1], ocpp_ingest.UnknownChargePoint)
    assert writer.retried_batches == 1 and writer.batches == 1  # one shared try, then one by one
    with db.session() as s:
        assert len(s.scalars(select(MeterValue).where(MeterValue.charge_point_id == cp.id)).all()) == 2


def test_group_commit_batches_concurrent_messages(db, session):
    cp = make_charge_point(session, make_site(session), "CP-FAST-4")
    session.commit()
    def store(s, n):
        sample = [{"timestamp": cp.created_at + timedelta(seconds=n), "sampled_value": [{"value": "5", "unit": "Wh"}]}]
        return ocpp_ingest.meter_values(s, "CP-FAST-4", connector_id=1, transaction_id=None,
                                        meter_value=sample, now=cp.created_at + timedelta(minutes=1))

    async def scenario():
        writer = GroupWriter(db, window_s=0.05)
        writer.start()
        try:
            results = await asyncio.gather(*(writer.submit(store, n) for n in range(20)))
        finally:
            await writer.stop()
        return results, writer

    results, writer = run(scenario())
    assert results == [1] * 20
    assert writer.batches < 20 and writer.retried_batches == 0
    with db.session() as s:
        assert len(s.scalars(select(MeterValue).where(MeterValue.charge_point_id == cp.id)).all()) == 20


def test_meter_values_without_transaction_id_follow_the_connections_open_transaction(db, redis_url, session):
    from datetime import datetime, timezone

    from portal.services.sites.onboarding import virtual_tag
    from tests.factories import resident_with_access

    _site, user, cp = resident_with_access(session)
    tag = virtual_tag(session, user).tag
    session.commit()
    identity = cp.identity
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=10)
    at = start.isoformat()

    def sample(wh):  # one reading per second of charging, so no two samples share a time
        moment = (start + timedelta(seconds=(wh - 1000) // 10)).isoformat()
        return {"connectorId": 1, "meterValue": [{"timestamp": moment, "sampledValue": [{"value": str(wh)}]}]}

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                start = await raw.call("StartTransaction", {"connectorId": 1, "idTag": tag, "meterStart": 1000,
                                                            "timestamp": at})
                tx_id = start[2]["transactionId"]
                await raw.call("MeterValues", sample(1500))
            # a new connection learns the open transactions from the database
            async with raw_charger(node, identity) as raw:
                await raw.call("MeterValues", sample(1700))
                await raw.call("StopTransaction", {"transactionId": tx_id, "meterStop": 2000, "timestamp": at})
                await raw.call("MeterValues", sample(2100))
            async with raw_charger(node, identity) as raw:
                await raw.call("MeterValues", sample(2200))
        return tx_id

    tx_id = run(scenario())
    with db.session() as s:
        rows = s.execute(select(MeterValue.value, MeterValue.transaction_id).where(
            MeterValue.charge_point_id == cp.id).order_by(MeterValue.id)).all()
        assert [(int(v), t) for v, t in rows] == [(1500, tx_id), (1700, tx_id), (2100, None), (2200, None)]


def test_a_verified_secret_is_remembered_until_the_password_or_the_stored_hash_changes(db, redis_url, session):
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    from portal.services.people.secrets import hash_charger_secret
    from tests.factories import CHARGER_SECRET
    from tests.integration.ocpp_helpers import basic

    make_charge_point(session, make_site(session), "CP-FAST-5", online=False)
    session.commit()

    async def status(node, password):
        try:
            async with connect(f"{node.url}/CP-FAST-5", subprotocols=["ocpp1.6"],
                               additional_headers=basic("CP-FAST-5", password)):
                return 101
        except InvalidStatus as exc:
            return exc.response.status_code

    def new_secret(s):
        s.scalar(select(ChargePoint).where(ChargePoint.identity == "CP-FAST-5")).secret_hash = \
            hash_charger_secret("a-brand-new-secret-0002")
        s.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            seen = []
            for password in (CHARGER_SECRET, CHARGER_SECRET, CHARGER_SECRET, "wrong-password-000001"):
                seen.append((await status(node, password), node.secrets.verifications))
            # reconnects cost no verification; a failure costs two (the stored hash, then a lost rotation's
            # or a dummy, the same for unknown identities)
            assert seen == [(101, 1), (101, 1), (101, 1), (401, 3)]
            assert CHARGER_SECRET.encode() not in b"".join(node.secrets._known.values())
            await query(db, new_secret)
            assert await status(node, CHARGER_SECRET) == 401  # the old password no longer opens
            assert await status(node, "a-brand-new-secret-0002") == 101

    run(scenario())
