"""Every page, for every role, loads under the Content-Security-Policy without one violation.

The pages come from the app's URL map (every GET rule), filled with one site's objects by the access
audit's own helpers, so pages added later are covered without touching this file. Each role opens every
URL; pages it may not see answer with a refusal page, which must be CSP-clean too. A violation is what
Chromium reports: a `securitypolicyviolation` event or a "Content Security Policy" console message.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError

from portal import create_app
from tests.factories import PASSWORD, make_user
from tests.integration.test_access_audit import _build_site, audited_rules, urls_for

# Routes that do not answer with an HTML page (downloads, images, JSON) or must not be opened here.
NOT_PAGES = {"public.healthz", "auth.logout"}
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def world(session, database_url, redis_url, upload_dir):
    objs, _owned = _build_site(session, "a", "Solvik", upload_dir)
    users = {"resident": objs.resident_id, "board": objs.board_id}
    for role in ("support", "sales", "admin"):
        users[role] = make_user(session, f"{role}@csp.test", staff_role=role).id
    session.commit()
    from portal.models import User

    emails = {role: session.get(User, uid).email for role, uid in users.items()}
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "REDIS_URL": redis_url,
                      "SECRET_KEY": "url-building-only", "SERVER_NAME": "portal.test"})
    return objs, emails, app


def _page_urls(app, objs) -> list[str]:
    urls = []
    for rule in audited_rules(app):
        if "GET" in rule.methods and rule.endpoint not in NOT_PAGES:
            urls.extend(u.replace("http://portal.test", "") for u in urls_for(app, rule, objs))
    return sorted(set(urls))


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()


@pytest.mark.parametrize("role", ["anonymous", "resident", "board", "support", "sales", "admin"])
def test_every_page_loads_without_a_csp_violation(page, live_server, world, role):
    objs, emails, app = world
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.context.add_cookies([{"name": "lang", "value": "en", "url": live_server}])
    if role != "anonymous":
        _log_in(page, live_server, emails[role])
    problems, html_pages = [], 0
    for url in _page_urls(app, objs):
        try:
            response = page.goto(live_server + url)
        except PlaywrightError as exc:  # a download (CSV, QR sticker) is not a page
            if "Download is starting" in str(exc):
                continue
            raise
        if response is None or "text/html" not in (response.headers.get("content-type") or ""):
            # An image opened on its own is shown by Chromium's built-in viewer, whose own inline styles
            # the CSP blocks: that is the browser's page, not ours.
            page.wait_for_load_state("load")
            console.clear()
            continue
        html_pages += 1
        assert "unsafe" not in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
        problems += [f"{url}: {v}" for v in page.evaluate("() => window.__cspViolations || []")]
        problems += [f"{url}: {text}" for text in console]
        console.clear()
    assert not problems, "\n".join(problems)
    assert html_pages >= 10, html_pages
