"""Issue 19: a page per person for support. Finding someone by name, e-mail, a part of their phone number
(also one stored before numbers were checked, or one on their ticket) or a part of their RFID tag; every section
of the page; every action with its audit entry; refusals for residents and board members; the call noted as a
ticket whose notes the person never sees."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import select

from portal import settings
from portal.db import utcnow
from portal.models import (
    ActionRequest, AuditEntry, Favourite, IdTag, Invite, OutboxEmail, SupportTicket, Transaction, User,
)
from portal.services.billing import statements
from portal.services.helpdesk import tickets
from portal.services.people import login_sessions
from tests.factories import make_charge_point, make_site, make_user, resident_with_access

OPERATOR = statements.Operator("Ladeportalen AS", "923 609 016")


def _tx(session, cp, user, hours_ago: float, *, active: bool = False, **fields) -> Transaction:
    start = utcnow() - timedelta(hours=hours_ago)
    tx = Transaction(charge_point_id=cp.id, connector_id=1, id_tag="V", user_id=user.id,
                     status="active" if active else "completed", start_key=f"p-{cp.id}-{hours_ago}",
                     meter_start_wh=0, meter_stop_wh=None if active else 5000, started_at=start,
                     stopped_at=None if active else start + timedelta(hours=1), energy_wh=0 if active else 5000,
                     cost_minor=None if active else 1600, vat_minor=None if active else 320,
                     energy_fee=Decimal("3.20"), **fields)
    session.add(tx)
    session.flush()
    return tx


@pytest.fixture
def desk(session):
    """Rita at Eik: an old unnormalised phone number, a tag, a favourite, sessions of every billing kind, a
    statement, a ticket, a device; an invite to a second site; support, a board member and another resident."""
    site, rita, cp = resident_with_access(session)
    site.name = "Eik borettslag"
    rita.email, rita.name, rita.phone, rita.language = "rita@eik.test", "Rita Ødegård", "912 34 567", "en"
    cp.identity, cp.name = "CP-EIK-1", "Garage"
    other_site = make_site(session, "lind", name="Lind sameie")
    foreign_cp = make_charge_point(session, other_site, "CP-LIND-1")
    tag = IdTag(tag="04A1B2C3D4", user_id=rita.id, kind="rfid", name="Blue fob")
    session.add(tag)
    session.add(Favourite(user_id=rita.id, charge_point_id=cp.id))
    billed = _tx(session, cp, rita, 24 * 40)
    statement = statements.issue(session, site, billed.started_at.year, billed.started_at.month, OPERATOR)[0]
    _tx(session, cp, rita, 5)
    _tx(session, cp, rita, 3, close_note="charger silent", close_billed=False, resident_reason="charger_offline",
        billable=False, stop_key="support-x")
    running = _tx(session, cp, rita, 1, active=True)
    invite = Invite(site_id=other_site.id, email="rita@eik.test", token_hash="b" * 64, status="pending",
                    send_count=1, last_sent_at=utcnow())
    session.add(invite)
    ticket = tickets.open_ticket(session, category="billing", description="Why two fees?", language="en",
                                 requester=rita).ticket
    login_sessions.start(session, rita, remember=False, user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17) Safari/604")
    bo = make_user(session, "bo@eik.test", site=site, name="Bo Berg")
    board = make_user(session, "board@eik.test", site=site, role="board")
    support = make_user(session, "sam@op.test", staff_role="support", name="Sam Support")
    visitor_ticket = tickets.open_ticket(session, category="other", description="Call me", language="en",
                                         requester=bo, phone="+46 70 765 43 21").ticket
    visitor_ticket.requester_phone = "070-765 43 21"
    session.commit()
    return dict(site=site, rita=rita, cp=cp, foreign_cp=foreign_cp, tag=tag, statement=statement,
                running=running, invite=invite, ticket=ticket, bo=bo, board=board, support=support)


def _hits(client, q: str) -> set[str]:
    body = client.get("/staff/people", query_string={"q": q}).get_data(as_text=True)
    return {email for email in ("rita@eik.test", "bo@eik.test", "board@eik.test", "sam@op.test") if email in body}


def test_support_finds_a_person_by_name_email_partial_phone_or_partial_tag(client, login, desk):
    login(client, desk["support"])
    assert _hits(client, "ødegård") == {"rita@eik.test"}          # name, any case
    assert _hits(client, "RITA@EIK") == {"rita@eik.test"}         # e-mail, a part
    assert _hits(client, "34 567") == {"rita@eik.test"}           # a part of an old, unnormalised number
    assert _hits(client, "+47 912 34 567") == {"rita@eik.test"}   # the whole number, international form
    assert _hits(client, "0047 91234567") == {"rita@eik.test"}
    assert _hits(client, "b2c3") == {"rita@eik.test"}             # a part of the tag, any case
    assert _hits(client, "04 A1 B2") == {"rita@eik.test"}         # as a reader prints it, in groups
    assert _hits(client, "+46 70 765 43") == {"bo@eik.test"}      # the number on Bo's ticket
    body = client.get("/staff/people", query_string={"q": "b2c3"}).get_data(as_text=True)
    assert 'data-matched="tag"' in body and "04A1B2C3D4" in body
    nobody = client.get("/staff/people", query_string={"q": "99 88 77 66"}).get_data(as_text=True)
    assert 'data-testid="no-people"' in nobody and 'value="99 88 77 66"' in nobody  # what was typed stays
    assert _hits(client, "%") == set() and _hits(client, "_") == set()  # wildcards are plain characters


def test_every_section_of_the_page(client, login, desk):
    login(client, desk["support"])
    page = client.get(f"/staff/people/{desk['rita'].id}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    for section in ("person-access", "person-tags", "person-favourites", "person-sessions", "person-requests",
                    "person-statements", "person-tickets", "person-notifications", "person-devices",
                    "start-for-form", "call-form", "staff-export-form"):
        assert f'data-testid="{section}"' in body, section
    assert "+47 91 23 45 67" in body  # the old number shown in one form
    assert "Eik borettslag" in body and "Invite to Lind sameie, not accepted yet" in body
    assert 'data-tag="04A1B2C3D4" data-blocked="no"' in body and "CP-EIK-1" in body
    billing = {s.split('"')[0] for s in body.split('data-billing="')[1:]}
    assert billing == {"running", "billed", "to_bill", "closed_not_billed"}
    assert "The charger lost its connection to us." in body  # what Rita reads about the hand close
    assert desk["statement"].number in body and desk["ticket"].reference in body
    assert 'data-notify="statement" data-on="yes"' in body
    assert "Safari · iPhone" in body


@pytest.mark.parametrize("who", ["rita", "board", "bo"])
def test_residents_and_board_members_get_nothing(client, login, db, desk, who, redis_url):
    login(client, desk[who])
    rita_id, tag_id, tx_id = desk["rita"].id, desk["tag"].id, desk["running"].id
    assert client.get("/staff/people", query_string={"q": "rita"}).status_code == 403
    assert client.get(f"/staff/people/{rita_id}").status_code == 403
    for url, data in [
        (f"/staff/people/{rita_id}/tags/{tag_id}/block", {f"block{tag_id}-reason": "lost"}),
        (f"/staff/people/{rita_id}/tags/{tag_id}/unblock", {f"unblock{tag_id}-reason": "found"}),
        (f"/staff/people/{rita_id}/invites/{desk['invite'].id}/resend", {}),
        (f"/staff/people/{rita_id}/start", {"start-outlet": "CP-EIK-1:1", "start-reason": "x"}),
        (f"/staff/people/{rita_id}/sessions/{tx_id}/stop", {f"stop{tx_id}-reason": "x"}),
        (f"/staff/people/{rita_id}/calls", {"call-category": "other", "call-outcome": "open", "call-ticket": "new",
                                            "call-note": "x"}),
    ]:
        assert client.post(url, data=data).status_code == 403, url
    with db.session() as s:
        assert not s.get(IdTag, tag_id).blocked
        assert s.scalar(select(AuditEntry).where(AuditEntry.area == "staff")) is None
        assert len(s.scalars(select(SupportTicket)).all()) == 2
    assert Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).get_job_ids() == []


def _staff_entries(session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.area == "staff", AuditEntry.action == action)))


def test_support_blocks_a_lost_tag_and_the_person_reads_a_plain_reason(client, login, session, desk):
    rita, tag = desk["rita"], desk["tag"]
    login(client, desk["support"])
    key = f"block{tag.id}"
    missing = client.post(f"/staff/people/{rita.id}/tags/{tag.id}/block",
                          data={f"{key}-note": "Called at 7, bag stolen"})
    assert missing.status_code == 422
    body = missing.get_data(as_text=True)
    assert "Choose what the person is told." in body and "Called at 7, bag stolen</textarea>" in body
    done = client.post(f"/staff/people/{rita.id}/tags/{tag.id}/block",
                       data={f"{key}-reason": "lost", f"{key}-note": "Called at 7, lost on the bus"})
    assert done.status_code == 303
    session.expire_all()
    row = session.get(IdTag, tag.id)
    assert row.blocked and row.blocked_reason == "lost"
    [entry] = _staff_entries(session, "blocked")
    assert (entry.entity, entry.entity_id, entry.actor_id) == ("id_tag", tag.id, desk["support"].id)
    assert entry.reason == "Called at 7, lost on the bus" and entry.after["resident_reason"] == "lost"
    # Rita's tag page: the plain reason, in her language, never support's words
    client.get("/logout")
    login(client, rita)
    for language, words in (("en", "You told us the tag was lost."), ("nb", "Du sa fra om at brikken var mistet."),
                            ("sv", "Du berättade att brickan var borttappad.")):
        client.set_cookie("lang", language)
        mine = client.get("/tags").get_data(as_text=True)
        assert words in mine and "bus" not in mine, language
    client.set_cookie("lang", "en")
    # her own unblock clears support's reason (it is her tag)
    client.post(f"/tags/{tag.id}/unblock")
    session.expire_all()
    assert session.get(IdTag, tag.id).blocked_reason is None


def test_support_unblocks_a_found_tag_and_cannot_touch_someone_elses(client, login, session, desk):
    rita, tag, bo = desk["rita"], desk["tag"], desk["bo"]
    tag.blocked, tag.blocked_reason = True, "lost"
    bo_tag = IdTag(tag="BO-TAG-1", user_id=bo.id, kind="rfid")
    session.add(bo_tag)
    session.commit()
    login(client, desk["support"])
    wrong = client.post(f"/staff/people/{rita.id}/tags/{bo_tag.id}/block", data={f"block{bo_tag.id}-reason": "lost"})
    assert wrong.status_code == 404
    empty = client.post(f"/staff/people/{rita.id}/tags/{tag.id}/unblock", data={})
    assert empty.status_code == 422 and "audit log" in empty.get_data(as_text=True)
    assert client.post(f"/staff/people/{rita.id}/tags/{tag.id}/unblock",
                       data={f"unblock{tag.id}-reason": "Found in the car"}).status_code == 303
    session.expire_all()
    assert not session.get(IdTag, tag.id).blocked and not session.get(IdTag, bo_tag.id).blocked
    [entry] = _staff_entries(session, "unblocked")
    assert entry.reason == "Found in the car" and entry.before["resident_reason"] == "lost"


def test_support_sends_the_invite_again(client, login, session, desk):
    rita, invite = desk["rita"], desk["invite"]
    login(client, desk["support"])
    done = client.post(f"/staff/people/{rita.id}/invites/{invite.id}/resend",
                       data={f"invite{invite.id}-reason": "Lost it"})
    assert done.status_code == 303
    session.expire_all()
    assert session.get(Invite, invite.id).send_count == 2
    mail = session.scalar(select(OutboxEmail).where(OutboxEmail.kind == "invite"))
    assert mail.to_address == "rita@eik.test" and "Lind sameie" in mail.subject
    [entry] = _staff_entries(session, "resend")
    assert entry.actor_id == desk["support"].id and entry.reason == "Lost it"
    other = Invite(site_id=invite.site_id, email="someone@else.test", token_hash="c" * 64, status="pending")
    session.add(other)
    session.commit()
    refused = client.post(f"/staff/people/{rita.id}/invites/{other.id}/resend", follow_redirects=True)
    assert "That does not belong to this person." in refused.get_data(as_text=True)
    session.expire_all()
    assert session.get(Invite, other.id).send_count == 0 and len(_staff_entries(session, "resend")) == 1


def test_support_starts_for_the_person_as_their_own_tap(client, login, session, desk, redis_url):
    rita, cp, foreign = desk["rita"], desk["cp"], desk["foreign_cp"]
    session.delete(desk["running"])  # the outlet is free
    session.commit()
    login(client, desk["support"])
    forged = client.post(f"/staff/people/{rita.id}/start",
                         data={"start-outlet": f"{foreign.identity}:1", "start-reason": "Phone is flat"})
    assert forged.status_code == 422 and "Phone is flat</textarea>" in forged.get_data(as_text=True)
    done = client.post(f"/staff/people/{rita.id}/start",
                       data={"start-outlet": f"{cp.identity}:1", "start-reason": "Phone is flat"})
    assert done.status_code == 303 and "/staff/actions/" in done.headers["Location"]
    row = session.scalar(select(ActionRequest))
    assert (row.action, row.requested_by_id, row.reason) == ("RemoteStartTransaction", rita.id, "Phone is flat")
    assert row.payload["connectorId"] == 1 and row.payload["idTag"]
    [entry] = _staff_entries(session, "remote:RemoteStartTransaction")
    assert entry.actor_id == desk["support"].id and entry.after["for_user"] == rita.id
    assert Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).get_job_ids()


def test_a_start_the_person_could_not_make_is_refused_in_plain_words(client, login, session, desk):
    rita, cp = desk["rita"], desk["cp"]
    session.delete(desk["running"])
    cp.enabled = False
    session.commit()
    login(client, desk["support"])
    refused = client.post(f"/staff/people/{rita.id}/start",
                          data={"start-outlet": f"{cp.identity}:1", "start-reason": "Phone is flat"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "The charger is switched off." in body and "Phone is flat" in body
    assert session.scalar(select(ActionRequest)) is None
    assert not _staff_entries(session, "remote:RemoteStartTransaction")


def test_support_stops_the_persons_running_session(client, login, session, desk, redis_url):
    rita, tx = desk["rita"], desk["running"]
    login(client, desk["support"])
    assert client.post(f"/staff/people/{rita.id}/sessions/{tx.id}/stop", data={}).status_code == 422
    done = client.post(f"/staff/people/{rita.id}/sessions/{tx.id}/stop", data={f"stop{tx.id}-reason": "Asked by phone"})
    assert done.status_code == 303
    row = session.scalar(select(ActionRequest))
    assert (row.action, row.transaction_id, row.reason) == ("RemoteStopTransaction", tx.id, "Asked by phone")
    assert _staff_entries(session, "remote:RemoteStopTransaction")[0].actor_id == desk["support"].id
    requests = client.get(f"/staff/people/{rita.id}").get_data(as_text=True).split('data-testid="person-requests"')[1]
    assert f'data-action="{row.id}"' in requests.split("</section>")[0]  # support's stop of her session is listed
    bo_tx = _tx(session, desk["cp"], desk["bo"], 2, active=True)
    session.commit()
    assert client.post(f"/staff/people/{rita.id}/sessions/{bo_tx.id}/stop",
                       data={f"stop{bo_tx.id}-reason": "x"}).status_code == 404


def test_the_call_is_noted_as_a_ticket_whose_notes_stay_internal(client, login, session, desk):
    rita = desk["rita"]
    login(client, desk["support"])
    empty = client.post(f"/staff/people/{rita.id}/calls", data={"call-category": "account", "call-outcome": "open",
                                                                "call-ticket": "new", "call-note": " "})
    body = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "Write what the call was about." in body
    assert '<option selected value="account">' in body or 'value="account" selected' in body
    done = client.post(f"/staff/people/{rita.id}/calls", data={
        "call-category": "start_stop", "call-outcome": "resolved", "call-ticket": "new",
        "call-note": "Tag lost on the bus; blocked it, she starts from the app meanwhile"})
    assert done.status_code == 303
    ticket = session.scalar(select(SupportTicket).where(SupportTicket.requester_id == rita.id,
                                                        SupportTicket.id != desk["ticket"].id))
    assert ticket.status == "resolved" and ticket.category == "start_stop"
    assert ticket.subject == "Phone call with support: Starting or stopping charging"
    assert [(m.author_role, m.internal) for m in ticket.messages] == [("system", False), ("staff", True)]
    [entry] = _staff_entries(session, "call_noted")
    assert entry.entity_id == ticket.id and entry.actor_id == desk["support"].id
    # a second call about the open ticket goes on that ticket
    client.post(f"/staff/people/{rita.id}/calls", data={"call-category": "billing", "call-outcome": "open",
                                                         "call-ticket": str(desk["ticket"].id),
                                                         "call-note": "Explained the two fees"})
    session.expire_all()
    assert [m.internal for m in session.get(SupportTicket, desk["ticket"].id).messages] == [False, False, True]
    # Rita sees both tickets, the plain line, and none of support's notes
    client.get("/logout")
    login(client, rita)
    thread = client.get(f"/support/tickets/{ticket.id}").get_data(as_text=True)
    assert "You spoke with our support team on the phone." in thread and "bus" not in thread
    assert "Explained" not in client.get(f"/support/tickets/{desk['ticket'].id}").get_data(as_text=True)
    assert ticket.reference in client.get("/support/tickets").get_data(as_text=True)


def test_a_call_cannot_be_noted_on_someone_elses_ticket(client, login, session, desk):
    bo_ticket = session.scalar(select(SupportTicket).where(SupportTicket.requester_id == desk["bo"].id))
    login(client, desk["support"])
    refused = client.post(f"/staff/people/{desk['rita'].id}/calls", data={
        "call-category": "other", "call-outcome": "open", "call-ticket": str(bo_ticket.id), "call-note": "x"})
    assert refused.status_code == 422
    session.expire_all()
    assert len(session.get(SupportTicket, bo_ticket.id).messages) == 1


def test_an_admin_has_the_page_too(client, login, session, desk):
    admin = make_user(session, "ada@op.test", staff_role="admin")
    session.commit()
    login(client, admin)
    assert client.get(f"/staff/people/{desk['rita'].id}").status_code == 200
    assert session.get(User, desk["rita"].id) is not None


def test_a_number_typed_on_the_account_page_is_checked_and_support_finds_it(client, login, session, desk):
    bo = desk["bo"]
    login(client, bo)
    client.set_cookie("lang", "nb")  # a Norwegian reader
    wrong = client.post("/account/profile", data={"profile-name": "Bo Berg", "profile-language": "nb",
                                                  "profile-phone": "12 34"})
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Det er ikke et telefonnummer vi kan lese." in body  # in her language
    assert 'value="12 34"' in body
    client.set_cookie("lang", "en")
    abroad = client.post("/account/profile", data={"profile-name": "Bo Berg", "profile-language": "en",
                                                   "profile-phone": "+44 20 7946 0958"})
    assert abroad.status_code == 422 and "Only Norwegian and Swedish phone numbers" in abroad.get_data(as_text=True)
    done = client.post("/account/profile", data={"profile-name": "Bo Berg", "profile-language": "sv",
                                                 "profile-phone": "070-555 12 34"})
    assert done.status_code in (204, 303)
    session.expire_all()
    assert session.get(User, bo.id).phone == "+46705551234"  # a Swedish reader's number without +46
    client.get("/logout")
    login(client, desk["support"])
    assert _hits(client, "555 12") == {"bo@eik.test"}


def test_a_credit_note_says_its_plain_reason_and_an_old_one_a_plain_line(app, client, login, session, desk):
    from portal.services.billing import credit_notes
    from portal.services.people import notify

    admin = make_user(session, "ada@op.test", staff_role="admin")
    note = credit_notes.credit(session, admin, desk["statement"], "Meter 3 drifted, ticket 881", OPERATOR,
                               resident_reason="meter_error").credit_note
    with app.app_context():
        mail = notify.statement_email(session, note)
    session.commit()
    assert "The charger measured the energy wrongly." in mail.body_text and "drifted" not in mail.body_text
    login(client, desk["rita"])
    page = client.get(f"/statements/{note.id}").get_data(as_text=True)
    assert 'data-reason="meter_error"' in page and "drifted" not in page
    note.resident_reason = None  # issued before reasons had codes
    session.commit()
    page = client.get(f"/statements/{note.id}").get_data(as_text=True)
    assert "A correction of the statement it refers to." in page and "drifted" not in page
