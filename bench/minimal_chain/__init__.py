"""The floor for bench/tap_to_charger.py: the same hops as a resident's start, and nothing else.

    gunicorn + a tiny Flask app (app.py): POST /start/<identity> inserts a row and enqueues an RQ job
    RQ SimpleWorker (worker.py) runs jobs.remote_start: stamps the row, hands the call to the node
        through a Redis list and waits for the reply on another
    a bare asyncio node (node.py): `ocpp` + `websockets`, BLPOPs the calls and sends
        RemoteStartTransaction to the charger

No log-in, CSRF, access checks, prices, deduplication of taps, deadlines, claims or audit: what
the portal does on top of this is what bench/tap_to_charger.py compares. Not part of the product.
"""
from __future__ import annotations

import os
import sqlite3

SCHEMA = ("CREATE TABLE IF NOT EXISTS starts (id INTEGER PRIMARY KEY, identity TEXT NOT NULL, "
          "created_at REAL NOT NULL, sent_at REAL, done_at REAL, status TEXT)")
CALLS_KEY = "chain:calls"
QUEUE = "chain"


def reply_key(call_id: str) -> str:
    return f"chain:reply:{call_id}"


def connect(path: str | None = None) -> sqlite3.Connection:
    """A connection in autocommit mode on the chain's SQLite file (WAL, synchronous=NORMAL, like the portal's)."""
    conn = sqlite3.connect(path or os.environ["CHAIN_DB"], timeout=30, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
