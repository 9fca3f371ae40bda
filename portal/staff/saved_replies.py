"""Saved replies, kept by support and admins: the list with a form for a new one, editing, deleting."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import db_session
from portal.htmx import hx_redirect, render
from portal.models import SavedReply
from portal.services.helpdesk import saved_replies as service
from portal.services.sites import audit
from portal.staff import bp
from portal.staff.common import staff_area
from portal.staff.forms import EmptyForm
from portal.staff.ticket_forms import LANGUAGE_LABELS, SavedReplyForm


def _error(exc: service.SavedReplyError) -> str:
    if exc.code == "unknown_placeholder":
        return _("Unknown placeholder %(names)s: use only {name}, {charger} and {site}.",
                 names=", ".join("{" + n + "}" for n in exc.names))
    if exc.code == "stray_brace":
        return _("A curly brace without its pair: placeholders look like {name}.")
    return _("There is already a saved reply with this title in this language.")


def _page(form: SavedReplyForm, editing: SavedReply | None = None, status: int = 200):
    return render("staff/saved_replies.html", replies=service.replies(db_session()), form=form, editing=editing,
                  languages=LANGUAGE_LABELS, delete=EmptyForm(), section="tickets", status=status)


def _save(form: SavedReplyForm, reply: SavedReply | None):
    session = db_session()
    if form.validate_on_submit():
        try:
            saved = service.save(session, reply, language=form.language.data, title=form.title.data,
                                 body=form.body.data, author=current_user)
        except service.SavedReplyError as exc:
            session.rollback()
            field = form.title if exc.code == "title_taken" else form.body
            field.errors = [_error(exc)]
        else:
            audit.record(session, current_user, None, "saved_reply", saved.id, "save" if reply else "create",
                         after={"language": saved.language, "title": saved.title}, area="staff")
            session.commit()
            flash(_("The saved reply is stored."), "info")
            return hx_redirect("staff.saved_replies")
    return _page(form, reply, status=422)


@bp.route("/replies", methods=["GET", "POST"])
@staff_area("support")
def saved_replies():
    form = SavedReplyForm()
    if form.is_submitted():
        return _save(form, None)
    return _page(form)


def _reply(reply_id: int) -> SavedReply:
    reply = db_session().get(SavedReply, reply_id)
    if reply is None:
        abort(404)
    return reply


@bp.route("/replies/<int:reply_id>", methods=["GET", "POST"])
@staff_area("support")
def saved_reply(reply_id: int):
    reply = _reply(reply_id)
    form = SavedReplyForm(obj=reply)
    if form.is_submitted():
        return _save(form, reply)
    return _page(form, reply)


@bp.route("/replies/<int:reply_id>/delete", methods=["POST"])
@staff_area("support")
def saved_reply_delete(reply_id: int):
    reply = _reply(reply_id)
    if EmptyForm().validate_on_submit():
        session = db_session()
        audit.record(session, current_user, None, "saved_reply", reply.id, "delete",
                     after={"language": reply.language, "title": reply.title}, area="staff")
        session.delete(reply)
        session.commit()
        flash(_("The saved reply is deleted."), "info")
    return hx_redirect("staff.saved_replies")
