"""Tariffs, tariff groups (attach/detach with active search, charge points, preview) and spot prices."""
from __future__ import annotations

from datetime import timedelta

from flask import flash, request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms import SelectChoice

from portal.db import utcnow
from portal.extensions import db_session
from portal.htmx import hx_redirect, render, wants_fragment
from portal.models import Tariff, TariffGroup
from portal.models.sites import PRICE_AREAS
from portal.services.billing import spot
from portal.services.sites import site_admin
from portal.services.billing.pricing import from_minor, spot_unit_price
from portal.site import bp
from portal.site.board import manage_box
from portal.site.common import managed_site, site_object
from portal.site.forms import EmptyForm, LinkChargePointsForm, NameForm, TariffForm


def _tariff_form(site, tariff: Tariff | None = None) -> TariffForm:
    form = TariffForm(obj=None)
    form.plans.choices = [SelectChoice(p.id, p.name) for p in site_admin.site_plans(db_session(), site.id)]
    form.user_groups.choices = [SelectChoice(g.id, g.name) for g in site_admin.site_user_groups(db_session(), site.id)]
    if tariff is not None and request.method == "GET":
        form.name.data, form.description.data = tariff.name, tariff.description
        form.pricing_type.data = tariff.pricing_type
        form.energy_fee.data = _text(tariff.energy_fee)
        form.min_price.data = _text(from_minor(tariff.min_price_minor))
        form.preauth.data = _text(from_minor(tariff.preauth_minor))
        form.spot_markup.data = _text(tariff.spot_markup)
        form.spot_markup_percent.data = _text(tariff.spot_markup_percent)
        form.spot_fallback.data = _text(tariff.spot_fallback)
        form.plans.data = [p.id for p in tariff.restrictions]
        form.user_groups.data = [g.id for g in tariff.group_restrictions]
    return form


def _text(value) -> str:
    """A stored Decimal as the board types it: 3,2 -> "3,20"; trailing zeros beyond øre dropped."""
    text = f"{value:.4f}".rstrip("0")
    text = text + "0" * max(0, 2 - len(text.split(".")[1])) if "." in text else text
    return text.replace(".", ",")


@bp.route("/<slug>/tariffs")
@login_required
def tariffs(slug: str):
    site = managed_site(slug)
    return render("site/tariffs.html", site=site, section="tariffs",
                  tariffs=site_admin.site_tariffs(db_session(), site.id))


@bp.route("/<slug>/tariffs/new", methods=["GET", "POST"])
@login_required
def tariff_new(slug: str):
    site = managed_site(slug)
    form = _tariff_form(site)
    if not form.validate_on_submit():
        return render("site/tariff_form.html", block="form", status=422 if request.method == "POST" else 200,
                      site=site, form=form, tariff=None, section="tariffs")
    tariff = site_admin.create_tariff(db_session(), current_user, site, form.to_data())
    db_session().commit()
    flash(_("Tariff %(name)s created.", name=tariff.name), "success")
    return hx_redirect("site.tariffs", slug=site.slug)


@bp.route("/<slug>/tariffs/<int:tariff_id>", methods=["GET", "POST"])
@login_required
def tariff_edit(slug: str, tariff_id: int):
    site = managed_site(slug)
    tariff = site_object(Tariff, tariff_id, site)
    form = _tariff_form(site, tariff)
    if not form.validate_on_submit():
        return render("site/tariff_form.html", block="form", status=422 if request.method == "POST" else 200,
                      site=site, form=form, tariff=tariff, section="tariffs", **manage_box(site, tariff, "tariff"))
    site_admin.update_tariff(db_session(), current_user, tariff, form.to_data())
    db_session().commit()
    flash(_("Tariff %(name)s saved. The new price applies to sessions started from now on.", name=tariff.name),
          "success")
    return hx_redirect("site.tariffs", slug=site.slug)


# --- tariff groups -------------------------------------------------------------------------

@bp.route("/<slug>/groups", methods=["GET", "POST"])
@login_required
def groups(slug: str):
    site = managed_site(slug)
    form = NameForm()
    if form.validate_on_submit():
        group = site_admin.create_group(db_session(), current_user, site, form.name.data)
        db_session().commit()
        flash(_("Tariff group %(name)s created.", name=group.name), "success")
        return hx_redirect("site.group", slug=site.slug, group_id=group.id)
    status = 422 if request.method == "POST" else 200
    return render("site/groups.html", block="form", status=status, site=site, form=form, section="groups",
                  groups=site_admin.site_groups(db_session(), site.id))


def _group_context(site, group: TariffGroup) -> dict:
    s = db_session()
    now_spot = spot.price_at(s, site.price_area, utcnow())
    cps = site_admin.site_charge_points(s, site.id)
    link_form = LinkChargePointsForm()
    link_form.charge_points.choices = [SelectChoice(cp.id, cp.display_name) for cp in cps]
    if request.method == "GET":
        link_form.charge_points.data = [cp.id for cp in cps if cp.tariff_group_id == group.id]
    return dict(site=site, group=group, section="groups", link_form=link_form, charge_points=cps,
                preview=site_admin.preview(s, group, site, now_spot), spot_now=now_spot, empty=EmptyForm(),
                **manage_box(site, group, "tariff_group"))


@bp.route("/<slug>/groups/<int:group_id>")
@login_required
def group(slug: str, group_id: int):
    site = managed_site(slug)
    group = site_object(TariffGroup, group_id, site)
    return render("site/group.html", **_group_context(site, group), found=None, q="")


@bp.route("/<slug>/groups/<int:group_id>/search")
@login_required
def group_search(slug: str, group_id: int):
    """Active search: the site's tariffs matching q that are not attached yet."""
    site = managed_site(slug)
    group = site_object(TariffGroup, group_id, site)
    q = request.args.get("q", "")[:120]
    found = [t for t in site_admin.site_tariffs(db_session(), site.id, q) if t not in group.tariffs]
    return render("site/group.html", block="search_results", **_group_context(site, group), found=found, q=q)


def _group_change(slug: str, group_id: int, tariff_id: int, attach: bool):
    site = managed_site(slug)
    group = site_object(TariffGroup, group_id, site)
    tariff = site_object(Tariff, tariff_id, site)
    change = site_admin.attach_tariff if attach else site_admin.detach_tariff
    change(db_session(), current_user, group, tariff)
    db_session().commit()
    if wants_fragment():
        return render("site/group.html", block="tariffs_panel", **_group_context(site, group), found=None, q="")
    return hx_redirect("site.group", slug=site.slug, group_id=group.id)


@bp.route("/<slug>/groups/<int:group_id>/attach/<int:tariff_id>", methods=["POST"])
@login_required
def group_attach(slug: str, group_id: int, tariff_id: int):
    return _group_change(slug, group_id, tariff_id, attach=True)


@bp.route("/<slug>/groups/<int:group_id>/detach/<int:tariff_id>", methods=["POST"])
@login_required
def group_detach(slug: str, group_id: int, tariff_id: int):
    return _group_change(slug, group_id, tariff_id, attach=False)


@bp.route("/<slug>/groups/<int:group_id>/charge-points", methods=["POST"])
@login_required
def group_charge_points(slug: str, group_id: int):
    site = managed_site(slug)
    group = site_object(TariffGroup, group_id, site)
    ctx = _group_context(site, group)
    form = ctx["link_form"]
    if not form.validate_on_submit():
        return render("site/group.html", block="link_form", status=422, **ctx, found=None, q="")
    site_admin.link_charge_points(db_session(), current_user, group, set(form.charge_points.data or []))
    db_session().commit()
    flash(_("Charge points updated."), "success")
    return hx_redirect("site.group", slug=site.slug, group_id=group.id)


# --- spot prices ---------------------------------------------------------------------------

@bp.route("/<slug>/spot")
@login_required
def spot_prices(slug: str):
    site = managed_site(slug)
    s = db_session()
    today = spot.local_today(site.timezone)
    days = [today, today + timedelta(days=1)]
    area = request.args.get("area") if request.args.get("area") in PRICE_AREAS else site.price_area
    tables = []
    for day in days:
        rows = spot.prices_for_day(s, area, day, site.timezone)
        tables.append((day, [(r, spot_unit_price(r.price_per_kwh, 0, 0, site.vat_rate_bp)) for r in rows]))
    return render("site/spot.html", site=site, section="spot", days=days, area=area, areas=PRICE_AREAS,
                  overview=spot.overview(s, days, site.timezone), tables=tables)
