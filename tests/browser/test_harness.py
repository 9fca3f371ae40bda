"""The browser harness itself: Debian's Chromium starts, axe-core loads, the scroll check works."""
from __future__ import annotations

import pytest

from tests.support.browser import assert_no_horizontal_scroll, run_axe


def test_phone_viewport_and_checks(page):
    page.set_content(
        "<!doctype html><html lang='en'><head><title>t</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body><main><h1>Hello</h1><p>Narrow page</p></main></body></html>"
    )
    assert page.evaluate("() => window.innerWidth") == 390
    assert page.evaluate("() => navigator.language") == "en-US"
    assert_no_horizontal_scroll(page)
    assert run_axe(page) == []


def test_checks_catch_problems(page):
    page.set_content(
        "<!doctype html><html lang='en'><head><title>t</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body><main><div style='width:600px'>too wide</div>"
        "<img src='data:,'><button></button>"
        "<details><summary aria-label='Main menu'>Open list</summary><p>x</p></details></main></body></html>"
    )
    with pytest.raises(AssertionError, match="horizontal scrolling"):
        assert_no_horizontal_scroll(page)
    ids = {v["id"] for v in run_axe(page)}
    assert {"image-alt", "button-name", "label-content-name-mismatch"} <= ids


def test_findings_of_every_impact_count_unless_allowed_with_a_reason(page):
    """A moderate finding fails the check like a serious one; the allow-list is the one way past it."""
    page.set_content(
        "<!doctype html><html lang='en' xml:lang='fr'><head><title>t</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
        "<body><main><h1>Hello</h1></main></body></html>"
    )
    found = run_axe(page)
    assert [(v["id"], v["impact"]) for v in found] == [("html-xml-lang-mismatch", "moderate")]
    assert run_axe(page, allowed={"html-xml-lang-mismatch": "a test of the allow-list"}) == []
