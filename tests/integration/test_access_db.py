from portal.services.charging import access
from tests.factories import make_charge_point, make_site, make_user, resident_with_access, standard_setup


def test_subscribed_resident_may_start_and_outsider_may_not(session):
    site, user, cp = resident_with_access(session)
    assert access.start_decision(session, user, cp, 1).allowed
    other_site = make_site(session)
    outsider = make_user(session, site=other_site)
    assert access.start_decision(session, outsider, cp, 1).reason == "no_access"
    assert not access.can_see_charge_point(session, outsider, cp)


def test_member_without_subscription_gets_not_allowed(session):
    site = make_site(session)
    group, _plan = standard_setup(session, site)
    cp = make_charge_point(session, site, group=group)
    member = make_user(session, site=site)
    decision = access.start_decision(session, member, cp, 1)
    assert decision.reason == "not_allowed"


def test_board_manages_only_own_site(session):
    site = make_site(session)
    other = make_site(session)
    board = make_user(session, site=site, role="board")
    admin = make_user(session, staff_role="admin")
    support = make_user(session, staff_role="support")
    assert access.can_manage_site(session, board, site.id)
    assert not access.can_manage_site(session, board, other.id)
    assert access.can_manage_site(session, admin, other.id)
    assert not access.can_manage_site(session, support, site.id)
    assert [s.id for s in access.visible_sites(session, board)] == [site.id]


def test_rfid_tag_decision(session):
    from portal.models import IdTag

    site, user, cp = resident_with_access(session)
    session.add(IdTag(tag="CARD-1", user_id=user.id, kind="rfid"))
    session.add(IdTag(tag="CARD-2", user_id=user.id, kind="rfid", blocked=True))
    session.flush()
    assert access.tag_decision(session, "CARD-1", cp).allowed
    assert access.tag_decision(session, "CARD-2", cp).reason == "blocked_tag"
    assert access.tag_decision(session, "NOPE", cp).reason == "unknown_tag"
