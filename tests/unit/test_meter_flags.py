"""Structured meter notes: one entry per code, repeats counted, never text to parse; support's billing note."""
from __future__ import annotations

import pytest

from portal.models import Transaction
from portal.services.charging.meter_flags import add_flag, billing_note, describe


def test_a_note_per_code_and_repeats_are_counted_so_the_list_stays_small():
    tx = Transaction(meter_flags=[])
    for wh in range(1_000):
        add_flag(tx, "register_backwards", wh=wh, at="2026-01-01T00:00:00+00:00")
    add_flag(tx, "clock_replaced", field="StartTransaction.timestamp", claimed="x" * 500)
    assert [f["code"] for f in tx.meter_flags] == ["register_backwards", "clock_replaced"]
    assert tx.meter_flags[0] == {"code": "register_backwards", "wh": 0, "at": "2026-01-01T00:00:00+00:00",
                                 "count": 1_000}
    assert len(tx.meter_flags[1]["claimed"]) == 80
    assert describe(tx) == ["the energy register went backwards",
                            "a charger timestamp was unusable and replaced by the time we received it"]


def test_unknown_codes_are_refused():
    with pytest.raises(ValueError):
        add_flag(Transaction(meter_flags=[]), "something happened")


@pytest.mark.parametrize("decision, billable, codes, note", [
    ("ok", True, [], "billed on the charger's start and stop readings"),
    ("no_access", False, [], "not billed: the tag was refused when the session started (no_access)"),
    ("ok", False, ["no_stop_received", "no_readings"], "not billed: closed automatically"),
    ("ok", False, ["register_backwards", "not_billed"], "not billed: the readings could not be trusted"),
    ("ok", True, ["implausible_energy", "billed_from_samples"], "billed: billed from the sampled readings"),
])
def test_billing_note_says_why(decision, billable, codes, note):
    tx = Transaction(meter_flags=[{"code": c} for c in codes], access_decision=decision, billable=billable)
    assert billing_note(tx).startswith(note)
