"""Wiring of extensions, locale selection, template helpers and error pages."""
from __future__ import annotations

import functools
import hashlib
import logging
import os

from flask import Flask, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import bindparam, exists, select
from werkzeug.exceptions import HTTPException

from portal import phones
from portal.db import Database
from portal.extensions import babel, close_db_session, csrf, htmx, login_manager
from portal.htmx import render
from portal.labels_ocpp import label as ocpp_label
from portal.models import Membership
from portal.security.headers import init_headers
from portal.security.sessions import init_sessions, load_user
from portal.security.transport import init_transport
from portal.services.charging import after_close, meter_flags
from portal.services.people import plain_reasons
from portal.services.billing import pricing
from portal.services.people.secrets import hide_secret_values, redact_frame

log = logging.getLogger(__name__)
LANG_COOKIE = "lang"


def init_app(app: Flask) -> None:
    app.extensions["portal_db"] = Database.from_url(app.config["DATABASE_URL"], redis_url=app.config["REDIS_URL"])
    app.teardown_appcontext(close_db_session)
    csrf.init_app(app)
    htmx.init_app(app)
    init_templates(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.user_loader(load_user)
    init_sessions(app)
    app.before_request(_share_wtforms_catalogue)
    login_manager.unauthorized_handler(_unauthorized)
    app.context_processor(_template_context)
    _register_errors(app)
    init_transport(app)
    init_headers(app)


def init_templates(app: Flask) -> None:
    """Translations and the template filters (the web app, and the worker's e-mails)."""
    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Europe/Oslo")
    app.jinja_env.filters["money"] = _money
    app.jinja_env.filters["per_kwh"] = _per_kwh
    app.jinja_env.filters["kwh"] = _kwh
    app.jinja_env.filters["localtime"] = _localtime
    # a session's meter notes in the reader's language, for staff
    app.jinja_env.filters["meter_notes"] = lambda tx: [_(text) for text in meter_flags.describe(tx)]
    # what a resident is told about a staff decision on their session (never the staff member's own words)
    app.jinja_env.filters["resident_reason"] = lambda tx: _(after_close.resident_text(tx))
    # ... and about any other staff decision: {{ code|plain_reason('tag_blocked') }} (plain_reasons.CATALOGUES)
    app.jinja_env.filters["plain_reason"] = lambda code, kind: _(plain_reasons.text(kind, code))
    # a charger's secret is never shown, even from rows written before it was blanked on the way in
    app.jinja_env.filters["hide_secrets"] = hide_secret_values
    app.jinja_env.filters["log_frame"] = _log_frame
    app.jinja_env.globals["ocpp_label"] = ocpp_label  # OCPP codes and charger types in plain words
    app.jinja_env.filters["phone"] = phones.display  # a stored E.164 number as people read it
    app.jinja_env.filters["bank_account"] = _bank_account
    app.jinja_env.globals["paid_state_label"] = _paid_state_label


def _bank_account(number: str | None, currency: str = "NOK") -> str:
    from portal.services.payments.terms import formatted_account

    return formatted_account(number, currency) if number else ""


def _paid_state_label(state: str | None) -> str:
    from portal.labels import PAID_STATE_LABELS

    return str(PAID_STATE_LABELS.get(state, "")) if state else ""


def select_locale() -> str:
    """Cookie choice, then the account's language, then Accept-Language, then bokmål."""
    from flask import current_app

    languages = current_app.config["LANGUAGES"]
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def current_language() -> str:
    return str(get_locale() or "nb")[:2]


def _unauthorized():
    """To the log-in page and back: HX-Redirect for htmx (never the log-in page swapped into a fragment)."""
    from flask import url_for

    from portal.htmx import redirect_to

    next_url = request.full_path if request.method == "GET" else request.referrer or "/"
    return redirect_to(url_for("auth.login", next=next_url.rstrip("?")), code=302)


def _template_context() -> dict:
    return {
        "current_language": current_language(),
        "languages": (("nb", "Norsk"), ("sv", "Svenska"), ("en", "English")),
        "has_endpoint": _has_endpoint,
        "menu_allows": _menu_allows,
        "asset_url": _asset_url,
    }


@functools.cache
def _asset_version(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:12]
    except OSError:
        return "missing"


def _asset_url(filename: str) -> str:
    """Static URL carrying the file's content hash, so phones may cache it for a year."""
    from flask import current_app, url_for

    path = os.path.join(current_app.static_folder, filename)
    return url_for("static", filename=filename, v=_asset_version(path))


def _has_endpoint(name: str) -> bool:
    from flask import current_app

    return name in current_app.view_functions


def _menu_allows(endpoint: str) -> bool:
    """Hide menu entries the user cannot use; the views check access again on the server."""
    if not current_user.is_authenticated:
        return False
    if endpoint.startswith("staff."):
        return current_user.is_staff
    if endpoint.startswith("site."):
        return current_user.is_admin or _on_a_board()
    return True


def _on_a_board() -> bool:
    """Whether the user sits on any site's board: one indexed EXISTS per page (memoised for the request),
    not the ORM load of all their memberships."""
    if "on_a_board" not in g:
        from portal.extensions import db_session

        g.on_a_board = bool(db_session().connection().execute(_ON_A_BOARD, {"user_id": current_user.id}).scalar())
    return g.on_a_board


_member = Membership.__table__.c
_ON_A_BOARD = select(exists().where(_member.user_id == bindparam("user_id"), _member.role == "board"))


class _WTFormsCatalogue:
    """WTForms' own messages ("This field is required.") in the current locale. flask_wtf parses the
    catalogue file again on every request that shows a form (5 % of a start screen); the files do not
    change while the process runs, so each locale is parsed once. The locale is read at each call, so
    force_locale still applies."""

    def ugettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


@functools.cache
def _wtforms_catalogue(locale: str):
    from babel import support
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


def _share_wtforms_catalogue() -> None:
    request.wtforms_translations = _WTFORMS_CATALOGUE  # where flask_wtf.i18n looks first


_WTFORMS_CATALOGUE = _WTFormsCatalogue()


def _money(minor: int | None, currency: str = "NOK") -> str:
    if minor is None:
        return "–"
    return pricing.format_money(minor, currency, current_language())


def _per_kwh(price, currency: str = "NOK") -> str:
    return pricing.format_per_kwh(price, currency, current_language())


LOG_FRAME_SHOWN = 2000  # characters of one logged OCPP frame on the staff page


def _log_frame(frame: str) -> str:
    """A logged frame as the staff page shows it: secrets blanked, at most LOG_FRAME_SHOWN characters."""
    frame = redact_frame(frame or "")
    if len(frame) <= LOG_FRAME_SHOWN:
        return frame
    return frame[:LOG_FRAME_SHOWN] + " … " + _("(%(count)s more characters not shown)",
                                               count=len(frame) - LOG_FRAME_SHOWN)


def _kwh(wh: int | None) -> str:
    from decimal import Decimal

    return pricing.format_amount(Decimal(wh or 0) / 1000, current_language(), places=2) + " kWh"


def _localtime(value, fmt: str = "short") -> str:
    from flask_babel import format_datetime

    if value is None:
        return "–"
    return format_datetime(value, fmt)


def _register_errors(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _("The form had expired or was sent from somewhere else. Please try again.")
        return render("errors/error.html", block="error", status=400, code=400, message=message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        messages = {
            400: _("The request could not be understood."),
            403: _("You do not have access to this page."),
            404: _("We could not find that page."),
            405: _("That action is not possible here."),
            413: _("What you sent is too large."),
            422: _("Some of what you entered needs fixing."),
            429: _("Too many attempts. Please wait a moment and try again."),
        }
        message = messages.get(code, error.description or _("Something went wrong."))
        return render("errors/error.html", block="error", status=code, code=code, message=message)

    @app.errorhandler(Exception)
    def server_error(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        session = g.get("db_session")
        if session is not None:
            session.rollback()
        message = _("Something went wrong on our side. Please try again in a moment.")
        return render("errors/error.html", block="error", status=500, code=500, message=message)
