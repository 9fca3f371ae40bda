"""The resident portal: create_app builds the Flask application."""
from __future__ import annotations

import logging

from flask import Flask

from portal.config import PROJECT_ROOT, load_settings
from portal.security.redaction import install_log_filters
from portal.security.secret_key import check_secret_key


def create_app(config: dict | None = None) -> Flask:
    """App factory: defaults, then environment, then `config` (tests pass a mapping)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_settings(config))
    check_secret_key(app.config)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(PROJECT_ROOT / "translations"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_filters()  # no reset, invite or confirmation token in any log line

    from portal import web
    web.init_app(app)

    # Every area defines its blueprint `bp` in portal/<area>/__init__.py, which imports its view modules.
    from portal.auth import bp as auth_bp
    from portal.faq import bp as faq_bp
    from portal.help import bp as help_bp
    from portal.public import bp as public_bp
    from portal.resident import bp as resident_bp
    from portal.sales import bp as sales_bp
    from portal.site import bp as site_bp
    from portal.staff import bp as staff_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(resident_bp)
    app.register_blueprint(site_bp, url_prefix="/manage")
    app.register_blueprint(staff_bp, url_prefix="/staff")
    app.register_blueprint(help_bp)
    app.register_blueprint(sales_bp)
    app.register_blueprint(faq_bp)

    from portal.cli import register_cli
    register_cli(app)
    return app
