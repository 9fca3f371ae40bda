"""Creating users, sites and charge points: shared by the CLI, the demo data and the pages."""
from __future__ import annotations

import re
import secrets
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.db import utcnow
from portal.models import ChargePoint, Connector, IdTag, Membership, Site, User
from portal.services.people.secrets import (
    CHARGER_SECRET_MAX, CHARGER_SECRET_MIN, charger_secret_problem, hash_charger_secret, hash_secret,
)

# '%' and ':' occur in identities chargers are configured with elsewhere; the node takes them
# percent-encoded in the path, so onboarding takes them too. '/' and spaces would break the URL.
IDENTITY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:%\-]{0,47}$")


class OnboardingError(ValueError):
    """Input that cannot be onboarded, with a message fit for an operator."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


def new_virtual_tag() -> str:
    """A user's virtual id tag for remote starts (OCPP idTag: at most 20 characters)."""
    return "U" + secrets.token_hex(8).upper()


def create_user(
    session: Session,
    email: str,
    password: str | None = None,
    *,
    name: str = "",
    language: str = "nb",
    staff_role: str | None = None,
    password_hash: str | None = None,
    verified: bool = True,
) -> User:
    """A new account with its virtual id tag. Accounts made by operators (CLI, demo) count as verified;
    self-registration passes verified=False until the e-mailed link is opened."""
    if find_user(session, email) is not None:
        raise OnboardingError(f"a user with e-mail {email} already exists")
    if password_hash is None:
        if not password:
            raise OnboardingError("a password is required")
        password_hash = hash_secret(password)
    user = User(email=normalise_email(email), name=name, language=language, staff_role=staff_role,
                password_hash=password_hash, email_verified_at=utcnow() if verified else None)
    session.add(user)
    session.flush()
    session.add(IdTag(tag=new_virtual_tag(), user_id=user.id, kind="virtual", name="app"))
    session.flush()
    return user


def virtual_tag(session: Session, user: User) -> IdTag:
    """The user's virtual tag, created on first need."""
    tag = session.scalar(select(IdTag).where(IdTag.user_id == user.id, IdTag.kind == "virtual"))
    if tag is None:
        tag = IdTag(tag=new_virtual_tag(), user_id=user.id, kind="virtual", name="app")
        session.add(tag)
        session.flush()
    return tag


def add_member(session: Session, user: User, site: Site, role: str = "resident") -> Membership:
    """Give a user access to a site (idempotent; upgrades the role when asked)."""
    existing = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.site_id == site.id)
    )
    if existing:
        if role == "board":
            existing.role = "board"
        return existing
    member = Membership(user_id=user.id, site_id=site.id, role=role)
    session.add(member)
    session.flush()
    return member


def site_by_slug(session: Session, slug: str) -> Site | None:
    return session.scalar(select(Site).where(Site.slug == slug))


def validate_identity(identity: str) -> str:
    identity = identity.strip()
    if not IDENTITY_RE.match(identity):
        raise OnboardingError(
            f"invalid identity {identity!r}: 1-48 characters, letters, digits, '.', '_', ':', '%' or '-'"
        )
    return identity


def validate_charger_secret(secret: str) -> str:
    if not CHARGER_SECRET_MIN <= len(secret.encode()) <= CHARGER_SECRET_MAX:
        raise OnboardingError(
            f"the charger password must be {CHARGER_SECRET_MIN}-{CHARGER_SECRET_MAX} bytes long"
        )
    return secret


def add_charge_point(
    session: Session,
    identity: str,
    site: Site,
    secret: str,
    connectors: int = 1,
    *,
    name: str = "",
    cp_type: str = "private",
    secret_hash: str | None = None,
) -> ChargePoint:
    """Register a charge point with its connectors (connector 0 is the whole charger)."""
    identity = validate_identity(identity)
    if secret_hash is None:
        secret_hash = hash_charger_secret(validate_charger_secret(secret))
    if not 1 <= connectors <= 16:
        raise OnboardingError("a charge point has 1 to 16 connectors")
    if session.scalar(select(ChargePoint.id).where(ChargePoint.identity == identity)):
        raise OnboardingError(f"charge point {identity} already exists")
    cp = ChargePoint(identity=identity, site_id=site.id, secret_hash=secret_hash, name=name, cp_type=cp_type)
    cp.connectors = [Connector(connector_id=n) for n in range(connectors + 1)]
    if site.charge_points and site.charge_points[0].tariff_group_id:
        cp.tariff_group_id = site.charge_points[0].tariff_group_id
    session.add(cp)
    session.flush()
    return cp


@dataclass
class ImportRow:
    line: int
    identity: str
    site: str
    password: str
    connectors: int


def parse_import_rows(rows: Iterable[dict]) -> tuple[list[ImportRow], list[str]]:
    """Check CSV rows (identity, site, password, connectors); return good rows and one message per bad line."""
    good, errors, seen = [], [], set()
    for line, row in enumerate(rows, start=2):
        try:
            identity = validate_identity(row.get("identity") or "")
            secret = validate_charger_secret((row.get("password") or "").strip())
            if charger_secret_problem(secret) == "weak":  # typed by a person: held to the same rule as the CLI
                raise OnboardingError("the charger password is too easy to guess (at least 10 different "
                                      "characters from three of lower case, upper case, digits and others)")
            connectors = int((row.get("connectors") or "1").strip())
            if identity in seen:
                raise OnboardingError(f"duplicate identity {identity}")
            seen.add(identity)
            good.append(ImportRow(line, identity, (row.get("site") or "").strip(), secret, connectors))
        except (OnboardingError, ValueError) as exc:
            errors.append(f"line {line}: {exc}")
    return good, errors


def import_charge_points(session: Session, rows: list[ImportRow]) -> tuple[int, list[str]]:
    """Bulk onboarding: hash secrets on all cores, insert in one go; returns (created, errors)."""
    sites = {s.slug: s for s in session.scalars(select(Site))}
    existing = set(session.scalars(select(ChargePoint.identity)))
    errors, todo = [], []
    for row in rows:
        if row.site not in sites:
            errors.append(f"line {row.line}: unknown site {row.site!r}")
        elif row.identity in existing:
            errors.append(f"line {row.line}: charge point {row.identity} already exists")
        else:
            todo.append(row)
    if len(todo) > 200:
        with ProcessPoolExecutor() as pool:
            hashes = list(pool.map(hash_charger_secret, [r.password for r in todo], chunksize=64))
    else:
        hashes = [hash_charger_secret(r.password) for r in todo]
    for row, secret_hash in zip(todo, hashes):
        cp = ChargePoint(identity=row.identity, site_id=sites[row.site].id, secret_hash=secret_hash)
        cp.connectors = [Connector(connector_id=n) for n in range(row.connectors + 1)]
        session.add(cp)
    session.flush()
    return len(todo), errors
