"""Access audit of the staff console: EVERY /staff route, every method, for every role.

Who may use what is written down here, route by route (EXPECTED_AREA), independently of the code:
  overview  - support, sales and admin: the landing page (sales see no charger data there) and the
              list of cooperatives (only sales and admins get the agreement form)
  support   - support and admin: tickets, chargers, remote actions, stuck sessions
  sales     - sales and admin: leads, orders, cooperatives' agreements
  admin     - admin only: staff accounts and roles, the staff audit log
A resident or board member never gets in (403), an anonymous visitor is sent to log in, and a refused
request changes nothing in the database and puts no job on the charger queue (no remote action fires).
A new /staff route fails this test until it is added to EXPECTED_AREA.
"""
from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue

from tests.integration.test_access_audit import (  # noqa: F401  (world is a fixture)
    _Id, audited_rules, db_snapshot, goes_to_login, leaked, methods_of, request, urls_for, world,
)
from portal import settings

# A signed-in request refreshes its own log-in session's "last seen": bookkeeping, not a change it made.
BOOKKEEPING_TABLES = ("login_sessions",)


def _data_snapshot(db) -> dict[str, dict]:
    snap = db_snapshot(db)
    for table in BOOKKEEPING_TABLES:
        snap.pop(table, None)
    return snap

ROLES_OF_AREA = {
    "overview": {"support", "sales", "admin"},
    "support": {"support", "admin"},
    "sales": {"sales", "admin"},
    "admin": {"admin"},
}
EXPECTED_AREA = {
    "staff.index": "overview",
    "staff.chargers": "support", "staff.charger": "support", "staff.action": "support",
    "staff.action_request": "support", "staff.action_retry": "support", "staff.close_session": "support",
    "staff.orphan_reviewed": "support", "staff.flag_reviewed": "support",
    "staff.close_session_ask": "support", "staff.after_close_stop": "support", "staff.after_close_reviewed": "support",
    "staff.tickets_queue": "support", "staff.ticket": "support", "staff.ticket_reply": "support",
    "staff.ticket_note": "support", "staff.ticket_status": "support", "staff.ticket_assign": "support",
    "staff.ticket_insert_reply": "support", "staff.ticket_merge": "support", "staff.saved_replies": "support",
    "staff.saved_reply": "support", "staff.saved_reply_delete": "support",
    "staff.leads": "sales", "staff.lead": "sales", "staff.lead_site": "sales", "staff.orders": "sales",
    "staff.order": "sales", "staff.sites": "overview", "staff.site_agreement": "sales",
    "staff.people": "support", "staff.person": "support", "staff.person_export": "support",
    "staff.person_delete": "support",
    "staff.workorders": "support", "staff.workorder_new": "support", "staff.workorder": "support",
    "staff.workorder_send": "support", "staff.workorder_close": "support", "staff.workorder_cancel": "support",
    "staff.workorder_photo": "support", "staff.uptime_ranking": "support", "staff.maintenance": "support",
    "staff.maintenance_delete": "support",
    "staff.firmware": "support", "staff.firmware_file": "support", "staff.firmware_rollout": "support",
    "staff.firmware_rollout_control": "support", "staff.charger_diagnostics": "support",
    "staff.diagnostics_file": "support",
    "staff.person_delete": "support", "staff.person_tag_block": "support", "staff.person_tag_unblock": "support",
    "staff.person_invite_resend": "support", "staff.person_start": "support", "staff.person_stop": "support",
    "staff.person_call": "support",
    "staff.payments": "support", "staff.payments_upload": "support", "staff.payment_assign": "support",
    "staff.payment_decline": "support", "staff.payment_surplus": "support", "staff.overdue": "support",
    "staff.overdue_promise": "support", "staff.postings_export": "support",
    "staff.site_payout_fee": "sales",
    "staff.accounts": "admin", "staff.account_role": "admin", "staff.audit_log": "admin",
    "staff.waiting_chargers": "support", "staff.waiting_claim": "support", "staff.waiting_reset": "support",
    "staff.takeover_import": "support",
    "staff.incidents": "support", "staff.incident": "support", "staff.incident_findings": "support",
    "staff.incident_step": "support",
    "staff.config_templates": "support", "staff.config_template_new": "support",
    "staff.config_template_edit": "support", "staff.charger_fleet": "support", "staff.charger_fleet_run": "support",
    "staff.commissioning_checklist": "support",
    "staff.charger_schedule": "support",
}
ROLES = ("anonymous", "resident", "board", "support", "sales", "admin")


def staff_rules(app):
    return [r for r in audited_rules(app) if r.rule.startswith("/staff")]


def _user_id(world, role: str) -> int | None:
    return {"anonymous": None, "resident": world.a.resident_id, "board": world.a.board_id,
            "support": world.support_id, "sales": world.sales_id, "admin": world.admin_id}[role]


def _charger_jobs(redis_url: str) -> list[str]:
    return Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).get_job_ids()


def test_every_staff_route_is_in_the_table(app):
    endpoints = {r.endpoint for r in staff_rules(app)}
    assert endpoints, "no /staff routes"
    assert endpoints == set(EXPECTED_AREA), (
        f"not in EXPECTED_AREA: {sorted(endpoints - set(EXPECTED_AREA))}; "
        f"gone: {sorted(set(EXPECTED_AREA) - endpoints)}")
    assert all(r.endpoint.startswith("staff.") for r in staff_rules(app))


@pytest.mark.parametrize("role", ROLES)
def test_who_gets_into_every_staff_route(app, client, raw_client, login, db, world, redis_url, role):
    Queue(settings.CHARGER_QUEUE, connection=Redis.from_url(redis_url)).empty()
    user_id = _user_id(world, role)
    problems, checked = [], 0
    refused_before = _data_snapshot(db)
    for rule in staff_rules(app):
        allowed = role in ROLES_OF_AREA[EXPECTED_AREA[rule.endpoint]]
        if allowed:
            continue
        for method in methods_of(rule):
            for url in urls_for(app, rule, world.a):
                for htmx in (False, True):
                    if user_id is not None:
                        login(client, _Id(user_id))
                    response = request(client, method, url, htmx=htmx, data={
                        "reason": "audit", "confirmed": "yes", "connector": "1", "body": "audit",
                        "reply-body": "audit", "note-body": "audit", "status": "closed", "role": "admin",
                        "assignee": "me", "end_reading": "none", "billing": "not_billed", "key": "HeartbeatInterval",
                        "value": "5", "who": "resident-a@audit.test", "reset_type": "Hard", "message": "Heartbeat"})
                    checked += 1
                    where = f"{role}: {method} {url}{' (htmx)' if htmx else ''} -> {response.status_code}"
                    ok = goes_to_login(response) if user_id is None else response.status_code == 403
                    if not ok:
                        problems.append(f"not refused: {where}")
                    elif leaked(response, url, world.a.markers):
                        problems.append(f"shows {leaked(response, url, world.a.markers)}: {where}")
    assert not problems, "\n".join(problems)
    assert _data_snapshot(db) == refused_before, "a refused request changed the database"
    assert _charger_jobs(redis_url) == [], "a refused request put a remote action on the charger queue"
    if role in ("anonymous", "resident", "board"):
        assert checked >= 60


@pytest.mark.parametrize("role", ["support", "sales", "admin"])
def test_staff_reach_the_pages_of_their_role(app, client, login, world, role):
    """The control: every GET the role is allowed opens (200), every allowed POST is neither refused nor a 500."""
    problems = []
    for rule in staff_rules(app):
        if role not in ROLES_OF_AREA[EXPECTED_AREA[rule.endpoint]]:
            continue
        for method in methods_of(rule):
            for url in urls_for(app, rule, world.a):
                login(client, _Id(_user_id(world, role)))
                status = request(client, method, url).status_code
                if (method == "GET" and status != 200) or status in (401, 403, 404) or status >= 500:
                    problems.append(f"{role}: {method} {url} -> {status}")
    assert not problems, "\n".join(problems)


def test_sales_users_see_no_support_data_on_the_landing_page(client, login, world):
    login(client, _Id(world.sales_id))
    body = client.get("/staff").get_data(as_text=True)
    assert not leaked(client.get("/staff"), "/staff", world.a.markers + world.b.markers), body[:500]
