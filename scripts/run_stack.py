"""A small supervisor for `make run`: the whole stack in one terminal.

Starts
  web        gunicorn 'portal:create_app()' on 127.0.0.1:5000 (2 workers, threads)
  worker     python -m worker
  ocpp       python -m ocpp_server (OCPP_HOST=127.0.0.1, OCPP_PORT=9000): one node process per core
             sharing the port (SO_REUSEPORT), node ids node-1-1, node-1-2, ... (OCPP_PROCESSES=1 for one)
  sim-<ID>   python -m ocpp_server.simulator ... for each demo charger, once the
             OCPP port accepts connections

Each line of output is prefixed with the process name. A child that exits is
logged and started again after a back-off (longer each time it dies quickly).
Ctrl-C / SIGTERM stops every child (SIGTERM, then SIGKILL after a grace period).

Environment (all optional): WEB_HOST, WEB_PORT (PORTAL_BASE_URL defaults to them), WEB_WORKERS, WEB_THREADS,
OCPP_HOST, OCPP_PORT, DEMO_CHARGER_PASSWORD, RUN_SIMULATORS=0 to start no simulators,
RUN_DEV_SMTP=0 to start no development mail catcher (it only starts when SMTP_URL points at this machine).
Everything else (DATABASE_URL, REDIS_URL, ...) is passed through to the children.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

WEB_HOST = os.environ.get("WEB_HOST", "127.0.0.1")
WEB_PORT = int(os.environ.get("WEB_PORT", "5000"))
os.environ.setdefault("PORTAL_BASE_URL", f"http://{WEB_HOST}:{WEB_PORT}")
OCPP_HOST = os.environ.setdefault("OCPP_HOST", "127.0.0.1")
OCPP_PORT = int(os.environ.setdefault("OCPP_PORT", "9000"))
CHARGER_PASSWORD = os.environ.get("DEMO_CHARGER_PASSWORD", "Solbakken-Demo-Lader-2025")
DEMO_CHARGERS = [("CP-DEMO-1", 2), ("CP-DEMO-2", 1), ("CP-NORDLYS-1", 1), ("CP-DEMO-HOME", 1)]

_print_lock = threading.Lock()
_COLORS = ["36", "33", "35", "32", "34", "31", "96", "93"]
_use_color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def emit(name: str, line: str, color: str = "0") -> None:
    prefix = f"{name:<16}|"
    if _use_color:
        prefix = f"\033[{color}m{prefix}\033[0m"
    with _print_lock:
        sys.stdout.write(f"{prefix} {line}\n")
        sys.stdout.flush()


def say(line: str) -> None:
    emit("run_stack", line, "1")


OCPP_WAIT_S = 20.0  # the web starts anyway after this long, so a broken OCPP node never hides the portal


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass
class Child:
    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    color: str = "0"
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    next_start: float = 0.0  # monotonic time; 0 = start as soon as allowed
    wait_for_ocpp: bool = False  # a simulator: starts once the OCPP port accepts, stops first
    after_ocpp: bool = False  # starts once the OCPP port accepts (or OCPP_WAIT_S passed), so a web that
    #                           answers /healthz means the whole stack is up

    def start(self) -> None:
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        self.proc = subprocess.Popen(
            self.cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches only us; we stop children in order
        )
        self.started_at = time.monotonic()
        emit(self.name, f"started (pid {self.proc.pid}): {' '.join(self.cmd)}", self.color)
        threading.Thread(target=self._pump, args=(self.proc,), daemon=True).start()

    def _pump(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            emit(self.name, raw.decode("utf-8", "replace").rstrip("\n"), self.color)
        proc.stdout.close()

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: int) -> None:
        """SIGTERM goes to the child itself (it stops its own children: gunicorn workers, the
        RQ worker pool; a SIGTERM to the whole group makes RQ's pool hang); SIGKILL goes to
        the whole process group so nothing is left behind."""
        if self.proc is None:
            return
        try:
            if sig == signal.SIGKILL:
                os.killpg(self.proc.pid, sig)
            elif self.running():
                os.kill(self.proc.pid, sig)
        except ProcessLookupError:
            pass


def build_children() -> list[Child]:
    web_cmd = [
        PY, "-m", "gunicorn", "portal:create_app()",
        "--bind", f"{WEB_HOST}:{WEB_PORT}",
        "--workers", os.environ.get("WEB_WORKERS", "2"),
        "--threads", os.environ.get("WEB_THREADS", "4"),
        "--access-logfile", "-", "--graceful-timeout", "5", "--no-control-socket",
    ]
    children = [
        Child("web", web_cmd, after_ocpp=True),
        Child("worker", [PY, "-m", "worker"]),
        Child("ocpp", [PY, "-m", "ocpp_server"],
              env={"OCPP_HOST": OCPP_HOST, "OCPP_PORT": str(OCPP_PORT)}),
    ]
    smtp = urlsplit(os.environ.get("SMTP_URL") or "smtp://127.0.0.1:8025")
    if (os.environ.get("RUN_DEV_SMTP", "1") != "0" and smtp.scheme == "smtp"
            and smtp.hostname in ("127.0.0.1", "localhost")):
        children.append(Child("mail", [PY, "scripts/dev_smtp.py"]))  # prints every e-mail the portal sends
    if os.environ.get("RUN_SIMULATORS", "1") != "0":
        url = f"ws://{OCPP_HOST}:{OCPP_PORT}/ocpp"
        for identity, connectors in DEMO_CHARGERS:
            children.append(Child(
                f"sim-{identity}",
                [PY, "-m", "ocpp_server.simulator", "--url", url, "--id", identity,
                 "--password", CHARGER_PASSWORD, "--connectors", str(connectors)],
                wait_for_ocpp=True,
            ))
    for i, c in enumerate(children):
        c.color = _COLORS[i % len(_COLORS)]
    return children


def main() -> int:
    children = build_children()
    stopping = threading.Event()

    def on_signal(signum, _frame):
        if not stopping.is_set():
            say(f"received {signal.Signals(signum).name}, stopping everything ...")
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    say(f"web   http://{WEB_HOST}:{WEB_PORT}/   (log in as resident@demo.test / demo-password)")
    say(f"OCPP  ws://{OCPP_HOST}:{OCPP_PORT}/ocpp/<identity>   Ctrl-C stops everything")

    ocpp_ready = False
    began = time.monotonic()
    while not stopping.is_set():
        now = time.monotonic()
        if not ocpp_ready and port_open(OCPP_HOST, OCPP_PORT):
            ocpp_ready = True
            say(f"OCPP server accepts connections on {OCPP_HOST}:{OCPP_PORT}; starting simulators")
        for c in children:
            if c.proc is not None and not c.running() and c.next_start == 0.0:
                rc = c.proc.returncode
                ran = now - c.started_at
                c.restarts += 1
                # back-off: 1 s, 2 s, 4 s ... up to 30 s; reset after a minute of good running
                if ran > 60:
                    c.restarts = 1
                delay = min(30.0, 2 ** (c.restarts - 1))
                c.next_start = now + delay
                emit(c.name, f"EXITED with code {rc} after {ran:.1f}s; restarting in {delay:.0f}s", c.color)
                if c.name == "ocpp":
                    ocpp_ready = False
            if not c.running() and now >= c.next_start:
                if c.wait_for_ocpp and not ocpp_ready:
                    continue
                if c.after_ocpp and not ocpp_ready and now - began < OCPP_WAIT_S:
                    continue
                c.next_start = 0.0
                try:
                    c.start()
                except OSError as exc:
                    emit(c.name, f"could not start: {exc}", c.color)
                    c.next_start = now + 5
        stopping.wait(0.3)

    # Orderly stop: simulators first, then web/worker/mail, then the OCPP node last (its shutdown
    # writes "offline" and the last-seen times, which must not queue behind a busy worker's writes).
    sims = [c for c in children if c.wait_for_ocpp]
    nodes = [c for c in children if c.name == "ocpp"]
    core = [c for c in children if c not in sims and c not in nodes]
    for group in (sims, core, nodes):
        for c in group:
            c.signal(signal.SIGTERM)
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and any(c.running() for c in group):
            time.sleep(0.1)
        for c in group:
            if c.running():
                emit(c.name, "did not stop after SIGTERM; sending SIGKILL", c.color)
            c.signal(signal.SIGKILL)  # also reaps any grandchildren left in its group
            if c.proc is not None:
                c.proc.wait(5)
    time.sleep(0.2)  # let output pumps flush
    say("all processes stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
