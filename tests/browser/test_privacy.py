"""On a phone: download one's data from /account, then delete the account (password + typed address)."""
from __future__ import annotations

import json
import zipfile

from sqlalchemy import select

from portal.models import User
from tests.factories import PASSWORD, make_site, make_user


def test_download_then_delete_on_a_phone(page, live_server, session, tmp_path):
    site = make_site(session)
    make_user(session, "phone@privacy.test", site=site, name="Pia Phone")
    session.commit()
    base = live_server
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    page.goto(f"{base}/login")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill("phone@privacy.test")
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()
    page.goto(f"{base}/account")
    with page.expect_download() as info:
        page.get_by_test_id("export-data").click()
    path = tmp_path / "export.zip"
    info.value.save_as(path)
    with zipfile.ZipFile(path) as zf:
        assert json.loads(zf.read("profile.json"))["email"] == "phone@privacy.test"
    page.get_by_test_id("delete-link").click()
    form = page.get_by_test_id("delete-form")
    form.get_by_label("Your password").fill("not-the-password")
    form.get_by_label("Type your e-mail address to confirm").fill("phone@privacy.test")
    form.get_by_test_id("delete-account").click()
    page.locator(".field-error", has_text="That is not your password.").wait_for()  # also in the error summary
    form = page.get_by_test_id("delete-form")
    assert form.get_by_label("Type your e-mail address to confirm").input_value() == "phone@privacy.test"
    form.get_by_label("Your password").fill(PASSWORD)
    form.get_by_test_id("delete-account").click()
    page.get_by_text("Your account is deleted.").wait_for()
    session.expire_all()
    assert session.scalar(select(User).where(User.email == "phone@privacy.test")) is None
