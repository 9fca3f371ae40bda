"""Where the `ocpp` and `websockets` packages lack a public hook we need: the workaround, in one place.

Everything else in the node uses their public surface only (the ChargePoint constructor, `route_message`,
`call`, `@on(action, skip_schema_validation=...)`/`@after`; `serve`, `process_request`, the connection's
`request`, `send`, `recv`, `ping`, `close`). tests/unit/test_private_access.py keeps it that way.

The missing hooks (docs/upstream-proposals.md proposes them upstream):
- ocpp has no hook on the frames a ChargePoint sends (its CALLRESULTs, CALLERRORs and CALLs all go
  through a private `_send`): the node logs every outgoing frame, so the connection handed to the
  constructor is wrapped (LoggedConnection) and sees them. It relies on the library sending and
  receiving only through `connection.send()` / `connection.recv()`, which the pinned version does.
- ocpp has no hook to check a CALL before its handler (our 1.6 CALLERROR codes, the integer ranges the
  database can hold, relaxed validation per charger), nor to route a frame already parsed: the node
  overrides the public `route_message`, checks the frame, and hands the text to the library's own
  `route_message` (which parses it a second time).

check_versions() runs at node start-up: a version other than the pinned one (requirements.txt) stops the
node with a message saying what to re-check, instead of failing quietly in production.
"""
from __future__ import annotations

from importlib.metadata import version
from typing import Any, Callable

# The versions this module was checked against (requirements.txt pins the same).
PINNED = {"ocpp": "2.1.0", "websockets": "17.4"}


class LibraryVersionMismatch(RuntimeError):
    """An installed ocpp/websockets version this adapter was not checked against."""


def check_versions(installed: Callable[[str], str] = version) -> None:
    """Refuse to start with a library version the workarounds below were not checked against."""
    wrong = {name: installed(name) for name in PINNED if installed(name) != PINNED[name]}
    if wrong:
        found = ", ".join(f"{name} {got} (checked: {PINNED[name]})" for name, got in wrong.items())
        raise LibraryVersionMismatch(
            f"{found}: re-check ocpp_server/ocpp_adapter.py against the new version, then update PINNED")


class LoggedConnection:
    """The socket as the ChargePoint constructor gets it: every frame sent is reported first."""

    __slots__ = ("socket", "on_send")

    def __init__(self, socket: Any, on_send: Callable[[str], None]) -> None:
        self.socket = socket
        self.on_send = on_send

    async def send(self, message: str) -> None:
        self.on_send(message)
        await self.socket.send(message)

    async def recv(self) -> str | bytes:
        return await self.socket.recv()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        await self.socket.close(code, reason)
