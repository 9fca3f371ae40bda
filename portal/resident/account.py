"""Favourites, subscriptions and RFID tags: the resident's own settings."""
from __future__ import annotations

from flask import abort, flash, make_response
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import refusals
from portal.extensions import db_session, redis_conn
from portal.htmx import hx_redirect, render, wants_fragment
from portal.resident import bp
from portal.resident.forms import EmptyForm, TagForm, TagNameForm
from portal.services.billing import subscriptions
from portal.services.charging import favourites
from portal.services.fleet import queueing as fleet_queueing
from portal.services.people import tags


# --- favourites -----------------------------------------------------------------------------------

@bp.route("/favorites")
@login_required
def favorites():
    """Favourite charge points (straight to their start screens) and locations."""
    return render("resident/favorites.html", favourites=favourites.favourites(db_session(), current_user),
                  form=EmptyForm())


@bp.route("/favorites/<int:favourite_id>/remove", methods=["POST"])
@login_required
def favorite_remove(favourite_id: int):
    """One-tap removal; htmx removes the row, without JavaScript the list reloads."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    s = db_session()
    if not favourites.remove(s, current_user, favourite_id):
        abort(404)
    s.commit()
    if wants_fragment():
        return make_response("", 200)
    flash(_("Removed from favourites."), "success")
    return hx_redirect("resident.favorites")


# --- subscriptions --------------------------------------------------------------------------------

def _subscriptions_page(status: int = 200, message: str | None = None):
    rows = subscriptions.sites_with_plans(db_session(), current_user)
    return render("resident/subscriptions.html", block="plans", status=status, sites=rows,
                  form=EmptyForm(), message=message)


@bp.route("/subscriptions", endpoint="subscriptions")
@login_required
def subscriptions_page():
    return _subscriptions_page()


@bp.route("/subscriptions/<int:plan_id>/<any(activate, deactivate):change>", methods=["POST"])
@login_required
def subscription_change(plan_id: int, change: str):
    """Start or end one's own subscription; the start screen's price follows at once."""
    s = db_session()
    plan = subscriptions.plan_for(s, current_user, plan_id, ending=change == "deactivate")
    if plan is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if change == "activate":
        try:
            subscriptions.activate(s, current_user, plan)
        except subscriptions.SubscriptionError:
            s.rollback()
            return _subscriptions_page(409, _("The board adds people to %(plan)s; you cannot start it yourself.",
                                              plan=plan.name))
        message = _("Subscription %(plan)s is active.", plan=plan.name)
    else:
        subscriptions.deactivate(s, current_user, plan)
        message = _("Subscription %(plan)s has ended.", plan=plan.name)
    s.commit()
    if wants_fragment():
        return _subscriptions_page(message=message)
    flash(message, "success")
    return hx_redirect("resident.subscriptions")


# --- RFID tags ------------------------------------------------------------------------------------

def _tags_page(form: TagForm, status: int = 200, rename_errors: dict | None = None):
    return render("resident/tags.html", block="tags", status=status, form=form,
                  tags=tags.user_tags(db_session(), current_user), action_form=EmptyForm(),
                  rename_errors=rename_errors or {})


@bp.route("/tags", methods=["GET", "POST"], endpoint="tags")
@login_required
def tags_page():
    """The resident's RFID tags and a form to register one."""
    form = TagForm()
    if not form.validate_on_submit():
        return _tags_page(form, 422 if form.is_submitted() else 200)
    s = db_session()
    try:
        tag = tags.register(s, current_user, form.tag.data, form.name.data or "")
    except tags.TagError as exc:
        s.rollback()
        form.tag.errors = [refusals.text("tag", exc.code)]
        return _tags_page(form, 422)
    s.commit()
    fleet_queueing.for_tag(s, redis_conn(), tag)  # onto the local lists of the chargers (issue 21)
    flash(_("Tag registered."), "success")
    if wants_fragment():
        return _tags_page(TagForm(formdata=None))
    return hx_redirect("resident.tags")


def _own_tag(tag_id: int):
    tag = tags.own_tag(db_session(), current_user, tag_id)
    if tag is None:
        abort(404)
    return tag


@bp.route("/tags/<int:tag_id>/name", methods=["POST"])
@login_required
def tag_name(tag_id: int):
    tag = _own_tag(tag_id)
    form = TagNameForm()
    if not form.validate_on_submit():
        errors = [str(e) for e in form.name.errors] or [_("The form had expired. Please try again.")]
        return _tags_page(TagForm(formdata=None), 422, {tag.id: errors})
    tags.rename(db_session(), tag, form.name.data or "")
    db_session().commit()
    flash(_("Tag renamed."), "success")
    return hx_redirect("resident.tags")


@bp.route("/tags/<int:tag_id>/<any(block, unblock):change>", methods=["POST"])
@login_required
def tag_block(tag_id: int, change: str):
    """Block a lost tag (refused at every charger) or unblock it again."""
    tag = _own_tag(tag_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    tags.set_blocked(db_session(), tag, change == "block")
    db_session().commit()
    fleet_queueing.for_tag(db_session(), redis_conn(), tag)  # the chargers' local lists (issue 21)
    flash(_("Tag blocked.") if tag.blocked else _("Tag unblocked."), "success")
    if wants_fragment():
        return _tags_page(TagForm(formdata=None))
    return hx_redirect("resident.tags")
