"""The cooperative's account for the board: the month's payout statement (print-friendly) and the building's
electricity bill for charging, typed in a form or uploaded as CSV (portal/services/billing/electricity.py)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, flash, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField

from portal.extensions import db_session
from portal.htmx import redirect_to, render
from portal.services.billing import electricity, payouts
from portal.site import bp
from portal.site.common import managed_site

PROBLEMS = {
    "not_a_number": _l("Write an amount in numbers, e.g. 1 234,50."),
    "negative": _l("The amount cannot be negative."),
    "too_precise": _l("Too many decimals: øre for amounts, three decimals for kWh."),
    "zero": _l("The kWh from the sub-meter must be more than 0."),
    "month": _l("Give a year and month (1-12), each month only once."),
    "header": _l("The first line must be the header year;month;kwh;energy;grid;capacity."),
    "columns": _l("The line must have six columns separated by semicolons."),
    "empty": _l("The file holds no months."),
}
FIELD_NAMES = {"kwh": _l("kWh"), "energy": _l("Energy"), "grid": _l("Grid tariff"),
               "capacity": _l("Capacity charge"), "month": _l("Month"), "header": _l("Header"), "line": _l("Line")}


class BillForm(FlaskForm):
    kwh = StringField(_l("kWh from the charging sub-meter"))
    energy = StringField(_l("Energy cost incl. VAT"))
    grid = StringField(_l("Grid tariff (energy part) incl. VAT"))
    capacity = StringField(_l("Capacity charge incl. VAT"))


class BillUploadForm(FlaskForm):
    bill_file = FileField(_l("Electricity bills as CSV"))


def _month(site) -> tuple[int, int]:
    text = request.args.get("month", "")
    try:
        year, month = (int(p) for p in text.split("-"))
        if 2000 <= year <= 2100 and 1 <= month <= 12:
            return year, month
    except ValueError:
        pass
    now = datetime.now(timezone.utc).astimezone(ZoneInfo(site.timezone))
    return (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)


def _page(site, year: int, month: int, status: int = 200, form: BillForm | None = None,
          upload: BillUploadForm | None = None, upload_problems: list[str] | None = None):
    account = payouts.site_account(db_session(), site, year, month)
    if form is None:
        bill = account.bill
        form = BillForm(formdata=None, data={} if bill is None else dict(
            kwh=f"{bill.kwh.normalize():f}", energy=f"{bill.energy_minor / 100:.2f}",
            grid=f"{bill.grid_minor / 100:.2f}", capacity=f"{bill.capacity_minor / 100:.2f}"))
    return render("site/account.html", status=status, site=site, account=account, form=form,
                  upload=upload or BillUploadForm(formdata=None), upload_problems=upload_problems or [],
                  month_value=f"{year:04d}-{month:02d}", section="account",
                  share_text=format_decimal(Decimal(account.fee_share_bp) / 100),
                  operator_name=current_app.config["OPERATOR_NAME"],
                  operator_org_number=current_app.config["OPERATOR_ORG_NUMBER"])


@bp.route("/<slug>/account")
@login_required
def account(slug: str):
    site = managed_site(slug)
    return _page(site, *_month(site))


@bp.route("/<slug>/account/bill", methods=["POST"])
@login_required
def account_bill(slug: str):
    site = managed_site(slug)
    year, month = _month(site)
    form = BillForm()
    values = {name: getattr(form, name).data for name in ("kwh", *electricity.AMOUNT_FIELDS)}
    wrong = electricity.errors(values)
    if not form.validate_on_submit() or wrong:
        for name, code in wrong.items():
            getattr(form, name).errors = [PROBLEMS[code]]
        return _page(site, year, month, 422, form=form)
    electricity.save(db_session(), site.id, electricity.figures(year, month, values), current_user.id)
    db_session().commit()
    flash(_("The electricity bill is saved."), "success")
    return redirect_to(url_for("site.account", slug=site.slug, month=f"{year:04d}-{month:02d}"))


@bp.route("/<slug>/account/bills.csv", methods=["POST"])
@login_required
def account_upload(slug: str):
    site = managed_site(slug)
    year, month = _month(site)
    form = BillUploadForm()
    upload = form.bill_file.data if form.validate_on_submit() else None
    if upload is None or not getattr(upload, "filename", ""):
        return _page(site, year, month, 422, upload=form, upload_problems=[_("Choose a CSV file.")])
    try:
        text = upload.read(256 * 1024).decode("utf-8")
    except UnicodeDecodeError:
        return _page(site, year, month, 422, upload=form, upload_problems=[_("The file is not UTF-8 text.")])
    bills, problems = electricity.parse_csv(text)
    if problems:
        lines = [_("Line %(num)d, %(field)s: %(problem)s", num=n, field=FIELD_NAMES.get(f, f), problem=PROBLEMS[c])
                 for n, f, c in problems]
        return _page(site, year, month, 422, upload=form,
                     upload_problems=[_("Nothing was saved: correct these lines and upload the file again.")] + lines)
    for bill in bills:
        electricity.save(db_session(), site.id, bill, current_user.id)
    db_session().commit()
    flash(_("Electricity bills saved: %(num)d.", num=len(bills)), "success")
    return redirect_to(url_for("site.account", slug=site.slug, month=f"{year:04d}-{month:02d}"))
