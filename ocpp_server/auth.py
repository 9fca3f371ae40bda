"""Charger password checks that survive a reconnect storm.

After a node restart every charger reconnects within seconds. Two things keep the handshake short:

* A verified secret is remembered for the life of the process, as a keyed hash (HMAC-SHA256 under a
  random key made at start-up, over the identity, the stored hash and the password), never in clear.
  A reconnect with the same password costs one HMAC instead of a scrypt/argon2 verification; a changed
  secret (new stored hash) or a different password misses the cache and is verified properly.
* The stored hashes are looked up in batches (CredentialLookup): handshakes arriving within a few
  milliseconds share one query and one worker-thread hop.
* At most AUTH_CONCURRENCY verifications run at once (in worker threads), so a storm of expensive
  checks queues instead of starving the event loop and the database writer of threads.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
from typing import Any, Awaitable, Callable

from portal.services import ocpp_ingest
from portal.services.secrets import verify_secret

AUTH_CONCURRENCY = int(os.environ.get("OCPP_AUTH_CONCURRENCY") or 2)
CACHE_MAX = 200_000  # entries (about 200 bytes each); cleared when full


class VerifiedSecrets:
    def __init__(self, concurrency: int = AUTH_CONCURRENCY) -> None:
        self._key = os.urandom(32)
        self._known: dict[str, bytes] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self.verifications = 0  # slow checks done (for tests and benchmarks)

    def _mac(self, identity: str, stored_hash: str, password: str) -> bytes:
        message = "\x00".join((identity, stored_hash, password)).encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    async def check(self, identity: str, stored_hash: str, password: str) -> bool:
        mac = self._mac(identity, stored_hash, password)
        known = self._known.get(identity)
        if known is not None and hmac.compare_digest(known, mac):
            return True
        async with self._slots:
            self.verifications += 1
            valid = await asyncio.to_thread(verify_secret, stored_hash, password)
        if valid:
            if len(self._known) >= CACHE_MAX:
                self._known.clear()
            self._known[identity] = mac
        else:
            self._known.pop(identity, None)
        return valid


class CredentialLookup:
    """Stored secret hashes for handshakes, fetched together: one query per LOOKUP_WINDOW_S of arrivals."""

    LOOKUP_WINDOW_S = 0.002
    MAX_BATCH = 500

    def __init__(self, read: Callable[..., Awaitable[Any]]) -> None:
        self._read = read  # node.read_db
        self._waiting: dict[str, list[asyncio.Future]] = {}
        self._task: asyncio.Task | None = None

    async def get(self, identity: str) -> str | None:
        future = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(identity, []).append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="ocpp-credentials")
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(self.LOOKUP_WINDOW_S)
        while self._waiting:
            names = list(self._waiting)[: self.MAX_BATCH]
            batch = {name: self._waiting.pop(name) for name in names}
            try:
                found = await self._read(ocpp_ingest.credentials_many, names)
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
