"""Subscription plans, invites and members, user groups, and the invite accept link."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import refusals
from portal.auth.limits import hit
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render
from portal.models import Invite, Site, SubscriptionPlan, UserGroup
from portal.security.events import security_event
from portal.services.fleet import queueing as fleet_queueing
from portal.services.sites import site_admin, site_people
from portal.services.billing.pricing import parse_price, to_minor
from portal.services.sites.site_admin import RuleError
from portal.site import bp
from portal.site.common import managed_site, site_object
from portal.site.forms import EmailForm, EmptyForm, InviteForm, NameForm, PlanForm, PlanOpenForm, PlanPriceForm

# The accept link lives outside /manage: /invite/<token>.
invite_bp = Blueprint("invite", __name__)
bp.record_once(lambda state: state.app.register_blueprint(invite_bp))


# --- subscription plans --------------------------------------------------------------------

@bp.route("/<slug>/plans", methods=["GET", "POST"])
@login_required
def plans(slug: str):
    site = managed_site(slug)
    s = db_session()
    form = PlanForm()
    if form.validate_on_submit():
        fee = to_minor(parse_price(form.monthly_fee.data)) if form.monthly_fee.data else 0
        plan = site_admin.create_plan(s, current_user, site, form.name.data, form.description.data or "", fee,
                                      form.active.data)
        s.commit()
        flash(_("Subscription plan %(name)s created.", name=plan.name), "success")
        return hx_redirect("site.plans", slug=site.slug)
    return render("site/plans.html", block="form", status=422 if request.method == "POST" else 200, site=site,
                  form=form, plans=site_admin.site_plans(s, site.id), counts=site_admin.holder_counts(s, site.id),
                  section="plans")


@bp.route("/<slug>/plans/<int:plan_id>")
@login_required
def plan(slug: str, plan_id: int):
    site = managed_site(slug)
    return plan_page(site, site_object(SubscriptionPlan, plan_id, site))


def plan_page(site: Site, plan: SubscriptionPlan, price_form: PlanPriceForm | None = None, status: int = 200):
    """The plan with its holders, open/closed, next period's price, rename and delete."""
    from portal.site.board import manage_box

    holders = site_admin.plan_holders(db_session(), plan.id)
    open_form = PlanOpenForm(formdata=None, open="open" if plan.active else "closed")
    return render("site/plan.html", block="price_form", status=status, site=site, plan=plan, holders=holders,
                  section="plans", users=site_admin.holder_users(db_session(), holders), open_form=open_form,
                  price_form=price_form or PlanPriceForm(formdata=None), **manage_box(site, plan, "plan"))


# --- invites and members -------------------------------------------------------------------

def _site_language(site: Site) -> str:
    return "sv" if site.country == "SE" else "nb"


def _queue_invite_mail(site: Site, invite: Invite, token: str) -> int | None:
    """Put the invite e-mail in the outbox (in the site's language); returns the outbox id."""
    from portal.services.people import mail

    link = current_app.config["PORTAL_BASE_URL"].rstrip("/") + url_for("invite.accept", token=token)
    language = _site_language(site)
    with force_locale(language):
        subject = _("You are invited to charge at %(site)s", site=site.name)
        text = _("Hello,\n\nThe board of %(site)s has given you access to the chargers there. "
                 "Open this link to accept the invite with your account, or create an account if you "
                 "have none:\n\n%(link)s\n\nIf you did not expect this e-mail, you can ignore it.",
                 site=site.name, link=link)
    row = mail.queue_email(db_session(), to=invite.email, subject=subject, text=text, html=None,
                           language=language, kind="invite")
    return getattr(row, "id", row)


def _send_outbox(ids: list) -> None:
    """Hand queued e-mails to the worker (after commit)."""
    from portal.services.people import mail

    ids = [i for i in ids if i is not None]
    if ids:
        mail.enqueue_outbox(redis_conn(), ids)


def _members_context(site: Site, form: InviteForm | None = None, report=None) -> dict:
    s = db_session()
    return dict(site=site, section="members", form=form or InviteForm(), report=report, empty=EmptyForm(),
                members=site_people.site_members(s, site.id), invites=site_people.pending_invites(s, site.id))


@bp.route("/<slug>/members")
@login_required
def members(slug: str):
    return render("site/members.html", **_members_context(managed_site(slug)))


@bp.route("/<slug>/invites", methods=["POST"])
@login_required
def invite(slug: str):
    """Invite one address or many (one per line); the page reports invalid and duplicate lines."""
    site = managed_site(slug)
    form = InviteForm()
    if not form.validate_on_submit():
        return render("site/members.html", block="invite_panel", status=422, **_members_context(site, form))
    parsed = site_people.parse_invite_lines(form.emails.data)
    if not parsed.emails:
        form.emails.errors = [_("No valid e-mail address found. Write one address per line.")]
        return render("site/members.html", block="invite_panel", status=422,
                      **_members_context(site, form, report=(parsed, None)))
    if not hit(current_app.config["RATELIMIT_INVITES"], "invites", site.slug, cost=len(parsed.emails)):
        abort(429)
    s = db_session()
    outcome = site_people.create_invites(s, current_user, site, parsed.emails)
    ids = [_queue_invite_mail(site, inv, token) for inv, token in outcome.sent]
    s.commit()
    _send_outbox(ids)
    form.emails.data = "\n".join(text for _n, text in parsed.invalid)  # leave only what needs fixing
    return render("site/members.html", block="invite_panel", **_members_context(site, form, report=(parsed, outcome)))


@bp.route("/<slug>/invites/<int:invite_id>/<any(resend, revoke):action>", methods=["POST"])
@login_required
def invite_action(slug: str, invite_id: int, action: str):
    site = managed_site(slug)
    invite = site_object(Invite, invite_id, site)
    s = db_session()
    try:
        if action == "resend":
            if not hit(current_app.config["RATELIMIT_INVITE_RESENDS"], "invite-resends", site.slug):
                abort(429)
            token = site_people.resend_invite(s, current_user, invite)
            ids = [_queue_invite_mail(site, invite, token)]
            s.commit()
            _send_outbox(ids)
            flash(_("The invite to %(email)s was sent again.", email=invite.email), "success")
        else:
            site_people.revoke_invite(s, current_user, invite)
            s.commit()
            flash(_("The invite to %(email)s was revoked.", email=invite.email), "success")
    except RuleError as exc:
        flash(refusals.text("site", exc.code), "error")
    return hx_redirect("site.members", slug=site.slug)


@bp.route("/<slug>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def member_remove(slug: str, user_id: int):
    """One action: access and group memberships go; subscriptions stay the user's own to end."""
    site = managed_site(slug)
    s = db_session()
    try:
        kept = site_people.remove_member(s, current_user, site, user_id)
        s.commit()
        fleet_queueing.for_sites(s, redis_conn(), [site.id])  # their tags leave the chargers' lists (issue 21)
        security_event("access: user %s removed from site %s by user %s", user_id, site.id, current_user.id)
        flash(_("Access removed. Their subscriptions are theirs to end: %(n)d still active.", n=kept), "success")
    except RuleError as exc:
        flash(refusals.text("site", exc.code), "error")
    return hx_redirect("site.members", slug=site.slug)


# --- user groups ---------------------------------------------------------------------------

@bp.route("/<slug>/user-groups", methods=["GET", "POST"])
@login_required
def user_groups(slug: str):
    site = managed_site(slug)
    s = db_session()
    form = NameForm()
    if form.validate_on_submit():
        try:
            group = site_people.create_user_group(s, current_user, site, form.name.data)
            s.commit()
            flash(_("User group %(name)s created.", name=group.name), "success")
            return hx_redirect("site.user_group", slug=site.slug, group_id=group.id)
        except RuleError as exc:
            form.name.errors = [refusals.text("site", exc.code)]
    return render("site/user_groups.html", block="form", status=422 if request.method == "POST" else 200,
                  site=site, form=form, groups=site_admin.site_user_groups(s, site.id), section="user_groups")


@bp.route("/<slug>/user-groups/<int:group_id>", methods=["GET", "POST"])
@login_required
def user_group(slug: str, group_id: int):
    site = managed_site(slug)
    group = site_object(UserGroup, group_id, site)
    s = db_session()
    form = EmailForm()
    if form.validate_on_submit():
        try:
            site_people.add_group_member(s, current_user, group, form.email.data)
            s.commit()
            flash(_("%(email)s added to the group.", email=form.email.data.strip()), "success")
            return hx_redirect("site.user_group", slug=site.slug, group_id=group.id)
        except RuleError as exc:
            form.email.errors = [refusals.text("site", exc.code)]
    from portal.site.board import manage_box

    return render("site/user_group.html", block="form", status=422 if request.method == "POST" else 200,
                  site=site, group=group, form=form, empty=EmptyForm(), section="user_groups",
                  **manage_box(site, group, "user_group"))


@bp.route("/<slug>/user-groups/<int:group_id>/remove/<int:user_id>", methods=["POST"])
@login_required
def user_group_remove(slug: str, group_id: int, user_id: int):
    site = managed_site(slug)
    group = site_object(UserGroup, group_id, site)
    try:
        site_people.remove_group_member(db_session(), current_user, group, user_id)
        db_session().commit()
    except RuleError as exc:
        flash(refusals.text("site", exc.code), "error")
    return hx_redirect("site.user_group", slug=site.slug, group_id=group.id)


# --- accepting an invite -------------------------------------------------------------------

@invite_bp.route("/invite/<token>", methods=["GET", "POST"])
def accept(token: str):
    """The link in the invite e-mail: log in or register first, then accept with one button."""
    s = db_session()
    invite = site_people.invite_by_token(s, token[:100])
    if invite is None or invite.status == "revoked":
        return render("site/invite_accept.html", status=404, invite=None, state="invalid")
    if invite.status == "accepted":
        mine = current_user.is_authenticated and invite.accepted_user_id == current_user.id
        return render("site/invite_accept.html", invite=invite, state="accepted" if mine else "used")
    if site_people.invite_expired(invite):
        return render("site/invite_accept.html", status=410, invite=invite, state="expired",
                      days=site_people.INVITE_VALID_DAYS)
    if not current_user.is_authenticated:
        return render("site/invite_accept.html", invite=invite, state="login", next_url=request.path)
    if not site_people.invite_matches(invite, current_user):
        return render("site/invite_accept.html", status=403 if request.method == "POST" else 200, invite=invite,
                      state="other_address", masked=site_people.masked_email(invite.email))
    if current_user.email_verified_at is None:
        return render("site/invite_accept.html", status=403 if request.method == "POST" else 200, invite=invite,
                      state="unverified")
    if request.method == "POST" and EmptyForm().validate_on_submit():
        site_people.accept_invite(s, invite, current_user)
        s.commit()
        security_event("access: user %s joined site %s as %s by invite %s", current_user.id, invite.site_id,
                       invite.role, invite.id)
        flash(_("Welcome! You now have access to the chargers at %(site)s.", site=invite.site.name), "success")
        return redirect(url_for("resident.my_chargers") if "resident.my_chargers" in current_app.view_functions
                        else url_for("public.home"), code=303)
    return render("site/invite_accept.html", invite=invite, state="confirm", empty=EmptyForm())
