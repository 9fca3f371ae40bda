"""Board tools: promote/demote board members, rename and delete tariffs, tariff groups, plans and
user groups, close/open a plan and set its price for the next period."""
from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from portal import refusals
from portal.extensions import db_session
from portal.htmx import hx_redirect, render, wants_fragment
from portal.models import SubscriptionPlan, Tariff, TariffGroup, UserGroup
from portal.services.sites import board_tools
from portal.services.billing.pricing import parse_price, to_minor
from portal.services.sites.site_admin import RuleError
from portal.site import bp
from portal.site.common import managed_site, site_object
from portal.site.forms import NameForm, PlanOpenForm, PlanPriceForm, RoleForm

# kind -> (model, URL part, its id argument, page endpoint, list endpoint)
KINDS = {
    "tariff": (Tariff, "tariffs", "tariff_id", "site.tariff_edit", "site.tariffs"),
    "tariff_group": (TariffGroup, "groups", "group_id", "site.group", "site.groups"),
    "plan": (SubscriptionPlan, "plans", "plan_id", "site.plan", "site.plans"),
    "user_group": (UserGroup, "user-groups", "group_id", "site.user_group", "site.user_groups"),
}
KIND_NAMES = {"tariff": _l("Tariff"), "tariff_group": _l("Tariff group"), "plan": _l("Subscription plan"),
              "user_group": _l("User group")}


def manage_box(site, obj, kind: str, form: NameForm | None = None, refusal: str | None = None) -> dict:
    """Context for templates/site/_manage_box.html (rename and delete on an object's page)."""
    if form is None:
        form = NameForm(prefix="box", formdata=None, name=obj.name)
    id_arg = KINDS[kind][2]
    return dict(box_obj=obj, box_form=form, box_refusal=refusal, box_kind=KIND_NAMES[kind],
                box_url=lambda change: url_for(f"site.{kind}_{change}", slug=site.slug, **{id_arg: obj.id}))


def rename_or_delete(slug: str, change: str, kind: str, **ids):
    """Rename (form `box-name`) or delete one tariff, tariff group, plan or user group of the site."""
    site = managed_site(slug)
    model, _part, id_arg, page, listing = KINDS[kind]
    obj = site_object(model, ids[id_arg], site)
    s = db_session()
    form = NameForm(prefix="box") if change == "rename" else NameForm(prefix="box", formdata=None, name=obj.name)
    try:
        if change == "rename":
            if not form.validate_on_submit():
                return _box(site, obj, kind, form, status=422)
            board_tools.rename(s, current_user, obj, form.name.data)
            s.commit()
            flash(_("Renamed to %(name)s.", name=obj.name), "success")
            return hx_redirect(page, slug=site.slug, **{id_arg: obj.id})
        name = obj.name  # (CSRF is checked for every POST by CSRFProtect before this view runs)
        board_tools.delete(s, current_user, obj)
        s.commit()
        flash(_("%(name)s was deleted.", name=name), "success")
        return hx_redirect(listing, slug=site.slug)
    except RuleError as exc:
        s.rollback()
        if exc.field == "name":
            form.name.errors = [refusals.text("site", exc.code)]
            return _box(site, obj, kind, form, status=422)
        return _box(site, obj, kind, form, refusal=refusals.text("site", exc.code), status=409)


def _change_view(kind: str, change: str):
    @login_required
    def view(slug: str, **ids):
        return rename_or_delete(slug, change, kind, **ids)

    view.__name__ = view.__qualname__ = f"{kind}_{change}"
    return view


for _kind, (_model, _part, _id_arg, _page, _listing) in KINDS.items():
    for _change in ("rename", "delete"):
        bp.add_url_rule(f"/<slug>/{_part}/<int:{_id_arg}>/{_change}", f"{_kind}_{_change}",
                        _change_view(_kind, _change), methods=["POST"])


def _box(site, obj, kind: str, form: NameForm, refusal: str | None = None, status: int = 200):
    """The rename/delete box with its errors and the typed name kept: the fragment for htmx, otherwise
    a page of its own (the same box) with a link back."""
    _model, _part, id_arg, page, _listing = KINDS[kind]
    context = manage_box(site, obj, kind, form, refusal)
    if wants_fragment():
        return render("site/_manage_box.html", status=status, **context)
    return render("site/manage_box_page.html", status=status, site=site, section=_part.replace("-", "_"),
                  back_url=url_for(page, slug=site.slug, **{id_arg: obj.id}), **context)


# --- board roles -----------------------------------------------------------------------------

@bp.route("/<slug>/members/<int:user_id>/role", methods=["POST"])
@login_required
def member_role(slug: str, user_id: int):
    """Make a member a board member, or take it back (never the last one)."""
    site = managed_site(slug)
    form = RoleForm()
    s = db_session()
    if not form.validate_on_submit():
        flash(_("Choose board member or resident."), "error")
        return hx_redirect("site.members", slug=site.slug)
    try:
        member = board_tools.set_role(s, current_user, site, user_id, form.role.data)
        s.commit()
        flash(_("%(name)s is now a board member.", name=member.user.display_name) if member.role == "board"
              else _("%(name)s is now a resident without board rights.", name=member.user.display_name), "success")
    except RuleError as exc:
        s.rollback()
        flash(refusals.text("site", exc.code), "error")
    if user_id == current_user.id and form.role.data == "resident" and not _still_manages(site):
        return hx_redirect("resident.my_chargers")
    return hx_redirect("site.members", slug=site.slug)


def _still_manages(site) -> bool:
    from portal.services.charging.access import can_manage_site

    return can_manage_site(db_session(), current_user, site.id)


# --- plans: open/closed and next period's price -------------------------------------------------

@bp.route("/<slug>/plans/<int:plan_id>/open", methods=["POST"])
@login_required
def plan_open(slug: str, plan_id: int):
    site = managed_site(slug)
    plan = site_object(SubscriptionPlan, plan_id, site)
    form = PlanOpenForm()
    if form.validate_on_submit():
        board_tools.set_plan_open(db_session(), current_user, plan, form.open.data == "open")
        db_session().commit()
        flash(_("The plan is open: residents can subscribe.") if plan.active
              else _("The plan is closed to new subscribers. Those who hold it keep it."), "success")
    return hx_redirect("site.plan", slug=site.slug, plan_id=plan.id)


@bp.route("/<slug>/plans/<int:plan_id>/price", methods=["POST"])
@login_required
def plan_price(slug: str, plan_id: int):
    site = managed_site(slug)
    plan = site_object(SubscriptionPlan, plan_id, site)
    form = PlanPriceForm()
    if not form.validate_on_submit():
        from portal.site.people import plan_page

        return plan_page(site, plan, price_form=form, status=422)
    start = board_tools.reprice_plan(db_session(), current_user, plan, site, to_minor(parse_price(form.fee.data)))
    db_session().commit()
    from flask_babel import format_date

    flash(_("The new monthly fee applies from %(date)s.", date=format_date(start, "long")), "success")
    return hx_redirect("site.plan", slug=site.slug, plan_id=plan.id)
