"""Paying statements by bank transfer: payment references (KID, OCR), the operator's payment terms, bank
files (ISO 20022 camt.054) and the payments in them, matching to statements, paid states and reminders."""
