"""OCPP endpoint: Basic auth before the socket opens, subprotocol, boot, heartbeat, status, replace, health."""
from __future__ import annotations

import asyncio
import json
import logging
import urllib.request

import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from ocpp_server.v16 import CallNotAllowed
from ocpp.v16 import call
from portal.models import ChargePoint, Connector, OcppMessage
from portal.services.ocpp_ingest import parse_time
from tests.factories import CHARGER_SECRET, make_charge_point, make_site
from tests.integration.ocpp_helpers import basic, eventually, ocpp_node, query, raw_charger, run, simulator


@pytest.fixture
def charger(session):
    site = make_site(session)
    cp = make_charge_point(session, site, "CP-CONN-1", connectors=2, online=False, boot_status=None,
                           heartbeat_interval=60)
    session.commit()
    return cp


def _cp(identity):
    return lambda s: s.scalar(select(ChargePoint).where(ChargePoint.identity == identity))


async def _status(node, identity, headers, subprotocols=("ocpp1.6",)):
    try:
        async with connect(f"{node.url}/{identity}", subprotocols=list(subprotocols), additional_headers=headers):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_refusals_happen_before_the_socket_opens(db, redis_url, charger, caplog):
    caplog.set_level(logging.INFO, logger="ocpp_server")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            return [
                await _status(node, "CP-NOPE", basic("CP-NOPE", CHARGER_SECRET)),
                await _status(node, "CP-CONN-1", {}),
                await _status(node, "CP-CONN-1", basic("CP-CONN-1", "wrong-password-123456")),
                await _status(node, "CP-CONN-1", basic("CP-OTHER", CHARGER_SECRET)),
                await _status(node, "CP-CONN-1", basic("CP-CONN-1", CHARGER_SECRET), subprotocols=()),
                await _status(node, "CP-CONN-1", basic("CP-CONN-1", CHARGER_SECRET), subprotocols=("ocpp2.0.1",)),
                await _status(node, "CP-CONN-1", basic("CP-CONN-1", CHARGER_SECRET)),
            ]

    assert run(scenario()) == [401, 401, 401, 401, 400, 400, 101]
    text = caplog.text
    assert "unknown identity or wrong credentials" in text
    assert CHARGER_SECRET not in text and "wrong-password-123456" not in text


def test_boot_heartbeat_status_and_message_log(db, redis_url, charger):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, "CP-CONN-1", connectors=2, heartbeat=0.3) as sim:
                assert sim.boot_status == "Accepted"
                assert sim.heartbeat_interval == pytest.approx(0.3)
                first_seen = (await query(db, _cp("CP-CONN-1"))).last_seen_at
                await asyncio.sleep(0.8)
                await node.seen.flush()  # heartbeats are written in batches, not one by one
                cp = await query(db, _cp("CP-CONN-1"))
                assert cp.online and cp.connected_node == "test-node" and cp.boot_status == "Accepted"
                assert cp.vendor == "SimuCharge" and cp.serial_number == "SN-CP-CONN-1"
                assert cp.last_seen_at > first_seen
                await sim.plug(2)
                await eventually(db, lambda s: s.scalar(select(Connector.status).join(ChargePoint).where(
                    ChargePoint.identity == "CP-CONN-1", Connector.connector_id == 2)) == "Preparing")
                await node.msglog.flush()
                rows = await query(db, lambda s: s.scalars(select(OcppMessage).where(
                    OcppMessage.identity == "CP-CONN-1").order_by(OcppMessage.id)).all())
                assert {r.direction for r in rows} == {"in", "out"}
                assert {"BootNotification", "Heartbeat", "StatusNotification"} <= {r.action for r in rows}
                boot_reply = next(r for r in rows if r.direction == "out" and r.unique_id == rows[0].unique_id)
                current = json.loads(boot_reply.frame)[2]["currentTime"]
                assert current.endswith("+00:00") and parse_time(current).utcoffset().total_seconds() == 0
            cp = await eventually(db, lambda s: (c := _cp("CP-CONN-1")(s)) and not c.online and c)
            assert cp.offline_since is not None and cp.connected_node is None

    run(scenario())


def test_second_connection_replaces_the_first(db, redis_url, charger):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, "CP-CONN-1") as first:
                reply = await first.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
                assert reply[2]["status"] == "Accepted"
                old = node.connections["CP-CONN-1"]
                async with raw_charger(node, "CP-CONN-1") as second:
                    await asyncio.wait_for(first.ws.wait_closed(), 5)
                    assert node.connections["CP-CONN-1"] is not old
                    reply = await second.call("Heartbeat", {})
                    assert reply[0] == 3
                    assert (await query(db, _cp("CP-CONN-1"))).online  # the old socket closing did not mark offline

    run(scenario())


def test_disabled_charger_is_kept_unavailable(db, redis_url, session, charger):
    charger.enabled = False
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, "CP-CONN-1", connectors=2) as sim:
                for _ in range(50):
                    if ("ChangeAvailability", 0, "Inoperative") in sim.calls_received:
                        break
                    await asyncio.sleep(0.1)
                assert ("ChangeAvailability", 0, "Inoperative") in sim.calls_received
                await eventually(db, lambda s: s.scalar(select(Connector.status).join(ChargePoint).where(
                    ChargePoint.identity == "CP-CONN-1", Connector.connector_id == 1)) == "Unavailable")

    run(scenario())


def test_no_calls_to_a_rejected_charger(db, redis_url, session, charger):
    charger.site.agreement_status = "ended"
    session.commit()

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with raw_charger(node, "CP-CONN-1") as raw:
                reply = await raw.call("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
                assert reply[2]["status"] == "Rejected"
                with pytest.raises(CallNotAllowed):
                    await node.connections["CP-CONN-1"].call(call.ClearCache())
                assert raw.received_calls == []

    run(scenario())


def test_health_endpoint(db, redis_url):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            url = node.url.replace("ws://", "http://").replace("/ocpp", "/healthz")
            body = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=5).read())
            return json.loads(body)

    assert run(scenario())["status"] == "ok"


def test_health_details_only_for_private_addresses_or_with_the_token(db, redis_url, monkeypatch):
    """Issue 23: host, process id and database error counters were shown to anyone who could reach the port."""
    from types import SimpleNamespace

    from websockets.datastructures import Headers

    from ocpp_server.server import may_see_health_details

    monkeypatch.setenv("OCPP_HEALTH_TOKEN", "health-token-for-tests")

    def reader(headers):
        async def scenario():
            async with ocpp_node(db, redis_url) as node:
                url = node.url.replace("ws://", "http://").replace("/ocpp", "/healthz")
                request = urllib.request.Request(url, headers=headers)
                return json.loads(await asyncio.to_thread(lambda: urllib.request.urlopen(request, timeout=5).read()))
        return run(scenario())

    assert "node" in reader({})  # from 127.0.0.1, a private address: the details
    monkeypatch.setenv("OCPP_HEALTH_DETAILS_PRIVATE", "0")  # e.g. behind a load balancer
    assert reader({}) == {"status": "ok"}
    assert reader({"Authorization": "Bearer wrong"}) == {"status": "ok"}
    assert "database_errors" in reader({"Authorization": "Bearer health-token-for-tests"})
    monkeypatch.setenv("OCPP_HEALTH_DETAILS_PRIVATE", "1")
    public, private = (SimpleNamespace(remote_address=(a, 40000)) for a in ("193.90.1.7", "10.1.2.3"))
    assert not may_see_health_details(public, Headers())
    assert may_see_health_details(private, Headers())
    assert may_see_health_details(public, Headers({"Authorization": "Bearer health-token-for-tests"}))


def test_tls_security_profile_2(db, redis_url, charger, tmp_path):
    import shutil
    import ssl
    import subprocess

    from ocpp_server.node import Node
    from ocpp_server.server import bound_port, running, tls_context
    from ocpp_server.simulator import Options, SimulatedCharger

    if not shutil.which("openssl"):
        pytest.skip("openssl not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)

    async def scenario():
        node = Node(node_id="tls-node", db=db, redis_url=redis_url, response_timeout=5)
        async with running(node, "127.0.0.1", 0, tls_context(str(cert), str(key))) as server:
            url = f"wss://127.0.0.1:{bound_port(server)}/ocpp"
            client_tls = ssl.create_default_context(cafile=str(cert))
            sim = SimulatedCharger(url, "CP-CONN-1", CHARGER_SECRET, Options(), ssl_context=client_tls)
            await sim.start()
            try:
                assert sim.boot_status == "Accepted"
            finally:
                await sim.close()
            bad = SimulatedCharger(url, "CP-CONN-1", "not-the-secret-000000", Options(), ssl_context=client_tls)
            with pytest.raises(InvalidStatus) as refused:
                await bad.open()
            assert refused.value.response.status_code == 401

    run(scenario())
