"""Real backing services for tests: a private redis-server and a fresh database per run."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of our own on a free port, without persistence, removed at the end of the run.

    A free port can be taken by another process before redis-server binds it (the machine is shared):
    the server is only taken as started once the Redis that answers on the port is our process, and it
    starts again on another port when its own log says the port was taken."""

    ATTEMPTS = 4

    def __init__(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(binary).exists():
            raise RuntimeError("redis-server is not installed (apt-get install redis-server; `make test` does it)")
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="test-redis-")
        for attempt in range(self.ATTEMPTS):
            self.port = free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
            self.proc = self._spawn(log=True)
            if self._ours_answers(timeout=10):
                return
            taken = "Address already in use" in self._log()
            self.proc.kill()
            self.proc.wait(5)
            if not taken:
                break
        raise RuntimeError(f"redis-server did not start; its log:\n{self._log()[-2000:]}")

    def _spawn(self, log: bool = False) -> subprocess.Popen:
        extra = ["--logfile", os.path.join(self.dir, "redis.log")] if log else []
        return subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.dir, *extra], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _log(self) -> str:
        try:
            return Path(self.dir, "redis.log").read_text(errors="replace")
        except OSError:
            return ""

    def _ours_answers(self, timeout: float) -> bool:
        """True once the Redis on our port is our process; False when it exits or time runs out."""
        from redis import Redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with Redis.from_url(self.url, socket_timeout=0.5, socket_connect_timeout=0.5) as r:
                    if int(r.info("server")["process_id"]) == self.proc.pid:
                        return True
            except Exception:  # noqa: BLE001 - not up yet, or not a Redis
                pass
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        """Die at once, as a crashed Redis does (fault tests)."""
        self.proc.kill()
        self.proc.wait(5)

    def restart(self) -> None:
        """Start again on the same port, empty; returns once it answers PING."""
        self.proc = self._spawn()
        if not self._ours_answers(timeout=10):
            raise RuntimeError("redis-server did not come back")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def test_database_kind() -> str:
    return os.environ.get("TEST_DATABASE", "sqlite")


def create_test_database() -> tuple[str, callable]:
    """A new, empty database for this run; returns its URL and a function that drops it."""
    if test_database_kind() == "postgresql":
        admin_url = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
        name = f"portal_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = admin_url.rsplit("/", 1)[0] + "/" + name

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            admin.dispose()

        return url, drop
    folder = tempfile.mkdtemp(prefix="test-db-")
    return f"sqlite:///{folder}/portal.db", lambda: shutil.rmtree(folder, ignore_errors=True)
