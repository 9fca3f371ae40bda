"""Browser-test helpers (Playwright, sync API, Debian's Chromium). Fixtures are in tests/browser/conftest.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "en-US",
    "timezone_id": "Europe/Oslo",
}


def chromium_path() -> str | None:
    """$CHROMIUM_PATH, else /usr/bin/chromium, else `chromium` on PATH. Never Playwright's own download."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def assert_no_horizontal_scroll(page, width: int = 360) -> None:
    """Resize the viewport to ``width`` px (default 360, the narrowest phone we support) and
    assert the document does not scroll sideways. The previous viewport is restored."""
    old = page.viewport_size
    page.set_viewport_size({"width": width, "height": (old or {}).get("height", 800)})
    try:
        dims = page.evaluate(
            """() => {
                const el = document.scrollingElement || document.documentElement;
                const wide = [...document.querySelectorAll('body *')]
                    .filter(e => e.getBoundingClientRect().right > el.clientWidth + 1)
                    .slice(0, 5)
                    .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                              + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : ''));
                return {scrollWidth: el.scrollWidth, clientWidth: el.clientWidth, wide};
            }"""
        )
    finally:
        if old:
            page.set_viewport_size(old)
    assert dims["scrollWidth"] <= dims["clientWidth"], (
        f"horizontal scrolling at {width}px on {page.url}: scrollWidth {dims['scrollWidth']} > "
        f"clientWidth {dims['clientWidth']}; elements sticking out: {dims['wide']}"
    )


# WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus label-content-name-mismatch (WCAG 2.5.3), which
# axe-core ships as experimental and so leaves out unless it is switched on by name.
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]},
    "rules": {"label-content-name-mismatch": {"enabled": True}},
    "resultTypes": ["violations"],
}


# Every impact level counts (minor and moderate too). A rule is let through only when it is written
# here with the reason; nothing is dropped silently.
AXE_ALLOWED: dict[str, str] = {}


def run_axe(page, impacts=("minor", "moderate", "serious", "critical", None), options: dict | None = None,
            allowed: dict[str, str] | None = None) -> list[dict]:
    """Run axe-core (from node_modules, installed by `make setup`) on the current page and return
    the violations, each as {id, impact, help, nodes: [target selectors]}: every impact level,
    except the rules in ``allowed`` (default AXE_ALLOWED, each with its reason).

        assert run_axe(page) == []
    """
    if not AXE_JS.is_file():
        raise RuntimeError(f"{AXE_JS} is missing: run `make setup` (npm ci)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through DevTools, not as a <script> tag: the pages' CSP allows no inline script.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    violations = page.evaluate(
        "async (opts) => (await window.axe.run(document, opts)).violations",
        options or AXE_OPTIONS,
    )
    allowed = AXE_ALLOWED if allowed is None else allowed
    return [
        {
            "id": v["id"],
            "impact": v.get("impact"),
            "help": v.get("help"),
            "nodes": [", ".join(map(str, n.get("target", []))) for n in v.get("nodes", [])][:10],
        }
        for v in violations
        if v.get("impact") in impacts and v["id"] not in allowed
    ]
