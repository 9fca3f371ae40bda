"""A lean OCPP 1.6J charger fleet for load generation: many chargers in one asyncio loop, cheaply.

bench/ocpp_fleet.py runs one of these per generator process. It exists because a fleet of
`websockets` clients (a task per charger, a keepalive task per connection, the library's framing and
assembler in Python) cost about as much CPU as the server it was measuring, so on a 2-core machine the
figures described the generator. Here each charger is one small asyncio.Protocol object:

- the HTTP upgrade is written and checked by hand (RFC 6455 section 4: random Sec-WebSocket-Key, 101,
  Upgrade/Connection headers, Sec-WebSocket-Accept, subprotocol ocpp1.6) with Basic auth;
- client frames are masked with a fresh random key each (section 5.3), server frames must be unmasked;
  text, continuation, ping (answered with a pong), pong and close (answered, section 5.5.1) are handled;
- no keepalive timers: the server's pings are answered, the charger pings nobody;
- one timer for the whole fleet (a heap of due times) instead of a sleeping task per charger;
- frames are built from templates; the OCPP payloads are the same as before and valid against the 1.6
  schemas (the server under test validates them strictly and answers CALLERROR otherwise, which is
  counted as an error).

Measurements stay exact: connect time is from just before the TCP connect until the 101 is verified;
reply time is from the write of the CALL until its CALLRESULT is decoded (one CALL at a time per charger,
as OCPP-J requires; a late reply makes the charger skip ticks rather than catch up).
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import heapq
import json
import os
import random
import struct
import time
from typing import Any

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_getrandbits = random.SystemRandom().getrandbits  # masking keys must be unpredictable (RFC 6455 10.3)


def mask_payload(payload: bytes, key: bytes) -> bytes:
    """XOR the payload with the repeated 4-byte key, as one big-integer operation (fast in CPython)."""
    n = len(payload)
    if n == 0:
        return b""
    repeated = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(n, "big")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """One final, masked client frame."""
    key = _getrandbits(32).to_bytes(4, "big")
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return head + key + mask_payload(payload, key)


class Results:
    """What one generator process measured (sent back to the parent as plain data)."""

    def __init__(self) -> None:
        self.connect_ms: list[float] = []
        self.reply_ms: list[float] = []
        self.offered = 0
        self.answered = 0
        self.held = 0
        self.errors: dict[str, int] = {}

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Fleet:
    """All chargers of one process, one loop, one timer."""

    def __init__(self, host: str, port: int, path: str, secret: str, window: tuple[float, float],
                 end_at: float, hb: float, mv: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.host, self.port, self.path, self.secret = host, port, path, secret
        self.window, self.end_at, self.hb, self.mv = window, end_at, hb, mv
        self.res = Results()
        self._heap: list[tuple[float, int, Charger]] = []
        self._seq = 0
        self._armed: asyncio.TimerHandle | None = None
        self._armed_at = float("inf")
        self.open = 0  # transports not yet closed
        self.all_closed = self.loop.create_future()
        self._iso_second = -1
        self._iso = ""

    # --- the one timer -------------------------------------------------------------------------

    def at(self, when: float, charger: "Charger") -> None:
        """Call charger.due() at wall time `when`."""
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, charger))
        if when < self._armed_at:
            if self._armed is not None:
                self._armed.cancel()
            self._armed_at = when
            self._armed = self.loop.call_later(max(0.0, when - time.time()), self._fire)

    def _fire(self) -> None:
        self._armed, self._armed_at = None, float("inf")
        now = time.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, charger = heapq.heappop(heap)
            charger.due()
        if heap:
            self._armed_at = heap[0][0]
            self._armed = self.loop.call_later(max(0.0, self._armed_at - time.time()), self._fire)

    def now_iso(self) -> str:
        second = int(time.time())
        if second != self._iso_second:
            self._iso_second = second
            self._iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
        return self._iso

    # --- connecting ----------------------------------------------------------------------------

    async def run(self, identities: list[str], first_connect: float, rate: float) -> Results:
        for i, identity in enumerate(identities):
            wait = first_connect + i / rate - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.open += 1
            charger = Charger(self, identity)
            task = self.loop.create_task(self._connect(charger))
            task.add_done_callback(_ignore)
        await asyncio.sleep(max(0.0, self.end_at + 1 - time.time()))
        for charger in list(Charger.live):
            charger.close_normally()
        if self.open:
            try:
                await asyncio.wait_for(asyncio.shield(self.all_closed), 10)
            except asyncio.TimeoutError:
                pass
        return self.res

    async def _connect(self, charger: "Charger") -> None:
        charger.t0 = time.perf_counter()
        try:
            await self.loop.create_connection(lambda: charger, self.host, self.port)
        except Exception as exc:  # refused, reset, no ports left
            self.res.error(f"connect {type(exc).__name__}")
            self.closed_one()

    def closed_one(self) -> None:
        self.open -= 1
        if self.open == 0 and not self.all_closed.done():
            self.all_closed.set_result(None)


def _ignore(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()


class Charger(asyncio.Protocol):
    live: set["Charger"] = set()  # chargers holding an open WebSocket (for the final close)

    __slots__ = ("fleet", "identity", "transport", "buf", "state", "t0", "key", "fragments", "uid",
                 "action", "sent_at", "measured", "seq", "next_hb", "next_mv", "register", "closing")

    def __init__(self, fleet: Fleet, identity: str) -> None:
        self.fleet = fleet
        self.identity = identity
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.state = "handshake"  # -> "open" -> "closed"
        self.t0 = 0.0
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.fragments: list[bytes] | None = None
        self.uid: str | None = None  # the CALL awaiting its answer
        self.action = ""
        self.sent_at = 0.0
        self.measured = False
        self.seq = 0
        self.next_hb = self.next_mv = 0.0
        self.register = random.randint(0, 10**6)
        self.closing = False

    # --- asyncio.Protocol ----------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        f = self.fleet
        token = base64.b64encode(f"{self.identity}:{f.secret}".encode()).decode()
        transport.write((  # type: ignore[attr-defined]
            f"GET {f.path}/{self.identity} HTTP/1.1\r\nHost: {f.host}:{f.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: Basic {token}\r\n\r\n").encode())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.state == "handshake":
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[:end + 4]
            problem = self._check_upgrade(head)
            if problem:
                self.fleet.res.error(f"connect {problem}")
                self.state = "closed"
                self.transport.close()
                return
            self.state = "open"
            self.fleet.res.connect_ms.append((time.perf_counter() - self.t0) * 1000)
            self.fleet.res.held += 1
            Charger.live.add(self)
            self._call("BootNotification", '{"chargePointVendor":"Bench","chargePointModel":"Fleet"}')
        self._read_frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state == "handshake":
            self.fleet.res.error("connect closed before the answer")
        elif self.state == "open" and not self.closing:
            self.fleet.res.error("socket closed by the server")
            self.fleet.res.held -= 1
        self.state = "closed"
        Charger.live.discard(self)
        self.fleet.closed_one()

    # --- the handshake -------------------------------------------------------------------------

    def _check_upgrade(self, head: str) -> str | None:
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.1"):
            return "bad status line"
        if parts[1] != "101":
            return f"HTTP {parts[1]}"
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(self.key.encode() + WS_GUID).digest()).decode()
        if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in headers.get("connection", "").lower():
            return "no upgrade"
        if headers.get("sec-websocket-accept") != accept:
            return "bad Sec-WebSocket-Accept"
        if headers.get("sec-websocket-protocol") != "ocpp1.6":
            return "no ocpp1.6 subprotocol"
        return None

    # --- frames --------------------------------------------------------------------------------

    def _read_frames(self) -> None:
        buf = self.buf
        while len(buf) >= 2 and self.state == "open":
            b0, b1 = buf[0], buf[1]
            if b1 & 0x80:
                self._fail(1002, "masked server frame")
                return
            n, offset = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    return
                n, offset = struct.unpack_from("!H", buf, 2)[0], 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n, offset = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < offset + n:
                return
            payload = bytes(buf[offset:offset + n])
            del buf[:offset + n]
            fin, opcode = b0 & 0x80, b0 & 0x0F
            if opcode == OP_PING:
                self.transport.write(client_frame(OP_PONG, payload))
            elif opcode == OP_PONG:
                pass
            elif opcode == OP_CLOSE:
                self._closed_by_server(payload)
                return
            elif opcode in (OP_TEXT, OP_BINARY):
                if fin:
                    self._message(payload)
                else:
                    self.fragments = [payload]
            elif opcode == OP_CONT and self.fragments is not None:
                self.fragments.append(payload)
                if fin:
                    whole, self.fragments = b"".join(self.fragments), None
                    self._message(whole)
            else:
                self._fail(1002, f"unexpected opcode {opcode}")
                return

    def _send_text(self, text: str) -> None:
        self.transport.write(client_frame(OP_TEXT, text.encode()))

    def _closed_by_server(self, payload: bytes) -> None:
        if not self.closing:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            self.fleet.res.error(f"socket closed by the server ({code})")
            self.fleet.res.held -= 1
            self.closing = True
            self.transport.write(client_frame(OP_CLOSE, payload[:2]))  # echo the code (RFC 6455 5.5.1)
        Charger.live.discard(self)
        self.transport.close()

    def _fail(self, code: int, why: str) -> None:
        self.fleet.res.error(f"protocol {why}")
        self.fleet.res.held -= 1
        self.closing = True
        self.transport.write(client_frame(OP_CLOSE, struct.pack("!H", code)))
        Charger.live.discard(self)
        self.transport.close()

    def close_normally(self) -> None:
        if self.state != "open" or self.closing:
            return
        self.closing = True
        self.transport.write(client_frame(OP_CLOSE, struct.pack("!H", 1000)))
        # the server answers with its close frame and closes the TCP connection (RFC 6455 7.1.1)

    # --- OCPP ----------------------------------------------------------------------------------

    def _call(self, action: str, payload_json: str) -> None:
        self.seq += 1
        self.uid = str(self.seq)
        self.action = action
        w = self.fleet.window
        self.measured = w[0] <= time.time() < w[1]
        if self.measured:
            self.fleet.res.offered += 1
        self.sent_at = time.perf_counter()
        self._send_text(f'[2,"{self.uid}","{action}",{payload_json}]')

    def _message(self, payload: bytes) -> None:
        try:
            frame = json.loads(payload)
            kind, uid = frame[0], frame[1]
        except (ValueError, TypeError, IndexError, KeyError):
            self.fleet.res.error("unreadable frame from the server")
            return
        if kind == 2:  # a call from the server: answer it so the node is not kept waiting
            self._send_text(json.dumps([3, uid, {"status": "Accepted"}]))
            return
        if uid != self.uid:
            return
        res = self.fleet.res
        self.uid = None
        if kind == 3:
            if self.measured:
                res.answered += 1
                res.reply_ms.append((time.perf_counter() - self.sent_at) * 1000)
        else:
            res.error(f"{self.action} CALLERROR {frame[2] if len(frame) > 2 else '?'}")
        self._answered()

    def _answered(self) -> None:
        """The outstanding CALL was answered: send the next one now or when it is due."""
        f = self.fleet
        if self.action == "BootNotification":
            self._call("StatusNotification", '{"connectorId":1,"errorCode":"NoError","status":"Available"}')
            return
        now = time.time()
        if self.action == "StatusNotification":
            self.next_hb = now + random.uniform(0, f.hb)
            self.next_mv = now + random.uniform(0, f.mv)
        else:
            while self.next_hb < now - f.hb:  # a late reply skipped a tick: the charger does not catch up
                self.next_hb += f.hb
            while self.next_mv < now - f.mv:
                self.next_mv += f.mv
        due = min(self.next_hb, self.next_mv)
        if due < f.end_at:
            f.at(due, self)

    def due(self) -> None:
        if self.state != "open" or self.closing or self.uid is not None:
            return
        f = self.fleet
        if self.next_hb <= self.next_mv:
            self.next_hb += f.hb
            self._call("Heartbeat", "{}")
        else:
            self.next_mv += f.mv
            self.register += random.randint(0, 3000)
            self._call("MeterValues", '{"connectorId":1,"meterValue":[{"timestamp":"%s","sampledValue":[{"value":"%d",'
                       '"measurand":"Energy.Active.Import.Register","unit":"Wh"}]}]}' % (f.now_iso(), self.register))


def run_fleet(host: str, port: int, path: str, secret: str, identities: list[str], first_connect: float,
              rate: float, window: tuple[float, float], end_at: float, hb: float, mv: float) -> dict[str, Any]:
    """Run one process's share of the fleet to the end; the results as a dict."""
    import gc

    gc.freeze()
    gc.set_threshold(50_000, 50, 100)  # the fleet's objects live for the whole run

    async def main() -> Results:
        fleet = Fleet(host, port, path, secret, window, end_at, hb, mv)
        return await fleet.run(identities, first_connect, rate)

    res = asyncio.run(main())
    return res.__dict__
