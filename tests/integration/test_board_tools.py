"""Board tools: board roles, rename/delete with clear refusals, plans closed and repriced, user-group
tariffs, and OCPP statuses in plain words."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from portal.models import AuditEntry, Membership, SubscriptionPlan, Tariff, TariffGroup, UserGroup, UserSubscription
from portal.services.billing import statements
from portal.services.charging import access
from portal.services.sites import board_tools
from tests.factories import (
    make_charge_point, make_group, make_plan, make_site, make_tariff, make_user, standard_setup, subscribe,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def board(session, client, login):
    site = make_site(session, "eik")
    user = make_user(session, "kari@eik.test", site=site, role="board", name="Kari")
    session.commit()
    login(client, user)
    return site, user


def _role(db, site, user) -> str:
    with db.session() as s:
        return s.scalar(select(Membership.role).where(Membership.site_id == site.id, Membership.user_id == user.id))


def test_promote_and_demote_but_never_the_last_board_member(client, board, session, db):
    site, kari = board
    ola = make_user(session, "ola@eik.test", site=site)
    session.commit()
    page = client.get("/manage/eik/members").get_data(as_text=True)
    assert 'data-testid="promote"' in page and 'data-testid="demote"' in page
    assert client.post(f"/manage/eik/members/{ola.id}/role", data={"role": "board"}).status_code == 303
    assert _role(db, site, ola) == "board"
    client.post(f"/manage/eik/members/{ola.id}/role", data={"role": "resident"})
    assert _role(db, site, ola) == "resident"
    # Kari is now the only board member: taking her rights away is refused, in words.
    response = client.post(f"/manage/eik/members/{kari.id}/role", data={"role": "resident"}, follow_redirects=True)
    assert "at least one board member" in response.get_data(as_text=True)
    assert _role(db, site, kari) == "board"
    assert client.post(f"/manage/eik/members/{ola.id}/role", data={"role": "king"}).status_code == 303
    assert _role(db, site, ola) == "resident"
    with db.session() as s:
        roles = s.scalars(select(AuditEntry).where(AuditEntry.action == "role")).all()
        assert [(e.before["role"], e.after["role"]) for e in roles] == [("resident", "board"), ("board", "resident")]


def test_a_member_of_another_site_cannot_be_promoted_here(client, board, session, db):
    site, _ = board
    stranger = make_user(session, site=make_site(session))
    session.commit()
    response = client.post(f"/manage/eik/members/{stranger.id}/role", data={"role": "board"}, follow_redirects=True)
    assert "has no access to this site" in response.get_data(as_text=True)


def test_rename_keeps_input_on_error_and_delete_is_refused_while_in_use(client, board, session, db):
    site, _ = board
    group, plan = standard_setup(session, site)
    residents = next(t for t in group.tariffs if t.name == "Residents")
    cp = make_charge_point(session, site, group=group)
    session.commit()
    url = f"/manage/eik/tariffs/{residents.id}"
    assert 'data-testid="rename-form"' in client.get(url).get_data(as_text=True)
    taken = client.post(f"{url}/rename", data={"box-name": "base"}, headers=HX)
    assert taken.status_code == 422 and "already used" in taken.get_data(as_text=True)
    assert 'value="base"' in taken.get_data(as_text=True)
    assert client.post(f"{url}/rename", data={"box-name": "Eik – residents"}, headers=HX).headers["HX-Redirect"]
    refused = client.post(f"{url}/delete", headers=HX)
    assert refused.status_code == 409 and "Detach it from those groups first" in refused.get_data(as_text=True)
    group_refused = client.post(f"/manage/eik/groups/{group.id}/delete", headers=HX)
    assert group_refused.status_code == 409 and "chargers still use it" in group_refused.get_data(as_text=True)
    # Nobody holds the plan, but a tariff is limited to it: deleting it would open that tariff to all.
    plan_refused = client.post(f"/manage/eik/plans/{plan.id}/delete", headers=HX)
    assert plan_refused.status_code == 409 and "apply to everybody" in plan_refused.get_data(as_text=True)
    with db.session() as s:
        assert s.get(Tariff, residents.id).name == "Eik – residents"
        assert s.get(SubscriptionPlan, plan.id) is not None
        s.get(type(cp), cp.id).tariff_group_id = None
        s.commit()
    assert client.post(f"/manage/eik/groups/{group.id}/delete", headers=HX).headers["HX-Redirect"] == "/manage/eik/groups"
    assert client.post(f"{url}/delete", headers=HX).headers["HX-Redirect"] == "/manage/eik/tariffs"
    with db.session() as s:
        assert s.get(TariffGroup, group.id) is None and s.get(Tariff, residents.id) is None


def test_a_held_plan_cannot_be_deleted_but_can_be_closed(client, board, session, db, login):
    site, _ = board
    plan = make_plan(session, site, "Guests")
    ada = make_user(session, site=site)
    subscribe(session, ada, plan)
    session.commit()
    refused = client.post(f"/manage/eik/plans/{plan.id}/delete", headers=HX)
    assert refused.status_code == 409 and "residents still hold it" in refused.get_data(as_text=True)
    client.post(f"/manage/eik/plans/{plan.id}/open", data={"open": "closed"})
    with db.session() as s:
        assert s.get(SubscriptionPlan, plan.id).active is False
    page = client.get(f"/manage/eik/plans/{plan.id}").get_data(as_text=True)
    assert 'data-open="false"' in page


def test_reprice_applies_from_next_month_on_statements(client, board, session, db):
    site, _ = board
    plan = make_plan(session, site, "Residents")
    plan.monthly_fee_minor = 20000
    session.commit()
    bad = client.post(f"/manage/eik/plans/{plan.id}/price", data={"fee": "lots"}, headers=HX)
    assert bad.status_code == 422 and 'value="lots"' in bad.get_data(as_text=True)
    assert client.post(f"/manage/eik/plans/{plan.id}/price", data={"fee": "250,50"}).status_code == 303
    with db.session() as s:
        p = s.get(SubscriptionPlan, plan.id)
        start = board_tools.next_period_start(site)
        assert (p.monthly_fee_minor, p.next_fee_minor, p.next_fee_from) == (20000, 25050, start)
        this_month = start - timedelta(days=1)
        assert statements.fee_for_month(p, start.year, start.month) == 25050
        assert statements.fee_for_month(p, this_month.year, this_month.month) == 20000
    assert board_tools.next_period_start(site, datetime(2026, 12, 31, 23, 30, tzinfo=timezone.utc)) == date(2027, 2, 1)


def test_a_tariff_for_a_user_group_applies_to_its_members(client, board, session, db):
    site, _ = board
    base = make_tariff(session, site, name="Base", pricing_type="not_allowed")
    staff_tariff = make_tariff(session, site, name="Caretakers", fee="1.00")
    caretakers = UserGroup(site_id=site.id, name="Caretakers")
    session.add(caretakers)
    session.flush()
    staff_tariff.group_restrictions = [caretakers]
    group = make_group(session, site, [base, staff_tariff])
    cp = make_charge_point(session, site, group=group)
    per = make_user(session, "per@eik.test", site=site)
    nina = make_user(session, "nina@eik.test", site=site)
    session.commit()
    client.post(f"/manage/eik/user-groups/{caretakers.id}", data={"email": "per@eik.test"})
    with db.session() as s:
        cp_ = s.get(type(cp), cp.id)
        assert access.tariff_for(s, per.id, cp_).tariff.name == "Caretakers"
        assert access.tariff_for(s, nina.id, cp_).reason == "not_allowed"
    page = client.get(f"/manage/eik/groups/{group.id}").get_data(as_text=True)
    assert f'data-tariff-id="{staff_tariff.id}" data-user-group="{caretakers.id}"' in page
    assert "Member of Caretakers" in page
    # The tariff form offers user groups; saving keeps the restriction.
    form = client.get(f"/manage/eik/tariffs/{staff_tariff.id}").get_data(as_text=True)
    assert f'name="user_groups" type="checkbox" value="{caretakers.id}"' in form or \
        f'name="user_groups" value="{caretakers.id}"' in form
    refused = client.post(f"/manage/eik/user-groups/{caretakers.id}/delete", headers=HX)
    assert refused.status_code == 409 and "a tariff is still limited to it" in refused.get_data(as_text=True)


def test_outlet_statuses_are_translated_and_coloured_for_the_board(client, board, session):
    site, _ = board
    cp = make_charge_point(session, site, connectors=2)
    cp.connectors[1].status = "SuspendedEV"
    cp.connectors[2].status = "Faulted"
    cp.connectors[2].error_code = "GroundFailure"
    offline = make_charge_point(session, site, online=False)
    session.commit()
    client.set_cookie("lang", "nb")
    page = client.get("/manage/eik/chargers").get_data(as_text=True)
    assert 'status-suspended" data-testid="outlet-badge" data-status="SuspendedEV">1: Pauset av bilen' in page
    assert 'status-faulted" data-testid="outlet-badge" data-status="Faulted">2: Feil: jordfeil' in page
    assert 'data-status="offline">1: Frakoblet' in page
    assert "SuspendedEV<" not in page and offline.identity in page


def test_plan_holders_and_subscription_rows_survive_a_rename(client, board, session, db):
    site, _ = board
    plan = make_plan(session, site, "Residents")
    user = make_user(session, site=site)
    subscribe(session, user, plan)
    session.commit()
    client.post(f"/manage/eik/plans/{plan.id}/rename", data={"box-name": "  Residents   2027 "}, headers=HX)
    with db.session() as s:
        assert s.get(SubscriptionPlan, plan.id).name == "Residents 2027"
        assert s.scalar(select(UserSubscription.status).where(UserSubscription.plan_id == plan.id)) == "active"


def test_without_javascript_a_rename_error_keeps_the_typed_name(client, board, session):
    site, _ = board
    make_tariff(session, site, name="Base")
    other = make_tariff(session, site, name="Guests")
    session.commit()
    response = client.post(f"/manage/eik/tariffs/{other.id}/rename", data={"box-name": "BASE"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in body
    assert 'value="BASE"' in body and "already used" in body and f'href="/manage/eik/tariffs/{other.id}"' in body
