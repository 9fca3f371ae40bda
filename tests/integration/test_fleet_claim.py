"""Claiming a waiting charger (issue 21): what is refused, and that a refusal changes nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.models import ActionRequest, AuditEntry, ChargePoint, WaitingCharger
from portal.services.fleet import onboarding
from portal.services.fleet.onboarding import ClaimRefused, NewCharger
from portal.services.fleet.waiting import Attempt, record_attempts
from portal.services.people.secrets import verify_secret
from portal.db import utcnow
from tests.factories import make_charge_point, make_group, make_site, make_user


def _refused(session, identity: str, password_given: bool = True) -> WaitingCharger:
    record_attempts(session, [Attempt(identity, "10.0.0.7", password_given, "", "ocpp1.6", utcnow())], 500)
    return session.scalar(select(WaitingCharger).where(WaitingCharger.identity == identity))


@pytest.fixture
def staff(session):
    return make_user(session, staff_role="support")


def test_claim_registers_the_charger_with_a_secret_only_its_hash_is_kept(session, staff):
    site = make_site(session)
    group = make_group(session, site, [])
    _refused(session, "ACME-1")
    done = onboarding.claim_new(session, staff, "ACME-1", NewCharger(site, "Plass 3", "personal", 2, group.id), "phone")
    assert done.charge_point.site_id == site.id and done.charge_point.cp_type == "personal"
    assert done.charge_point.tariff_group_id == group.id and len(done.charge_point.connectors) == 3
    assert len(done.secret) >= 32 and done.secret not in done.charge_point.secret_hash
    assert verify_secret(done.charge_point.secret_hash, done.secret)


def test_claiming_twice_is_refused(session, staff):
    site = make_site(session)
    _refused(session, "ACME-2")
    onboarding.claim_new(session, staff, "ACME-2", NewCharger(site))
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, make_user(session, staff_role="admin"), "ACME-2", NewCharger(site))
    assert refused.value.code == "already_claimed"


def test_a_site_whose_agreement_ended_or_a_sales_person_is_refused(session, staff):
    ended = make_site(session, agreement_status="ended")
    _refused(session, "ACME-3")
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, staff, "ACME-3", NewCharger(ended))
    assert refused.value.code == "site_not_managed"
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, make_user(session, staff_role="sales"), "ACME-3", NewCharger(make_site(session)))
    assert refused.value.code == "site_not_managed"
    assert session.scalar(select(WaitingCharger.claimed_at).where(WaitingCharger.identity == "ACME-3")) is None


def test_an_identity_registered_meanwhile_is_refused(session, staff):
    site = make_site(session)
    _refused(session, "ACME-4")
    make_charge_point(session, site, "ACME-4", online=False)  # someone ran `chargers add` meanwhile
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, staff, "ACME-4", NewCharger(site))
    assert refused.value.code == "became_known"


def test_a_tariff_group_of_another_site_or_an_unknown_identity_is_refused(session, staff):
    site, other = make_site(session), make_site(session)
    foreign = make_group(session, other, [])
    _refused(session, "ACME-5")
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, staff, "ACME-5", NewCharger(site, tariff_group_id=foreign.id))
    assert refused.value.code == "tariff_group"
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, staff, "NEVER-SEEN", NewCharger(site))
    assert refused.value.code == "not_waiting"
    assert session.scalar(select(func.count()).select_from(ChargePoint)) == 0


def test_a_known_charger_with_a_wrong_secret_gets_a_new_one_and_keeps_its_site(session, staff):
    site = make_site(session)
    cp = make_charge_point(session, site, "CP-OLD-1", online=False, name="Plass 9")
    old_hash = cp.secret_hash
    session.add(ActionRequest(charge_point_id=cp.id, connector_id=0, action="ChangeConfiguration", state="sent",
                              pending_secret_hash="scrypt$lost-rotation", requested_by_id=staff.id, sent_at=utcnow()))
    session.flush()
    row = _refused(session, "CP-OLD-1")
    assert row.reason == "wrong_password" and row.charge_point_id == cp.id
    session.commit()
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_new(session, staff, "CP-OLD-1", NewCharger(make_site(session)))
    assert refused.value.code == "became_known"  # a known charger is not moved by a claim
    session.rollback()
    done = onboarding.claim_known(session, staff, "CP-OLD-1", "secret lost at the service visit")
    session.refresh(cp)
    assert cp.secret_hash != old_hash and verify_secret(cp.secret_hash, done.secret)
    assert cp.site_id == site.id and cp.name == "Plass 9"
    assert session.scalar(select(ActionRequest.pending_secret_hash)) is None  # no lost rotation comes back
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "secret_reset"))
    assert audit.site_id == site.id and audit.reason == "secret lost at the service visit"
    with pytest.raises(ClaimRefused) as refused:
        onboarding.claim_known(session, staff, "CP-OLD-1")
    assert refused.value.code == "already_claimed"


def test_a_claimed_row_keeps_counting_but_stays_claimed(session, staff):
    site = make_site(session)
    _refused(session, "ACME-6")
    onboarding.claim_new(session, staff, "ACME-6", NewCharger(site))
    row = _refused(session, "ACME-6")
    assert row.claimed_at is not None and row.attempts == 2 and row.reason == "unknown_identity"


def test_the_claim_form_says_what_is_wrong_and_keeps_what_was_typed(client, login, session, staff):
    site = make_site(session, "lia")
    _refused(session, "ACME-WEB")
    session.commit()
    login(client, staff)
    page = client.get("/staff/chargers/waiting?claim=ACME-WEB")
    assert page.status_code == 200 and "Claim ACME-WEB" in page.get_data(as_text=True)
    form = {"identity": "ACME-WEB", "site": "lia", "name": "Plass 40", "cp_type": "private", "connectors": "40",
            "tariff_group": "", "reason": "new charger"}
    wrong = client.post("/staff/chargers/waiting/claim", data=form)
    body = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Give the number of outlets (1 to 16)." in body and 'value="Plass 40"' in body
    assert client.post("/staff/chargers/waiting/claim", data=dict(form, connectors="2")).status_code == 200
    twice = client.post("/staff/chargers/waiting/claim", data=dict(form, connectors="2"))
    assert twice.status_code == 422 and "Someone has already claimed this charger." in twice.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(ChargePoint).where(ChargePoint.site_id == site.id)) == 1
    no_reason = client.post("/staff/chargers/waiting/reset", data={"identity": "ACME-WEB", "reason": ""})
    assert no_reason.status_code == 422 and "audit log" in no_reason.get_data(as_text=True)
