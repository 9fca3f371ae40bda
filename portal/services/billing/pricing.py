"""Money and the tariff rule: which tariff applies, and what a session costs.

Per-kWh prices are Decimal kroner including VAT; totals are integer minor units (øre/öre).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Iterable, Sequence

from babel.numbers import format_decimal

from portal.models import Tariff

_PRICE_RE = re.compile(r"^-?\d{1,7}([.,]\d{1,4})?$")
MAX_PRICE = Decimal("1000000")


class PriceFormatError(ValueError):
    """The text is not a price like 2,35 or 2.35."""


def parse_price(text: str | None, *, allow_negative: bool = False) -> Decimal:
    """Parse a price typed by a person: comma or dot decimal separator, spaces and 'kr' ignored."""
    if text is None:
        raise PriceFormatError("empty")
    cleaned = text.strip().lower().replace("\u00a0", "").replace(" ", "")
    for suffix in ("kr/kwh", "kr"):
        if cleaned.endswith(suffix):
            cleaned = cleaned[: -len(suffix)]
    if not _PRICE_RE.match(cleaned):
        raise PriceFormatError(text)
    try:
        value = Decimal(cleaned.replace(",", "."))
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards this
        raise PriceFormatError(text) from exc
    if value < 0 and not allow_negative:
        raise PriceFormatError(text)
    return value


def to_minor(amount: Decimal) -> int:
    """Kroner to øre, rounding half up."""
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def from_minor(minor: int) -> Decimal:
    return (Decimal(minor) / 100).quantize(Decimal("0.01"))


def _locale_for(language: str) -> str:
    return {"nb": "nb_NO", "sv": "sv_SE", "en": "en_GB"}.get(language, "nb_NO")


def format_amount(amount: Decimal, language: str = "nb", places: int = 2) -> str:
    quant = Decimal(1).scaleb(-places)
    return format_decimal(amount.quantize(quant, rounding=ROUND_HALF_UP), format=f"#,##0.{'0' * places}",
                          locale=_locale_for(language))


def format_money(minor: int, currency: str = "NOK", language: str = "nb") -> str:
    """2,35 kr — the local way; krona and krone are both written kr."""
    text = format_amount(from_minor(minor), language)
    return f"{text} kr" if currency in ("NOK", "SEK") else f"{text} {currency}"


def format_per_kwh(price: Decimal, currency: str = "NOK", language: str = "nb") -> str:
    """3,20 kr/kWh"""
    return f"{format_amount(price, language)} kr/kWh"


# --- the tariff rule -------------------------------------------------------------------------

@dataclass(frozen=True)
class TariffChoice:
    """The outcome of the tariff rule for one user at one charge point."""

    tariff: Tariff | None
    reason: str  # "ok", "no_tariff" (nothing applies), "not_allowed" (the winning tariff forbids charging)

    @property
    def allowed(self) -> bool:
        return self.reason == "ok"


def comparison_price(tariff: Tariff, spot_now: Decimal | None = None, vat_rate_bp: int = 2500) -> Decimal:
    """The per-kWh price (incl. VAT) used to find the cheapest tariff.

    A not-allowed tariff ranks as cheapest, so among equals an explicit ban wins over a price.
    """
    if tariff.pricing_type == "not_allowed":
        return Decimal("-1")
    if tariff.pricing_type == "spot":
        if spot_now is None:
            return Decimal(tariff.spot_fallback)
        return spot_unit_price(spot_now, tariff.spot_markup, tariff.spot_markup_percent, vat_rate_bp)
    return Decimal(tariff.energy_fee)


def qualifies(tariff: Tariff, active_plan_ids: set[int], group_ids: frozenset[int] | set[int] = frozenset()) -> bool:
    """An unrestricted tariff applies to everybody; a restricted one to holders of one of its plans
    and to members of one of its user groups."""
    if not tariff.restricted:
        return True
    return (any(plan.id in active_plan_ids for plan in tariff.restrictions)
            or any(group.id in group_ids for group in tariff.group_restrictions))


def choose_tariff(
    tariffs: Iterable[Tariff],
    active_plan_ids: set[int],
    spot_now: Decimal | None = None,
    vat_rate_bp: int = 2500,
    group_ids: frozenset[int] | set[int] = frozenset(),
) -> TariffChoice:
    """Restricted beats unrestricted, then the cheapest wins; a not-allowed winner blocks charging."""
    return choose_qualified([t for t in tariffs if qualifies(t, active_plan_ids, group_ids)], spot_now, vat_rate_bp)


def choose_qualified(candidates: Sequence, spot_now: Decimal | None = None, vat_rate_bp: int = 2500) -> TariffChoice:
    """The winner among the tariffs the user qualifies for (each with `restricted`, `id` and its prices):
    choose_tariff's rule once qualification is known (portal.services.charging.start_facts asks the database)."""
    if not candidates:
        return TariffChoice(None, "no_tariff")

    def rank(t: Tariff) -> tuple:
        return (0 if t.restricted else 1, comparison_price(t, spot_now, vat_rate_bp), t.id or 0)

    winner = min(candidates, key=rank)
    if winner.pricing_type == "not_allowed":
        return TariffChoice(winner, "not_allowed")
    return TariffChoice(winner, "ok")


# --- costs -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cost:
    total_minor: int  # incl. VAT, what the user pays
    vat_minor: int  # the VAT part of total_minor
    energy_minor: int  # energy × price before the minimum price was applied
    minimum_applied: bool


def vat_part(total_minor: int, vat_rate_bp: int) -> int:
    """The VAT contained in a VAT-inclusive amount: total × r / (1 + r)."""
    rate = Decimal(vat_rate_bp) / Decimal(10000)
    return int((Decimal(total_minor) * rate / (1 + rate)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def session_cost(energy_wh: int, fee_per_kwh: Decimal, min_price_minor: int = 0, vat_rate_bp: int = 2500) -> Cost:
    """Energy × fee (incl. VAT), never below the minimum price."""
    return cost_from_intervals([(max(energy_wh, 0), Decimal(fee_per_kwh))], min_price_minor, vat_rate_bp)


def cost_from_intervals(
    parts: Sequence[tuple[int, Decimal]], min_price_minor: int = 0, vat_rate_bp: int = 2500
) -> Cost:
    """Cost of energy split into parts, each (Wh, price per kWh incl. VAT); used by spot billing."""
    exact = sum((Decimal(wh) / 1000 * price for wh, price in parts), Decimal(0))
    energy_minor = to_minor(exact)
    total = max(energy_minor, min_price_minor)
    return Cost(total, vat_part(total, vat_rate_bp), energy_minor, total != energy_minor)


def spot_unit_price(
    spot_excl_vat: Decimal, markup: Decimal, markup_percent: Decimal, vat_rate_bp: int = 2500
) -> Decimal:
    """Spot price plus markups plus VAT, per kWh; never below zero even when the exchange price is negative."""
    base = Decimal(spot_excl_vat)
    with_percent = base + abs(base) * Decimal(markup_percent) / 100
    excl_vat = with_percent + Decimal(markup)
    incl_vat = excl_vat * (1 + Decimal(vat_rate_bp) / 10000)
    return max(incl_vat, Decimal(0)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
