"""The start screen's live fragment: small, 304 when unchanged, and it heals (button back, refusal gone)."""
from __future__ import annotations

import re

from portal.models import ChargePoint, UserSubscription
from tests.factories import make_charge_point, make_site, make_user, resident_with_access, standard_setup

HX = {"HX-Request": "true"}
LIMIT = 2048


def _poll(client, identity: str, etag: str | None = None):
    headers = dict(HX, **({"If-None-Match": etag} if etag else {}))
    return client.get(f"/c/{identity}", headers=headers)


def test_fragment_is_small_and_unchanged_costs_a_304(client, login, session):
    site, user, cp = resident_with_access(session)
    two = make_charge_point(session, site, "CP-LIVE-TWO", connectors=2, group=cp.tariff_group,
                            name="Garage B, spaces 14 and 15")
    session.commit()
    login(client, user)
    page = client.get(f"/c/{two.identity}").get_data(as_text=True)
    first_tag = re.search(r'data-live data-etag="([0-9a-f]+)"', page).group(1)
    for identity in (cp.identity, two.identity):
        first = _poll(client, identity)
        body = first.get_data()
        assert first.status_code == 200 and b"<html" not in body and b'data-testid="start-button"' in body
        assert len(body) < LIMIT, f"live fragment of {identity} is {len(body)} bytes"
        print(f"start screen fragment of {identity}: {len(body)} bytes")
        assert first.headers["ETag"] and "HX-Request" in first.headers["Vary"]
        again = _poll(client, identity, first.headers["ETag"])
        assert again.status_code == 304 and again.get_data() == b""
    # The tag printed in the full page is the one the first poll would get: that poll is a 304 too.
    assert _poll(client, two.identity, f'"{first_tag}"').status_code == 304
    # A stale tag gets the whole fragment.
    assert _poll(client, two.identity, '"0000"').status_code == 200


def test_start_button_comes_back_when_the_charger_reconnects(client, login, session, db):
    site, user, cp = resident_with_access(session)
    cp.online = False
    session.commit()
    login(client, user)
    offline = _poll(client, cp.identity)
    assert b'data-reason="offline"' in offline.get_data() and b"start-button" not in offline.get_data()
    assert _poll(client, cp.identity, offline.headers["ETag"]).status_code == 304
    with db.session() as s:
        s.get(ChargePoint, cp.id).online = True
        s.commit()
    online = _poll(client, cp.identity, offline.headers["ETag"])
    assert online.status_code == 200 and online.headers["ETag"] != offline.headers["ETag"]
    assert b'data-testid="start-button"' in online.get_data() and b'data-testid="refusal"' not in online.get_data()


def test_refusal_goes_away_when_access_arrives(client, login, session, db):
    site = make_site(session)
    group, plan = standard_setup(session, site)
    cp = make_charge_point(session, site, group=group)
    user = make_user(session, site=site)  # a member, but without the residents' subscription yet
    session.commit()
    login(client, user)
    refused = _poll(client, cp.identity)
    assert b'data-reason="not_allowed"' in refused.get_data()
    with db.session() as s:
        s.add(UserSubscription(user_id=user.id, plan_id=plan.id, status="active"))
        s.commit()
    healed = _poll(client, cp.identity, refused.headers["ETag"])
    assert healed.status_code == 200 and b'data-testid="refusal"' not in healed.get_data()
    assert b'data-testid="start-button"' in healed.get_data()


def test_other_languages_get_their_own_tag(client, login, session):
    site, user, cp = resident_with_access(session)
    session.commit()
    login(client, user)
    english = _poll(client, cp.identity)
    client.set_cookie("lang", "sv")
    swedish = _poll(client, cp.identity, english.headers["ETag"])
    assert swedish.status_code == 200 and "Starta" in swedish.get_data(as_text=True)


def test_live_session_fragment_is_small_and_unchanged_costs_a_304(client, login, session, db):
    """The charging page polls the same way: figures and a power chart under 2 KiB, 304 while nothing changes."""
    from datetime import datetime, timedelta, timezone
    from decimal import Decimal

    from portal.models import MeterValue, Transaction
    from tests.integration.test_resident_sessions import make_tx

    site, user, cp = resident_with_access(session)
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    tx = make_tx(session, cp, user, wh=5400, started=now - timedelta(hours=2))
    for i in range(240):  # a long session: the chart has its most points
        session.add(MeterValue(charge_point_id=cp.id, connector_id=1, transaction_id=tx.id,
                               timestamp=now - timedelta(seconds=7170 - 30 * i), measurand="Power.Active.Import",
                               value=Decimal(7000 + (i % 7) * 613), unit="W"))
    session.commit()
    login(client, user)
    first = client.get(f"/sessions/{tx.id}", headers=HX)
    body = first.get_data()
    assert first.status_code == 200 and b'data-testid="power-chart"' in body and b'hx-trigger="live-poll"' in body
    assert len(body) < LIMIT, f"live session fragment is {len(body)} bytes"
    print(f"live session fragment: {len(body)} bytes")
    unchanged = client.get(f"/sessions/{tx.id}", headers=dict(HX, **{"If-None-Match": first.headers["ETag"]}))
    # The duration is shown in minutes: within the same minute nothing changes (retry once across a minute edge).
    if unchanged.status_code != 304:
        first = client.get(f"/sessions/{tx.id}", headers=HX)
        unchanged = client.get(f"/sessions/{tx.id}", headers=dict(HX, **{"If-None-Match": first.headers["ETag"]}))
    assert unchanged.status_code == 304
    with db.session() as s:
        s.get(Transaction, tx.id).meter_last_wh += 700
        s.commit()
    changed = client.get(f"/sessions/{tx.id}", headers=dict(HX, **{"If-None-Match": first.headers["ETag"]}))
    assert changed.status_code == 200 and b'data-wh="6100"' in changed.get_data()
