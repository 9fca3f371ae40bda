"""Issue 18, done when: ten rounds of simultaneous taps and taps 0-500 ms apart against a real stack make
one RemoteStartTransaction each time, and every tap's page shows the one session.

The stack: the web app under gunicorn, an RQ worker and an OCPP node (processes); a resident logged in
over HTTP (CSRF and all) tapping start as htmx does; and a charge point made here with the `ocpp` package
over websockets that behaves like the independent charger of the report: it accepts every remote start
and sends its StartTransaction ~50 ms later, then Charging. It counts the RemoteStartTransaction calls it
receives. Between rounds it ends the session (StopTransaction, Available). The rounds share one stack.
"""
from __future__ import annotations

import asyncio
import http.cookiejar
import random
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

import pytest
from ocpp.routing import after, on
from ocpp.v16 import ChargePoint as OcppChargePoint
from ocpp.v16 import call, call_result
from ocpp.v16.enums import Action
from sqlalchemy import func, select
from websockets.asyncio.client import connect

from portal.models import ActionRequest, ChargePoint, Transaction
from tests.factories import CHARGER_SECRET, PASSWORD, resident_with_access
from tests.integration.ocpp_helpers import basic
from tests.support.stack import Stack, wait_for_db

ROUNDS = 10
TAPS_AT_ONCE = 8  # the report: eight simultaneous taps sent two starts in one of three rounds
TAPS_APART = 6  # six taps of a shaky finger, 0-500 ms apart
START_DELAY_S = 0.05  # the independent charger: StartTransaction ~50 ms after accepting


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


class QuickCharger(OcppChargePoint):
    """Accepts every remote start and starts the session at once; counts the remote starts it got."""

    def __init__(self, identity: str, connection) -> None:
        super().__init__(identity, connection, response_timeout=10)
        self.remote_starts: list[str] = []
        self.started: asyncio.Queue[int] = asyncio.Queue()
        self.meter = 1_000

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_):
        self.remote_starts.append(id_tag)
        return call_result.RemoteStartTransaction(status="Accepted")

    @after(Action.remote_start_transaction)
    async def begin(self, id_tag: str, connector_id: int | None = None, **_) -> None:
        await asyncio.sleep(START_DELAY_S)
        result = await self.call(call.StartTransaction(connector_id=connector_id or 1, id_tag=id_tag,
                                                       meter_start=self.meter, timestamp=now_iso()))
        await self.status("Charging")
        self.started.put_nowait(result.transaction_id)

    async def status(self, status: str, connector_id: int = 1) -> None:
        await self.call(call.StatusNotification(connector_id=connector_id, error_code="NoError", status=status,
                                                timestamp=now_iso()))

    async def end(self, transaction_id: int) -> None:
        self.meter += 500
        await self.call(call.StopTransaction(meter_stop=self.meter, timestamp=now_iso(),
                                             transaction_id=transaction_id, reason="EVDisconnected"))
        await self.status("Available")


class Phone:
    """One resident's browser: a cookie jar, the CSRF token of the pages, htmx's request headers."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._NoRedirect())
        self.csrf = ""

    def open(self, path: str, data: dict | None = None, headers: dict | None = None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Accept-Language": "en",
                                                                               **(headers or {})})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read().decode()

    def token_from(self, page: str) -> str:
        match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
            re.search(r'"X-CSRFToken": "([^"]+)"', page)
        assert match, page[:500]
        return match[1]

    def log_in(self, email: str) -> None:
        _, _, page = self.open("/login")
        status, headers, _ = self.open("/login", {"email": email, "password": PASSWORD,
                                                  "csrf_token": self.token_from(page)})
        assert status in (302, 303), status

    def start_screen(self, identity: str) -> None:
        status, _, page = self.open(f"/c/{identity}")
        assert status == 200, status
        self.csrf = self.token_from(page)

    def tap_start(self, identity: str) -> tuple[int, str | None]:
        """The start button, as htmx posts it: (status, the HX-Redirect target)."""
        status, headers, _ = self.open(f"/c/{identity}/start", {"connector": "1"},
                                       {"HX-Request": "true", "HX-Current-URL": f"{self.base}/c/{identity}",
                                        "X-CSRFToken": self.csrf})
        return status, headers.get("HX-Redirect")


def taps(phone: Phone, identity: str, gaps: list[float]) -> list[tuple[int, str | None]]:
    """One tap per gap, each in its own thread: all at one moment (a barrier) when every gap is 0, else
    each `gap` seconds after the previous one was made (not answered)."""
    results: list = [None] * len(gaps)
    barrier = threading.Barrier(len(gaps)) if not any(gaps) else None

    def one(i: int) -> None:
        if barrier is not None:
            barrier.wait()
        results[i] = phone.tap_start(identity)

    threads = []
    for i, gap in enumerate(gaps):
        if barrier is None and gap:
            threading.Event().wait(gap)
        t = threading.Thread(target=one, args=(i,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join(30)
    return results


@pytest.fixture
def env(database_url, redis_url):
    return {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "0",
            "WORKER_PROCESSES": "1"}


def test_ten_rounds_of_taps_make_one_remote_start_each_and_every_page_shows_the_session(db, session, env):
    site, user, cp = resident_with_access(session)
    cp.online = False
    session.commit()
    identity, cp_id, email = cp.identity, cp.id, user.email
    rng = random.Random(18)

    with Stack(env) as stack:
        node = stack.ocpp_node("taps")
        stack.worker()
        _, base = stack.web()
        phone = Phone(base)
        phone.log_in(email)

        async def scenario() -> list[int]:
            async with connect(f"{node.url}/{identity}", subprotocols=["ocpp1.6"],
                               additional_headers=basic(identity, CHARGER_SECRET)) as ws:
                charger = QuickCharger(identity, ws)
                reader = asyncio.create_task(charger.start())
                await charger.call(call.BootNotification(charge_point_vendor="Test", charge_point_model="Taps"))
                await charger.status("Available", 0)
                await charger.status("Available")
                sessions = []
                for n in range(ROUNDS):
                    sessions.append(await one_round(n, charger))
                reader.cancel()
                return sessions

        async def one_round(n: int, charger: QuickCharger) -> int:
            await asyncio.to_thread(wait_for_db, db, lambda s: (c := s.get(ChargePoint, cp_id)).online
                                    and c.connector(1).status == "Available")
            await asyncio.to_thread(phone.start_screen, identity)
            before = len(charger.remote_starts)
            gaps = [0.0] * TAPS_AT_ONCE if n % 2 == 0 else [0.0] + [rng.uniform(0, 0.5) for _ in range(TAPS_APART - 1)]
            answers = await asyncio.to_thread(taps, phone, identity, gaps)
            assert {status for status, _ in answers} == {204}, (n, answers)
            pages = {target for _, target in answers}
            assert len(pages) == 1, (n, answers)
            tx_id = await asyncio.wait_for(charger.started.get(), 20)
            page = pages.pop()
            action_id = int(page.rsplit("/", 1)[-1])
            await asyncio.to_thread(wait_for_db, db, lambda s: s.get(ActionRequest, action_id).transaction_id == tx_id)
            for _ in answers:  # every tap's page: the one session, live (its stop button)
                status, _, body = await asyncio.to_thread(phone.open, page)
                assert status == 200 and f"/sessions/{tx_id}/stop" in body, (n, status)
            with db.session() as s:  # every request the charger could ever be sent
                assert s.scalar(select(func.count(ActionRequest.id)).where(
                    ActionRequest.action == "RemoteStartTransaction")) == n + 1
            assert len(charger.remote_starts) - before == 1, (n, charger.remote_starts)
            await charger.end(tx_id)
            await asyncio.to_thread(wait_for_db, db, lambda s: s.get(Transaction, tx_id).status == "completed")
            return tx_id

        sessions = asyncio.run(asyncio.wait_for(scenario(), 240))
    assert len(set(sessions)) == ROUNDS
