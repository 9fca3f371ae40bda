"""Charger password checks that survive a reconnect storm.

After a node restart every charger reconnects within seconds. Two things keep the handshake short:

* A verified secret is remembered for the life of the process, as a keyed hash (HMAC-SHA256 under a
  random key made at start-up, over the identity, the stored hash and the password), never in clear.
  A reconnect with the same password costs one HMAC instead of a scrypt/argon2 verification; a changed
  secret (new stored hash) or a different password misses the cache and is verified properly.
* At most AUTH_CONCURRENCY verifications run at once (in worker threads), so a storm of expensive
  checks queues instead of starving the event loop and the database writer of threads.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import os

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
