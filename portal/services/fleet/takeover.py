"""Taking over a cooperative from another operator: its chargers, residents and their RFID tags from CSV.

plan() is the dry run: every line of both files is sorted into new / unchanged / conflict / error with a
reason code (portal.refusals.TAKEOVER has the words) and nothing is written. apply() carries out exactly
the plan's new lines in the caller's one transaction, and refuses while any line is an error; conflicts
are left as they are and reported. Running the same files again finds everything unchanged.

Chargers CSV: identity, name, type (public/private/personal), connectors, password (optional: a
typed one is held to the strength rule; empty: a secret is made and shown once after apply).
Residents CSV: email, tag, tag_name (tag optional). A resident who is neither a member nor invited gets
an invite through site_people.create_invites (the normal invite path, audit entries included); a tag
is registered to the resident's account through people.tags.register, so a resident without an account
yet gets the invite and the tag waits until they have one (import the file again later).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.models import ChargePoint, IdTag, Invite, Membership, Site, User
from portal.models.chargers import CHARGE_POINT_TYPES
from portal.services.people import tags
from portal.services.people.secrets import charger_secret_problem, hash_charger_secret, new_charger_secret
from portal.services.sites import audit, site_people
from portal.services.sites.onboarding import IDENTITY_RE, add_charge_point, find_user, normalise_email

MAX_LINES = 5000
MAX_BYTES = 2 * 1024 * 1024


class TakeoverRefused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Line:
    file: str  # "chargers" or "residents"
    number: int  # the line in the file (the header is line 1)
    key: str  # identity or e-mail
    status: str  # new, unchanged, conflict, error
    code: str  # why (portal.refusals.TAKEOVER)
    detail: str = ""  # data that explains it (another site's slug, a tag)
    data: dict = field(default_factory=dict)


@dataclass
class Plan:
    site_id: int
    lines: list[Line]

    @property
    def has_errors(self) -> bool:
        return any(line.status == "error" for line in self.lines)

    def counts(self) -> dict[str, int]:
        found = {"new": 0, "unchanged": 0, "conflict": 0, "error": 0}
        for line in self.lines:
            found[line.status] += 1
        return found

    def digest(self) -> str:
        """Names exactly what apply would do, so a confirmation applies what was shown."""
        shown = [(line.file, line.number, line.key, line.status, line.code, line.detail) for line in self.lines]
        return hashlib.sha256(json.dumps([self.site_id, shown]).encode()).hexdigest()[:32]


@dataclass
class Applied:
    secrets: list[tuple[str, str]] = field(default_factory=list)  # (identity, secret), shown once
    invites: list[tuple[Invite, str]] = field(default_factory=list)  # (invite, token) for the e-mails
    tags: int = 0
    chargers: int = 0


def read_rows(text: str) -> list[dict[str, str]]:
    """CSV text (comma or semicolon) as rows with lower-case column names; raises TakeoverRefused."""
    if len(text.encode()) > MAX_BYTES:
        raise TakeoverRefused("too_big")
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if first.count(";") > first.count(",") else ",")
    reader.fieldnames = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    rows = [{k: (v or "").strip() for k, v in row.items() if k} for row in reader]
    if len(rows) > MAX_LINES:
        raise TakeoverRefused("too_big")
    return rows


def plan(session: Session, site: Site, charger_rows: list[dict], resident_rows: list[dict]) -> Plan:
    return Plan(site.id, _plan_chargers(session, site, charger_rows) + _plan_residents(session, site, resident_rows))


def _charger_fields(row: dict) -> tuple[str, dict]:
    """(error code or "", the line's values)."""
    identity = row.get("identity", "")
    cp_type = (row.get("type") or "private").lower()
    values = {"identity": identity, "name": row.get("name", "")[:120], "cp_type": cp_type,
              "password": row.get("password", "")}
    if not IDENTITY_RE.match(identity):
        return "identity", values
    if cp_type not in CHARGE_POINT_TYPES:
        return "type", values
    try:
        values["connectors"] = int(row.get("connectors") or "1")
    except ValueError:
        return "connectors", values
    if not 1 <= values["connectors"] <= 16:
        return "connectors", values
    if values["password"] and charger_secret_problem(values["password"]):
        return "password", values
    return "", values


def _plan_chargers(session: Session, site: Site, rows: list[dict]) -> list[Line]:
    identities = [r.get("identity", "") for r in rows]
    existing = {cp.identity: cp for cp in session.scalars(select(ChargePoint).where(ChargePoint.identity.in_(identities)))}
    lines, seen = [], set()
    for number, row in enumerate(rows, start=2):
        problem, values = _charger_fields(row)
        identity = values["identity"]
        data = {k: v for k, v in values.items() if k != "password"}
        if not problem and identity in seen:
            problem = "duplicate"
        seen.add(identity)
        if problem:
            lines.append(Line("chargers", number, identity, "error", problem, data=data))
            continue
        cp = existing.get(identity)
        if cp is None:
            lines.append(Line("chargers", number, identity, "new", "charger_new", data=values))
        elif cp.site_id != site.id:
            lines.append(Line("chargers", number, identity, "conflict", "other_site", cp.site.slug, data=data))
        elif (cp.name, cp.cp_type, len(cp.outlets)) != (values["name"], values["cp_type"], values["connectors"]):
            lines.append(Line("chargers", number, identity, "conflict", "differs",
                              f"{cp.name} · {cp.cp_type} · {len(cp.outlets)}", data=data))
        else:
            lines.append(Line("chargers", number, identity, "unchanged", "charger_same", data=data))
    return lines


def _email(text: str) -> str | None:
    try:
        return normalise_email(validate_email(text, check_deliverability=False, test_environment=True).normalized)
    except EmailNotValidError:
        return None


def _resident_problem(email: str | None, tag: str, seen_emails: set, seen_tags: set) -> str:
    if email is None:
        return "email"
    if email in seen_emails:
        return "duplicate"
    if tag and not tags.valid_format(tag):
        return "tag"
    return "duplicate_tag" if tag and tag in seen_tags else ""


def _resident_line(session: Session, number: int, data: dict, invite: bool, owner_id: int | None) -> Line:
    """The line of a valid resident: what an invite and the tag would do."""
    email, tag = data["email"], data["tag"]
    user = find_user(session, email) if tag else None
    if tag and owner_id is not None and (user is None or owner_id != user.id):
        return Line("residents", number, email, "conflict", "tag_taken", tag, data=data)
    need_tag = bool(tag) and user is not None and owner_id is None
    waits = bool(tag) and user is None  # no account yet: the tag waits for one
    data = dict(data, invite=invite, need_tag=need_tag, user=user)
    if invite:
        code = "invite_and_tag" if need_tag else "invite_tag_waits" if waits else "invite"
        return Line("residents", number, email, "new", code, tag, data=data)
    if need_tag:
        return Line("residents", number, email, "new", "tag_new", tag, data=data)
    return Line("residents", number, email, "unchanged", "tag_waits" if waits else "resident_same", tag, data=data)


def _plan_residents(session: Session, site: Site, rows: list[dict]) -> list[Line]:
    members = set(session.scalars(select(func.lower(User.email)).join(Membership).where(Membership.site_id == site.id)))
    pending = {i.email for i in site_people.pending_invites(session, site.id)}
    owners = {tag: user_id for tag, user_id in session.execute(select(IdTag.tag, IdTag.user_id).where(
        IdTag.tag.in_([tags.normalise(r.get("tag", "")) for r in rows if r.get("tag")])))}
    lines, seen_emails, seen_tags = [], set(), set()
    for number, row in enumerate(rows, start=2):
        email, tag = _email(row.get("email", "")), tags.normalise(row.get("tag", ""))
        data = {"email": email or row.get("email", ""), "tag": tag, "tag_name": row.get("tag_name", "")[:60]}
        problem = _resident_problem(email, tag, seen_emails, seen_tags)
        seen_emails.add(email)
        seen_tags.add(tag)
        if problem:
            lines.append(Line("residents", number, data["email"], "error", problem, data=data))
        else:
            invite = email not in members and email not in pending
            lines.append(_resident_line(session, number, data, invite, owners.get(tag) if tag else None))
    return lines


def apply(session: Session, actor: User, site: Site, planned: Plan, reason: str = "") -> Applied:
    """Carry out the plan's new lines, nothing else (flush only: the caller commits once)."""
    if planned.has_errors:
        raise TakeoverRefused("has_errors")
    if planned.site_id != site.id:
        raise TakeoverRefused("stale")
    done = Applied()
    for line in planned.lines:
        if line.status != "new":
            continue
        if line.file == "chargers":
            secret = line.data["password"] or new_charger_secret()
            add_charge_point(session, line.key, site, secret, line.data["connectors"], name=line.data["name"],
                             cp_type=line.data["cp_type"], secret_hash=hash_charger_secret(secret))
            done.chargers += 1
            if not line.data["password"]:
                done.secrets.append((line.key, secret))
            continue
        if line.data["invite"]:
            done.invites += site_people.create_invites(session, actor, site, [line.key]).sent
        if line.data["need_tag"]:
            tags.register(session, line.data["user"], line.data["tag"], line.data["tag_name"])
            done.tags += 1
    audit.record(session, actor, site.id, "site", site.id, "takeover_import", area="staff", reason=reason or None,
                 after={"chargers": done.chargers, "invites": len(done.invites), "tags": done.tags,
                        "lines": planned.counts()})
    return done


@dataclass
class Outcome:
    plan: Plan
    applied: Applied | None = None
    outbox_ids: list[int] = field(default_factory=list)  # invite e-mails to hand to the worker after commit


def run(session: Session, actor: User | None, site: Site, chargers_text: str, residents_text: str, *,
        apply_it: bool = False, reason: str = "", expect_digest: str | None = None) -> Outcome:
    """The dry run, or (apply_it) the dry run then apply, with the invite e-mails queued; the caller commits
    once and then enqueues outcome.outbox_ids. expect_digest: refuse when the plan changed since it was shown."""
    planned = plan(session, site, read_rows(chargers_text), read_rows(residents_text))
    if not apply_it:
        return Outcome(planned)
    if actor is None:
        raise TakeoverRefused("no_actor")
    if expect_digest is not None and expect_digest != planned.digest():
        raise TakeoverRefused("stale")
    applied = apply(session, actor, site, planned, reason)
    return Outcome(planned, applied, [_invite_mail(session, site, invite, token) for invite, token in applied.invites])


def _invite_mail(session: Session, site: Site, invite: Invite, token: str) -> int:
    from portal.services.people.mail import portal_url, queue_templated_email

    row = queue_templated_email(session, to=invite.email, template="takeover_invite",
                                language="sv" if site.country == "SE" else "nb", kind="invite",
                                site_name=site.name, link=portal_url("invite.accept", token=token))
    return row.id
