"""The staff audit log as sentences in the reader's language, with filters (who, what, object, time) and paging;
the lead and order pages show statuses, kinds, languages and dates in words."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.db import utcnow
from portal.models import AuditEntry
from portal.services.sales import leads, orders
from portal.services.sites import audit
from tests.factories import make_user, resident_with_access


@pytest.fixture
def world(session):
    site, resident, cp = resident_with_access(session)
    admin = make_user(session, "boss@audit.test", staff_role="admin")
    support = make_user(session, "help@audit.test", staff_role="support")
    session.commit()
    return dict(site=site, resident=resident, cp=cp, admin=admin, support=support)


def _entries(body: str) -> list[str]:
    return re.findall(r'<li data-action="([^"]+)" data-entry="\d+">', body)


def test_entries_read_as_sentences_with_the_object_linked(client, login, session, world):
    cp, admin, support = world["cp"], world["admin"], world["support"]
    audit.record(session, support, cp.site_id, "charge_point", cp.id, "disabled", before={"enabled": True},
                 after={"enabled": False}, area="staff", reason="water leak")
    audit.record(session, admin, None, "user", support.id, "staff_role", before={"staff_role": None},
                 after={"staff_role": "support", "email": support.email}, area="staff", reason="new hire")
    audit.record(session, support, cp.site_id, "charge_point", cp.id, "remote:UnlockConnector",
                 after={"identity": cp.identity}, area="staff", reason="stuck cable")
    session.commit()
    login(client, admin)
    body = client.get("/staff/audit").get_data(as_text=True)
    assert (f'help@audit.test disabled <a href="/staff/chargers/{cp.identity}">charger {cp.identity}</a>.'
            in body)
    assert f'boss@audit.test set the staff role of <a href="/staff/people/{support.id}">account help@audit.test</a>' \
           ' to Support.' in body
    assert "Unlock the cable" in body and "Why: water leak" in body
    client.set_cookie("lang", "nb")
    norsk = client.get("/staff/audit").get_data(as_text=True)
    shown = re.sub(r'="[^"]*"', "", norsk)  # what the reader sees, not the attributes
    assert "help@audit.test slo av" in shown and "Lås opp kabelen" in shown and "UnlockConnector" not in shown
    assert "Personalrolle endret" in shown and "staff_role" not in shown


def test_filters_by_who_what_object_and_time_and_pages_fifty(client, login, session, world):
    cp, admin, support, site = world["cp"], world["admin"], world["support"], world["site"]
    long_ago = utcnow() - timedelta(days=40)
    for n in range(60):
        entry = audit.record(session, support, site.id, "charge_point", cp.id, "enabled", after={"enabled": True},
                             area="staff", reason=f"r{n}")
        entry.created_at = long_ago + timedelta(minutes=n)
    audit.record(session, admin, site.id, "site", site.id, "agreement", after={"agreement_status": "ended"},
                 area="staff", reason="ended")
    audit.record(session, admin, None, "user", world["resident"].id, "data_exported", area="staff", reason="asked")
    session.commit()
    login(client, admin)
    first = client.get("/staff/audit").get_data(as_text=True)
    assert len(_entries(first)) == 50 and _entries(first)[:2] == ["data_exported", "agreement"]
    assert "audit-newer" not in first
    older = re.search(r'data-testid="audit-older"', first) and client.get("/staff/audit?page=2").get_data(as_text=True)
    assert len(_entries(older)) == 12 and "audit-older" not in older and "audit-newer" in older
    by_who = client.get("/staff/audit", query_string={"who": admin.id}).get_data(as_text=True)
    assert _entries(by_who) == ["data_exported", "agreement"]
    by_what = client.get("/staff/audit", query_string={"what": "enabled", "page": "2"}).get_data(as_text=True)
    assert _entries(by_what) == ["enabled"] * 10
    link = re.search(r'data-testid="audit-newer"', by_what)
    kept = r'href="/staff/audit\?[^"]*what=enabled[^"]*" data-testid="audit-newer"'  # the filter is kept
    assert link and re.search(kept, by_what)
    by_object = client.get("/staff/audit", query_string={"kind": "site", "object_id": site.id}).get_data(as_text=True)
    assert _entries(by_object) == ["agreement"] and "Agreement ended" in by_object
    assert _entries(client.get("/staff/audit", query_string={"kind": "site", "object_id": site.id + 999})
                    .get_data(as_text=True)) == []
    today = datetime.now(timezone.utc).date()
    recent = client.get("/staff/audit", query_string={"since": (today - timedelta(days=1)).isoformat()})
    assert _entries(recent.get_data(as_text=True)) == ["data_exported", "agreement"]
    old = client.get("/staff/audit", query_string={"until": (today - timedelta(days=20)).isoformat()})
    assert len(_entries(old.get_data(as_text=True))) == 50
    bad = client.get("/staff/audit", query_string={"since": "last week", "object_id": "x"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200 and 'data-testid="error-since"' in body and 'value="last week"' in body
    assert 'data-testid="error-object_id"' in body and len(_entries(body)) == 50
    fragment = client.get("/staff/audit", query_string={"since": "last week", "what": "agreement"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="audit-view">') and 'data-testid="error-since"' in fragment
    assert _entries(fragment) == ["agreement"]


def test_lead_and_order_pages_show_values_in_the_readers_language(client, login, session, world):
    sales = make_user(session, "sales@audit.test", staff_role="sales")
    lead = leads.create_lead(session, leads.LeadRequest(
        org_type="housing_cooperative", org_name="Fjellsiden Borettslag", org_number="923609016",
        contact_name="Kari", contact_role="", email="kari@fjell.test", phone="", parking_spaces=40,
        kind="new_installation", message="", language="nb"))
    lead.next_step_on = date(2026, 12, 24)
    world["site"].agreement_status = "active"
    placed = orders.place_order(session, world["site"], name="Per", email="per@home.test", phone="",
                                parking_space="P17", charger_model="", language="sv")
    session.commit()
    login(client, sales)
    client.set_cookie("lang", "nb")
    page = client.get(f"/staff/leads/{lead.id}").get_data(as_text=True)
    assert "Ny installasjon" in page and "Norsk (bokmål)" in page and "Borettslag" in page
    assert "new_installation" not in page.replace('value="new_installation"', "") and ": nb" not in page
    listing = client.get("/staff/leads").get_data(as_text=True)
    assert "24. des. 2026" in listing and "2026-12-24" not in listing and "Ny installasjon" in listing
    client.set_cookie("lang", "sv")
    order = client.get(f"/staff/orders/{placed.order.id}").get_data(as_text=True)
    assert "Svenska" in order and ": sv<" not in order and "Mottagen" in order
    client.set_cookie("lang", "en")
    assert "Dec 24, 2026" in client.get("/staff/leads").get_data(as_text=True)
    assert session.query(AuditEntry).count() == 0
