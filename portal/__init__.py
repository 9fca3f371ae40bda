"""The resident portal: create_app builds the Flask application, create_mail_app the part jobs need."""
from __future__ import annotations

import logging

from flask import Flask

from portal.config import PROJECT_ROOT, flask_config
from portal.security.redaction import install_log_filters
from portal.security.secret_key import check_secret_key
from portal.settings import Settings


def _flask(config: dict) -> Flask:
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(config)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "translations"))
    return app


def create_app(config: dict | None = None) -> Flask:
    """App factory: defaults, then environment (portal.settings), then `config` (tests pass a mapping)."""
    app = _flask(flask_config(config))
    check_secret_key(app.config)
    if not app.config.get("TESTING"):
        from portal.services.payments.terms import load as payment_terms

        payment_terms()  # refuses to start (TermsError, naming the setting) with a wrong bank account or fee
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_filters()  # no reset, invite or confirmation token in any log line

    from portal import web
    web.init_app(app)
    register_blueprints(app)

    from portal.cli import register_cli
    register_cli(app)
    return app


def create_mail_app(settings: Settings | None = None) -> Flask:
    """What a job needs to render e-mails and link into the portal outside the web process: templates,
    translations, filters and the URL map. No database, log-in, CSRF, rate limits or secret key: jobs
    open their own database session from the settings."""
    app = _flask(flask_config(settings=settings))
    from portal import web
    web.init_templates(app)
    register_blueprints(app)
    return app


def register_blueprints(app: Flask) -> None:
    # Every area defines its blueprint `bp` in portal/<area>/__init__.py, which imports its view modules.
    from portal.auth import bp as auth_bp
    from portal.faq import bp as faq_bp
    from portal.help import bp as help_bp
    from portal.public import bp as public_bp
    from portal.resident import bp as resident_bp
    from portal.sales import bp as sales_bp
    from portal.site import bp as site_bp
    from portal.staff import bp as staff_bp
    from portal.technician import bp as technician_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(resident_bp)
    app.register_blueprint(site_bp, url_prefix="/manage")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(help_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(faq_bp)
    app.register_blueprint(technician_bp)
