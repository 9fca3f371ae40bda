"""The site's power for the board (issue 22, step one): the current for charging, the grid, circuits, each
charger's phases, lines and maximum, and the safe floor each gets (/manage/<site>/power). Every change is
checked by portal.services.smart before it is kept (refused with the reason), then the floors are sent."""
from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.forms_common import NoControlCharacters, strip_text
from portal.htmx import redirect_to, render
from portal.models import ChargePoint
from portal.services.smart import floor as f
from portal.services.smart import grid as g
from portal.services.smart import power, queueing
from portal.site import bp
from portal.site.common import managed_site

AMPS = [InputRequired(_l("Give a whole number of amperes.")), NumberRange(0, 4000, _l("Give a whole number of amperes."))]


class PowerForm(FlaskForm):
    max_current = IntegerField(_l("Current for charging per line (A)"), validators=AMPS)
    phases = SelectField(_l("Phases"), choices=[("3", _l("Three-phase")), ("1", _l("One-phase"))])
    voltage = SelectField(_l("Grid"), choices=[("400", _l("400 V TN (with neutral)")), ("230", _l("230 V IT"))])


class CircuitForm(FlaskForm):
    name = StringField(_l("Circuit name"), filters=[strip_text], validators=[Optional(), Length(max=80),
                                                                              NoControlCharacters()])
    circuit_max = IntegerField(_l("Its limit per line (A)"), validators=AMPS)
    parent = SelectField(_l("Behind"), choices=[])


class ChargerForm(FlaskForm):
    charger_phases = SelectField(_l("Phases"), choices=[("3", _l("Three-phase")), ("1", _l("One-phase"))])
    lines = SelectField(_l("Lines"), choices=[])
    charger_max = IntegerField(_l("Its maximum (A)"), validators=AMPS)
    circuit = SelectField(_l("Circuit"), choices=[])
    tolerates_pause = BooleanField(_l("May pause (0 A) when the limit needs it"))


def _circuit_choices(site_id: int) -> list[tuple[str, str]]:
    return [("", _("The site's own limit"))] + [(str(c.id), f"{c.name} ({c.max_current_a} A)")
                                                 for c in power.circuits_of(db_session(), site_id)]


def _page(site, status: int = 200, forms: dict | None = None):
    session = db_session()
    pw = power.power_of(session, site.id)
    forms = forms or {}
    form = forms.get("power") or PowerForm(formdata=None, max_current=pw.max_current_a if pw else None,
                                           phases=str(pw.phases) if pw else "3", voltage=str(pw.voltage) if pw else "400")
    circuit_form = forms.get("circuit") or CircuitForm(formdata=None)
    circuit_form.parent.choices = _circuit_choices(site.id)
    rows = power.chargers_of(session, site.id)
    grid = g.grid_of(pw.voltage) if pw else g.TN
    choices = [("", "–")] + [(c, c) for c in g.line_choices(grid, pw.phases if pw else 3)]
    charger_forms = {}
    for cp, row in rows:
        cf = forms.get(cp.id) or ChargerForm(formdata=None, prefix=f"cp{cp.id}", charger_phases=str(row.phases),
                                             lines=row.lines, charger_max=row.max_current_a,
                                             circuit=str(row.circuit_id or ""), tolerates_pause=row.tolerates_pause)
        cf.lines.choices, cf.circuit.choices = choices, _circuit_choices(site.id)
        charger_forms[cp.id] = cf
    plan = power.plan(session, site.id)
    problems = [refusals.text("smart", p.code) for p in f.validate(*power.model(session, site.id))] if pw else []
    session.rollback()  # power rows made for the page are not kept by a GET
    return render("site/power.html", status=status, site=site, section="power", power=pw, form=form,
                  circuit_form=circuit_form, rows=rows, charger_forms=charger_forms, plan=plan, grid=grid,
                  circuits=power.circuits_of(session, site.id), problems=problems, can_limit=power.can_limit)


def _refused(form, field, exc: power.PowerRefused) -> None:
    field.errors = list(field.errors or []) + [refusals.text("smart", p.code) for p in exc.problems]


def _kept(site, message: str):
    session = db_session()
    session.commit()
    queueing.for_site(session, redis_conn(), site.id)
    flash(message, "success")
    return redirect_to(url_for("site.power_page", slug=site.slug))


@bp.route("/<slug>/power", methods=["GET", "POST"])
@login_required
def power_page(slug: str):
    site = managed_site(slug)
    if request.method == "GET":
        return _page(site)
    form = PowerForm()
    if form.validate_on_submit():
        try:
            power.set_power(db_session(), site.id, form.max_current.data, int(form.phases.data), int(form.voltage.data),
                            actor=current_user)
            return _kept(site, _("The site's power is saved; the chargers get their floors."))
        except power.PowerRefused as exc:
            db_session().rollback()
            _refused(form, form.max_current, exc)
    return _page(site, 422, {"power": form})


@bp.route("/<slug>/power/circuits", methods=["POST"])
@login_required
def power_circuit_add(slug: str):
    site = managed_site(slug)
    form = CircuitForm()
    form.parent.choices = _circuit_choices(site.id)
    if form.validate_on_submit():
        try:
            power.add_circuit(db_session(), site.id, form.name.data or "", form.circuit_max.data,
                              int(form.parent.data) if form.parent.data else None, actor=current_user)
            return _kept(site, _("The circuit is added."))
        except power.PowerRefused as exc:
            db_session().rollback()
            _refused(form, form.circuit_max, exc)
    return _page(site, 422, {"circuit": form})


@bp.route("/<slug>/power/chargers/<int:cp_id>", methods=["POST"])
@login_required
def power_charger(slug: str, cp_id: int):
    site = managed_site(slug)
    cp = db_session().get(ChargePoint, cp_id)
    if cp is None or cp.site_id != site.id:
        abort(404)
    form = ChargerForm(prefix=f"cp{cp_id}")
    form.circuit.choices = _circuit_choices(site.id)
    pw = power.power_of(db_session(), site.id)
    form.lines.choices = [("", "–")] + [(c, c) for c in (g.line_choices(g.grid_of(pw.voltage), pw.phases) if pw else ())]
    if form.validate_on_submit():
        try:
            power.set_charger(db_session(), site.id, cp_id, int(form.charger_phases.data), form.lines.data or "",
                              form.charger_max.data, int(form.circuit.data) if form.circuit.data else None,
                              bool(form.tolerates_pause.data), actor=current_user)
            return _kept(site, _("The charger's connection is saved."))
        except power.PowerRefused as exc:
            db_session().rollback()
            _refused(form, form.charger_max, exc)
    return _page(site, 422, {cp_id: form})


@bp.route("/<slug>/power/spread", methods=["POST"])
@login_required
def power_spread(slug: str):
    site = managed_site(slug)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        power.spread_lines(db_session(), site.id, actor=current_user)
    except power.PowerRefused as exc:
        db_session().rollback()
        for p in exc.problems:
            flash(refusals.text("smart", p.code), "error")
        return redirect_to(url_for("site.power_page", slug=site.slug))
    return _kept(site, _("The one-phase chargers are spread over the lines."))
