"""Invites (one or many, report of bad lines, outbox e-mail, accept, resend, revoke), removal, plans, user groups."""
import re

import pytest
from sqlalchemy import select

from portal.models import Invite, Membership, OutboxEmail, UserGroup, UserGroupMember, UserSubscription
from portal.services.sites.site_people import parse_invite_lines
from tests.factories import make_plan, make_site, make_user, subscribe

HX = {"HX-Request": "true"}


def test_parse_invite_lines_reports_invalid_and_duplicate_lines():
    parsed = parse_invite_lines(
        "ola@example.no\n\n  Kari@Example.no ,\nnot-an-address\nola@EXAMPLE.no\nper@example.no;\nx@y\nkari@example.no")
    assert parsed.emails == ["ola@example.no", "kari@example.no", "per@example.no"]
    assert parsed.invalid == [(4, "not-an-address"), (7, "x@y")]
    assert parsed.duplicates == [(5, "ola@example.no"), (8, "kari@example.no")]


def test_parse_invite_lines_of_nothing():
    assert parse_invite_lines("\n \n").emails == []


@pytest.fixture
def board(session, client, login):
    site = make_site(session, "lia", name="Lia borettslag")
    user = make_user(session, "board@lia.test", site=site, role="board")
    session.commit()
    login(client, user)
    return site, user


def invite_link(db, email: str) -> str:
    with db.session() as s:
        mail = s.scalars(select(OutboxEmail).where(OutboxEmail.to_address == email)
                         .order_by(OutboxEmail.id.desc())).first()
        assert mail.kind == "invite"
        return re.search(r"http://portal\.test(/invite/\S+)", mail.body_text).group(1)


def test_bulk_invite_sends_one_mail_per_new_address_and_reports_the_rest(client, board, session, db):
    site, _ = board
    make_user(session, "member@lia.test", site=site)
    session.add(Invite(site_id=site.id, email="waiting@lia.test", token_hash="w" * 64, status="pending"))
    session.commit()
    text = "a@lia.test\nB@lia.test\nbroken\nmember@lia.test\nwaiting@lia.test\na@lia.test\n"
    response = client.post("/manage/lia/invites", data={"emails": text}, headers=HX)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert 'data-testid="invites-sent" data-count="2"' in body
    assert 'data-testid="invalid-lines"' in body and 'data-line="3"' in body
    assert 'data-testid="duplicate-lines"' in body and 'data-line="6"' in body
    assert "member@lia.test" in body and "waiting@lia.test" in body
    assert "\nbroken</textarea>" in body  # only the lines to fix are kept in the box
    with db.session() as s:
        mails = s.scalars(select(OutboxEmail).order_by(OutboxEmail.to_address)).all()
        assert [m.to_address for m in mails] == ["a@lia.test", "b@lia.test"]
        assert all(m.language == "nb" and "Lia borettslag" in m.body_text for m in mails)
        assert s.scalar(select(Invite).where(Invite.email == "a@lia.test")).status == "pending"


def test_invite_with_no_valid_line_is_refused_with_the_input_kept(client, board, db):
    response = client.post("/manage/lia/invites", data={"emails": "nope\nalso nope"}, headers=HX)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "No valid e-mail address found" in body and "also nope" in body
    assert client.post("/manage/lia/invites", data={"emails": ""}).status_code == 422
    with db.session() as s:
        assert s.scalar(select(Invite)) is None


def test_new_person_accepts_after_logging_in(client, board, session, db, login, app):
    site, _ = board
    client.post("/manage/lia/invites", data={"emails": "new@lia.test"})
    link = invite_link(db, "new@lia.test")
    visitor = app.test_client()
    visitor.set_cookie("lang", "en")
    page = visitor.get(link)
    assert 'data-state="login"' in page.get_data(as_text=True)
    assert "/login?next=" in page.get_data(as_text=True)
    newcomer = make_user(session, "new@lia.test")
    session.commit()
    login(client, newcomer)
    assert 'data-state="confirm"' in client.get(link).get_data(as_text=True)
    assert client.post(link).status_code == 303
    with db.session() as s:
        assert s.scalar(select(Membership).where(Membership.user_id == newcomer.id)).site_id == site.id
        invite = s.scalar(select(Invite).where(Invite.email == "new@lia.test"))
        assert (invite.status, invite.accepted_user_id) == ("accepted", newcomer.id)
    assert 'data-state="accepted"' in client.get(link).get_data(as_text=True)


def test_resend_replaces_the_link_and_revoke_kills_it(client, board, session, db):
    client.post("/manage/lia/invites", data={"emails": "r@lia.test"})
    first = invite_link(db, "r@lia.test")
    with db.session() as s:
        invite_id = s.scalar(select(Invite.id).where(Invite.email == "r@lia.test"))
    assert client.post(f"/manage/lia/invites/{invite_id}/resend").status_code == 303
    second = invite_link(db, "r@lia.test")
    assert first != second
    assert client.get(first).status_code == 404
    assert client.post(f"/manage/lia/invites/{invite_id}/revoke").status_code == 303
    assert client.get(second).status_code == 404
    with db.session() as s:
        invite = s.get(Invite, invite_id)
        assert (invite.status, invite.send_count) == ("revoked", 2)


def test_removing_a_user_revokes_access_and_groups_but_keeps_subscriptions(client, board, session, db):
    site, me = board
    other = make_site(session)
    plan = make_plan(session, site)
    leaver = make_user(session, "leaver@lia.test", site=site)
    make_user(session, "x@o.test", site=other)
    subscribe(session, leaver, plan)
    group = UserGroup(site_id=site.id, name="Garage")
    other_group = UserGroup(site_id=other.id, name="Elsewhere")
    session.add_all([group, other_group])
    session.flush()
    session.add_all([UserGroupMember(group_id=group.id, user_id=leaver.id),
                     UserGroupMember(group_id=other_group.id, user_id=leaver.id)])
    session.add(Invite(site_id=site.id, email="leaver@lia.test", token_hash="l" * 64, status="accepted",
                       accepted_user_id=leaver.id))
    session.commit()
    page = client.get("/manage/lia/members").get_data(as_text=True)
    assert "Their subscriptions stay theirs" in page
    response = client.post(f"/manage/lia/members/{leaver.id}/remove", follow_redirects=True)
    assert "1 still active" in response.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(Membership).where(Membership.user_id == leaver.id)) is None
        assert s.scalar(select(Invite.status).where(Invite.email == "leaver@lia.test")) == "revoked"
        assert [m.group_id for m in s.scalars(select(UserGroupMember).where(
            UserGroupMember.user_id == leaver.id))] == [other_group.id]
        assert s.scalar(select(UserSubscription.status).where(UserSubscription.user_id == leaver.id)) == "active"
    response = client.post(f"/manage/lia/members/{me.id}/remove", follow_redirects=True)
    assert "You cannot remove yourself" in response.get_data(as_text=True)


def test_plans_create_and_show_holders(client, board, session, db):
    site, _ = board
    assert client.post("/manage/lia/plans", data={"name": "", "monthly_fee": "x"}).status_code == 422
    assert client.post("/manage/lia/plans", data={"name": "Residents", "monthly_fee": "99,50",
                                                  "active": "y"}).status_code == 303
    from portal.models import SubscriptionPlan
    with db.session() as s:
        plan = s.scalar(select(SubscriptionPlan))
        assert (plan.monthly_fee_minor, plan.active) == (9950, True)
    holder = make_user(session, "holder@lia.test", site=site, name="Holder Person")
    subscribe(session, holder, plan)
    session.commit()
    assert 'data-testid="holder-count">1<' in client.get("/manage/lia/plans").get_data(as_text=True)
    page = client.get(f"/manage/lia/plans/{plan.id}").get_data(as_text=True)
    assert f'data-testid="holder" data-user-id="{holder.id}"' in page


def test_user_groups_create_add_and_remove_members(client, board, session, db):
    site, _ = board
    member = make_user(session, "m@lia.test", site=site)
    make_user(session, "outsider@lia.test")
    session.commit()
    response = client.post("/manage/lia/user-groups", data={"name": "Garage A"})
    assert response.status_code == 303
    assert client.post("/manage/lia/user-groups", data={"name": "Garage A"}).status_code == 422
    with db.session() as s:
        group_id = s.scalar(select(UserGroup.id))
    url = f"/manage/lia/user-groups/{group_id}"
    for email, message in (("nobody@lia.test", "Nobody has an account"), ("outsider@lia.test", "no access"),
                           ("bad", "valid e-mail")):
        response = client.post(url, data={"email": email}, headers=HX)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
        assert f'value="{email}"' in response.get_data(as_text=True)
    assert client.post(url, data={"email": "M@lia.test"}).status_code == 303
    assert client.post(url, data={"email": "m@lia.test"}).status_code == 422
    assert client.post(f"{url}/remove/{member.id}").status_code == 303
    with db.session() as s:
        assert s.scalar(select(UserGroupMember)) is None


def test_removing_a_user_clears_them_as_owner_of_personal_chargers_here(client, board, session, db):
    """An owner must hold access to the site; once removed they no longer own its personal chargers."""
    from portal.models import ChargePoint
    from tests.factories import make_charge_point

    site, _me = board
    owner = make_user(session, "owner@lia.test", site=site)
    cp = make_charge_point(session, site, cp_type="personal", owner_id=owner.id, auth_required=False)
    session.commit()
    client.post(f"/manage/lia/members/{owner.id}/remove")
    with db.session() as s:
        charger = s.get(ChargePoint, cp.id)
        assert charger.owner_id is None and charger.auth_required


def test_an_invite_link_only_works_for_the_invited_address(client, board, session, db, login):
    """A forwarded or leaked invite link must not give someone else access to the site."""
    client.post("/manage/lia/invites", data={"emails": "invited@lia.test"})
    link = invite_link(db, "invited@lia.test")
    other = make_user(session, "someone.else@example.test")
    session.commit()
    login(client, other)
    page = client.get(link).get_data(as_text=True)
    assert 'data-state="other_address"' in page and "invited@lia.test" not in page
    response = client.post(link)
    assert response.status_code == 403
    with db.session() as s:
        assert s.scalar(select(Membership).where(Membership.user_id == other.id)) is None
        assert s.scalar(select(Invite.status).where(Invite.email == "invited@lia.test")) == "pending"


def test_create_forms_rerender_as_fragments_with_the_error(client, board):
    """htmx re-renders only the form block: the shared create-by-name macro must work there too."""
    for url, testid in (("/manage/lia/user-groups", "user-group-form"), ("/manage/lia/groups", "group-form")):
        response = client.post(url, data={"name": ""}, headers=HX)
        body = response.get_data(as_text=True)
        assert response.status_code == 422
        assert body.lstrip().startswith("<form") and f'data-testid="{testid}"' in body
        assert 'class="field-error"' in body
