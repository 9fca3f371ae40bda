"""The start screen's facts (three Core selects, qualification worked out by the database) decide
exactly as the ORM path the OCPP node and the board pages use (access.start_decision, tariff_for)."""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from portal.models import UserGroup, UserGroupMember
from portal.services.charging import access, start_facts
from portal.services.sites.onboarding import add_member
from tests.factories import (
    make_charge_point, make_group, make_plan, make_site, make_tariff, make_user, subscribe,
)


def _user_group(session, site, name, users):
    group = UserGroup(site_id=site.id, name=name)
    session.add(group)
    session.flush()
    for user in users:
        session.add(UserGroupMember(group_id=group.id, user_id=user.id))
    session.flush()
    return group


@pytest.fixture
def world(session):
    """A site whose tariffs are restricted to plans and to user groups in every combination, another
    site with a same-named plan and group (which must not count), and users holding each of them."""
    site, other_site = make_site(session), make_site(session)
    residents, guests = make_plan(session, site, "Residents"), make_plan(session, site, "Guests")
    elsewhere_plan = make_plan(session, other_site, "Residents")
    users = {name: make_user(session, site=site) for name in
             ("nothing", "residents", "guests", "both", "group", "group_and_guests", "elsewhere")}
    users["stranger"] = make_user(session)
    users["board"] = make_user(session, site=site, role="board")
    for name, plan in (("residents", residents), ("both", residents), ("both", guests), ("guests", guests),
                       ("group_and_guests", guests), ("elsewhere", elsewhere_plan)):
        subscribe(session, users[name], plan)
    ended = subscribe(session, users["nothing"], residents)
    ended.status = "ended"
    crew = _user_group(session, site, "Crew", [users["group"], users["group_and_guests"]])
    foreign_crew = _user_group(session, other_site, "Crew", [users["elsewhere"]])
    add_member(session, users["elsewhere"], other_site)
    open_price = make_tariff(session, site, name="Open", fee="4.00")
    for_residents = make_tariff(session, site, name="Residents", fee="3.00", plans=[residents])
    ban_for_guests = make_tariff(session, site, name="No guests", pricing_type="not_allowed", plans=[guests])
    for_crew = make_tariff(session, site, name="Crew", fee="2.00")
    for_crew.group_restrictions = [crew]
    for_foreign_crew = make_tariff(session, site, name="Foreign crew", fee="1.00")
    for_foreign_crew.group_restrictions = [foreign_crew]
    spot = make_tariff(session, site, name="Spot", pricing_type="spot", plans=[residents], spot_fallback=Decimal("2.50"))
    session.flush()
    groups = {
        "all": make_group(session, site, [open_price, for_residents, ban_for_guests, for_crew, for_foreign_crew]),
        "spot": make_group(session, site, [open_price, spot, for_crew]),
        "restricted_only": make_group(session, site, [for_residents, for_crew]),
        "empty": make_group(session, site, []),
    }
    session.flush()
    return site, users, groups


@pytest.mark.parametrize("group_name", ["all", "spot", "restricted_only", "empty", None])
def test_the_facts_choose_the_same_tariff_and_decision_as_the_orm_path(session, world, group_name):
    site, users, groups = world
    kinds = ("private", "public", "personal")
    cps = [make_charge_point(session, site, connectors=2, group=groups[group_name] if group_name else None,
                             cp_type=kind, owner_id=users["residents"].id if kind == "personal" else None)
           for kind in kinds]
    cps[0].connector(1).status = "Charging"
    session.flush()
    for cp, (name, user) in itertools.product(cps, users.items()):
        facts = start_facts.load(session, cp.identity, user.id)
        expected_choice = access.tariff_for(session, user.id, cp)
        choice = facts.tariff_choice()
        label = f"{cp.cp_type} {group_name} {name}"
        assert choice.reason == expected_choice.reason, label
        assert (choice.tariff.id if choice.tariff else None) == \
            (expected_choice.tariff.id if expected_choice.tariff else None), label
        for connector_id in (None, 1, 2):
            check = connector_id is not None
            expected = access.start_decision(session, user, cp, connector_id, check_connector=check)
            assert facts.decision(user.id, connector_id, check_connector=check).reason == expected.reason, label
        assert facts.visible_to(user) == access.can_see_charge_point(session, user, cp), label
        membership = access.membership(session, user.id, site.id)
        assert facts.role == (membership.role if membership else None), label


def test_the_facts_of_an_unknown_charger_are_none(session, world):
    site, users, groups = world
    assert start_facts.load(session, "NO-SUCH-CHARGER", users["residents"].id) is None
