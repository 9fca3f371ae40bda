"""A person's data as a zip of JSON and CSV files (GDPR art. 15 and 20), without Flask.

``write_export(session, user, out)`` writes the zip into any binary file object (the web view uses a
spooled temporary file, staff and jobs may use a real file). Big accounts stay cheap: every list is read
from the database in batches (``yield_per``) and written straight into the zip entry, so memory does not
grow with the number of sessions, and no file is built twice. Tabular data comes as CSV too (through
``csv_export``, so no cell runs as a spreadsheet formula). What staff wrote for themselves (internal
ticket notes, sales notes) and other people's data (invites the person sent) are not part of it.
"""
from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from portal.db import utcnow
from portal.models import (
    ActionRequest, ChargePoint, ChargerOrder, Favourite, IdTag, Invite, Lead, LoginSession, Membership,
    Notification, OutboxEmail, Site, Statement, SubscriptionPlan, SupportTicket, Transaction, User, UserGroup,
    UserGroupMember, UserSubscription,
)
from portal.services.billing.csv_export import DELIMITER, neutralise

BATCH = 500
FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _pick(obj: Any, fields: Iterable[str]) -> dict:
    return {name: _plain(getattr(obj, name)) for name in fields}


class _Zip:
    """Writes entries one by one, each from an iterator of rows, without holding a whole file."""

    def __init__(self, out: IO[bytes]) -> None:
        self.zf = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED)
        self.files: list[str] = []

    def json_list(self, name: str, rows: Iterable[dict]) -> None:
        with self.zf.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8") as text:
            text.write("[")
            for n, row in enumerate(rows):
                text.write(",\n" if n else "\n")
                text.write(json.dumps(row, ensure_ascii=False, default=str))
            text.write("\n]\n")
        self.files.append(name)

    def json_object(self, name: str, data: dict) -> None:
        self.zf.writestr(name, json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
        self.files.append(name)

    def csv(self, name: str, header: list[str], rows: Iterable[dict]) -> None:
        with self.zf.open(name, "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            writer = csv.writer(text, delimiter=DELIMITER, quoting=csv.QUOTE_NONNUMERIC)
            writer.writerow(header)
            for row in rows:
                writer.writerow([_cell(row.get(h)) for h in header])
        self.files.append(name)

    def both(self, stem: str, header: list[str], rows_factory) -> None:
        self.json_list(f"{stem}.json", rows_factory())
        self.csv(f"{stem}.csv", header, rows_factory())

    def close(self) -> None:
        self.zf.close()


def _cell(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return neutralise("" if value is None else value)


# --- the sections ----------------------------------------------------------------------------------

PROFILE_FIELDS = ("id", "email", "name", "phone", "language", "created_at", "last_login_at", "email_verified_at")
NOTIFY_FIELDS = ("notify_session_done", "notify_session_stopped", "notify_start_failed", "notify_statement")
SESSION_FIELDS = ["id", "charger", "site", "connector_id", "status", "started_at", "stopped_at", "meter_start_wh",
                  "meter_stop_wh", "energy_wh", "tariff_name", "pricing_type", "energy_fee", "currency",
                  "cost_minor", "vat_minor", "stop_reason", "id_tag", "billable", "closed_by_support"]
LINE_FIELDS = ["document", "position", "kind", "description", "starts_at", "ends_at", "energy_wh", "unit_price",
               "days", "days_in_month", "amount_minor", "vat_minor", "session_id"]


def profile(user: User) -> dict:
    data = _pick(user, PROFILE_FIELDS)
    data["notifications"] = {f.removeprefix("notify_"): getattr(user, f) for f in NOTIFY_FIELDS}
    return data


def memberships(session: Session, user: User) -> Iterator[dict]:
    rows = session.execute(select(Membership, Site.slug, Site.name).join(Site, Site.id == Membership.site_id)
                           .where(Membership.user_id == user.id).order_by(Membership.id))
    for m, slug, name in rows:
        yield {"site": slug, "site_name": name, "role": m.role, "since": _plain(m.created_at)}


def invites(session: Session, user: User) -> Iterator[dict]:
    """Invites addressed to the person (not the ones they sent: those hold other people's addresses)."""
    rows = session.execute(select(Invite, Site.slug).join(Site, Site.id == Invite.site_id).where(
        or_(func.lower(Invite.email) == user.email.lower(), Invite.accepted_user_id == user.id)).order_by(Invite.id))
    for inv, slug in rows:
        yield {"site": slug, "email": inv.email, "role": inv.role, "status": inv.status,
               **_pick(inv, ("created_at", "last_sent_at", "accepted_at", "expires_at"))}


def user_groups(session: Session, user: User) -> Iterator[dict]:
    rows = session.execute(select(UserGroup.name, Site.slug, UserGroupMember.created_at)
                           .join(UserGroup, UserGroup.id == UserGroupMember.group_id)
                           .join(Site, Site.id == UserGroup.site_id).where(UserGroupMember.user_id == user.id))
    for name, slug, since in rows:
        yield {"site": slug, "group": name, "since": _plain(since)}


def tags(session: Session, user: User) -> Iterator[dict]:
    for tag in session.scalars(select(IdTag).where(IdTag.user_id == user.id).order_by(IdTag.id)):
        yield _pick(tag, ("tag", "kind", "name", "blocked", "created_at"))


def favourites(session: Session, user: User) -> Iterator[dict]:
    rows = session.scalars(select(Favourite).where(Favourite.user_id == user.id).order_by(Favourite.id))
    for fav in rows:
        yield {"charger": fav.charge_point.identity if fav.charge_point else None,
               "site": fav.site.slug if fav.site else None, "created_at": _plain(fav.created_at)}


def subscriptions(session: Session, user: User) -> Iterator[dict]:
    rows = session.execute(select(UserSubscription, SubscriptionPlan.name, SubscriptionPlan.monthly_fee_minor,
                                  Site.slug)
                           .join(SubscriptionPlan, SubscriptionPlan.id == UserSubscription.plan_id)
                           .join(Site, Site.id == SubscriptionPlan.site_id)
                           .where(UserSubscription.user_id == user.id).order_by(UserSubscription.id))
    for sub, plan, fee, slug in rows:
        yield {"site": slug, "plan": plan, "monthly_fee_minor": fee, "status": sub.status,
               "started_at": _plain(sub.started_at), "ended_at": _plain(sub.ended_at)}


def charging_sessions(session: Session, user: User) -> Iterator[dict]:
    """Every session billed to the person, with meter totals and cost (read in batches)."""
    query = (select(Transaction, ChargePoint.identity, Site.slug)
             .join(ChargePoint, ChargePoint.id == Transaction.charge_point_id)
             .join(Site, Site.id == ChargePoint.site_id)
             .where(Transaction.user_id == user.id).order_by(Transaction.started_at, Transaction.id)
             .execution_options(yield_per=BATCH))
    for tx, identity, slug in session.execute(query):
        row = _pick(tx, SESSION_FIELDS[3:-1])
        row.update(id=tx.id, charger=identity, site=slug, closed_by_support=tx.closed_by_support)
        yield row


def charging_requests(session: Session, user: User) -> Iterator[dict]:
    query = (select(ActionRequest, ChargePoint.identity).join(ChargePoint, ChargePoint.id == ActionRequest.charge_point_id)
             .where(ActionRequest.requested_by_id == user.id).order_by(ActionRequest.id)
             .execution_options(yield_per=BATCH))
    for action, identity in session.execute(query):
        yield {"charger": identity, "connector_id": action.connector_id, "action": action.action,
               "state": action.state, "created_at": _plain(action.created_at),
               "answered_at": _plain(action.answered_at), "session_id": action.transaction_id}


def documents(session: Session, user: User) -> list[dict]:
    """Statements, supplementary statements and credit notes, each with its lines."""
    docs = session.scalars(select(Statement).options(selectinload(Statement.lines))
                           .where(Statement.user_id == user.id).order_by(Statement.year, Statement.month, Statement.id))
    out = []
    for st in docs:
        data = _pick(st, ("number", "kind", "year", "month", "site_name", "billed_name", "billed_email", "currency",
                          "total_minor", "vat_minor", "operator_name", "operator_org_number", "resident_reason",
                          "created_at", "emailed_at", "payment_reference", "due_on", "pay_to_account",
                          "paid_state", "paid_minor", "promise_until", "promise_note"))
        data["payments"] = [_pick(p, ("kind", "booked_on", "amount_minor", "currency", "reference", "message",
                                      "debtor_name")) for p in _payments_of(session, st)]
        data["corrects"] = st.corrects.number if st.corrects is not None else None
        data["lines"] = [_line(st, ln) for ln in st.lines]
        out.append(data)
    return out


def _payments_of(session: Session, st: Statement) -> list:
    from portal.models import Payment

    return list(session.scalars(select(Payment).where(Payment.statement_id == st.id).order_by(Payment.id)))


def _line(st: Statement, ln) -> dict:
    row = _pick(ln, LINE_FIELDS[1:-1])
    row.update(document=st.number, session_id=ln.transaction_id)
    return row


def tickets(session: Session, user: User) -> list[dict]:
    """Support tickets the person opened, with the messages they can see (never staff's internal notes)."""
    rows = session.scalars(select(SupportTicket).where(or_(
        SupportTicket.requester_id == user.id, func.lower(SupportTicket.requester_email) == user.email.lower()))
        .order_by(SupportTicket.id))
    out = []
    for t in rows:
        data = _pick(t, ("id", "status", "category", "subject", "requester_name", "requester_email", "requester_phone",
                         "charger_identity", "created_at", "resolved_at", "closed_at"))
        data["messages"] = [{"from": m.author_role, "body": m.body, "created_at": _plain(m.created_at)}
                            for m in t.messages if not m.internal]
        data["photos"] = [f"photos/{p.storage_key}" for p in t.photos]
        out.append(data)
    return out


def login_devices(session: Session, user: User) -> Iterator[dict]:
    for row in session.scalars(select(LoginSession).where(LoginSession.user_id == user.id).order_by(LoginSession.id)):
        yield _pick(row, ("created_at", "last_seen_at", "user_agent", "ip_address", "remember"))


def orders(session: Session, user: User) -> Iterator[dict]:
    rows = session.scalars(select(ChargerOrder).where(or_(
        ChargerOrder.user_id == user.id, func.lower(ChargerOrder.email) == user.email.lower())).order_by(ChargerOrder.id))
    for o in rows:
        yield {"site": o.site.slug, **_pick(o, ("id", "status", "name", "email", "phone", "parking_space",
                                                 "charger_model", "language", "consent_at", "created_at", "updated_at"))}


def quote_requests(session: Session, user: User) -> Iterator[dict]:
    rows = session.scalars(select(Lead).where(or_(Lead.requester_id == user.id,
                                                  func.lower(Lead.email) == user.email.lower())).order_by(Lead.id))
    for lead in rows:
        yield _pick(lead, ("id", "status", "org_type", "org_name", "org_number", "country", "contact_name",
                           "contact_role", "email", "phone", "parking_spaces", "kind", "message", "created_at"))


def emails(session: Session, user: User) -> Iterator[dict]:
    query = (select(OutboxEmail).where(func.lower(OutboxEmail.to_address) == user.email.lower())
             .order_by(OutboxEmail.id).execution_options(yield_per=BATCH))
    for row in session.scalars(query):
        yield _pick(row, ("to_address", "subject", "kind", "status", "created_at", "sent_at", "body_text"))


def notifications_sent(session: Session, user: User) -> Iterator[dict]:
    for row in session.scalars(select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)):
        yield _pick(row, ("kind", "ref_id", "created_at"))


# --- the whole export ------------------------------------------------------------------------------

def write_export(session: Session, user: User, out: IO[bytes], *, upload_dir: str | Path | None = None,
                 now: datetime | None = None) -> list[str]:
    """Write the person's zip into `out`; returns the names of the files in it."""
    z = _Zip(out)
    z.json_object("profile.json", profile(user))
    z.json_list("memberships.json", memberships(session, user))
    z.json_list("invites.json", invites(session, user))
    z.json_list("user_groups.json", user_groups(session, user))
    z.both("tags", ["tag", "kind", "name", "blocked", "created_at"], lambda: tags(session, user))
    z.json_list("favourites.json", favourites(session, user))
    z.both("subscriptions", ["site", "plan", "monthly_fee_minor", "status", "started_at", "ended_at"],
           lambda: subscriptions(session, user))
    z.both("sessions", SESSION_FIELDS, lambda: charging_sessions(session, user))
    z.json_list("charging_requests.json", charging_requests(session, user))
    docs = documents(session, user)
    z.json_list("statements.json", docs)
    z.csv("statement_lines.csv", LINE_FIELDS, (ln for d in docs for ln in d["lines"]))
    ticket_rows = tickets(session, user)
    z.json_list("tickets.json", ticket_rows)
    _photos(z, session, user, upload_dir)
    z.json_list("login_sessions.json", login_devices(session, user))
    z.json_list("orders.json", orders(session, user))
    z.json_list("quote_requests.json", quote_requests(session, user))
    z.json_list("emails.json", emails(session, user))
    z.json_list("notifications_sent.json", notifications_sent(session, user))
    z.json_object("about.json", {"format_version": FORMAT_VERSION, "created_at": _plain(now or utcnow()),
                                 "user_id": user.id, "files": list(z.files)})
    z.close()
    return z.files


def _photos(z: _Zip, session: Session, user: User, upload_dir: str | Path | None) -> None:
    """The photos of the person's tickets, as the files we keep (re-encoded, without metadata)."""
    if not upload_dir:
        return
    from portal.services.helpdesk.photos import photo_path

    rows = session.scalars(select(SupportTicket).where(or_(
        SupportTicket.requester_id == user.id, func.lower(SupportTicket.requester_email) == user.email.lower())))
    for ticket in rows:
        for photo in ticket.photos:
            try:
                path = photo_path(upload_dir, photo.storage_key)
            except ValueError:
                continue
            if path.is_file():
                z.zf.write(path, f"photos/{photo.storage_key}")
                z.files.append(f"photos/{photo.storage_key}")


def export_filename(now: datetime | None = None) -> str:
    return f"my-data-{(now or utcnow()).date().isoformat()}.zip"
