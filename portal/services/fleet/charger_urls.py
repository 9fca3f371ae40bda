"""Signed, expiring URLs for chargers, which have no log-in and no cookie.

The signature (HMAC over the kind, the row id and the expiry, with the portal's secret key) proves the
portal made the URL for that row; the expiry ends it; what the row allows (one firmware file to read,
one diagnostics file to write, once) is checked against the database on use. Like the portal's other
links, a URL that is not ours answers 404 and an expired one 410. The web signs and checks
with its app's SECRET_KEY and PORTAL_BASE_URL, a worker with the same settings (`ChargerLinks.from_settings`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from portal import settings

SALT = "charger-files"
KINDS = ("firmware", "diagnostics")


@dataclass(frozen=True)
class SignedTarget:
    kind: str
    row_id: int
    expires: int  # epoch seconds


@dataclass(frozen=True)
class ChargerLinks:
    secret: str
    base_url: str

    @classmethod
    def from_settings(cls) -> "ChargerLinks":
        return cls(settings.get("secret_key"), settings.get("portal_base_url"))

    @classmethod
    def from_app(cls, app) -> "ChargerLinks":
        return cls(app.config["SECRET_KEY"], app.config["PORTAL_BASE_URL"])

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt=SALT)

    def token(self, kind: str, row_id: int, expires: float) -> str:
        if kind not in KINDS:
            raise ValueError(kind)
        return self._serializer().dumps([kind, int(row_id), int(expires)])

    def read(self, token: str, kind: str, now: float | None = None) -> SignedTarget | None:
        """The target of a genuine token of this kind (check `expired`), else None."""
        try:
            data = self._serializer().loads(token)
        except BadSignature:
            return None
        if not (isinstance(data, list) and len(data) == 3 and data[0] == kind):
            return None
        return SignedTarget(kind, int(data[1]), int(data[2]))

    @staticmethod
    def expired(target: SignedTarget, now: float | None = None) -> bool:
        return target.expires < (time.time() if now is None else now)

    def url(self, kind: str, row_id: int, expires: float, filename: str = "") -> str:
        """The absolute URL a charger is given (PORTAL_BASE_URL + /charger-files/...)."""
        tail = f"/{quote(filename)}" if filename else ""
        return f"{self.base_url.rstrip('/')}/charger-files/{kind}/{self.token(kind, row_id, expires)}{tail}"
