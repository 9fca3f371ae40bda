"""Accounts and personal data: registration and passwords, log-in sessions, secrets, RFID tags, notification e-mails and the outbox, data export, erasure and retention."""
