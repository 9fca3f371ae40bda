"""A form with errors, on a phone (390x844): the focus lands on a summary at the top of the form,
each line of it leads to its field, and a chosen photo that was not kept is named plainly. One
shared script (static/js/forms.js) for a full-page form (support, with a photo) and an htmx form
(ordering a charger)."""
from __future__ import annotations

from PIL import Image

from tests.factories import make_site
from tests.support.browser import assert_no_horizontal_scroll, run_axe


def _photo(tmp_path):
    path = tmp_path / "display.jpg"
    Image.new("RGB", (320, 240), (0, 120, 60)).save(path, "JPEG")
    return path


def _english(page, base: str) -> None:
    page.context.add_cookies([{"name": "lang", "value": "en", "url": base}])


def _focused_testid(page) -> str | None:
    return page.evaluate("() => document.activeElement && document.activeElement.getAttribute('data-testid')")


def _focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


def test_the_support_form_focuses_the_summary_links_the_fields_and_asks_for_the_photo_again(
        page, live_server, tmp_path):
    _english(page, live_server)
    page.goto(f"{live_server}/support")
    form = page.get_by_test_id("ticket-form")
    form.get_by_label("Photo of the charger's display").set_input_files(str(_photo(tmp_path)))
    form.get_by_label("Phone (optional)").fill("12345")
    form.get_by_role("button", name="Send to support").click()  # no description, no e-mail, a bad phone
    summary = page.get_by_test_id("error-summary")
    summary.wait_for()
    page.wait_for_function("() => document.activeElement && "
                           "document.activeElement.getAttribute('data-testid') === 'error-summary'")
    assert _focused_testid(page) == "error-summary"
    text = summary.inner_text()
    assert "Please check what you sent" in text
    assert "What happened?: Tell us what happened, so we can help." in text
    assert "This is not a phone number we can call" in text
    assert "The photo you chose was not kept: choose it again before you send." in text
    assert page.get_by_test_id("choose-again").is_visible()  # also beside the field itself
    assert form.get_by_label("Phone (optional)").input_value() == "12345"  # what was typed is kept
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []

    summary.get_by_role("link", name="Phone (optional): This is not a phone number", exact=False).click()
    assert _focused_id(page) == "phone"
    summary.get_by_role("link", name="What happened?", exact=False).click()
    assert _focused_id(page) == "description"
    summary.get_by_role("link", name="The photo you chose was not kept", exact=False).click()
    assert _focused_id(page) == "photo"


def test_an_htmx_form_gets_the_same_summary_after_the_swap(page, live_server, session):
    make_site(session, "summary-coop", name="Summary borettslag", order_charger_model="Home 11 kW")
    session.commit()
    _english(page, live_server)
    page.goto(f"{live_server}/order/summary-coop")
    form = page.get_by_test_id("order-form")
    form.get_by_label("Your name").fill("Ola Nordmann")
    form.get_by_label("E-mail").fill("ola@example.test")
    form.get_by_label("Phone").fill("+49 30 12345678")
    form.get_by_label("Your parking space (number or name)").fill("P-3")
    form.get_by_role("button", name="Send order").click()
    summary = page.get_by_test_id("error-summary")
    summary.wait_for()
    page.wait_for_function("() => document.activeElement && "
                           "document.activeElement.getAttribute('data-testid') === 'error-summary'")
    links = summary.get_by_role("link")
    assert links.count() == 2  # the phone and the consent box
    assert "Enter a Norwegian or Swedish phone number" in summary.inner_text()
    assert "choose it again" not in summary.inner_text()  # no photo on this form
    assert page.get_by_test_id("order-form").get_by_label("Phone").input_value() == "+49 30 12345678"
    links.nth(1).click()
    assert _focused_id(page) == "consent"
    links.nth(0).click()
    assert _focused_id(page) == "phone"
    assert run_axe(page) == []
