"""Bank files for tests: a camt.054 notification as a bank would send it, built from plain payment tuples."""
from __future__ import annotations

from datetime import date
from xml.sax.saxutils import escape

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def camt054(payments: list[dict], account: str = "86011117947", currency: str = "NOK", msg_id: str = "MSG-1",
            ns: str = NS) -> bytes:
    """payments: dicts with amount ('250.00' as text), ref (structured, optional), ustrd (optional), name,
    entry (the bank's reference), booked (a date)."""
    entries = []
    for p in payments:
        rmt = ""
        if p.get("ref"):
            rmt += f"<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp><Ref>{escape(p['ref'])}</Ref></CdtrRefInf></Strd>"
        if p.get("ustrd"):
            rmt += f"<Ustrd>{escape(p['ustrd'])}</Ustrd>"
        booked: date = p.get("booked", date(2026, 12, 10))
        entries.append(
            f"<Ntry><NtryRef>{escape(p['entry'])}</NtryRef><Amt Ccy=\"{currency}\">{p['amount']}</Amt><CdtDbtInd>CRDT</CdtDbtInd>"
            f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked.isoformat()}</Dt></BookgDt>"
            f"<AcctSvcrRef>{escape(p['entry'])}</AcctSvcrRef><BkTxCd/><NtryDtls><TxDtls>"
            f"<Refs><AcctSvcrRef>{escape(p['entry'])}-1</AcctSvcrRef></Refs><Amt Ccy=\"{currency}\">{p['amount']}</Amt>"
            f"<CdtDbtInd>CRDT</CdtDbtInd><RltdPties><Dbtr><Pty><Nm>{escape(p.get('name', ''))}</Nm></Pty></Dbtr></RltdPties>"
            f"<RmtInf>{rmt}</RmtInf></TxDtls></NtryDtls></Ntry>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrDbtCdtNtfctn>'
            f"<GrpHdr><MsgId>{msg_id}</MsgId><CreDtTm>2026-12-10T06:00:00+01:00</CreDtTm></GrpHdr>"
            f"<Ntfctn><Id>N1</Id><CreDtTm>2026-12-10T06:00:00+01:00</CreDtTm><Acct><Id><Othr><Id>{account}</Id></Othr></Id>"
            f"<Ccy>{currency}</Ccy></Acct>{''.join(entries)}</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>").encode()


def kroner(minor: int) -> str:
    """Minor units as the amount text a bank writes: 12345 -> '123.45'."""
    return f"{minor // 100}.{minor % 100:02d}"
