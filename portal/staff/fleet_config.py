"""The fleet pages of the staff console (issue 21): configuration templates per charger model, a charger's
configuration answers and local list (a section of the charger page, loaded by htmx), and the printable
commissioning checklist. Support staff (and admins); every route checks the role on the server."""
from __future__ import annotations

from flask import abort, flash
from flask_babel import gettext as _

from portal.db import utcnow
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import ConfigTemplate, LocalListState
from portal.services.fleet import commissioning, queueing
from portal.services.fleet import config_templates as templates
from portal.services.fleet.local_list import tags_for
from portal.staff import bp
from portal.staff.common import charger_or_404, staff_area
from portal.staff.fleet_config_forms import TemplateForm
from portal.staff.forms import EmptyForm


@bp.route("/config-templates")
@staff_area("support")
def config_templates():
    session = db_session()
    rows = templates.templates(session)
    shipped = None if any(not t.vendor and not t.model for t in rows) else templates.SHIPPED_DEFAULT
    return render("staff/config_templates.html", templates=rows, shipped=shipped, section="fleet")


def _template_page(form: TemplateForm, template: ConfigTemplate | None, status: int = 200):
    return render("staff/config_template.html", block="form", status=status, form=form, tpl=template,
                  section="fleet")


@bp.route("/config-templates/new", methods=["GET", "POST"])
@staff_area("support")
def config_template_new():
    form = TemplateForm()
    if not form.is_submitted():
        form.entries.data = templates.entries_text(templates.SHIPPED_DEFAULT)
    return _save(form, None)


@bp.route("/config-templates/<int:template_id>", methods=["GET", "POST"])
@staff_area("support")
def config_template_edit(template_id: int):
    template = db_session().get(ConfigTemplate, template_id)
    if template is None:
        abort(404)
    form = TemplateForm(obj=template)
    if not form.is_submitted():
        form.entries.data = templates.entries_text(template.entries)
    return _save(form, template)


def _save(form: TemplateForm, template: ConfigTemplate | None):
    if not form.is_submitted():
        return _template_page(form, template)
    if not form.validate():
        return _template_page(form, template, 422)
    session = db_session()
    saved = templates.save_template(session, template, name=form.name.data.strip(),
                                    vendor=(form.vendor.data or "").strip(), model=(form.model.data or "").strip(),
                                    entries=form.parsed)
    if saved == "taken":
        session.rollback()
        form.model.errors = [_("This vendor and model already have a template.")]
        return _template_page(form, template, 422)
    charger_ids = templates.chargers_using(session, saved)
    session.commit()
    for cp_id in charger_ids:  # chargers online now get it at once; the others after their next boot
        queueing.configuration(redis_conn(), cp_id)
    flash(_("Template saved. Chargers it applies to get it now if online, otherwise after their next boot."),
          "success")
    return hx_redirect("staff.config_templates")


@bp.route("/chargers/<identity>/fleet")
@staff_area("support")
def charger_fleet(identity: str):
    """The charger's configuration answers and local list (the section of the charger page)."""
    cp = charger_or_404(identity)
    session = db_session()
    chosen = templates.template_for(session, cp.vendor, cp.model)
    return render("staff/charger_fleet.html", block="section", section="chargers", cp=cp, chosen=chosen, keys=templates.keys_of(session, cp.id),
                  state=session.get(LocalListState, cp.id), wanted=len(tags_for(session, cp)), form=EmptyForm())


@bp.route("/chargers/<identity>/fleet/<any(configuration, local_list):what>", methods=["POST"])
@staff_area("support")
def charger_fleet_run(identity: str, what: str):
    """Check the configuration now (drift put right), or send the full local list now."""
    cp = charger_or_404(identity)
    if not EmptyForm().validate_on_submit():
        abort(400)
    job = queueing.configuration(redis_conn(), cp.id) if what == "configuration" \
        else (queueing.local_lists(redis_conn(), [cp.id], full=True) or [None])[0]
    flash(_("Asked. The answers appear here in a moment.") if job else _("The queue is unavailable; try again."),
          "success" if job else "error")
    return hx_redirect("staff.charger", identity=cp.identity)


@bp.route("/chargers/<identity>/commissioning")
@staff_area("support")
def commissioning_checklist(identity: str):
    """The installer's checklist, print-friendly, in the staff member's language."""
    cp = charger_or_404(identity)
    session = db_session()
    now = utcnow()
    return render("staff/commissioning.html", cp=cp, checklist=commissioning.checklist(session, cp, now), now=now)
