"""Minimal chain, web hop: `gunicorn 'bench.minimal_chain.app:create_app()'` (CHAIN_DB, REDIS_URL)."""
from __future__ import annotations

import os
import threading
import time

from flask import Flask, redirect
from redis import Redis
from rq import Queue

from bench.minimal_chain import QUEUE, connect


def create_app() -> Flask:
    app = Flask(__name__)
    local = threading.local()
    queue = Queue(QUEUE, connection=Redis.from_url(os.environ["REDIS_URL"]))

    def db():
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = connect()
        return conn

    @app.post("/start/<identity>")
    def start(identity: str):
        row_id = db().execute("INSERT INTO starts (identity, created_at) VALUES (?, ?)",
                              (identity, time.time())).lastrowid  # autocommit: stored when this returns
        queue.enqueue("bench.minimal_chain.jobs.remote_start", row_id, identity)
        return redirect(f"/start/{identity}", 303)

    return app
