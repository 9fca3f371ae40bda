"""Charger authentication before the WebSocket opens (OCPP security profile 1/2: HTTP Basic).

- The identity is the last path segment, percent-decoded, so it may hold ':' or '%'. The Basic
  credentials are read as "<identity>:<password>" (the password may hold ':' and non-ASCII
  characters, UTF-8 or else Latin-1), never by splitting at the first ':'.
- Exactly one Authorization header; two are refused.
- An unknown identity and a wrong password get the same 401 after the same hashing work, so
  nobody can probe which identities exist.
- Repeated failures from one address or for one identity answer 429 for a while (counted in
  Redis, so every node sees them; if Redis is away the check is skipped, never blocking chargers).
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import logging
import secrets as _secrets
from typing import TYPE_CHECKING

from redis.exceptions import RedisError
from websockets.datastructures import Headers

from portal.config import setting
from portal.services import ocpp_ingest
from portal.services.secrets import hash_charger_secret, verify_secret
from portal.services.staff import secret_rotation

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)
FAIL_PREFIX = "ocpp:authfail:"


def basic_password(headers: Headers, identity: str) -> str | None:
    """The password of the one `Authorization: Basic` header, if its user is this identity."""
    values = headers.get_all("Authorization")
    if len(values) != 1:
        return None
    scheme, _, token = values[0].strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    prefix = identity + ":"
    return text[len(prefix):] if text.startswith(prefix) else None


@functools.cache
def _dummy_charger_hash() -> str:
    return hash_charger_secret(_secrets.token_urlsafe(24))


async def authenticate(node: "Node", identity: str, headers: Headers) -> bool:
    """True when the identity exists and the password matches; the same work either way."""
    stored = await node.run_db(ocpp_ingest.credentials, identity)
    password = basic_password(headers, identity)
    ok = await asyncio.to_thread(verify_secret, stored or _dummy_charger_hash(), password or "")
    if not ok and stored is not None and password:  # a key rotation whose answer was lost (see secret_rotation)
        ok = await node.run_db(secret_rotation.promote_unconfirmed, identity, password)
    return ok and stored is not None and password is not None


def _limits() -> tuple[int, int]:
    return int(setting("OCPP_AUTH_MAX_FAILURES")), int(setting("OCPP_AUTH_WINDOW_S"))


def _keys(peer: str, identity: str) -> list[str]:
    return [f"{FAIL_PREFIX}ip:{peer}", f"{FAIL_PREFIX}id:{identity}"]


async def too_many_failures(node: "Node", peer: str, identity: str) -> bool:
    """Has this address or this identity failed too often lately?"""
    limit, _ = _limits()
    try:
        counts = await node.redis.mget(_keys(peer, identity))
    except RedisError as exc:
        log.warning("auth failure counters unavailable: %s", exc)
        return False
    return any(c is not None and int(c) >= limit for c in counts)


async def record_failure(node: "Node", peer: str, identity: str) -> None:
    _, window = _limits()
    try:
        async with node.redis.pipeline(transaction=False) as pipe:
            for key in _keys(peer, identity):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()
    except RedisError as exc:
        log.warning("auth failure not counted: %s", exc)
