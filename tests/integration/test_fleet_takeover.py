"""Taking over a cooperative from CSV files (issue 21): the dry run changes nothing and says what would
happen per line; apply does exactly that in one transaction, refuses while a line is wrong, and a second
run finds everything unchanged. The CLI and the service share the plan."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.models import AuditEntry, ChargePoint, IdTag, Invite, OutboxEmail
from portal.services.fleet import takeover
from portal.services.people.secrets import verify_secret
from tests.factories import make_charge_point, make_site, make_user
from tests.integration.test_access_audit import db_snapshot

CHARGERS = """identity,name,type,connectors,password
TK-1,Plass 1,private,2,
TK-2,Plass 2,public,1,Fjord-Garasje-2024!x
TK-HERE,Plass 3,private,1,
TK-ELSEWHERE,Plass 4,private,1,
TK-DIFF,Plass 5,private,1,
"""
RESIDENTS = """email;tag;tag_name
ny@takeover.test;04A1B2C3;blå brikke
kari@takeover.test;0455AA11;Karis brikke
ola@takeover.test;;
stranger-tag@takeover.test;TAKEN-TAG;
"""


@pytest.fixture(autouse=True)
def _app_context(app):
    """Invite e-mails are rendered with the app's templates and base URL (the CLI and the web have both)."""
    with app.app_context():
        yield


def _world(session):
    site = make_site(session, "bakken", name="Bakken borettslag")
    other = make_site(session, "annet")
    make_charge_point(session, site, "TK-HERE", online=False, name="Plass 3")
    make_charge_point(session, other, "TK-ELSEWHERE", online=False)
    make_charge_point(session, site, "TK-DIFF", online=False, name="Old name", connectors=2)
    make_user(session, "kari@takeover.test")  # an account, not yet a member: invited, tag to her account
    make_user(session, "ola@takeover.test", site=site)  # already a member
    owner = make_user(session, "owner@takeover.test")
    session.add(IdTag(tag="TAKEN-TAG", user_id=owner.id, kind="rfid"))
    staff = make_user(session, "support@takeover.test", staff_role="support")
    session.commit()
    return site, staff


def _statuses(outcome):
    return {(line.file, line.key): (line.status, line.code) for line in outcome.plan.lines}


def test_dry_run_changes_nothing_and_says_what_each_line_would_do(db, session):
    site, staff = _world(session)
    before = db_snapshot(db)
    outcome = takeover.run(session, staff, site, CHARGERS, RESIDENTS)
    session.commit()
    assert db_snapshot(db) == before
    assert _statuses(outcome) == {
        ("chargers", "TK-1"): ("new", "charger_new"), ("chargers", "TK-2"): ("new", "charger_new"),
        ("chargers", "TK-HERE"): ("unchanged", "charger_same"),
        ("chargers", "TK-ELSEWHERE"): ("conflict", "other_site"), ("chargers", "TK-DIFF"): ("conflict", "differs"),
        ("residents", "ny@takeover.test"): ("new", "invite_tag_waits"),
        ("residents", "kari@takeover.test"): ("new", "invite_and_tag"),
        ("residents", "ola@takeover.test"): ("unchanged", "resident_same"),
        ("residents", "stranger-tag@takeover.test"): ("conflict", "tag_taken"),
    }
    assert outcome.applied is None and outcome.plan.counts() == {"new": 4, "unchanged": 2, "conflict": 3, "error": 0}


def test_apply_does_the_plan_and_a_second_run_finds_nothing_new(db, session, redis_url):
    site, staff = _world(session)
    shown = takeover.run(session, staff, site, CHARGERS, RESIDENTS).plan.digest()
    done = takeover.run(session, staff, site, CHARGERS, RESIDENTS, apply_it=True, expect_digest=shown, reason="moved")
    session.commit()
    assert done.applied.chargers == 2 and done.applied.tags == 1 and len(done.applied.invites) == 2
    [(identity, secret)] = done.applied.secrets  # TK-2 came with its own (strong) password
    tk1 = session.scalar(select(ChargePoint).where(ChargePoint.identity == identity))
    assert identity == "TK-1" and verify_secret(tk1.secret_hash, secret) and len(tk1.outlets) == 2
    tk2 = session.scalar(select(ChargePoint).where(ChargePoint.identity == "TK-2"))
    assert verify_secret(tk2.secret_hash, "Fjord-Garasje-2024!x") and tk2.cp_type == "public"
    assert session.scalar(select(ChargePoint.name).where(ChargePoint.identity == "TK-DIFF")) == "Old name"
    kari_tag = session.scalar(select(IdTag).where(IdTag.tag == "0455AA11"))
    assert kari_tag.user.email == "kari@takeover.test" and kari_tag.name == "Karis brikke"
    assert session.scalar(select(IdTag.user_id).where(IdTag.tag == "TAKEN-TAG")) != kari_tag.user_id
    assert set(session.scalars(select(Invite.email).where(Invite.site_id == site.id))) == {
        "ny@takeover.test", "kari@takeover.test"}
    mails = list(session.scalars(select(OutboxEmail).where(OutboxEmail.kind == "invite")))
    assert len(mails) == 2 and all("Bakken borettslag" in m.subject for m in mails)
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "takeover_import"))
    assert audit.actor_id == staff.id and audit.after["chargers"] == 2 and audit.reason == "moved"

    before = db_snapshot(db)
    again = takeover.run(session, staff, site, CHARGERS, RESIDENTS, apply_it=True)
    session.commit()
    assert again.plan.counts()["new"] == 0 and again.applied.chargers == 0 and not again.applied.invites
    after = db_snapshot(db)
    after.pop("audit_entries"), before.pop("audit_entries")  # the second run is logged, nothing else changes
    assert after == before


def test_a_bad_line_refuses_the_whole_apply(db, session):
    site, staff = _world(session)
    bad = CHARGERS + "not an identity,x,private,1,\nTK-9,x,garage,1,\nTK-10,x,private,40,\nTK-1,again,private,1,\nTK-11,x,private,1,password\n"
    before = db_snapshot(db)
    outcome = takeover.run(session, staff, site, bad, RESIDENTS + "not-an-email;;\n")
    errors = [(line.key, line.code) for line in outcome.plan.lines if line.status == "error"]
    assert errors == [("not an identity", "identity"), ("TK-9", "type"), ("TK-10", "connectors"), ("TK-1", "duplicate"),
                      ("TK-11", "password"), ("not-an-email", "email")]
    try:
        takeover.run(session, staff, site, bad, RESIDENTS, apply_it=True)
        raise AssertionError("applied despite errors")
    except takeover.TakeoverRefused as exc:
        assert exc.code == "has_errors"
    session.rollback()
    assert db_snapshot(db) == before


def test_a_plan_that_changed_since_it_was_shown_is_not_applied(db, session):
    site, staff = _world(session)
    shown = takeover.run(session, staff, site, CHARGERS, RESIDENTS).plan.digest()
    make_charge_point(session, site, "TK-1", online=False)  # someone registered it meanwhile
    try:
        takeover.run(session, staff, site, CHARGERS, RESIDENTS, apply_it=True, expect_digest=shown)
        raise AssertionError("applied a plan nobody saw")
    except takeover.TakeoverRefused as exc:
        assert exc.code == "stale"


def test_cli_dry_run_then_apply_with_a_formula_safe_report(app, db, session, tmp_path):
    site, staff = _world(session)
    chargers = tmp_path / "chargers.csv"
    chargers.write_text(CHARGERS + "=HYPERLINK(\"x\"),x,private,1,\n", encoding="utf-8")
    residents = tmp_path / "residents.csv"
    residents.write_text(RESIDENTS, encoding="utf-8")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["sites", "import-takeover", "bakken", "--chargers", str(chargers),
                              "--residents", str(residents)])
    assert dry.exit_code == 1, dry.output  # one error line
    assert "\"'=HYPERLINK(" in dry.stdout and "=HYPERLINK" not in dry.stdout.replace("'=HYPERLINK", "")
    assert "The identity is not valid" in dry.stdout and "dry run, nothing changed" in dry.stderr
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChargePoint)) == 3
    refused = runner.invoke(args=["sites", "import-takeover", "bakken", "--chargers", str(chargers), "--apply",
                                  "--by", "support@takeover.test"])
    assert refused.exit_code != 0 and "Nothing was changed" in refused.output
    chargers.write_text(CHARGERS, encoding="utf-8")
    done = runner.invoke(args=["sites", "import-takeover", "bakken", "--chargers", str(chargers),
                               "--residents", str(residents), "--apply", "--by", "support@takeover.test"])
    assert done.exit_code == 0, done.output
    assert "secret for TK-1" in done.stderr and "applied: 4 new" in done.stderr
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChargePoint)) == 5


def _hidden(body: str, name: str) -> str:
    return body.split(f'name="{name}" type="hidden" value="')[1].split('"')[0]


def test_staff_page_checks_then_applies_what_it_showed(client, login, db, session):
    import io

    site, staff = _world(session)
    login(client, staff)
    assert client.get("/staff/sites/takeover").status_code == 200
    checked = client.post("/staff/sites/takeover", content_type="multipart/form-data", data={
        "site": "bakken", "reason": "board signed on 1 March", "step": "check",
        "chargers": (io.BytesIO(CHARGERS.encode()), "chargers.csv"),
        "residents": (io.BytesIO(RESIDENTS.encode()), "residents.csv")})
    body = checked.get_data(as_text=True)
    assert checked.status_code == 200, body[:3000]
    assert "registered at another site" in body and "takeover-apply" in body
    assert session.scalar(select(func.count()).select_from(ChargePoint)) == 3
    form = {"site": "bakken", "reason": "board signed on 1 March", "step": "apply",
            "chargers_data": _hidden(body, "chargers_data"), "residents_data": _hidden(body, "residents_data"),
            "digest": _hidden(body, "digest")}
    done = client.post("/staff/sites/takeover", data=form)
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and 'data-testid="takeover-secrets"' in text and "TK-1" in text, text[:3000]
    assert done.headers["Cache-Control"] == "no-store"
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChargePoint)) == 5
    stale = client.post("/staff/sites/takeover", data=form)  # the same confirmation again: the plan changed
    assert stale.status_code == 422 and "Something changed since the check" in stale.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChargePoint)) == 5


def test_staff_page_refuses_a_site_whose_agreement_ended_and_bad_lines(client, login, db, session):
    import io

    site, staff = _world(session)
    make_site(session, "slutt", agreement_status="ended")
    session.commit()
    login(client, staff)
    ended = client.post("/staff/sites/takeover", content_type="multipart/form-data", data={
        "site": "slutt", "reason": "x", "step": "check", "chargers": (io.BytesIO(CHARGERS.encode()), "c.csv")})
    assert ended.status_code == 422 and "agreement has ended" in ended.get_data(as_text=True)
    bad = client.post("/staff/sites/takeover", content_type="multipart/form-data", data={
        "site": "bakken", "reason": "x", "step": "check",
        "chargers": (io.BytesIO((CHARGERS + "TK-9,x,garage,1,\n").encode()), "c.csv")})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200 and "must be public, private or personal" in body and "takeover-apply" not in body


def test_the_reasons_are_in_the_staff_members_language(client, login, session):
    import io

    _site, staff = _world(session)
    login(client, staff)
    client.set_cookie("lang", "sv")
    checked = client.post("/staff/sites/takeover", content_type="multipart/form-data", data={
        "site": "bakken", "reason": "x", "step": "check", "chargers": (io.BytesIO(CHARGERS.encode()), "c.csv")})
    body = checked.get_data(as_text=True)
    assert "Den här laddaren är registrerad på en annan plats" in body and "Oförändrad" in body
