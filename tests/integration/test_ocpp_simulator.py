"""The simulator answers every central-system call like a real charger; hooks for the call path fire."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from ocpp.v16 import call
from portal.models import ChargePoint, Transaction
from portal.services.sites.onboarding import virtual_tag
from tests.factories import resident_with_access
from tests.integration.ocpp_helpers import eventually, ocpp_node, raw_charger, run, simulator


@pytest.fixture
def setup(session):
    site, user, cp = resident_with_access(session)
    cp.connectors.append(type(cp.connectors[0])(connector_id=2))
    tag = virtual_tag(session, user).tag
    session.commit()
    return cp.identity, tag


def _status(identity, connector_id):
    return lambda s: s.scalar(select(ChargePoint).where(ChargePoint.identity == identity)).connector(connector_id).status


def test_configuration_availability_trigger_unlock_clear_cache_reset(db, redis_url, setup):
    identity, tag = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity, connectors=2) as sim:
                cp = node.connections[identity]
                conf = await cp.call(call.GetConfiguration(key=["HeartbeatInterval", "Nope"]))
                assert conf.configuration_key[0]["key"] == "HeartbeatInterval" and conf.unknown_key == ["Nope"]
                assert (await cp.call(call.ChangeConfiguration(key="MeterValueSampleInterval", value="2"))).status \
                    == "Accepted"
                assert (await cp.call(call.ChangeConfiguration(key="NumberOfConnectors", value="9"))).status \
                    == "Rejected"
                assert (await cp.call(call.ChangeConfiguration(key="Nope", value="1"))).status == "NotSupported"
                assert (await cp.call(call.ClearCache())).status == "Accepted"
                assert (await cp.call(call.ChangeAvailability(connector_id=2, type="Inoperative"))).status == "Accepted"
                await eventually(db, lambda s: _status(identity, 2)(s) == "Unavailable")
                assert (await cp.call(call.ChangeAvailability(connector_id=2, type="Operative"))).status == "Accepted"
                await eventually(db, lambda s: _status(identity, 2)(s) == "Available")
                assert (await cp.call(call.TriggerMessage(requested_message="Heartbeat"))).status == "Accepted"
                assert (await cp.call(call.TriggerMessage(requested_message="StatusNotification",
                                                          connector_id=1))).status == "Accepted"
                await sim.plug(1)
                await eventually(db, lambda s: _status(identity, 1)(s) == "Preparing")
                assert (await cp.call(call.UnlockConnector(connector_id=1))).status == "Unlocked"
                await eventually(db, lambda s: _status(identity, 1)(s) == "Available")
                tx_id = await sim.start_transaction(2, tag)
                assert tx_id
                assert (await cp.call(call.Reset(type="Soft"))).status == "Accepted"
                done = await eventually(db, lambda s: (t := s.get(Transaction, tx_id)).status == "completed" and t)
                assert done.stop_reason == "SoftReset"
                await eventually(db, lambda s: node.connections.get(identity) not in (None, cp))  # rebooted
                await asyncio.wait_for(sim.booted.wait(), 5)

    run(scenario())


def test_remote_start_refusals_and_silence(db, redis_url, setup):
    identity, tag = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity, reject_remote_start=True):
                cp = node.connections[identity]
                assert (await cp.call(call.RemoteStartTransaction(id_tag=tag))).status == "Rejected"
            async with simulator(node, identity, no_start_after_accept=True):
                cp = node.connections[identity]
                assert (await cp.call(call.RemoteStartTransaction(id_tag=tag))).status == "Accepted"
                await asyncio.sleep(0.5)
                assert await eventually(db, lambda s: s.scalar(select(Transaction.id)) is None)
            async with simulator(node, identity, connectors=1) as sim:
                cp = node.connections[identity]
                await sim.fault(1)
                assert (await cp.call(call.RemoteStartTransaction(id_tag=tag, connector_id=1))).status == "Rejected"
            async with simulator(node, identity, no_answer=True) as sim:
                cp = node.connections[identity]
                cp._response_timeout = 0.5
                with pytest.raises(asyncio.TimeoutError):
                    await cp.call(call.RemoteStopTransaction(transaction_id=1))
                assert sim.ignored_calls

    run(scenario())


def test_hooks_for_the_call_path_and_actions(db, redis_url, setup, monkeypatch):
    identity, tag = setup
    seen: list[tuple] = []

    async def serve(node):
        seen.append(("serve", node.node_id))

    async def on_charger_connected(node, ident):
        seen.append(("connected", ident, ident in node.connections))

    async def on_charger_disconnected(node, ident):
        seen.append(("disconnected", ident, ident in node.connections))

    from ocpp_server import calls
    from portal.services.charging import action_hooks, action_queue

    for name, fn in {"serve": serve, "on_charger_connected": on_charger_connected,
                     "on_charger_disconnected": on_charger_disconnected}.items():
        monkeypatch.setattr(calls, name, fn)
    monkeypatch.setattr(action_hooks, "on_connector_status", lambda session, cp, connector_id, status:
                        ["job-1"] if status == "Preparing" else None)
    monkeypatch.setattr(action_hooks, "on_transaction_started", lambda session, tx: seen.append(("started", tx.id is not None)))
    monkeypatch.setattr(action_hooks, "on_transaction_stopped", lambda session, tx: seen.append(("stopped", tx.status)))
    monkeypatch.setattr(action_queue, "enqueue_after_commit", lambda url, value: seen.append(("enqueue", url, value)))

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, identity) as sim:
                await sim.plug(1)
                tx_id = await sim.start_transaction(1, tag)
                await sim.stop_transaction(1)
                assert tx_id
            await eventually(db, lambda s: any(e[0] == "disconnected" for e in seen))

    run(scenario())
    assert ("serve", "test-node") in seen
    assert ("connected", identity, True) in seen and ("disconnected", identity, False) in seen
    assert ("enqueue", redis_url, ["job-1"]) in seen
    assert ("started", True) in seen and ("stopped", "completed") in seen


def test_data_transfer_unknown_vendor(db, redis_url, setup):
    identity, _ = setup

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, identity) as raw:
                return await raw.call("DataTransfer", {"vendorId": "com.example", "data": "x"})

    assert run(scenario())[2] == {"status": "UnknownVendorId"}
