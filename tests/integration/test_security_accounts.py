"""Accounts: invites expire (resend renews) and need a confirmed address; registration, reset and log-in
do the same work and give the same answer whether or not an address has an account."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.db import utcnow
from portal.models import Invite, Membership, OutboxEmail
from tests.conftest import browser_like_client
from tests.factories import PASSWORD, make_site, make_user


@pytest.fixture
def board(session, client, login):
    site = make_site(session, "lia", name="Lia borettslag")
    user = make_user(session, "board@lia.test", site=site, role="board")
    session.commit()
    login(client, user)
    return site, user


def _invite_link(session, email: str) -> str:
    session.expire_all()
    mail = session.scalars(select(OutboxEmail).where(OutboxEmail.to_address == email)
                           .order_by(OutboxEmail.id.desc())).first()
    return re.search(r"http://portal\.test(/invite/\S+)", mail.body_text).group(1)


def _invite(session) -> Invite:
    session.expire_all()
    return session.scalar(select(Invite))


def test_an_invite_expires_after_30_days_and_resend_renews_it(app, client, board, session, login):
    client.post("/manage/lia/invites", data={"emails": "new@lia.test"})
    invite = _invite(session)
    assert timedelta(days=29, hours=23) < invite.expires_at - utcnow() <= timedelta(days=30)
    invite.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    newcomer = make_user(session, "new@lia.test")
    session.commit()
    link = _invite_link(session, "new@lia.test")
    invitee = browser_like_client(app)
    login(invitee, newcomer)
    page = invitee.get(link)
    assert page.status_code == 410 and 'data-state="expired"' in page.get_data(as_text=True)
    assert 'data-testid="invite-expires"' in client.get("/manage/lia/members").get_data(as_text=True)
    assert client.post(f"/manage/lia/invites/{invite.id}/resend").status_code == 303
    assert _invite(session).expires_at - utcnow() > timedelta(days=29)
    fresh = _invite_link(session, "new@lia.test")
    assert 'data-state="confirm"' in invitee.get(fresh).get_data(as_text=True)


def test_an_unconfirmed_address_cannot_accept_an_invite(app, client, board, session, login):
    client.post("/manage/lia/invites", data={"emails": "new@lia.test"})
    newcomer = make_user(session, "new@lia.test")
    newcomer.email_verified_at = None
    session.commit()
    invitee = browser_like_client(app)
    login(invitee, newcomer)
    link = _invite_link(session, "new@lia.test")
    assert 'data-state="unverified"' in invitee.get(link).get_data(as_text=True)
    assert invitee.post(link).status_code == 403
    assert session.scalar(select(Membership).where(Membership.user_id == newcomer.id)) is None


class _CountingHash:
    """Counts argon2 work (hash or verify) per request: the time a request takes follows it."""

    def __init__(self, monkeypatch):
        import portal.services.people.secrets as secrets_module

        self.calls = 0
        for name in ("hash_secret", "verify_secret"):
            original = getattr(secrets_module, name)
            monkeypatch.setattr(secrets_module, name, self._wrap(original))
        self._module = secrets_module

    def _wrap(self, fn):
        def counted(*args, **kwargs):
            self.calls += 1
            return fn(*args, **kwargs)
        return counted

    def during(self, action) -> int:
        before = self.calls
        action()
        return self.calls - before


def test_log_in_spends_the_same_password_work_for_any_address(client, session, monkeypatch):
    active = make_user(session, "ann@example.test")
    gone = make_user(session, "gone@example.test")
    gone.active = False
    session.commit()
    import portal.auth.login as routes
    import portal.services.people.secrets as secrets_module

    counter = _CountingHash(monkeypatch)
    monkeypatch.setattr(routes, "verify_secret", secrets_module.verify_secret)
    work = {email: counter.during(lambda e=email: client.post("/login", data={"email": e, "password": "wrong-one"}))
            for email in (active.email, gone.email, "nobody@example.test")}
    assert set(work.values()) == {1}, work
    for email in (active.email, gone.email, "nobody@example.test"):
        response = client.post("/login", data={"email": email, "password": "wrong-one"})
        assert response.status_code == 422 and b"Wrong e-mail or password" in response.data
    gone_right = client.post("/login", data={"email": gone.email, "password": PASSWORD})
    assert gone_right.status_code == 422 and b"Wrong e-mail or password" in gone_right.data


def _blank_csrf(page: bytes) -> bytes:
    page = re.sub(rb'("X-CSRFToken": ")[^"]*(")', rb"\1\2", page)
    return re.sub(rb'(name="csrf_token" value=")[^"]*(")', rb"\1\2", page)


def test_registration_answers_and_works_the_same_for_new_taken_and_deactivated_addresses(client, session, monkeypatch):
    make_user(session, "taken@example.test")
    gone = make_user(session, "gone@example.test")
    gone.active = False
    session.commit()
    import portal.auth.register as register_module
    import portal.services.sites.onboarding as onboarding_module
    import portal.services.people.secrets as secrets_module

    counter = _CountingHash(monkeypatch)
    monkeypatch.setattr(register_module, "hash_secret", secrets_module.hash_secret)
    monkeypatch.setattr(onboarding_module, "hash_secret", secrets_module.hash_secret)
    pages, work = {}, {}
    for email in ("new@example.test", "taken@example.test", "gone@example.test"):
        form = {"name": "X", "email": email, "password": "a-long-enough-passphrase",
                "confirm": "a-long-enough-passphrase", "language": "en"}
        work[email] = counter.during(lambda f=form: pages.__setitem__(f["email"], client.post("/register", data=f)))
    assert set(work.values()) == {1}, work
    bodies = {email: _blank_csrf(r.data).replace(email.encode(), b"ADDRESS") for email, r in pages.items()}
    assert len(set(bodies.values())) == 1 and {r.status_code for r in pages.values()} == {200}
