"""Connections as chargers and attackers make them: odd identities and passwords, probing, floods, idle sockets."""
from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from ocpp.v16 import call
from ocpp_server.node import Node
from portal.services.people.secrets import hash_charger_secret
from tests.factories import CHARGER_SECRET, make_charge_point, make_site
from tests.integration.ocpp_helpers import RawCharger, basic, ocpp_node, run, simulator, until

ODD_PASSWORD = "pässwörd:med-kolon-ÆØÅ-1234"


@pytest.fixture
def chargers(session):
    site = make_site(session)
    odd = {}
    for identity in ("CP:COLON:1", "CP%PERCENT", "CP-ODD-PASSWORD"):
        cp = make_charge_point(session, site, identity.replace("%", "-"), online=False, boot_status=None)
        cp.identity = identity  # (the factory's own identity check is stricter than onboarding's)
        cp.secret_hash = hash_charger_secret(ODD_PASSWORD)
        odd[identity] = cp
    plain = make_charge_point(session, site, "CP-PLAIN", online=False, boot_status=None)
    session.commit()
    return plain.identity


def _auth(identity: str, password: str) -> list[tuple[str, str]]:
    token = base64.b64encode(f"{identity}:{password}".encode("utf-8")).decode()
    return [("Authorization", f"Basic {token}")]


async def _open(node, identity: str, headers) -> int:
    try:
        async with connect(f"{node.url}/{quote(identity, safe='')}", subprotocols=["ocpp1.6"],
                           additional_headers=headers) as ws:
            await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))[0] == 3
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_identities_with_colon_or_percent_and_passwords_with_colon_or_non_ascii(db, redis_url, chargers):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            return [await _open(node, identity, _auth(identity, ODD_PASSWORD))
                    for identity in ("CP:COLON:1", "CP%PERCENT", "CP-ODD-PASSWORD")]

    assert run(scenario()) == [101, 101, 101]


def test_unknown_identity_wrong_password_and_two_authorization_headers_all_get_the_same_401(db, redis_url, chargers):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            answers = []
            for identity, headers in (("CP-NOBODY", _auth("CP-NOBODY", CHARGER_SECRET)),
                                      (chargers, _auth(chargers, "wrong-password-0000")),
                                      (chargers, _auth(chargers, CHARGER_SECRET) + _auth(chargers, CHARGER_SECRET)),
                                      (chargers, [("Authorization", "Basic !!!not-base64")])):
                try:
                    async with connect(f"{node.url}/{identity}", subprotocols=["ocpp1.6"],
                                       additional_headers=headers):
                        answers.append((101, ""))
                except InvalidStatus as exc:
                    answers.append((exc.response.status_code, bytes(exc.response.body)))
            return answers

    answers = run(scenario())
    assert {a for a in answers} == {answers[0]} and answers[0][0] == 401


def test_repeated_wrong_passwords_are_slowed_down_for_the_address_and_the_identity(db, redis_url, chargers,
                                                                                  monkeypatch):
    """Failures beyond the limit answer 429 after a pause; the right secret still connects (issue 23)."""
    monkeypatch.setenv("OCPP_AUTH_MAX_FAILURES", "3")
    monkeypatch.setenv("OCPP_AUTH_PENALTY_S", "0.3")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            wrong = [await _open(node, chargers, _auth(chargers, f"wrong-{i}")) for i in range(3)]
            started = asyncio.get_running_loop().time()
            wrong_after = await _open(node, chargers, _auth(chargers, "wrong-again"))
            paused = asyncio.get_running_loop().time() - started
            right_after = await _open(node, chargers, _auth(chargers, CHARGER_SECRET))
            await node.redis.delete("ocpp:authfail:ip:127.0.0.1")  # only the identity's count is left
            still_for_identity = await _open(node, chargers, _auth(chargers, "wrong-once-more"))
            other = await _open(node, "CP-ODD-PASSWORD", _auth("CP-ODD-PASSWORD", ODD_PASSWORD))
            return wrong, wrong_after, paused, right_after, still_for_identity, other

    wrong, wrong_after, paused, right_after, still_for_identity, other = run(scenario())
    assert wrong == [401, 401, 401] and wrong_after == 429 and paused >= 0.3
    assert right_after == 101 and still_for_identity == 429 and other == 101


def test_a_frame_over_the_size_limit_closes_the_socket_and_others_carry_on(db, redis_url, chargers):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with connect(f"{node.url}/{chargers}", subprotocols=["ocpp1.6"],
                               additional_headers=basic(chargers, CHARGER_SECRET), max_size=None) as ws:
                big = json.dumps([2, "big", "DataTransfer", {"vendorId": "v", "data": "x" * (300 * 1024)}])
                await ws.send(big)
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
                code = closed.value.rcvd.code if closed.value.rcvd else None
            return code, await _open(node, "CP-ODD-PASSWORD", _auth("CP-ODD-PASSWORD", ODD_PASSWORD))

    assert run(scenario()) == (1009, 101)


def test_a_charger_that_reconnects_without_booting_can_be_called_and_asked_to_boot(db, redis_url, chargers):
    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with simulator(node, chargers):
                pass  # booted (Accepted), then gone
            async with connect(f"{node.url}/{chargers}", subprotocols=["ocpp1.6"],
                               additional_headers=basic(chargers, CHARGER_SECRET)) as ws:
                raw = RawCharger(ws)
                answering = asyncio.create_task(raw.reply())
                cp = await until(lambda: node.connections.get(chargers), what="the reconnected charger registered")
                first = await cp.call(call.ChangeAvailability(connector_id=0, type="Operative"))
                answering.cancel()
            async with connect(f"{node.url}/CP-ODD-PASSWORD", subprotocols=["ocpp1.6"],
                               additional_headers=_auth("CP-ODD-PASSWORD", ODD_PASSWORD)) as ws:
                raw = RawCharger(ws)  # never booted at all
                answering = asyncio.create_task(raw.reply())
                never_booted = await until(lambda: node.connections.get("CP-ODD-PASSWORD"),
                                           what="the never-booted charger registered")
                trigger = await never_booted.call(call.TriggerMessage(requested_message="BootNotification"))
                answering.cancel()
            return first.status, trigger.status

    assert run(scenario()) == ("Accepted", "Accepted")


def test_an_idle_socket_is_closed(db, redis_url, chargers, monkeypatch):
    monkeypatch.setenv("OCPP_IDLE_TIMEOUT_S", "0.5")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with connect(f"{node.url}/{chargers}", subprotocols=["ocpp1.6"],
                               additional_headers=basic(chargers, CHARGER_SECRET)) as ws:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 10)
                return closed.value.rcvd.code if closed.value.rcvd else None

    assert run(scenario()) == 1001


def test_a_half_open_socket_is_found_by_pings_and_closed(db, redis_url, chargers, monkeypatch):
    """A charger gone without a FIN (power cut, NAT dropped): it never answers the node's pings."""
    monkeypatch.setenv("OCPP_PING_INTERVAL_S", "0.3")

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            host, port = node.url.split("//")[1].split("/")[0].split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            key = base64.b64encode(b"0123456789abcdef").decode()
            auth = basic(chargers, CHARGER_SECRET)["Authorization"]
            writer.write((f"GET /ocpp/{chargers} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                          f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                          f"Sec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: {auth}\r\n\r\n").encode())
            await writer.drain()
            assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 101")
            # the socket stays open on our side; we just never answer the pings
            await until(lambda: chargers in node.connections, what="the half-open charger registered")
            await until(lambda: chargers not in node.connections, timeout=30, what="the half-open socket closed")
            pinged = node.liveness.pings
            writer.close()
            return pinged

    assert run(scenario(), timeout=60) >= 1  # found by a ping that got no pong


def test_a_charger_over_its_message_rate_is_slowed_not_refused(db, redis_url, chargers, monkeypatch):
    rate, burst, sent = 10, 50, 80  # the node's bucket holds five seconds' worth of messages
    monkeypatch.setenv("OCPP_MAX_MESSAGES_PER_S", str(rate))

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with connect(f"{node.url}/{chargers}", subprotocols=["ocpp1.6"],
                               additional_headers=basic(chargers, CHARGER_SECRET)) as ws:
                raw = RawCharger(ws)
                began = asyncio.get_running_loop().time()
                answers = [(await raw.call("Heartbeat", {}))[0] for _ in range(sent)]
                return answers, asyncio.get_running_loop().time() - began

    answers, took = run(scenario(), timeout=60)
    assert answers == [3] * sent  # not refused: every message answered on the same connection
    # slowed: a token bucket lets no more than burst + rate * t messages through in t seconds, so the
    # 30 messages past the burst cost at least 3 s (unlimited, 80 heartbeats take a fraction of that)
    assert took >= (sent - burst) / rate * 0.95, took


def test_two_nodes_started_without_an_id_never_share_one(db, redis_url, monkeypatch):
    monkeypatch.delenv("OCPP_NODE_ID", raising=False)
    ids = {Node.from_settings(db=db, redis_url=redis_url).node_id for _ in range(2)}
    assert len(ids) == 2


def test_a_busy_socket_is_not_pinged_and_a_silent_one_that_answers_pings_stays(db, redis_url, chargers, monkeypatch):
    """One liveness sweep replaces a keepalive task per connection: it pings only sockets that went silent."""
    monkeypatch.setenv("OCPP_PING_INTERVAL_S", "1.0")  # a pong may take this long on a busy machine

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with connect(f"{node.url}/{chargers}", subprotocols=["ocpp1.6"],
                               additional_headers=basic(chargers, CHARGER_SECRET)) as ws:
                raw = RawCharger(ws)
                for _ in range(30):  # a message every 0.1 s for three ping intervals: proof of life
                    assert (await raw.call("Heartbeat", {}))[0] == 3
                    await asyncio.sleep(0.1)
                busy_pings = node.liveness.pings
                # silent now; the client library answers the node's pings. A second ping is only sent
                # once the first one's pong came back (a missing pong closes the socket instead).
                await until(lambda: node.liveness.pings >= busy_pings + 2 or chargers not in node.connections,
                            timeout=30, what="two pings to the silent socket")
                still_there = chargers in node.connections
                assert (await raw.call("Heartbeat", {}))[0] == 3
            return busy_pings, still_there

    busy, still_there = run(scenario(), timeout=60)
    assert busy == 0
    assert still_there
