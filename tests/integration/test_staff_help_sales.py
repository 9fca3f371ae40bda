"""The staff console on top of tickets, leads and orders: the queue, replies e-mailed in the requester's
language (real SMTP), internal notes the requester never sees, a customer reply reopening the ticket, a
won lead becoming a site, and order status e-mails."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.models import AuditEntry, Lead, Site, SupportTicket
from portal.services.helpdesk import tickets
from portal.services.sales import leads, orders
from tests.factories import make_user, resident_with_access
from tests.support.mail import run_mail_jobs, text_part

HX = {"HX-Request": "true"}


@pytest.fixture
def desk(session):
    site, resident, cp = resident_with_access(session)
    resident.language = "sv"
    support = make_user(session, "agent@desk.test", staff_role="support")
    sales = make_user(session, "seller@desk.test", staff_role="sales")
    opened = tickets.open_ticket(session, category="charger_fault", description="The cable is stuck\nPlease help",
                                 language="sv", requester=resident, charge_point=cp)
    other = tickets.open_ticket(session, category="billing", description="Invoice question", language="en",
                                requester=None, email="visitor@desk.test")
    session.commit()
    return {"site": site, "resident": resident, "cp": cp, "support": support, "sales": sales,
            "ticket": opened.ticket, "other": other.ticket}


def test_queue_filters_by_status_category_site_and_assignee(client, login, session, desk):
    login(client, desk["support"])
    t, other = desk["ticket"], desk["other"]
    body = client.get("/staff/tickets").get_data(as_text=True)
    assert f'data-ticket="{t.id}"' in body and f'data-ticket="{other.id}"' in body
    for query, shown, hidden in (({"category": "billing"}, other, t), ({"site": desk["site"].slug}, t, other),
                                 ({"status": "closed"}, None, t)):
        fragment = client.get("/staff/tickets", query_string=query, headers=HX).get_data(as_text=True)
        assert fragment.lstrip().startswith('<div id="ticket-queue"')
        assert f'data-ticket="{hidden.id}"' not in fragment
        if shown is not None:
            assert f'data-ticket="{shown.id}"' in fragment
    client.post(f"/staff/tickets/{t.id}/assign", data={"assignee": "me"})
    mine = client.get("/staff/tickets", query_string={"assignee": "me"}, headers=HX).get_data(as_text=True)
    assert f'data-ticket="{t.id}"' in mine and f'data-ticket="{other.id}"' not in mine
    session.expire_all()
    taken = session.get(SupportTicket, t.id)
    assert (taken.assignee_id, taken.status) == (desk["support"].id, "open")


def test_ticket_page_shows_the_requesters_sites_chargers_and_sessions(client, login, session, desk):
    login(client, desk["support"])
    body = client.get(f"/staff/tickets/{desk['ticket'].id}").get_data(as_text=True)
    assert desk["site"].name in body and f'data-identity="{desk["cp"].identity}"' in body
    assert f'href="/staff/chargers/{desk["cp"].identity}"' in body


def test_reply_is_emailed_in_the_requesters_language_and_notes_stay_internal(client, login, session, desk, smtp,
                                                                             redis_url):
    t = desk["ticket"]
    login(client, desk["support"])
    empty = client.post(f"/staff/tickets/{t.id}/reply", data={"reply-body": " "})
    assert empty.status_code == 422 and "Write a message." in empty.get_data(as_text=True)
    client.post(f"/staff/tickets/{t.id}/note", data={"note-body": "Known firmware bug, vendor case 77"})
    answered = client.post(f"/staff/tickets/{t.id}/reply", data={"reply-body": "Unlocked it remotely, try now."})
    assert answered.status_code == 303
    run_mail_jobs(redis_url)
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == desk["resident"].email and mail["Content-Language"] == "sv"
    text = text_part(mail)
    assert "Unlocked it remotely, try now." in text and "vendor case 77" not in text
    session.expire_all()
    assert session.get(SupportTicket, t.id).status == "waiting_for_customer"
    staff_view = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "vendor case 77" in staff_view and 'data-internal="yes"' in staff_view
    # the requester's own thread: the answer, never the note; their reply reopens the ticket
    login(client, desk["resident"])
    thread = client.get(f"/support/tickets/{t.id}").get_data(as_text=True)
    assert "Unlocked it remotely" in thread and "vendor case 77" not in thread
    client.post(f"/support/tickets/{t.id}/reply", data={"body": "Works now, thanks"})
    session.expire_all()
    assert session.get(SupportTicket, t.id).status == "open"
    actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "ticket")))
    assert {"reply", "internal_note"} <= actions


def test_status_change_is_audited_and_closed_stays_closed(client, login, session, desk):
    t = desk["ticket"]
    login(client, desk["support"])
    client.post(f"/staff/tickets/{t.id}/status", data={"status": "closed", "reason": "duplicate"})
    client.post(f"/staff/tickets/{t.id}/status", data={"status": "open"})
    session.expire_all()
    assert session.get(SupportTicket, t.id).status == "closed"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "status"))
    assert entry.reason == "duplicate" and entry.after == {"from": "new", "to": "closed"}


def _lead(session, **kw) -> Lead:
    data = dict(org_type="housing_cooperative", org_name="Fjellsiden Borettslag", org_number="923609016",
                contact_name="Kari Styreleder", contact_role="chair", email="kari@fjell.test", phone="",
                parking_spaces=40, kind="new_installation", message="We want chargers", language="nb")
    data.update(kw)
    lead = leads.create_lead(session, leads.LeadRequest(**data))
    session.commit()
    return lead


def test_a_won_lead_becomes_a_site_in_one_step(client, login, session, desk):
    lead = _lead(session)
    login(client, desk["sales"])
    assert "When the lead is won" in client.get(f"/staff/leads/{lead.id}").get_data(as_text=True)
    saved = client.post(f"/staff/leads/{lead.id}", data={
        "status": "won", "assignee": str(desk["sales"].id), "notes": "Signed", "next_step_on": "2027-01-15",
        "reason": "contract signed"})
    assert saved.status_code == 303
    site_url = f"/staff/leads/{lead.id}/site"
    form = {"name": "Fjellsiden Borettslag", "slug": "fjellsiden", "org_number": "923609017",
            "address": "Fjellveien 1", "city": "Bergen", "price_area": "NO5", "currency": "NOK"}
    bad = client.post(site_url, data=form)
    assert bad.status_code == 422 and "check digit" in bad.get_data(as_text=True)
    assert 'value="Fjellveien 1"' in bad.get_data(as_text=True)  # input kept
    wrong_currency = client.post(site_url, data=dict(form, org_number="923609016", currency="SEK"))
    assert wrong_currency.status_code == 422
    done = client.post(site_url, data=dict(form, org_number="923 609 016"))
    assert done.status_code == 303
    site = session.scalar(select(Site).where(Site.slug == "fjellsiden"))
    assert (site.name, site.org_number, site.price_area, site.currency, site.agreement_status) == (
        "Fjellsiden Borettslag", "923 609 016", "NO5", "NOK", "active")
    session.expire_all()
    lead = session.get(Lead, lead.id)
    assert lead.site_id == site.id and lead.next_step_on.isoformat() == "2027-01-15"
    again = client.post(site_url, data=dict(form, slug="fjellsiden-2", org_number="923609016"))
    assert again.status_code == 422
    assert session.scalar(select(AuditEntry).where(AuditEntry.action == "created_from_lead")).area == "staff"


def test_lead_list_filters(client, login, session, desk):
    first, second = _lead(session), _lead(session, org_name="Havblikk Sameie", org_type="condominium")
    leads.change_status(session, second, "contacted", desk["sales"])
    session.commit()
    login(client, desk["sales"])
    body = client.get("/staff/leads", query_string={"status": "contacted"}, headers=HX).get_data(as_text=True)
    assert f'data-lead="{second.id}"' in body and f'data-lead="{first.id}"' not in body


def test_order_status_changes_are_emailed_to_the_requester(client, login, session, desk, smtp, redis_url):
    site = desk["site"]
    site.agreement_status = "active"
    placed = orders.place_order(session, site, name="Per Beboer", email="per@home.test", phone="", parking_space="P17",
                                charger_model="", language="en")
    session.commit()
    login(client, desk["sales"])
    client.post(f"/staff/orders/{placed.order.id}", data={"status": "installer_booked", "assignee": "", "notes": "x"})
    run_mail_jobs(redis_url)
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == "per@home.test" and "electrician is booked" in mail["Subject"]
    assert "P17" in text_part(mail)
    client.post(f"/staff/orders/{placed.order.id}", data={"status": "installer_booked", "assignee": "",
                                                          "notes": "only a note"})
    run_mail_jobs(redis_url)
    assert len(smtp.messages) == 1  # no status change, no e-mail


def test_support_cannot_edit_sales_pipelines_and_sales_cannot_touch_tickets(client, login, session, desk):
    lead = _lead(session)
    login(client, desk["support"])
    assert client.post(f"/staff/leads/{lead.id}", data={"status": "lost"}).status_code == 403
    login(client, desk["sales"])
    assert client.post(f"/staff/tickets/{desk['ticket'].id}/reply", data={"reply-body": "hi"}).status_code == 403
    session.expire_all()
    assert session.get(Lead, lead.id).status == "new"


def test_sales_landing_page_counts_what_waits(client, login, session, desk):
    _lead(session)
    done = _lead(session, org_name="Done Sameie", org_type="condominium")
    leads.change_status(session, done, "won", desk["sales"])
    session.commit()
    login(client, desk["sales"])
    body = client.get("/staff").get_data(as_text=True)
    assert "New quote requests: 1" in body and "Orders not yet handled: 0" in body
    assert 'data-testid="status-overview"' not in body
