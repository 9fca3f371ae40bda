"""Issue 24: payment references (KID MOD10/MOD11, Bankgiro OCR), bank file reading and reminder timing."""
from __future__ import annotations

from datetime import date

import pytest

from portal.services.payments import camt054, references, reminders
from portal.services.payments.matching import names_agree
from portal.services.payments.terms import PaymentTerms


def test_luhn_the_well_known_example():
    # The textbook Luhn example: 7992739871 has check digit 3.
    assert references.luhn_digit("7992739871") == "3"
    assert references.kid("7992739871", "mod10") == "79927398713"
    assert references.is_valid("79927398713", "NOK", "mod10")
    assert not references.is_valid("79927398710", "NOK", "mod10")


def test_kid_mod11_worked_by_hand():
    # 12345678, weights 2,3,4,5,6,7,2,3 from the right:
    # 8*2 + 7*3 + 6*4 + 5*5 + 4*6 + 3*7 + 2*2 + 1*3 = 16+21+24+25+24+21+4+3 = 138
    # 138 mod 11 = 6; 11 - 6 = 5  -> KID 123456785
    assert references.mod11_digit("12345678") == "5"
    assert references.is_valid("123456785", "NOK", "mod11")
    assert not references.is_valid("123456784", "NOK", "mod11")
    # 0000000 sums to 0 -> 11 - 0 = 11 -> check digit 0
    assert references.mod11_digit("0000000") == "0"
    # 6: 6*2 = 12, 12 mod 11 = 1, 11 - 1 = 10 -> no check digit ("-"): such a base is never used
    assert references.mod11_digit("6") is None
    assert references.kid("6", "mod11") is None


def test_mod11_statement_references_skip_the_dash():
    refs = [references.statement_reference(n, False, "NOK", "mod11") for n in range(1, 400)]
    assert all(references.is_valid(r, "NOK", "mod11") for r in refs)
    assert len(set(refs)) == len(refs)  # stable and unique
    varied = [r for n, r in zip(range(1, 400), refs) if not r.startswith("1")]
    assert varied, "some numbers must have needed another prefix"
    assert all(r[0] in "35" for r in varied)
    legacy = {references.statement_reference(n, True, "NOK", "mod11") for n in range(1, 400)}
    assert not legacy & set(refs)


def test_ocr_with_and_without_the_length_digit():
    # 12345 + length digit 7 (the reference will be 7 digits); Luhn over 123457:
    # from the right 7*2=14->5, 5, 4*2=8, 3, 2*2=4, 1 -> 26 -> check digit 4
    assert references.ocr("12345", True) == "1234574"
    assert references.is_valid("1234574", "SEK", ocr_length_digit=True)
    assert not references.is_valid("1234584", "SEK", ocr_length_digit=True)  # wrong length digit (and Luhn)
    assert references.ocr("7992739871", False) == "79927398713"
    assert references.is_valid("79927398713", "SEK", ocr_length_digit=False)
    sek = references.statement_reference(42, False, "SEK", ocr_length_digit=True)
    assert sek == "100000042" + "1" + references.luhn_digit("1000000421")
    assert references.is_valid(sek, "SEK", ocr_length_digit=True)


def test_references_tolerate_spaces_but_not_letters():
    assert references.is_valid("7992 7398 713", "NOK")
    assert not references.is_valid("7992739871X", "NOK")
    assert not references.is_valid("", "NOK")


TERMS = PaymentTerms("86011117947", "50501055", 14, "mod10", True, 7, 14, {"NOK": 0, "SEK": 0})


@pytest.mark.parametrize("due, first, second_after_first", [
    # due Friday 24 July 2026 + 7 = Friday 31 July (a working day, month's end)
    (date(2026, 7, 24), date(2026, 7, 31), date(2026, 8, 14)),
    # due Saturday 25 July + 7 = Saturday 1 August -> Monday 3 August (across the month's end)
    (date(2026, 7, 25), date(2026, 8, 3), date(2026, 8, 17)),
    # due Monday 26 October + 7 = Monday 2 November
    (date(2026, 10, 26), date(2026, 11, 2), date(2026, 11, 16)),
    # due 24 December + 7 = Thursday 31 December; the second in the new year, 14 January 2027 (Thursday)
    (date(2026, 12, 24), date(2026, 12, 31), date(2027, 1, 14)),
    # due 25 April 2026 + 7 = Saturday 2 May -> Monday 4 May; + 14 = Monday 18 May
    (date(2026, 4, 25), date(2026, 5, 4), date(2026, 5, 18)),
])
def test_reminder_days_move_off_weekends_across_month_ends(due, first, second_after_first):
    assert reminders.reminder_day(due, 1, TERMS) == first
    assert reminders.reminder_day(due, 2, TERMS, first) == second_after_first


def test_a_second_reminder_falling_on_a_sunday_moves_to_monday():
    # first sent Sunday? never; first on Friday 16 Jan 2026 + 16 days = Sunday 1 Feb -> Monday 2 Feb
    terms = PaymentTerms("86011117947", "", 14, "mod10", True, 7, 16, {"NOK": 0, "SEK": 0})
    assert reminders.reminder_day(date(2026, 1, 9), 2, terms, date(2026, 1, 16)) == date(2026, 2, 2)
    assert reminders.next_working_day(date(2026, 2, 28)) == date(2026, 3, 2)  # Saturday, end of February


class _St:
    def __init__(self, currency: str, due_on: date):
        self.currency, self.due_on = currency, due_on


def test_reminder_fees_only_as_the_law_allows():
    nok = PaymentTerms("86011117947", "", 14, "mod10", True, 7, 14, {"NOK": 7000, "SEK": 6000})
    st = _St("NOK", date(2026, 3, 2))
    assert reminders.fee_for(st, date(2026, 3, 9), nok, False) == 0  # only 7 days after the due date
    assert reminders.fee_for(st, date(2026, 3, 16), nok, False) == 7000  # 14 days: allowed
    assert reminders.fee_for(st, date(2026, 3, 30), nok, True) == 0  # once per statement
    assert reminders.fee_for(st, date(2026, 3, 16), TERMS, False) == 0  # none by default
    assert reminders.fee_for(_St("SEK", date(2026, 3, 2)), date(2026, 3, 9), nok, False) == 6000


def test_a_fee_above_the_legal_cap_is_refused(monkeypatch):
    from portal.services.payments import terms

    monkeypatch.setenv("OPERATOR_REMINDER_FEE_NOK_MINOR", "7500")
    with pytest.raises(terms.TermsError, match="legal cap"):
        terms.load()
    monkeypatch.setenv("OPERATOR_REMINDER_FEE_NOK_MINOR", "7000")
    monkeypatch.setenv("OPERATOR_BANK_ACCOUNT", "8601 11 17948")
    with pytest.raises(terms.TermsError, match="OPERATOR_BANK_ACCOUNT"):
        terms.load()
    monkeypatch.setenv("OPERATOR_BANK_ACCOUNT", "NO93 8601 1117 947")
    assert terms.load().bank_account == "NO9386011117947"


def test_amounts_are_read_from_the_text_never_a_float():
    assert camt054.amount_minor("0.10") == 10
    assert camt054.amount_minor("1234.5") == 123450
    assert camt054.amount_minor("999999999999.99") == 99999999999999
    for bad in ("1.005", "-5.00", "1e3", "12,50", "", "NaN"):
        with pytest.raises(camt054.CamtError):
            camt054.amount_minor(bad)


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{kind}"><BkToCstmrDbtCdtNtfctn>
<GrpHdr><MsgId>M1</MsgId></GrpHdr><Ntfctn><Acct><Id><Othr><Id>86011117947</Id></Othr></Id></Acct>
<Ntry><Amt Ccy="{ccy}">250.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-12-03</Dt></BookgDt>
<AcctSvcrRef>E1</AcctSvcrRef><NtryDtls><TxDtls><Refs><AcctSvcrRef>TX1</AcctSvcrRef></Refs><Amt Ccy="{ccy}">250.00</Amt>
<RltdPties><Dbtr><Nm>Kari Nordmann</Nm></Dbtr></RltdPties><RmtInf><Strd><CdtrRefInf><Ref>79927398713</Ref></CdtrRefInf></Strd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="{ccy}">99.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><BookgDt><Dt>2026-12-03</Dt></BookgDt><AcctSvcrRef>E2</AcctSvcrRef></Ntry>
</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"""


def test_a_camt054_file_is_read_credit_by_credit():
    notice = camt054.parse(CAMT.format(kind="camt.054.001.08", ccy="NOK").encode(), 100_000)
    assert notice.currency == "NOK" and notice.entries == 1
    (credit,) = notice.credits
    assert (credit.entry_ref, credit.amount_minor, credit.reference, credit.debtor_name, credit.booked_on) == \
        ("TX1", 25000, "79927398713", "Kari Nordmann", date(2026, 12, 3))


@pytest.mark.parametrize("data, code", [
    (CAMT.format(kind="camt.053.001.02", ccy="NOK").replace("BkToCstmrDbtCdtNtfctn", "BkToCstmrStmt"), "wrong_kind"),
    (CAMT.format(kind="pain.001.001.03", ccy="NOK"), "wrong_kind"),
    (CAMT.format(kind="camt.054.001.02", ccy="EUR"), "currency"),
    (CAMT.format(kind="camt.054.001.02", ccy="NOK")[:300], "not_xml"),
    ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><d>&b;</d>', "doctype"),
    ("", "empty"),
])
def test_bad_bank_files_are_refused_with_a_reason(data, code):
    with pytest.raises(camt054.CamtError) as caught:
        camt054.parse(data.encode(), 100_000)
    assert caught.value.code == code


def test_a_bank_file_larger_than_the_limit_is_not_read():
    with pytest.raises(camt054.CamtError) as caught:
        camt054.parse(CAMT.format(kind="camt.054.001.08", ccy="NOK").encode(), 500)
    assert caught.value.code == "too_large"


def test_payer_names_agree_loosely():
    assert names_agree("Kari Nordmann", "NORDMANN KARI")
    assert names_agree("Åse Bø", "Ase Bo")
    assert not names_agree("Kari Nordmann", "Ola Hansen")
    assert not names_agree("Kari Nordmann", "")


@pytest.mark.parametrize("paid, due, state", [
    (0, 25000, "unpaid"), (12500, 25000, "part_paid"), (25000, 25000, "paid"), (50000, 25000, "overpaid"),
    (0, 0, "paid"),  # credited in full: nothing left to pay
    (100, 0, "overpaid"),
])
def test_the_paid_state_follows_from_the_payments(paid, due, state):
    from portal.services.payments.states import paid_state

    assert paid_state(paid, due) == state


def test_a_reference_with_a_wrong_check_digit_is_never_a_match_candidate():
    from portal.services.payments.camt054 import Credit
    from portal.services.payments.matching import candidate_references

    good = references.statement_reference(41, False, "NOK")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    credit = Credit("acct", "e", date(2026, 12, 1), 100, "NOK", bad, f"KID {good}", "x")
    valid = [r for r in candidate_references(credit) if references.is_valid(r, "NOK", "mod10")]
    assert valid == [good]  # the free text's correct KID still counts, the mistyped one never
