"""Tariffs and tariff groups through the pages: forms, the applicable-tariff preview, price changes."""
import re
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from portal.models import AuditEntry, ChargePoint, Tariff, TariffGroup, Transaction
from portal.services import ocpp_ingest
from portal.services.sites.onboarding import virtual_tag
from tests.factories import (
    make_charge_point, make_group, make_plan, make_site, make_tariff, make_user, standard_setup, subscribe,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def board(session, client, login):
    site = make_site(session, "solvang")
    user = make_user(session, "board@solvang.test", site=site, role="board")
    session.commit()
    login(client, user)
    return site, user


def tariff_form(**overrides):
    data = {"name": "Solvang – residents", "description": "", "pricing_type": "standard", "energy_fee": "3,20",
            "min_price": "0", "preauth": "0", "spot_markup": "0", "spot_markup_percent": "0", "spot_fallback": ""}
    data.update(overrides)
    return data


@pytest.mark.parametrize("typed, stored", [("2,35", "2.35"), ("2.35", "2.35"), ("3", "3")])
def test_create_standard_tariff_accepts_comma_or_dot(client, board, db, typed, stored):
    site, _ = board
    response = client.post("/manage/solvang/tariffs/new", data=tariff_form(energy_fee=typed, min_price="5,50",
                                                                           preauth="200"))
    assert response.status_code == 303
    with db.session() as s:
        t = s.scalar(select(Tariff).where(Tariff.site_id == site.id))
        assert t.energy_fee == Decimal(stored)
        assert (t.min_price_minor, t.preauth_minor) == (550, 20000)
        entry = s.scalar(select(AuditEntry).where(AuditEntry.entity == "tariff"))
        assert entry.action == "create" and Decimal(entry.after["energy_fee"]) == t.energy_fee


def test_invalid_tariff_is_shown_again_with_messages_and_input_kept(client, board, db):
    response = client.post("/manage/solvang/tariffs/new", data=tariff_form(energy_fee="3,2,0", name="Kept name"),
                           headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'data-testid="tariff-form"' in body and "<html" not in body  # the fragment for htmx
    assert "Kept name" in body and "3,2,0" in body and "Enter a price like 2,35." in body
    response = client.post("/manage/solvang/tariffs/new", data=tariff_form(energy_fee=""))
    assert response.status_code == 422 and "needs a price per kWh" in response.get_data(as_text=True)
    response = client.post("/manage/solvang/tariffs/new", data=tariff_form(pricing_type="spot", energy_fee=""))
    assert response.status_code == 422 and "fallback price" in response.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(Tariff)) is None


def test_spot_tariff_with_markups_and_restriction(client, board, db, session):
    site, _ = board
    plan = make_plan(session, site, "Residents")
    session.commit()
    response = client.post("/manage/solvang/tariffs/new", data=tariff_form(
        pricing_type="spot", energy_fee="", spot_markup="0,15", spot_markup_percent="12,5", spot_fallback="2.80",
        plans=[str(plan.id)]))
    assert response.status_code == 303
    with db.session() as s:
        t = s.scalar(select(Tariff))
        assert t.pricing_type == "spot"
        assert (t.spot_markup, t.spot_markup_percent, t.spot_fallback) == (Decimal("0.15"), Decimal("12.5"),
                                                                          Decimal("2.8"))
        assert [p.id for p in t.restrictions] == [plan.id]
    page = client.get("/manage/solvang/tariffs").get_data(as_text=True)
    assert "Residents" in page and "2.80 kr/kWh" in page


def test_edit_form_shows_stored_values_with_comma_and_a_plan_of_another_site_is_ignored(client, board, db, session):
    site, _ = board
    other_plan = make_plan(session, make_site(session), "Foreign")
    tariff = make_tariff(session, site, name="T", fee="3.2", min_minor=1000)
    session.commit()
    page = client.get(f"/manage/solvang/tariffs/{tariff.id}").get_data(as_text=True)
    assert 'value="3,20"' in page and 'value="10,00"' in page
    response = client.post(f"/manage/solvang/tariffs/{tariff.id}",
                           data=tariff_form(name="T", plans=[str(other_plan.id)]))
    assert response.status_code == 422  # not a valid choice on this site
    with db.session() as s:
        assert s.get(Tariff, tariff.id).restrictions == []


def preview_rows(html: str) -> dict[str, tuple[str, str]]:
    """plan id (or 'none') -> (outcome, tariff id) from the preview table."""
    return {plan: (outcome, tid) for plan, outcome, tid in re.findall(
        r'data-testid="preview-row" data-plan="([^"]+)" data-outcome="([^"]+)"\s+data-tariff-id="([^"]*)"', html)}


def test_preview_shows_the_start_screen_rule_for_each_kind_of_user(client, board, session):
    site, _ = board
    residents, guests = make_plan(session, site, "Residents"), make_plan(session, site, "Guests")
    base = make_tariff(session, site, name="Base", pricing_type="not_allowed")
    res = make_tariff(session, site, name="Residents", fee="3.20", plans=[residents])
    res_cheap = make_tariff(session, site, name="Residents night", fee="2.10", plans=[residents])
    guest = make_tariff(session, site, name="Guests", fee="4.50", plans=[guests])
    open_ = make_tariff(session, site, name="Open", fee="1.00")  # unrestricted: loses to restricted ones
    group = make_group(session, site, [base, res, res_cheap, guest, open_])
    make_plan(session, site, "Nothing attached")
    session.commit()
    html = client.get(f"/manage/solvang/groups/{group.id}").get_data(as_text=True)
    rows = preview_rows(html)
    assert rows["none"] == ("not_allowed", str(base.id))  # a ban ranks cheapest among unrestricted tariffs
    assert rows[str(residents.id)] == ("ok", str(res_cheap.id))  # restricted wins, then the cheapest
    assert rows[str(guests.id)] == ("ok", str(guest.id))
    assert "2.10 kr/kWh" in html and "4.50 kr/kWh" in html and "Cannot charge" in html

    # the start-screen rule gives the same answers
    from portal.services.charging.access import tariff_for
    holder = make_user(session, site=site)
    subscribe(session, holder, residents)
    cp = make_charge_point(session, site, group=group)
    assert tariff_for(session, holder.id, cp).tariff.id == res_cheap.id
    assert tariff_for(session, None, cp).reason == "not_allowed"


def test_preview_without_tariffs_says_nobody_can_charge(client, board, session):
    site, _ = board
    group = make_group(session, site, [])
    session.commit()
    rows = preview_rows(client.get(f"/manage/solvang/groups/{group.id}").get_data(as_text=True))
    assert rows["none"] == ("no_tariff", "")


def test_attach_and_detach_with_active_search(client, board, session, db):
    site, _ = board
    a = make_tariff(session, site, name="Solvang residents")
    b = make_tariff(session, site, name="Solvang guests")
    foreign = make_tariff(session, make_site(session), name="Solvang copycat")
    group = make_group(session, site, [a])
    session.commit()
    results = client.get(f"/manage/solvang/groups/{group.id}/search?q=solvang", headers=HX).get_data(as_text=True)
    assert f'data-tariff-id="{b.id}"' in results
    assert f'data-tariff-id="{a.id}"' not in results  # already attached
    assert f'data-tariff-id="{foreign.id}"' not in results  # another site's
    assert "<html" not in results
    response = client.post(f"/manage/solvang/groups/{group.id}/attach/{b.id}", headers=HX)
    assert response.status_code == 200 and 'data-testid="tariffs-panel"' in response.get_data(as_text=True)
    assert client.post(f"/manage/solvang/groups/{group.id}/attach/{foreign.id}").status_code == 404
    client.post(f"/manage/solvang/groups/{group.id}/detach/{a.id}", headers=HX)
    with db.session() as s:
        assert [t.id for t in s.get(TariffGroup, group.id).tariffs] == [b.id]
        assert [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.entity == "tariff_group")
                                            .order_by(AuditEntry.id))] == ["attach_tariff", "detach_tariff"]


def test_create_group_and_link_charge_points(client, board, session, db):
    site, _ = board
    cp1, cp2 = make_charge_point(session, site, "CP-S-1"), make_charge_point(session, site, "CP-S-2")
    foreign = make_charge_point(session, make_site(session), "CP-F-1")
    session.commit()
    assert client.post("/manage/solvang/groups", data={"name": ""}).status_code == 422
    response = client.post("/manage/solvang/groups", data={"name": "Garage"})
    assert response.status_code == 303
    group_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert client.post(f"/manage/solvang/groups/{group_id}/charge-points",
                       data={"charge_points": [str(cp1.id), str(foreign.id)]}).status_code == 422
    assert client.post(f"/manage/solvang/groups/{group_id}/charge-points",
                       data={"charge_points": [str(cp1.id), str(cp2.id)]}).status_code == 303
    assert client.post(f"/manage/solvang/groups/{group_id}/charge-points",
                       data={"charge_points": [str(cp2.id)]}).status_code == 303
    with db.session() as s:
        assert s.get(ChargePoint, cp1.id).tariff_group_id is None
        assert s.get(ChargePoint, cp2.id).tariff_group_id == group_id
        assert s.get(ChargePoint, foreign.id).tariff_group_id is None


def test_price_change_applies_to_sessions_started_after_it(client, board, session, db):
    site, _ = board
    group, plan = standard_setup(session, site, fee="3.20")
    cp = make_charge_point(session, site, "CP-PRICE", group=group)
    resident = make_user(session, site=site)
    subscribe(session, resident, plan)
    tag = virtual_tag(session, resident).tag
    t0 = datetime(2024, 5, 1, 10, tzinfo=timezone.utc)
    running = ocpp_ingest.start_transaction(session, cp.identity, connector_id=1, id_tag=tag, meter_start=1000,
                                            timestamp=t0, now=t0)
    session.commit()
    residents_tariff = next(t for t in group.tariffs if t.restrictions)

    response = client.post(f"/manage/solvang/tariffs/{residents_tariff.id}",
                           data=tariff_form(name="Residents", energy_fee="5,00", plans=[str(plan.id)]))
    assert response.status_code == 303

    with db.session() as s:
        t1 = datetime(2024, 5, 1, 11, tzinfo=timezone.utc)
        ocpp_ingest.stop_transaction(s, cp.identity, transaction_id=running.transaction_id, meter_stop=11000,
                                     timestamp=t1, reason="Local", id_tag=None, transaction_data=None, payload={},
                                     now=t1)
        later = ocpp_ingest.start_transaction(s, cp.identity, connector_id=1, id_tag=tag, meter_start=11000,
                                              timestamp=t1, now=t1)
        t2 = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
        ocpp_ingest.stop_transaction(s, cp.identity, transaction_id=later.transaction_id, meter_stop=21000,
                                     timestamp=t2, reason="Local", id_tag=None, transaction_data=None, payload={},
                                     now=t2)
        s.commit()
        first, second = s.get(Transaction, running.transaction_id), s.get(Transaction, later.transaction_id)
        assert (first.energy_fee, first.cost_minor) == (Decimal("3.2"), 3200)  # kept its snapshot
        assert (second.energy_fee, second.cost_minor) == (Decimal("5"), 5000)
        audit = s.scalar(select(AuditEntry).where(AuditEntry.entity == "tariff", AuditEntry.action == "update"))
        assert Decimal(audit.before["energy_fee"]) == Decimal("3.2") and Decimal(audit.after["energy_fee"]) == 5
