"""Minimal chain, worker hop: the RQ job that hands a RemoteStartTransaction to the node and waits."""
from __future__ import annotations

import functools
import json
import os
import time
import uuid

from redis import Redis

from bench.minimal_chain import CALLS_KEY, connect, reply_key


@functools.cache
def _db():
    return connect()


@functools.cache
def _redis() -> Redis:
    return Redis.from_url(os.environ["REDIS_URL"], socket_timeout=60)


def remote_start(row_id: int, identity: str) -> str:
    db, redis = _db(), _redis()
    db.execute("UPDATE starts SET sent_at = ? WHERE id = ?", (time.time(), row_id))
    call_id = uuid.uuid4().hex
    redis.rpush(CALLS_KEY, json.dumps({"id": call_id, "identity": identity}))
    item = redis.blpop([reply_key(call_id)], timeout=30)
    status = json.loads(item[1])["status"] if item else "timeout"
    db.execute("UPDATE starts SET status = ?, done_at = ? WHERE id = ?", (status, time.time(), row_id))
    return status
