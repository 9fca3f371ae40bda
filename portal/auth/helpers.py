"""Small helpers shared by the account views."""
from __future__ import annotations

from flask import Response, make_response

from portal.htmx import wants_fragment
from portal.security.transport import cookie_secure
from portal.web import LANG_COOKIE


def redirect_after_form(target: str) -> Response:
    """Go to a same-site path after a successful form: HX-Redirect for htmx, 303 otherwise."""
    if wants_fragment():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = target
    else:
        response = make_response("", 303)
        response.headers["Location"] = target
    response.vary.add("HX-Request")
    return response


def remember_language(response: Response, language: str) -> Response:
    """The language cookie wins over the account setting, so it must follow the account's choice."""
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=cookie_secure())
    return response
