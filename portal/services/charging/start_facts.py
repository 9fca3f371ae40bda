"""What the start screen, its live fragment (polled every second) and the start POST need to know
about one charge point and one user, read with three Core selects instead of ORM objects.

1. the charge point, its site and the user's membership role there (None: no site access);
2. its connectors;
3. the tariffs of its tariff group, each with two answers worked out by the database: is it
   restricted (to plans or user groups), and does this user qualify (an active subscription to one
   of its plans, or membership of one of its user groups of the charger's site).

The decision itself is the same code as everywhere else: `access.decide_start` and
`pricing.choose_qualified` on these plain values, so the rule lives in one place; only the
qualification is a query here (`pricing.qualifies` does it on ORM objects for the OCPP node and the
board pages; a test compares the two). Flask-free; nothing is cached between requests.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, bindparam, case, exists, func, or_, select
from sqlalchemy.orm import Session

from portal.models import (
    ChargePoint, Connector, Membership, Site, Statement, Tariff, UserGroup, UserGroupMember, UserSubscription,
)
from portal.models.tariffs import tariff_group_tariffs, tariff_restrictions, tariff_user_groups
from portal.services.charging import access
from portal.services.billing.pricing import TariffChoice, choose_qualified


@dataclass(frozen=True)
class SiteFacts:
    id: int
    name: str
    slug: str
    currency: str
    vat_rate_bp: int
    price_area: str


@dataclass(frozen=True)
class OutletFacts:
    connector_id: int
    status: str


@dataclass(frozen=True)
class ChargePointFacts:
    """The columns of a charge point the start screen reads; quacks like ChargePoint where they meet
    (access.connector_problem, outlet_state, the templates)."""

    id: int
    identity: str
    name: str
    site_id: int
    cp_type: str
    owner_id: int | None
    enabled: bool
    online: bool
    offline_since: datetime | None
    auth_required: bool
    site: SiteFacts
    connectors: tuple[OutletFacts, ...]

    @property
    def display_name(self) -> str:
        return self.name or self.identity

    def connector(self, connector_id: int) -> OutletFacts | None:
        return next((c for c in self.connectors if c.connector_id == connector_id), None)

    @property
    def outlets(self) -> list[OutletFacts]:
        """Connectors a car can use (OCPP connectorId >= 1)."""
        return [c for c in self.connectors if c.connector_id >= 1]


@dataclass(frozen=True)
class TariffFacts:
    """A tariff's price columns, whether it is restricted, and whether this user qualifies for it."""

    id: int
    name: str
    pricing_type: str
    energy_fee: Decimal
    min_price_minor: int
    preauth_minor: int
    spot_markup: Decimal
    spot_markup_percent: Decimal
    spot_fallback: Decimal
    restricted: bool
    qualifies: bool


@dataclass(frozen=True)
class StartFacts:
    cp: ChargePointFacts
    role: str | None  # the user's membership of the charger's site: "resident", "board" or None
    tariffs: tuple[TariffFacts, ...]
    unpaid: bool = False  # a statement unpaid past the site board's limit (and no promise to pay running)

    @property
    def has_site_access(self) -> bool:
        return self.role is not None

    def visible_to(self, user) -> bool:
        return access.sees_charge_point(user, self.cp, self.has_site_access)

    def may_print_sticker(self, user) -> bool:
        """Board members of the charger's site and operator staff."""
        return user.is_staff or self.role == "board"

    def tariff_choice(self) -> TariffChoice:
        """The one tariff that applies to this user here (the DOMAIN.md rule, as access.tariff_for)."""
        return choose_qualified([t for t in self.tariffs if t.qualifies], None, self.cp.site.vat_rate_bp)

    def decision(self, user_id: int, connector_id: int | None = None,
                 check_connector: bool = True) -> access.StartDecision:
        """access.start_decision, on these facts."""
        connector = self.cp.connector(connector_id) if connector_id is not None else None
        return access.decide_start(has_site_access=self.has_site_access, cp=self.cp, user_id=user_id,
                                   choice=self.tariff_choice(), connector=connector,
                                   check_connector=check_connector, unpaid=self.unpaid)


_cp, _site, _conn, _tariff = ChargePoint.__table__.c, Site.__table__.c, Connector.__table__.c, Tariff.__table__.c
_member, _sub = Membership.__table__.c, UserSubscription.__table__.c
_group, _group_member = UserGroup.__table__.c, UserGroupMember.__table__.c
_restriction, _group_restriction, _group_tariff = tariff_restrictions.c, tariff_user_groups.c, tariff_group_tariffs.c

# Built once: plain Core statements over the tables (no ORM entities), with bound parameters, so a
# request neither builds SQL expressions nor goes through the ORM's compile step.
_CP_COLUMNS = (_cp.id, _cp.identity, _cp.name, _cp.site_id, _cp.cp_type, _cp.owner_id, _cp.enabled, _cp.online,
               _cp.offline_since, _cp.auth_required, _cp.tariff_group_id)
_SITE_COLUMNS = (_site.id, _site.name, _site.slug, _site.currency, _site.vat_rate_bp, _site.price_area)
_st = Statement.__table__.c
# The oldest due date of the user's statements at the site still to be paid with no promise to pay running
# (portal/services/payments): one correlated subquery on the index (user_id, site_id, paid_state).
# Only asked when the site's board chose the rule (the CASE leaves it out otherwise).
_OLDEST_UNPAID = case((_site.unpaid_block_days.is_not(None), select(func.min(_st.due_on)).where(
    _st.user_id == bindparam("user_id"), _st.site_id == _cp.site_id, _st.paid_state.in_(("unpaid", "part_paid")),
    or_(_st.promise_until.is_(None), _st.promise_until < bindparam("today")))
    .correlate(ChargePoint.__table__, Site.__table__).scalar_subquery()), else_=None)
_ROLE = (select(_member.role).where(_member.user_id == bindparam("user_id"), _member.site_id == _cp.site_id)
         .correlate(ChargePoint.__table__).scalar_subquery())
_CHARGE_POINT = (select(*_CP_COLUMNS, *_SITE_COLUMNS, _site.unpaid_block_days, _OLDEST_UNPAID, _ROLE).join_from(ChargePoint.__table__, Site.__table__,
                                                                      _site.id == _cp.site_id)
                 .where(_cp.identity == bindparam("identity")))
_CONNECTORS = (select(_conn.connector_id, _conn.status).where(_conn.charge_point_id == bindparam("cp_id"))
               .order_by(_conn.connector_id))
_RESTRICTED = or_(exists().where(_restriction.tariff_id == _tariff.id),
                  exists().where(_group_restriction.tariff_id == _tariff.id))
_QUALIFIES = or_(
    exists().where(_restriction.tariff_id == _tariff.id, _sub.plan_id == _restriction.plan_id,
                   _sub.user_id == bindparam("user_id"), _sub.status == "active"),
    exists().where(_group_restriction.tariff_id == _tariff.id, _group.id == _group_restriction.user_group_id,
                   _group.site_id == bindparam("site_id"), _group_member.group_id == _group.id,
                   _group_member.user_id == bindparam("user_id")))
_TARIFFS = (select(_tariff.id, _tariff.name, _tariff.pricing_type, _tariff.energy_fee, _tariff.min_price_minor,
                   _tariff.preauth_minor, _tariff.spot_markup, _tariff.spot_markup_percent, _tariff.spot_fallback,
                   _RESTRICTED, _QUALIFIES)
            .join_from(Tariff.__table__, tariff_group_tariffs, and_(_group_tariff.tariff_id == _tariff.id,
                                                                   _group_tariff.tariff_group_id == bindparam("group_id")))
            .order_by(_tariff.id))


def load(session: Session, identity: str, user_id: int) -> StartFacts | None:
    """The facts for this user at the charge point named `identity`; None when there is none."""
    conn = session.connection()
    today = datetime.now(timezone.utc).date()
    row = conn.execute(_CHARGE_POINT, {"identity": identity, "user_id": user_id, "today": today}).first()
    if row is None:
        return None
    n = len(_CP_COLUMNS)
    cp_id, identity, name, site_id, cp_type, owner_id, enabled, online, offline_since, auth_required, group_id = \
        row[:n]
    site = SiteFacts(*row[n:n + len(_SITE_COLUMNS)])
    connectors = tuple(OutletFacts(c, s) for c, s in conn.execute(_CONNECTORS, {"cp_id": cp_id}))
    cp = ChargePointFacts(cp_id, identity, name or "", site_id, cp_type, owner_id, bool(enabled), bool(online),
                          offline_since, bool(auth_required), site, connectors)
    tariffs = () if group_id is None else tuple(
        TariffFacts(*r[:9], restricted=bool(r[9]), qualifies=not r[9] or bool(r[10]))
        for r in conn.execute(_TARIFFS, {"group_id": group_id, "user_id": user_id, "site_id": site_id}))
    return StartFacts(cp, row[-1], tariffs, unpaid=blocked_for_unpaid(row[-3], row[-2], today))


def blocked_for_unpaid(block_days: int | None, oldest_due: date | None, today: date) -> bool:
    """The board's rule: blocked when the oldest unpaid statement is more than block_days past its due date."""
    return block_days is not None and oldest_due is not None and today > oldest_due + timedelta(days=block_days)
