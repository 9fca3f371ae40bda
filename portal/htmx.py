"""One URL, two representations: the full page, or the named block for an htmx request; the HX response
headers (HX-Redirect, HX-Trigger) and the live widgets' ETag. Views never read or write HX headers themselves."""
from __future__ import annotations

import hashlib
import re

from flask import Response, make_response, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from jinja2_fragments.flask import render_block
from markupsafe import Markup


def wants_fragment() -> bool:
    """An htmx request that is neither boosted navigation nor a history restore."""
    hx = getattr(request, "htmx", None)
    return bool(hx) and not hx.boosted and not hx.history_restore_request


def render(template: str, block: str | None = None, status: int = 200, **context) -> Response:
    """Render the page, or only `block` of the same template when htmx asks for a fragment."""
    if block and wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def redirect_to(target: str, code: int = 303) -> Response:
    """Go to `target` (a same-site path): HX-Redirect (204) for an htmx request, a plain redirect
    (303, or `code`) otherwise. The one place that writes HX-Redirect."""
    if getattr(request, "htmx", None):
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
    else:
        response = make_response("", code)
        response.headers["Location"] = target
    response.vary.add("HX-Request")
    return response


def hx_redirect(endpoint: str, **values) -> Response:
    """redirect_to the URL of `endpoint` (url_for arguments)."""
    return redirect_to(url_for(endpoint, **values))


def set_trigger(response: Response, event: str) -> Response:
    """Tell the page that something happened (HX-Trigger), for other widgets to refresh."""
    existing = response.headers.get("HX-Trigger")
    response.headers["HX-Trigger"] = f"{existing}, {event}" if existing else event
    return response


def _compact(html: str) -> str:
    """Drop the template's indentation and blank lines: a live fragment travels every few seconds.
    (Fragments hold no <pre> or <textarea>, whose whitespace would matter.)"""
    return re.sub(r"\n\s+", "\n", html).strip()


def render_live(template: str, block: str, **context) -> Response:
    """A page with a live `block` (polled by static/js/live.js): the full page, or the fragment with an
    ETag of its content, or an empty 304 when the poll's If-None-Match shows nothing changed.

    The block renders with `live_etag` (its own tag, for the first poll). The CSRF token in the
    block's forms differs on every render, so it is left out of the tag. A template's live block starts
    with `{% if rendered_live %}{{ rendered_live }}{% else %}`, so the whole page reuses the one rendering."""
    html = _compact(render_block(template, block, live_etag="", **context))
    tag = hashlib.sha256(html.replace(generate_csrf(), "").encode()).hexdigest()[:20]
    tagged = html.replace('data-etag=""', f'data-etag="{tag}"', 1)
    if not wants_fragment():
        # the whole page places the block rendered above (`rendered_live`) instead of rendering it again
        response = make_response(render_template(template, live_etag=tag, rendered_live=Markup(tagged), **context))
    elif tag in request.if_none_match:
        response = make_response("", 304)
    else:
        response = make_response(tagged)
    if wants_fragment():
        # static/js/live.js keeps the tag and sends If-None-Match itself, so no cache is needed:
        # what a signed-in resident sees is never stored (the security headers' no-store applies).
        response.set_etag(tag)
    response.vary.add("HX-Request")
    return response
