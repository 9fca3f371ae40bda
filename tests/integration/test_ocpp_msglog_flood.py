"""A charger flooding the message log (issue 23): 120 frames of 255 KB in a second once added 24 MB to the
database and made the staff charger page 23 MB. A minute of large frames, compressed: the window is a
minute, the frames real ones over a real WebSocket."""
from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import func, select
from websockets.asyncio.client import connect

from portal.models import OcppMessage
from tests.factories import CHARGER_SECRET, make_charge_point, make_site, make_user
from tests.integration.ocpp_helpers import basic, ocpp_node, run

BUDGET = 200_000


def test_a_charger_sending_large_frames_stays_within_its_log_budget(db, session, client, login, redis_url,
                                                                    monkeypatch):
    monkeypatch.setenv("OCPP_MSGLOG_BUDGET_BYTES", str(BUDGET))
    monkeypatch.setenv("OCPP_MSGLOG_BUDGET_WINDOW_S", "60")
    monkeypatch.setenv("OCPP_MSGLOG_FRAME_MAX_BYTES", "16384")
    monkeypatch.setenv("OCPP_MAX_MESSAGES_PER_S", "1000")
    site = make_site(session)
    cp = make_charge_point(session, site, "CP-FLOOD-1", online=False, boot_status=None)
    support = make_user(session, "flood-support@console.test", staff_role="support")
    session.commit()
    big = "x" * (250 * 1024)

    async def scenario():
        async with ocpp_node(db, redis_url) as node:
            async with connect(f"{node.url}/{cp.identity}", subprotocols=["ocpp1.6"], max_size=None,
                               additional_headers=basic(cp.identity, CHARGER_SECRET)) as ws:
                started = time.monotonic()
                for i in range(120):
                    await ws.send(json.dumps([2, f"dt-{i}", "DataTransfer", {"vendorId": "flood", "data": big}]))
                    await asyncio.wait_for(ws.recv(), 10)
                elapsed = time.monotonic() - started
            await node.msglog.flush()
            return elapsed

    elapsed = run(scenario(), timeout=120)
    with db.session() as s:
        stored = s.scalar(select(func.sum(func.length(OcppMessage.frame))).where(OcppMessage.identity == cp.identity))
        frames = list(s.scalars(select(OcppMessage.frame).where(OcppMessage.identity == cp.identity)))
    assert stored <= BUDGET * (1 + elapsed / 60) + 2000, (stored, elapsed)  # the budget, plus its refill
    assert any(f"[cut: the frame had {len(json.dumps([2, 'dt-0', 'DataTransfer', {'vendorId': 'flood', 'data': big}]))}"
               in f for f in frames)  # kept cut, its original size noted
    login(client, support)
    page = client.get(f"/staff/chargers/{cp.identity}")
    assert page.status_code == 200 and len(page.data) < 600_000, len(page.data)
