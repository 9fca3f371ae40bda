"""Reading a bank's ISO 20022 camt.054 (BankToCustomerDebitCreditNotification) file: its credit entries.

The file comes from staff's browser, so it is untrusted: it is refused unread when larger than the limit or
when it declares a DOCTYPE or an ENTITY (no entity expansion, no external entities reach the parser), and
parsed with the standard library only then. Any namespace version of camt.054 is read (.001.02 to .001.08
and later); any other message (camt.053, pain.001...) is refused. Amounts are read as Decimal from the text
and kept in minor units; never through a float. A file that is refused records nothing (`CamtError` with a
code the page explains).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

NAMESPACE_PREFIX = "urn:iso:std:iso:20022:tech:xsd:camt.054."
CURRENCIES = ("NOK", "SEK")
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class CamtError(ValueError):
    """Why a bank file is refused: a code in CODES."""

    CODES = ("too_large", "empty", "doctype", "not_xml", "wrong_kind", "currency", "no_entry_ref", "bad_amount",
             "bad_date", "mixed_currency")

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(code)
        self.code, self.detail = code, detail


@dataclass(frozen=True)
class Credit:
    """One payment in the file: a credit transaction (TxDtls) of a booked entry."""

    account: str  # the receiving account (IBAN or the bank's id)
    entry_ref: str  # the bank's reference, unique per account
    booked_on: date
    amount_minor: int
    currency: str
    reference: str  # structured creditor reference (KID / OCR), as written
    message: str  # unstructured remittance text
    debtor_name: str


@dataclass
class BankNotice:
    message_id: str = ""
    account: str = ""
    currency: str = ""
    credits: list[Credit] = field(default_factory=list)
    entries: int = 0  # credit entries seen


def amount_minor(text: str | None) -> int:
    """'1234.50' -> 123450, from the text; refuses more than two decimals, a sign, or anything not a number."""
    raw = (text or "").strip()
    if not re.fullmatch(r"\d{1,15}(\.\d{1,2})?", raw):
        raise CamtError("bad_amount", raw)
    try:
        return int(Decimal(raw).scaleb(2))
    except InvalidOperation as exc:  # pragma: no cover - the pattern already guards this
        raise CamtError("bad_amount", raw) from exc


class _Reader:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def path(self, name: str) -> str:
        return "/".join(f"{{{self.ns}}}{part}" for part in name.split("/"))

    def find(self, node: ET.Element | None, name: str) -> ET.Element | None:
        return None if node is None else node.find(self.path(name))

    def text(self, node: ET.Element | None, *names: str) -> str:
        for name in names:
            found = self.find(node, name)
            if found is not None and (found.text or "").strip():
                return found.text.strip()
        return ""


def _root(data: bytes, max_bytes: int) -> tuple[ET.Element, str]:
    if len(data) > max_bytes:
        raise CamtError("too_large")
    if not data.strip():
        raise CamtError("empty")
    if _DECLARATION.search(data):
        raise CamtError("doctype")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise CamtError("not_xml", str(exc)) from None
    ns = root.tag[1:].split("}")[0] if root.tag.startswith("{") else ""
    if not ns.startswith(NAMESPACE_PREFIX) or root.find(f"{{{ns}}}BkToCstmrDbtCdtNtfctn") is None:
        raise CamtError("wrong_kind", ns or root.tag)
    return root, ns


def _booked_on(r: _Reader, entry: ET.Element) -> date:
    text = r.text(entry, "BookgDt/Dt", "BookgDt/DtTm", "ValDt/Dt")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CamtError("bad_date", text) from None


def _credits_of(r: _Reader, entry: ET.Element, currency: str, account: str) -> list[Credit]:
    booked = _booked_on(r, entry)
    entry_ref = r.text(entry, "AcctSvcrRef", "NtryRef")
    details = [tx for dtls in entry.findall(r.path("NtryDtls")) for tx in dtls.findall(r.path("TxDtls"))]
    out = []
    for index, tx in enumerate(details or [None]):
        amount = r.find(tx, "Amt")
        amount = r.find(tx, "AmtDtls/TxAmt/Amt") if amount is None else amount
        if amount is None:
            if len(details) > 1:
                raise CamtError("bad_amount", "a transaction without its amount")
            amount = r.find(entry, "Amt")
        if (amount.get("Ccy") or currency) != currency:
            raise CamtError("mixed_currency", amount.get("Ccy") or "")
        ref = r.text(tx, "Refs/AcctSvcrRef") or (f"{entry_ref}/{index + 1}" if entry_ref and len(details) > 1
                                                   else entry_ref)
        if not ref:
            raise CamtError("no_entry_ref")
        out.append(Credit(account[:34], ref[:80], booked, amount_minor(amount.text), currency,
                          r.text(tx, "RmtInf/Strd/CdtrRefInf/Ref")[:40],
                          " ".join(e.text.strip() for e in (tx.findall(r.path("RmtInf/Ustrd")) if tx is not None else [])
                                   if e.text)[:500],
                          r.text(tx, "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm")[:140]))
    return out


def parse(data: bytes, max_bytes: int) -> BankNotice:
    """The credit payments in a camt.054 file; CamtError when it is not one we can take."""
    root, ns = _root(data, max_bytes)
    r = _Reader(ns)
    body = r.find(root, "BkToCstmrDbtCdtNtfctn")
    notice = BankNotice(message_id=r.text(body, "GrpHdr/MsgId")[:64])
    for ntf in body.findall(r.path("Ntfctn")):
        account = r.text(ntf, "Acct/Id/IBAN", "Acct/Id/Othr/Id")
        for entry in ntf.findall(r.path("Ntry")):
            if r.text(entry, "CdtDbtInd") != "CRDT":
                continue
            status = r.text(entry, "Sts/Cd", "Sts")
            if status and status != "BOOK":
                continue  # pending or informational: the booked entry comes in a later file
            amt = r.find(entry, "Amt")
            currency = (amt.get("Ccy") if amt is not None else "") or r.text(ntf, "Acct/Ccy")
            if currency not in CURRENCIES:
                raise CamtError("currency", currency)
            if notice.currency and currency != notice.currency:
                raise CamtError("mixed_currency", currency)
            notice.currency, notice.account = currency, notice.account or account
            notice.entries += 1
            notice.credits.extend(_credits_of(r, entry, currency, account))
    return notice
