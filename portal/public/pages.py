"""Pages for everyone: home, health check, language choice."""
from __future__ import annotations

import logging

from flask import current_app, jsonify, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import text

from portal.extensions import db_session, redis_conn
from portal.public import bp
from portal.htmx import render
from portal.security.redirects import safe_next
from portal.security.transport import cookie_secure
from portal.web import LANG_COOKIE

log = logging.getLogger(__name__)


@bp.route("/")
def home():
    if current_user.is_authenticated and "resident.my_chargers" in current_app.view_functions:
        return redirect(url_for("resident.my_chargers"))
    return render("public/home.html", support_phone=current_app.config["SUPPORT_PHONE"])


@bp.route("/healthz")
def healthz():
    checks = {}
    try:
        db_session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        log.warning("health check: database failed: %s", exc)
        checks["database"] = "error"
    try:
        redis_conn().ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        log.warning("health check: redis failed: %s", exc)
        checks["redis"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "error", **checks), 200 if healthy else 503


@bp.route("/lang", methods=["POST"])
def set_language():
    """Language switcher: a plain form, so it works without JavaScript."""
    lang = request.form.get("lang", "")
    target = safe_next(request.form.get("next"), url_for("public.home"))
    response = redirect(target, code=303)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True,
                            secure=cookie_secure())
        if current_user.is_authenticated:
            current_user.language = lang
            db_session().commit()
    return response


from portal.public import links  # noqa: E402,F401  (registers its views on bp)
