"""Help and sales on a phone (390x844), against the real web app (gunicorn), database and Redis:
ordering a charger, the no-agreement advice, a quote request whose two e-mails reach a real SMTP
server, a ticket with a photo under "my tickets", the guide's outcomes, and FAQ search per language.
Every page visited fits 360 px and passes axe."""
from __future__ import annotations

import pytest
from PIL import Image
from sqlalchemy import select

from portal.models import ChargerOrder, Lead, SupportTicket, TicketPhoto
from portal.services.helpdesk.faq_seed import seed_faq
from tests.factories import PASSWORD, make_site, resident_with_access
from tests.support.browser import assert_no_horizontal_scroll, run_axe
from tests.support.mail import run_mail_jobs, text_part


def check(page) -> None:
    assert_no_horizontal_scroll(page)
    violations = run_axe(page)
    assert violations == [], violations


def english(page, base: str) -> None:
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])


@pytest.fixture
def coops(session):
    with_agreement = make_site(session, "bjorkasen-br", name="Bjørkåsen borettslag", org_number="931002007",
                               address="Bjørkåsveien 5", postcode="0591", city="Oslo",
                               order_delivery_time="4–6 weeks", order_charger_model="Home 11 kW\nHome 22 kW")
    without = make_site(session, "aerfuglen-br", name="Ærfuglen sameie", org_number="967003212",
                        address="Ærfuglveien 2", postcode="5003", city="Bergen", agreement_status="none")
    session.commit()
    return with_agreement, without


def test_find_a_cooperative_by_a_partial_accent_free_name_and_order(page, live_server, session, coops):
    english(page, live_server)
    page.goto(live_server)
    check(page)
    page.get_by_test_id("home-links").get_by_role("link", name="Order a charger for your parking space").click()
    page.get_by_label("Your cooperative or address").fill("bjorkas")  # not submitted: results as you type
    result = page.locator('[data-testid="site-result"][data-slug="bjorkasen-br"]')
    result.wait_for()
    check(page)
    result.get_by_role("link").click()
    assert page.get_by_test_id("delivery-time").inner_text() == "4–6 weeks"
    check(page)
    form = page.get_by_test_id("order-form")
    form.get_by_label("Your name").fill("Ola Nordmann")
    form.get_by_label("E-mail").fill("ola@example.test")
    form.get_by_label("Phone").fill("+47 900 00 001")
    form.get_by_label("Your parking space (number or name)").fill("P-12")
    form.get_by_label("Charger").select_option("Home 22 kW")
    form.get_by_role("button", name="Send order").click()
    page.locator(".field-error", has_text="Tick the box to agree").wait_for()  # also in the error summary
    form = page.get_by_test_id("order-form")
    assert form.get_by_label("Your parking space (number or name)").input_value() == "P-12"
    check(page)
    form.get_by_label("I agree").check()
    form.get_by_role("button", name="Send order").click()
    status = page.get_by_test_id("order-status")
    status.wait_for()
    assert status.get_attribute("data-status") == "received" and "P-12" in status.inner_text()
    check(page)
    session.expire_all()
    order = session.scalar(select(ChargerOrder))
    assert (order.status, order.parking_space, order.site_id, order.charger_model) == (
        "received", "P-12", coops[0].id, "Home 22 kW")


def test_a_cooperative_without_agreement_gives_advice_and_the_boards_way_in(page, live_server, coops):
    english(page, live_server)
    page.goto(f"{live_server}/order")
    page.get_by_label("Your cooperative or address").fill("aerfugl")
    page.locator('[data-testid="site-result"][data-slug="aerfuglen-br"]').get_by_role("link").click()
    advice = page.get_by_test_id("no-agreement")
    assert "Talk to your board" in advice.inner_text()
    assert page.get_by_test_id("order-form").count() == 0
    check(page)
    advice.get_by_test_id("board-quote-link").click()
    form = page.get_by_test_id("quote-form")
    assert form.get_by_label("Name of the organisation").input_value() == "Ærfuglen sameie"
    assert form.get_by_label("Organisation number").input_value() == "967003212"


def test_a_quote_with_a_wrong_then_a_right_org_number_and_both_e_mails_arrive(page, live_server, session, smtp,
                                                                               redis_url):
    english(page, live_server)
    page.goto(live_server)
    page.locator('[data-testid="main-menu"] summary').click()
    page.locator('[data-testid="main-menu"] nav').get_by_role("link", name="Request a quote").click()
    form = page.get_by_test_id("quote-form")
    form.get_by_label("Housing cooperative").check()
    form.get_by_label("Name of the organisation").fill("Eikelia borettslag")
    form.get_by_label("Organisation number").fill("923 609 017")
    form.get_by_label("Contact person").fill("Eva Eik")
    form.get_by_label("Role (e.g. chair of the board)").fill("Chair")
    form.get_by_label("E-mail").fill("eva@example.test")
    form.get_by_label("Phone").fill("+47 400 00 000")
    form.get_by_label("Number of parking spaces").fill("64")
    form.get_by_label("We have chargers and want you to take over").check()
    form.get_by_label("I agree").check()
    form.get_by_role("button", name="Send request").click()
    page.locator(".field-error", has_text="a check digit is wrong").wait_for()  # also in the error summary
    check(page)
    assert session.scalar(select(Lead)) is None
    form = page.get_by_test_id("quote-form")
    assert form.get_by_label("Name of the organisation").input_value() == "Eikelia borettslag"
    form.get_by_label("Organisation number").fill("923 609 016")
    form.get_by_role("button", name="Send request").click()
    page.get_by_test_id("quote-sent").wait_for()
    check(page)
    session.expire_all()
    lead = session.scalar(select(Lead))
    assert (lead.status, lead.org_number, lead.kind, lead.parking_spaces) == ("new", "923609016", "takeover", 64)
    run_mail_jobs(redis_url)
    mails = {m["To"]: m for m in smtp.wait_for(2)}
    assert "Eikelia borettslag" in text_part(mails["eva@example.test"])
    assert "eva@example.test" in text_part(mails["sales@portal.example"])


def _photo(tmp_path):
    path = tmp_path / "display.jpg"
    exif = Image.Exif()
    exif[0x010F] = "PhoneCam"
    Image.new("RGB", (800, 600), (0, 90, 160)).save(path, "JPEG", exif=exif.tobytes())
    return path


def log_in(page, base: str, email: str, next_path: str) -> None:
    english(page, base)
    page.goto(f"{base}/login?next={next_path}")
    form = page.get_by_test_id("login-form")
    form.get_by_label("E-mail").fill(email)
    form.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        form.get_by_role("button", name="Log in").click()


def test_a_resident_opens_a_ticket_with_a_photo_and_sees_it_under_my_tickets(page, live_server, session, tmp_path):
    _site, user, cp = resident_with_access(session)
    user.email = f"ticket-{user.id}@example.test"
    session.commit()
    log_in(page, live_server, user.email, "/support")
    page.get_by_test_id("support-hours").wait_for()
    check(page)
    form = page.get_by_test_id("ticket-form")
    form.get_by_label("What is it about?").select_option("charger_fault")
    form.get_by_label("Which charger?").select_option(cp.identity)
    form.get_by_label("What happened?").fill("The display shows error E42.")
    form.get_by_label("Photo of the charger's display").set_input_files(str(_photo(tmp_path)))
    form.get_by_role("button", name="Send to support").click()
    thread = page.get_by_test_id("ticket-thread")
    thread.wait_for()
    assert "The display shows error E42." in thread.inner_text()
    image = thread.get_by_test_id("ticket-photo")
    # the photo arrives after the page (its own request, re-encoded server-side): wait for it to load, then check it
    page.wait_for_function("img => img.complete", arg=image.element_handle(), timeout=15000)
    assert image.evaluate("img => img.naturalWidth") == 800
    check(page)
    page.goto(f"{live_server}/support/tickets")
    rows = page.get_by_test_id("ticket-row")
    assert rows.count() == 1 and "error E42" in rows.first.inner_text()
    check(page)
    session.expire_all()
    ticket = session.scalar(select(SupportTicket))
    assert ticket.requester_id == user.id and ticket.charge_point_id == cp.id
    assert session.scalar(select(TicketPhoto)).ticket_id == ticket.id


@pytest.mark.parametrize("answers, outcome, route", [
    (["We bought it from you"], "operator", "operator"),
    (["Another supplier or electrician", "Yes", "Yes, at least one of these"], "remote", "remote_diagnostics"),
    (["I am the installer or supplier"], "technical", "technical_support"),
])
def test_each_outcome_of_the_guide_with_htmx(page, live_server, answers, outcome, route):
    english(page, live_server)
    page.goto(f"{live_server}/support")
    page.evaluate("() => { window.notReloaded = true; }")
    guide = page.get_by_test_id("guide")
    for answer in answers:
        guide.get_by_role("button", name=answer).first.click()
    page.locator(f'[data-testid="guide"][data-outcome="{outcome}"]').wait_for()
    assert page.evaluate("() => window.notReloaded === true"), "the page reloaded: htmx should swap only the guide"
    check(page)
    page.get_by_test_id("guide-ticket-link").click()
    page.get_by_test_id("ticket-form").wait_for()
    assert page.locator('input[name="route"]').input_value() == route
    assert page.get_by_label("What is it about?").input_value() == "charger_fault"


@pytest.fixture
def no_js_context(browser):
    from tests.support.browser import PHONE

    context = browser.new_context(**PHONE, java_script_enabled=False)
    yield context
    context.close()


def test_the_guide_works_without_javascript(no_js_context, live_server):
    page = no_js_context.new_page()
    english(page, live_server)
    page.goto(f"{live_server}/support")
    page.get_by_test_id("guide").get_by_role("button", name="Another supplier or electrician").click()
    page.get_by_test_id("guide").get_by_role("button", name="No, or I do not know").click()
    page.get_by_test_id("guide").get_by_role("button", name="No, it is dead").click()
    outcome = page.get_by_test_id("guide-outcome")
    assert "Contact the supplier or electrician" in outcome.inner_text()
    assert page.get_by_test_id("guide").get_attribute("data-outcome") == "supplier"


@pytest.fixture
def faq_articles(session):
    seed_faq(session)
    session.commit()


@pytest.mark.parametrize("language, word, slug, title", [
    ("nb", "feilsøker", "defective-charger", "Laderen min er defekt: hvem kontakter jeg?"),
    ("sv", "felsöker", "defective-charger", "Min laddare är trasig: vem kontaktar jag?"),
    ("en", "troubleshoot", "defective-charger", "My charger is defective: who do I contact?"),
])
def test_find_an_faq_article_by_a_word_in_its_body_in_each_language(page, live_server, faq_articles, language,
                                                                    word, slug, title):
    page.context.add_cookies([{"name": "lang", "value": language, "url": live_server}])
    page.goto(f"{live_server}/faq")
    page.get_by_role("searchbox").fill(word)
    hit = page.locator(f'[data-testid="faq-hit"][data-slug="{slug}"]')
    hit.wait_for()
    check(page)
    hit.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text() == title
    check(page)
    page.get_by_test_id("faq-vote").get_by_role("button").first.click()
    page.get_by_test_id("vote-thanks").wait_for()


def test_staff_edit_an_faq_article_with_preview_on_a_phone(page, live_server, session):
    from tests.factories import make_user

    staff = make_user(session, f"faq-staff-{id(session)}@example.test", staff_role="support")
    session.commit()
    log_in(page, live_server, staff.email, "/faq/manage/new")
    editor = page.get_by_test_id("faq-editor")
    editor.get_by_label("Address (slug)").fill("cable-stuck")
    editor.get_by_label("Title (English)").fill("The cable is stuck")
    editor.get_by_label("Text (English, Markdown)").fill("Stop the session **first**, then pull.")
    editor.get_by_role("button", name="Preview").click()
    preview = page.get_by_test_id("faq-preview")
    assert preview.locator("strong").inner_text() == "first"
    check(page)
    page.get_by_test_id("faq-editor").get_by_label("Published").check()
    page.get_by_test_id("faq-editor").get_by_role("button", name="Save").click()
    assert page.get_by_test_id("article-slug").inner_text() == "/faq/cable-stuck"
    check(page)
    page.goto(f"{live_server}/faq/cable-stuck")
    assert page.get_by_role("heading", level=1).inner_text() == "The cable is stuck"
