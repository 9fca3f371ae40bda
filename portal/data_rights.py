"""Web pieces shared by the two doors to a person's data rights: the account page (portal/auth/privacy.py)
and the staff console (portal/staff/people.py). The work itself is in portal/services/people/privacy.py and
erasure.py (Flask-free)."""
from __future__ import annotations

import tempfile

from flask import current_app, send_file

from portal.extensions import db_session
from portal.models import User
from portal.services.people import erasure, privacy
from portal.services.billing.ledger import Operator
from portal.services.people.mail import portal_url, queue_templated_email


def operator() -> Operator:
    return Operator(current_app.config["OPERATOR_NAME"], current_app.config["OPERATOR_ORG_NUMBER"])


def export_response(user: User):
    """The person's zip as a download, built in a spooled temporary file (memory, then disk when big)."""
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    privacy.write_export(db_session(), user, out, upload_dir=current_app.config.get("UPLOAD_DIR"))
    out.seek(0)
    response = send_file(out, mimetype="application/zip", as_attachment=True,
                         download_name=privacy.export_filename())
    response.headers["Cache-Control"] = "no-store"
    return response


def queue_deletion_email(session, result: erasure.DeletionResult):
    """The confirmation to the address the account had (the outbox row is removed once it is sent)."""
    return queue_templated_email(session, to=result.email, template="account_deleted", language=result.language,
                                 kind=erasure.DELETION_EMAIL_KIND, name=result.name, documents=result.documents,
                                 support_url=portal_url("help.support"))
