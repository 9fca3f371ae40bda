"""Help: the support page with the ticket form and the defective-charger guide, and ticket threads.

Views live in portal/help/{support,threads,guide}.py on the blueprint ``bp``.
"""
from __future__ import annotations

from flask import Blueprint, request

from portal.forms_common import keep_form_on_rate_limit, private_pages

bp = Blueprint("help", __name__)

keep_form_on_rate_limit(bp)
private_pages(bp, {"help.my_tickets", "help.ticket", "help.token_thread"})

# Forms that carry a photo may be larger than the app-wide limit: a phone photo is often 3-8 MB.
# Set before any before_request hook (CSRF) reads the body; the photo itself is capped at 8 MB.
UPLOAD_ENDPOINTS = {"help.support", "help.ticket_reply", "help.token_reply"}
UPLOAD_REQUEST_MAX = 12 * 1024 * 1024


@bp.url_value_preprocessor
def _allow_photo_uploads(endpoint, _values) -> None:
    if endpoint in UPLOAD_ENDPOINTS:
        request.max_content_length = UPLOAD_REQUEST_MAX


@bp.app_template_global("support_link")
def support_link(identity: str, reason: str) -> str | None:
    """The /support address with the charger and the reason filled in, for a refusal that sends people there."""
    from flask import url_for

    from portal.refusals import sends_to_support

    if sends_to_support(reason):
        return url_for("help.support", charger=identity, reason=reason) + "#ticket-form"
    return None


from portal.help import guide, support, threads  # noqa: E402,F401  (registers their views on bp)
