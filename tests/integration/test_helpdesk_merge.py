"""Merging a duplicate ticket, and two colleagues taking or merging the same ticket at once (two database
sessions in two threads, on both engines): one clear state every time."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from portal.models import OutboxEmail, SupportTicket, TicketMessage, TicketPhoto
from portal.services.helpdesk import merge as merging
from portal.services.helpdesk import tickets
from portal.services.helpdesk.photos import Encoded, store_photo
from tests.factories import make_user, resident_with_access
from tests.support.mail import run_mail_jobs, text_part

PIXEL = Encoded(b"\x89PNG fake bytes for storage only", "image/png", ".png", 1, 1)


@pytest.fixture
def pair(session, upload_dir):
    site, resident, cp = resident_with_access(session)
    resident.language = "sv"
    support = make_user(session, "agent@merge.test", staff_role="support")
    colleague = make_user(session, "colleague@merge.test", staff_role="support")
    first = tickets.open_ticket(session, category="charger_fault", description="Charger shows red light",
                                language="sv", requester=resident, charge_point=cp).ticket
    again = tickets.open_ticket(session, category="charger_fault", description="Still red light, second report",
                                language="sv", requester=resident, charge_point=cp).ticket
    store_photo(session, again, PIXEL, upload_dir, resident, again.messages[0].id)
    stranger = tickets.open_ticket(session, category="charger_fault", description="Red light at the garage",
                                   language="en", requester=None, email="neighbour@merge.test").ticket
    session.commit()
    return {"resident": resident, "support": support, "colleague": colleague, "first": first, "again": again,
            "stranger": stranger}


def test_merging_moves_the_messages_and_photos_and_tells_the_requester(client, login, session, pair, smtp,
                                                                        redis_url):
    first, again = pair["first"], pair["again"]
    login(client, pair["support"])
    bad = client.post(f"/staff/tickets/{again.id}/merge", data={"merge-into": "abc"})
    assert bad.status_code == 422 and "Write a ticket number" in bad.get_data(as_text=True)
    assert 'value="abc"' in bad.get_data(as_text=True)
    unknown = client.post(f"/staff/tickets/{again.id}/merge", data={"merge-into": "#999999"})
    assert unknown.status_code == 422 and "no ticket with that number" in unknown.get_data(as_text=True)
    itself = client.post(f"/staff/tickets/{again.id}/merge", data={"merge-into": str(again.id)})
    assert itself.status_code == 422 and "into itself" in itself.get_data(as_text=True)

    done = client.post(f"/staff/tickets/{again.id}/merge", data={"merge-into": f"#{first.id}"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/staff/tickets/{first.id}")
    session.expire_all()
    dup, kept = session.get(SupportTicket, again.id), session.get(SupportTicket, first.id)
    assert (dup.status, dup.merged_into_id) == ("closed", first.id)
    bodies = [m.body for m in kept.messages]
    assert "Still red light, second report" in bodies and "Charger shows red light" in bodies
    assert [p.ticket_id for p in session.scalars(select(TicketPhoto))] == [first.id]
    pointer = [m for m in dup.messages if not m.internal]
    assert len(pointer) == 1 and f"#{first.id}" in pointer[0].body and "Vi har" in pointer[0].body  # Swedish

    run_mail_jobs(redis_url)
    mail = smtp.wait_for(1)[0]
    assert mail["To"] == pair["resident"].email and mail["Content-Language"] == "sv"
    assert f"#{again.id}" in text_part(mail) and f"/support/tickets/{first.id}" in text_part(mail)

    login(client, pair["resident"])
    thread = client.get(f"/support/tickets/{again.id}").get_data(as_text=True)
    assert f"#{first.id}" in thread and "Support" in thread
    assert f'<a href="/support/tickets/{first.id}">' in thread  # the way on, for the requester who may read it
    assert "second report" in client.get(f"/support/tickets/{first.id}").get_data(as_text=True)
    login(client, pair["support"])
    again_merge = client.post(f"/staff/tickets/{again.id}/merge", data={"merge-into": str(first.id)})
    assert again_merge.status_code == 422 and "closed already" in again_merge.get_data(as_text=True)


def test_a_duplicate_from_someone_else_is_linked_not_moved(app, session, pair):
    stranger, first = pair["stranger"], pair["first"]
    with app.app_context():
        done = merging.merge(session, stranger, first, pair["support"])
        session.commit()
    assert done.moved is False and done.outbox is not None
    session.expire_all()
    assert [m.body for m in session.get(SupportTicket, stranger.id).messages][0] == "Red light at the garage"
    kept = session.get(SupportTicket, first.id)
    assert not any("garage" in m.body for m in kept.messages if not m.internal)  # nothing leaks to the resident
    assert any(m.internal and f"#{stranger.id}" in m.body for m in kept.messages)
    mail = session.get(OutboxEmail, done.outbox.id)
    assert mail.to_address == "neighbour@merge.test" and "/support/tickets/" not in mail.body_text


def test_taking_a_ticket_a_colleague_has_is_refused_in_words(client, login, session, pair):
    first = pair["first"]
    login(client, pair["colleague"])
    client.post(f"/staff/tickets/{first.id}/assign", data={"assignee": "me"})
    login(client, pair["support"])
    client.post(f"/staff/tickets/{first.id}/assign", data={"assignee": "me"})
    page = client.get(f"/staff/tickets/{first.id}").get_data(as_text=True)
    assert "A colleague has just taken this ticket" in page
    session.expire_all()
    assert session.get(SupportTicket, first.id).assignee_id == pair["colleague"].id
    client.post(f"/staff/tickets/{first.id}/assign", data={"assignee": str(pair["support"].id)})  # on purpose
    session.expire_all()
    assert session.get(SupportTicket, first.id).assignee_id == pair["support"].id


def _race(db, app, work, pause_s: float = 0.4) -> list[str]:
    """Run ``work(session, index)`` in two threads with their own sessions; the first holds its transaction
    open a moment before committing, so the second really overlaps it. Returns 'ok' or the refusal code."""
    results: list[str] = ["", ""]
    start = threading.Barrier(2)

    def run(index: int) -> None:
        with app.app_context(), db.session() as s:
            start.wait()
            if index == 1:
                time.sleep(pause_s / 4)
            try:
                work(s, index)
                if index == 0:
                    time.sleep(pause_s)
                s.commit()
                results[index] = "ok"
            except tickets.TicketError as exc:
                s.rollback()
                results[index] = exc.code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_colleagues_taking_the_same_ticket_at_once(app, db, session, pair):
    from portal.models import User

    ticket_id, people = pair["first"].id, [pair["support"].id, pair["colleague"].id]

    def take(s, index):
        tickets.take(s, s.get(SupportTicket, ticket_id), s.get(User, people[index]))

    results = _race(db, app, take)
    assert sorted(results) == ["ok", "taken"]
    session.expire_all()
    assert session.get(SupportTicket, ticket_id).assignee_id == people[results.index("ok")]


def test_two_colleagues_merging_at_once_end_in_one_state(app, db, session, pair):
    from portal.models import User

    first_id, again_id = pair["first"].id, pair["again"].id
    staff = [pair["support"].id, pair["colleague"].id]
    # one merges again -> first while the other merges first -> again: only one may win
    plan = [(again_id, first_id), (first_id, again_id)]

    def merge(s, index):
        dup_id, target_id = plan[index]
        merging.merge(s, s.get(SupportTicket, dup_id), s.get(SupportTicket, target_id), s.get(User, staff[index]))

    results = _race(db, app, merge)
    assert sorted(results) == ["merge_closed", "ok"]
    session.expire_all()
    winner_dup, winner_target = plan[results.index("ok")]
    closed = session.get(SupportTicket, winner_dup)
    survivor = session.get(SupportTicket, winner_target)
    assert (closed.status, closed.merged_into_id) == ("closed", winner_target)
    assert survivor.status != "closed" and survivor.merged_into_id is None
    texts = [m.body for m in survivor.messages]
    assert "Charger shows red light" in texts and "Still red light, second report" in texts
    assert session.scalar(select(TicketMessage).where(TicketMessage.ticket_id == winner_dup,
                                                      TicketMessage.internal.is_(False))) is not None


def test_the_same_merge_twice_at_once_happens_once(app, db, session, pair):
    from portal.models import User

    first_id, again_id = pair["first"].id, pair["again"].id
    staff = [pair["support"].id, pair["colleague"].id]

    def merge(s, index):
        merging.merge(s, s.get(SupportTicket, again_id), s.get(SupportTicket, first_id), s.get(User, staff[index]))

    results = _race(db, app, merge)
    assert sorted(results) == ["merge_closed", "ok"]
    session.expire_all()
    pointers = session.scalars(select(TicketMessage).where(TicketMessage.ticket_id == again_id,
                                                           TicketMessage.author_role == "system")).all()
    assert len(pointers) == 1
    assert len(session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "ticket_merged")).all()) == 1
