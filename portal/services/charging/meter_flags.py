"""Notes on a session's meter and clock for support: one structured entry per problem code.

A note never makes a charger's message fail: the list holds at most one entry per code (a
repeat only counts up), so it cannot outgrow its column, and nothing reads it back as text.
"""
from __future__ import annotations

from typing import Any

from portal.models import Transaction


def _l(text: str) -> str:
    """Marks a text for the translation catalogues (babel's `_l` keyword); pages translate it when shown."""
    return text


CODES = {
    "meter_start_not_positive": _l("the charger's meter start was zero or negative"),
    "register_backwards": _l("the energy register went backwards"),
    "implausible_energy": _l("more energy than the charger can deliver in that time"),
    "billed_from_samples": _l("billed from the sampled readings instead of start and stop"),
    "not_billed": _l("the readings could not be trusted; not billed"),
    "no_stop_received": _l("closed automatically: no StopTransaction arrived"),
    "no_readings": _l("closed automatically without any reading after the start; not billed"),
    "late_stop_replaced_closure": _l("a late StopTransaction replaced the automatic closure"),
    "clock_replaced": _l("a charger timestamp was unusable and replaced by the time we received it"),
    "legacy_note": _l("a note from before notes were structured"),
}


def add_flag(tx: Transaction, code: str, **details: Any) -> None:
    """Record a problem on the session; the first occurrence keeps its details, repeats are counted."""
    if code not in CODES:
        raise ValueError(f"unknown meter flag {code!r}")
    flags = [dict(f) for f in (tx.meter_flags or [])]
    for entry in flags:
        if entry.get("code") == code:
            entry["count"] = int(entry.get("count", 1)) + 1
            break
    else:
        flags.append({"code": code, **{k: _plain(v) for k, v in details.items()}})
    tx.meter_flags = flags  # a new list, so the JSON column is written


def describe(tx: Transaction) -> list[str]:
    """The session's notes in words, for support pages and logs."""
    return [CODES.get(f.get("code"), str(f.get("code"))) for f in (tx.meter_flags or []) if isinstance(f, dict)]


def _plain(value: Any) -> Any:
    """JSON-safe detail: numbers and short strings as they are, anything else as a short string."""
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value if not isinstance(value, str) else value[:80]
    return str(value)[:80]


def billing_note(tx: Transaction) -> str:
    """Why a finished session costs what it costs, for support (English; not shown to residents)."""
    if tx.refused_at_start:
        return f"not billed: the tag was refused when the session started ({tx.access_decision})"
    codes = tx.flag_codes
    if "no_readings" in codes:
        return "not billed: " + CODES["no_readings"]
    if "not_billed" in codes or not tx.billable:
        return "not billed: " + CODES["not_billed"]
    if "billed_from_samples" in codes:
        return "billed: " + CODES["billed_from_samples"]
    return "billed on the charger's start and stop readings"
