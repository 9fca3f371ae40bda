"""Charger authentication before the WebSocket opens (OCPP security profile 1/2: HTTP Basic).

- The identity is the last path segment, percent-decoded, so it may hold ':' or '%'. The Basic
  credentials are read as "<identity>:<password>" (the password may hold ':' and non-ASCII
  characters, UTF-8 or else Latin-1), never by splitting at the first ':'.
- Exactly one Authorization header; two are refused.
- An unknown identity and a wrong password get the same 401 after the same hashing work, so
  nobody can probe which identities exist.
- Repeated failures from one address or for one identity make the node suspicious of them for a while
  (counted in Redis, so every node sees them; if Redis is away the check is skipped): their checks wait
  behind every other handshake's and a further failure is answered 429 after a pause. The secret is
  still checked, so a charger presenting the right one connects however often others failed with its
  identity or from its address (a stranger must not take a garage offline); brute force is hopeless
  against machine-generated secrets of 20+ random bytes anyway (SECURITY.md).
- A failed check costs the same whether the identity exists or not: the stored hash (or a dummy of the
  same kind), then the hashes of rotations whose answer was lost (or the dummy again), all read by the
  same batched query, so the time to the 401 does not tell which identities exist.

Reconnect storms (after a node restart every charger reconnects within seconds):
- A verified secret is remembered for the life of the process, as a keyed hash (HMAC-SHA256 under a
  random key made at start-up, over the identity, the stored hash and the password), never in clear.
  A reconnect with the same password costs one HMAC instead of a scrypt/argon2 verification; a changed
  secret (new stored hash) or a different password misses the cache and is verified properly.
- The stored hashes are looked up in batches (CredentialLookup), and so are the failure counters in
  Redis (one MGET): handshakes arriving within a few milliseconds share one query and one worker-thread
  hop, and one Redis round trip.
- At most AUTH_CONCURRENCY verifications run at once (in worker threads), so a storm of expensive
  checks queues instead of starving the event loop and the database writer of threads.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import functools
import hashlib
import hmac
import logging
import os
import secrets as _secrets
from typing import TYPE_CHECKING, Any, Awaitable, Callable, NamedTuple

from redis.exceptions import RedisError
from websockets.datastructures import Headers

from portal import settings
from portal.services import ocpp_ingest
from portal.services.people.secrets import hash_charger_secret, verify_secret
from portal.services.staff import secret_rotation

if TYPE_CHECKING:
    from ocpp_server.node import Node

log = logging.getLogger(__name__)
FAIL_PREFIX = "ocpp:authfail:"
AUTH_CONCURRENCY = settings.get("ocpp_auth_concurrency")
CACHE_MAX = 200_000  # entries (about 200 bytes each); cleared when full



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


class Credentials(NamedTuple):
    secret_hash: str
    pending: tuple[str, ...]  # hashes of key rotations whose answer was lost (see secret_rotation)


def credentials_many(session: Any, identities: list[str]) -> dict[str, Credentials]:
    """Stored and pending secret hashes of several chargers, read in one session (unknown ones left out)."""
    pending = secret_rotation.pending_hashes_many(session, identities)
    return {identity: Credentials(secret_hash, tuple(pending.get(identity, ())))
            for identity, secret_hash in ocpp_ingest.credentials_many(session, identities).items()}


async def authenticate(node: "Node", identity: str, headers: Headers, suspect: bool = False) -> bool:
    """True when the identity exists and the password matches; the same work either way.

    suspect: this address or identity failed often lately; its slow checks wait behind everyone else's."""
    found: Credentials | None = await node.credentials.get(identity)
    password = basic_password(headers, identity)
    dummy = _dummy_charger_hash()
    if await node.secrets.check(identity, found.secret_hash if found else dummy, password or "", suspect):
        return found is not None and password is not None
    # A key rotation whose answer was lost; one more check against a dummy when none waits (timing).
    pending = found.pending if found and found.pending else (dummy,)
    matches = [await node.secrets.verify(h, password or "", suspect) for h in pending]
    if found is None or not found.pending or not password or not any(matches):
        return False
    return await node.run_db(secret_rotation.promote_unconfirmed, identity, password)


def _limits() -> tuple[int, int]:
    return int(settings.get("ocpp_auth_max_failures")), int(settings.get("ocpp_auth_window_s"))


def _keys(peer: str, identity: str) -> list[str]:
    return [f"{FAIL_PREFIX}ip:{peer}", f"{FAIL_PREFIX}id:{identity}"]


def failure_lookup(redis: Any) -> "BatchedLookup":
    """A node's batched reader of failure counters (one MGET for the handshakes of a few ms); Node builds it."""
    async def mget(keys: list[str]) -> dict[str, Any]:
        return dict(zip(keys, await redis.mget(keys)))
    return BatchedLookup(mget, name="ocpp-auth-failures")


async def too_many_failures(node: "Node", peer: str, identity: str) -> bool:
    """Has this address or this identity failed too often lately?"""
    limit, _ = _limits()
    try:
        counts = await node.auth_failures.get_many(_keys(peer, identity))
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


def _verify_all(checks: list[tuple[str, str]]) -> list[bool]:
    return [verify_secret(stored_hash, password) for stored_hash, password in checks]


class VerifiedSecrets:
    """Password checks for handshakes: a keyed-hash cache of verified secrets, then bounded slow checks.

    Slow checks wait in two queues (suspects only when no ordinary check waits); at most `concurrency` worker threads run them, each taking up to
    VERIFY_BATCH waiting checks per hop to the thread pool. On a busy core each hop costs context
    switches and GIL hand-offs that, in a reconnect storm, added up to a good part of the event loop's
    time; the checks themselves (scrypt/argon2) run one after another in the thread either way."""

    VERIFY_BATCH = 8

    def __init__(self, concurrency: int = AUTH_CONCURRENCY) -> None:
        self._key = os.urandom(32)
        self._known: dict[str, bytes] = {}
        self._concurrency = concurrency
        self._waiting: collections.deque[tuple[str, str, asyncio.Future]] = collections.deque()
        self._suspect: collections.deque[tuple[str, str, asyncio.Future]] = collections.deque()
        self._workers: set[asyncio.Task] = set()
        self.verifications = 0  # slow checks done (for tests and benchmarks)
        self.most_at_once = 0  # the most worker threads verifying at the same time (for tests)

    def _mac(self, identity: str, stored_hash: str, password: str) -> bytes:
        message = "\x00".join((identity, stored_hash, password)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def check(self, identity: str, stored_hash: str, password: str, suspect: bool = False) -> bool:
        """The remembered keyed hash, else a slow check (remembered when right). A wrong password never
        evicts the remembered one: failures sent by others must not make the real charger's check slow."""
        mac = self._mac(identity, stored_hash, password)
        known = self._known.get(identity)
        if known is not None and hmac.compare_digest(known, mac):
            return True
        valid = await self.verify(stored_hash, password, suspect)
        if valid:
            if len(self._known) >= CACHE_MAX:
                self._known.clear()
            self._known[identity] = mac
        return valid

    async def verify(self, stored_hash: str, password: str, suspect: bool = False) -> bool:
        """One slow check in a worker thread; suspects wait until no ordinary check does."""
        future = asyncio.get_running_loop().create_future()
        (self._suspect if suspect else self._waiting).append((stored_hash, password, future))
        if len(self._workers) < self._concurrency:
            worker = asyncio.create_task(self._verify_waiting(), name="ocpp-verify-secrets")
            self._workers.add(worker)
            worker.add_done_callback(self._workers.discard)
        return await future

    def _next_batch(self) -> list[tuple[str, str, asyncio.Future]]:
        queue = self._waiting or self._suspect
        return [queue.popleft() for _ in range(min(self.VERIFY_BATCH, len(queue)))]

    async def _verify_waiting(self) -> None:
        while self._waiting or self._suspect:
            batch = self._next_batch()
            self.verifications += len(batch)
            self.most_at_once = max(self.most_at_once, len(self._workers))
            try:
                results = await asyncio.to_thread(_verify_all, [(h, p) for h, p, _ in batch])
            except BaseException as exc:
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(exc if isinstance(exc, Exception) else RuntimeError("stopped"))
                raise
            for (_, _, future), valid in zip(batch, results):
                if not future.done():
                    future.set_result(valid)


class BatchedLookup:
    """Values for handshakes, fetched together: one fetch(keys) -> {key: value} per WINDOW_S of arrivals.

    In a reconnect storm hundreds of handshakes a second each need a value from the database or Redis;
    one round trip (and, for the database, one worker-thread hop) for each costs more CPU than the
    lookup itself. Missing keys give None; a failed fetch fails every waiter of that batch."""

    WINDOW_S = 0.002
    MAX_BATCH = 500

    def __init__(self, fetch: Callable[[list[str]], Awaitable[dict[str, Any]]], name: str = "ocpp-lookup") -> None:
        self._fetch = fetch
        self._name = name
        self._waiting: dict[str, list[asyncio.Future]] = {}
        self._task: asyncio.Task | None = None

    async def get(self, key: str) -> Any:
        return (await self.get_many([key]))[0]

    async def get_many(self, keys: list[str]) -> list[Any]:
        loop = asyncio.get_running_loop()
        futures = []
        for key in keys:
            future = loop.create_future()
            self._waiting.setdefault(key, []).append(future)
            futures.append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name=self._name)
        return list(await asyncio.gather(*futures))

    async def _drain(self) -> None:
        await asyncio.sleep(self.WINDOW_S)
        while self._waiting:
            names = list(self._waiting)[: self.MAX_BATCH]
            batch = {name: self._waiting.pop(name) for name in names}
            try:
                found = await self._fetch(names)
            except Exception as exc:
                for futures in batch.values():
                    for f in futures:
                        if not f.done():
                            f.set_exception(exc)
                continue
            for name, futures in batch.items():
                for f in futures:
                    if not f.done():
                        f.set_result(found.get(name))


class CredentialLookup(BatchedLookup):
    """Stored and pending secret hashes for handshakes, one read per BatchedLookup.WINDOW_S of arrivals."""

    def __init__(self, read: Callable[..., Awaitable[Any]]) -> None:
        async def fetch(names: list[str]) -> dict[str, Any]:
            return await read(credentials_many, names)  # read = node.read_db
        super().__init__(fetch, name="ocpp-credentials")
