"""A technician's work order through its private link (/visit/<token>), made for a phone: confirm the
time, say they are on site, report the outcome and parts, attach photos. No account: the link (sha256
kept, renewed on use, idle-expiring, dead once the order is closed) is the credential."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, request, url_for
from zoneinfo import ZoneInfo

from portal import refusals
from portal.extensions import db_session
from portal.forms_common import private_pages
from portal.help.photos import read_photo
from portal.htmx import redirect_to, render
from portal.models import WorkOrder, WorkOrderPhoto
from portal.services.helpdesk.tokens import LinkExpired, private_link_used
from portal.services.workorders import visits
from portal.services.workorders.states import TransitionError
from portal.technician.forms import ArriveForm, ConfirmForm, PhotoForm, ReportForm

bp = Blueprint("technician", __name__)
private_pages(bp, {"technician.order", "technician.photo"})
UPLOAD_REQUEST_MAX = 12 * 1024 * 1024


@bp.app_template_global("wo_status_label")
def wo_status_label(status: str) -> str:
    from portal.labels import WORK_ORDER_STATUS_LABELS

    return str(WORK_ORDER_STATUS_LABELS.get(status, status))


@bp.url_value_preprocessor
def _allow_photo_uploads(endpoint, _values) -> None:
    if endpoint == "technician.photo_upload":
        request.max_content_length = UPLOAD_REQUEST_MAX


@bp.errorhandler(LinkExpired)
def _expired(_error):
    return render("technician/expired.html", status=410)


def _order(token: str) -> WorkOrder:
    """The open order of a live link: 404 for a wrong, replaced or closed link, 410 when unused too long."""
    order = visits.by_token(db_session(), token)
    if order is None:
        abort(404)
    private_link_used(order)
    return order


def _page(order: WorkOrder, token: str, status: int = 200, refusal: str | None = None, **forms):
    zone = ZoneInfo(order.site.timezone)
    confirm = forms.get("confirm") or ConfirmForm(formdata=None, when=(
        order.scheduled_for.astimezone(zone).replace(tzinfo=None) if order.scheduled_for else None))
    return render("technician/order.html", status=status, order=order, token=token, refusal=refusal,
                  confirm_form=confirm, arrive_form=ArriveForm(formdata=None),
                  report_form=forms.get("report") or ReportForm(formdata=None, outcome=order.outcome,
                                                               parts_used=order.parts_used),
                  photo_form=forms.get("photo") or PhotoForm(formdata=None), zone=zone)


@bp.route("/visit/<token>")
def order(token: str):
    return _page(_order(token), token)


def _step(token: str, step, **forms):
    """Run one step of the visit and commit, or show the page again with why not."""
    order = _order(token)
    s = db_session()
    try:
        step(s, order)
    except TransitionError as exc:
        s.rollback()
        return _page(s.get(WorkOrder, order.id), token, status=409, refusal=refusals.text("workorder", exc.code))
    s.commit()
    return redirect_to(url_for("technician.order", token=token) if order.status != "done"
                       else url_for("technician.order_done"))


@bp.route("/visit/<token>/confirm", methods=["POST"])
def confirm(token: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _page(_order(token), token, status=422, confirm=form)
    def step(s, order):
        visits.confirm(s, order, form.when.data.replace(tzinfo=ZoneInfo(order.site.timezone)))
    return _step(token, step)


@bp.route("/visit/<token>/arrive", methods=["POST"])
def arrive(token: str):
    return _step(token, lambda s, order: visits.arrive(s, order))


@bp.route("/visit/<token>/report", methods=["POST"])
def report(token: str):
    form = ReportForm()
    if not form.validate_on_submit():
        return _page(_order(token), token, status=422, report=form)
    return _step(token, lambda s, order: visits.report(s, order, form.outcome.data, form.parts_used.data or ""))


@bp.route("/visit/finished")
def order_done():
    """After the last report: the order closed (its link is dead from now on, so this page takes none)."""
    return render("technician/done.html")


@bp.route("/visit/<token>/photos", methods=["POST"])
def photo_upload(token: str):
    order = _order(token)
    form = PhotoForm()
    encoded = read_photo(form.photo) if form.validate_on_submit() else None
    if encoded is None or isinstance(encoded, str):
        form.photo.errors = [refusals.text("photo", encoded or "not_image")]
        return _page(order, token, status=422, photo=form)
    try:
        visits.store_photo(db_session(), order, encoded, current_app.config["UPLOAD_DIR"])
    except ValueError:
        form.photo.errors = [refusals.text("workorder", "too_many")]
        return _page(order, token, status=422, photo=form)
    db_session().commit()
    return redirect_to(url_for("technician.order", token=token))


@bp.route("/visit/<token>/photos/<int:photo_id>")
def photo(token: str, photo_id: int):
    return send_work_photo(_order(token), photo_id)


def send_work_photo(order: WorkOrder, photo_id: int):
    """A photo of this order only (404 for any other), private and never cached."""
    from flask import send_file

    item = db_session().get(WorkOrderPhoto, photo_id)
    if item is None or item.work_order_id != order.id:
        abort(404)
    response = send_file(visits.photo_path(current_app.config["UPLOAD_DIR"], item.storage_key),
                         mimetype=item.content_type, max_age=0, conditional=False, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
