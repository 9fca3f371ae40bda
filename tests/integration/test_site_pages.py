"""Every site-management page renders for a board member; access rules across sites and roles."""
import pytest

from portal.models import Invite, SubscriptionPlan, Tariff, TariffGroup, UserGroup
from tests.factories import make_charge_point, make_site, make_user, standard_setup


@pytest.fixture
def two_sites(session):
    """Site A with a board member, site B with its own objects; the board member of A has no role at B."""
    a, b = make_site(session, "site-a"), make_site(session, "site-b")
    board = make_user(session, "board@a.test", site=a, role="board")
    group_b, plan_b = standard_setup(session, b)
    cp_b = make_charge_point(session, b, "CP-B-1", group=group_b)
    resident_b = make_user(session, "resident@b.test", site=b)
    ug_b = UserGroup(site_id=b.id, name="Garage B")
    invite_b = Invite(site_id=b.id, email="new@b.test", token_hash="x" * 64, status="pending")
    session.add_all([ug_b, invite_b])
    session.commit()
    ids = dict(tariff=group_b.tariffs[0].id, group=group_b.id, plan=plan_b.id, cp=cp_b.id, user=resident_b.id,
               user_group=ug_b.id, invite=invite_b.id)
    return a, b, board, ids


def site_b_urls(ids):
    """(method, url) of every page and action of site B."""
    return [
        ("get", "/manage/site-b/"), ("get", "/manage/site-b/tariffs"), ("get", "/manage/site-b/tariffs/new"),
        ("post", "/manage/site-b/tariffs/new"), ("get", f"/manage/site-b/tariffs/{ids['tariff']}"),
        ("post", f"/manage/site-b/tariffs/{ids['tariff']}"), ("get", "/manage/site-b/groups"),
        ("post", "/manage/site-b/groups"), ("get", f"/manage/site-b/groups/{ids['group']}"),
        ("get", f"/manage/site-b/groups/{ids['group']}/search?q=a"),
        ("post", f"/manage/site-b/groups/{ids['group']}/attach/{ids['tariff']}"),
        ("post", f"/manage/site-b/groups/{ids['group']}/detach/{ids['tariff']}"),
        ("post", f"/manage/site-b/groups/{ids['group']}/charge-points"), ("get", "/manage/site-b/spot"),
        ("get", "/manage/site-b/plans"), ("post", "/manage/site-b/plans"),
        ("get", f"/manage/site-b/plans/{ids['plan']}"), ("get", "/manage/site-b/members"),
        ("post", "/manage/site-b/invites"), ("post", f"/manage/site-b/invites/{ids['invite']}/resend"),
        ("post", f"/manage/site-b/invites/{ids['invite']}/revoke"),
        ("post", f"/manage/site-b/members/{ids['user']}/remove"), ("get", "/manage/site-b/user-groups"),
        ("post", "/manage/site-b/user-groups"), ("get", f"/manage/site-b/user-groups/{ids['user_group']}"),
        ("post", f"/manage/site-b/user-groups/{ids['user_group']}"),
        ("post", f"/manage/site-b/user-groups/{ids['user_group']}/remove/{ids['user']}"),
        ("get", "/manage/site-b/chargers"), ("get", f"/manage/site-b/chargers/{ids['cp']}"),
        ("post", f"/manage/site-b/chargers/{ids['cp']}"), ("get", "/manage/site-b/reports"),
        ("get", "/manage/site-b/reports.csv"), ("get", "/manage/site-b/audit"),
    ]


def test_board_member_of_one_site_can_do_nothing_to_another(client, login, two_sites, db):
    a, b, board, ids = two_sites
    login(client, board)
    data = {"name": "Hijack", "pricing_type": "standard", "energy_fee": "0", "emails": "x@y.test",
            "email": "resident@b.test", "status": "disabled", "cp_type": "public", "tariff_group_id": "0",
            "charge_points": []}
    for method, url in site_b_urls(ids):
        response = getattr(client, method)(url, data=data) if method == "post" else client.get(url)
        assert response.status_code == 403, (method, url, response.status_code)
    with db.session() as s:
        assert s.get(Tariff, ids["tariff"]).name != "Hijack"
        assert s.get(Invite, ids["invite"]).status == "pending"
        assert s.get(TariffGroup, ids["group"]).tariffs
        from portal.models import ChargePoint, Membership
        assert s.get(ChargePoint, ids["cp"]).enabled
        assert s.query(Membership).filter_by(user_id=ids["user"]).count() == 1
        assert s.query(SubscriptionPlan).filter_by(site_id=b.id).count() == 1


def test_objects_of_another_site_are_not_found_through_ones_own_site(client, login, two_sites):
    a, b, board, ids = two_sites
    login(client, board)
    for url in (f"/manage/site-a/tariffs/{ids['tariff']}", f"/manage/site-a/groups/{ids['group']}",
                f"/manage/site-a/plans/{ids['plan']}", f"/manage/site-a/user-groups/{ids['user_group']}",
                f"/manage/site-a/chargers/{ids['cp']}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/manage/site-a/chargers/{ids['cp']}", f"/manage/site-a/invites/{ids['invite']}/revoke",
                f"/manage/site-a/tariffs/{ids['tariff']}"):
        assert client.post(url, data={"name": "x", "status": "disabled", "cp_type": "public"}).status_code == 404
    assert client.post(f"/manage/site-a/members/{ids['user']}/remove").status_code in (303, 204)  # not a member of A
    assert client.get("/manage/site-a/groups").status_code == 200


def test_residents_and_support_staff_cannot_manage(client, login, session):
    site = make_site(session, "site-r")
    resident = make_user(session, site=site)
    support = make_user(session, staff_role="support")
    session.commit()
    for user in (resident, support):
        login(client, user)
        assert client.get("/manage/site-r/").status_code == 403
        assert client.get("/manage/").status_code == 403


def test_anonymous_is_sent_to_log_in(client, session):
    make_site(session, "site-x")
    session.commit()
    response = client.get("/manage/site-x/tariffs")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


def test_admin_manages_any_site_and_every_page_renders(client, login, two_sites, session):
    a, b, board, ids = two_sites
    admin = make_user(session, "admin@op.test", staff_role="admin")
    session.commit()
    login(client, admin)
    for method, url in site_b_urls(ids):
        if method == "get":
            assert client.get(url).status_code == 200, url
    index = client.get("/manage/")
    assert b'site-a' in index.data and b'site-b' in index.data


def test_board_sees_only_its_sites_in_the_index_and_menu(client, login, two_sites):
    a, b, board, ids = two_sites
    login(client, board)
    page = client.get("/manage/")
    assert b"/manage/site-a/" in page.data and b"/manage/site-b/" not in page.data
    assert b'href="/manage/"' in client.get("/manage/site-a/").data


def test_forms_refuse_a_post_without_csrf(raw_client, login, two_sites):
    a, b, board, ids = two_sites
    login(raw_client, board)
    assert raw_client.post("/manage/site-a/groups", data={"name": "G"}).status_code == 400
