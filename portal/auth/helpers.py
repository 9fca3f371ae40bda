"""Small helpers shared by the account views."""
from __future__ import annotations

from flask import Response, current_app

from portal.extensions import db_session
from portal.models import OutboxEmail, User
from portal.security.transport import cookie_secure
from portal.services.people.accounts import VERIFY_MAX_AGE_S, make_verify_token
from portal.services.people.mail import portal_url, queue_templated_email
from portal.web import LANG_COOKIE


def remember_language(response: Response, language: str) -> Response:
    """The language cookie wins over the account setting, so it must follow the account's choice."""
    response.set_cookie(LANG_COOKIE, language, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                        secure=cookie_secure())
    return response


def queue_verify_email(user: User, next_url: str = "") -> OutboxEmail:
    """The confirmation e-mail for `user` (flush only; the caller commits and enqueues)."""
    token = make_verify_token(user, current_app.secret_key, next_url)
    return queue_templated_email(db_session(), to=user.email, template="verify_email", language=user.language,
                                 name=user.display_name, verify_url=portal_url("auth.verify_email", token=token),
                                 hours=VERIFY_MAX_AGE_S // 3600)
