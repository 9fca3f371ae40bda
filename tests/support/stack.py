"""Start real processes of the stack for integration and browser tests.

Every process runs with ``sys.executable`` from the repository root, on an
ephemeral port, with the environment you pass (DATABASE_URL, REDIS_URL, ...)
merged over ``os.environ``. Output goes to a log file; ``Proc.output()`` reads
it and ``Proc.dump()`` prints it (the helpers print it themselves when a
process fails to come up). ``stop()`` sends SIGTERM and then SIGKILL.

    from tests.support.stack import free_port, start_ocpp_node, start_worker, start_simulator, start_web

    ocpp = start_ocpp_node(env, "node-a")            # ocpp.port, ocpp.url == ws://127.0.0.1:PORT/ocpp
    sim = start_simulator(env, ocpp.url, "CP-1", "secret", connectors=2)
    web, base_url = start_web(env)
    ...
    for p in (sim, ocpp, web): p.stop()

Or use ``Stack`` (a context manager that stops everything it started, and
prints the logs of all processes when the block raises).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[2]
LOG_DIR = Path(os.environ.get("STACK_LOG_DIR") or tempfile.mkdtemp(prefix="stack-logs-"))

__all__ = [
    "ROOT", "Proc", "Stack", "StackError", "free_port", "wait_for_port",
    "start_process", "start_ocpp_node", "start_worker", "start_simulator", "start_web",
]


class StackError(RuntimeError):
    """A process did not come up (its log is in the message)."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


# A port from free_port() is only free until someone binds it: another test process on this shared
# machine can take it before our child does. The child then fails to bind (and says so in its log) while
# the port answers, for someone else. So a start waits until the port is ours, and starts again on a
# new port when the child reports the port taken.
PORT_TAKEN = ("Address already in use", "address already in use", "Errno 98", "EADDRINUSE", "Connection in use")
PORT_ATTEMPTS = 4


def _listening_inodes(port: int) -> set[str] | None:
    """Socket inodes listening on TCP ``port`` (Linux /proc); None when /proc cannot tell."""
    found: set[str] = set()
    readable = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        readable = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                found.add(fields[9])
    return found if readable else None


def _family(pid: int) -> set[int]:
    """``pid`` and its descendants (a supervisor's worker may hold the listening socket)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    family, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in family:
            family.add(p)
            todo.extend(children.get(p, []))
    return family


def owns_port(pid: int, port: int) -> bool:
    """True when ``pid`` (or a child of it) listens on ``port``; True as well when /proc cannot tell."""
    listening = _listening_inodes(port)
    if listening is None:
        return True
    for p in _family(pid):
        try:
            fds = os.listdir(f"/proc/{p}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{p}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in listening:
                return True
    return False


def port_taken(error: BaseException) -> bool:
    """Did a start fail because its port was taken between free_port() and the child's bind?"""
    return any(marker in str(error) for marker in PORT_TAKEN)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class Proc:
    """A started child process with its log file."""

    def __init__(self, name: str, popen: subprocess.Popen, log_path: Path, *,
                 port: int | None = None, url: str | None = None):
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self.port = port
        self.url = url

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def dump(self, file=None) -> None:
        out = self.output()
        print(f"\n----- {self.name} (pid {self.pid}, exit {self.returncode}) log {self.log_path} -----\n"
              f"{out}{'' if out.endswith(chr(10)) or not out else chr(10)}"
              f"----- end of {self.name} -----", file=file or sys.stderr, flush=True)

    def _signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            if self.alive():
                try:
                    self.popen.send_signal(sig)
                except ProcessLookupError:
                    pass

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM to the process, wait up to ``timeout`` s, then SIGKILL to its whole process
        group (also when it stopped, so no grandchild survives). Returns the exit code.

        SIGTERM goes to the process only, not the group: gunicorn and RQ's worker pool stop
        their own children, and a group-wide SIGTERM makes RQ's pool hang."""
        if self.alive():
            try:
                self.popen.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.popen.returncode

    def kill(self) -> int | None:
        """SIGKILL to the whole process group at once (simulates a crash)."""
        self._signal_group(signal.SIGKILL)
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass
        return self.popen.returncode

    def __repr__(self) -> str:
        return f"<Proc {self.name} pid={self.pid} port={self.port} alive={self.alive()}>"


def _merged_env(env: Mapping[str, str] | None) -> dict[str, str]:
    merged = dict(os.environ)
    merged.update({k: str(v) for k, v in (env or {}).items()})
    merged["PYTHONUNBUFFERED"] = "1"
    # make `import portal`, `worker`, `ocpp_server` work from any cwd
    merged["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), merged.get("PYTHONPATH", "")]))
    return merged


def start_process(name: str, args: Sequence[str], env: Mapping[str, str] | None = None, *,
                  port: int | None = None, url: str | None = None) -> Proc:
    """Start ``sys.executable *args`` in its own process group, output to a log file."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    log_path = LOG_DIR / f"{safe}-{time.time_ns()}.log"
    log = open(log_path, "wb")
    try:
        popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=_merged_env(env),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()  # the child holds its own descriptor
    return Proc(name, popen, log_path, port=port, url=url)


def wait_for_port(proc: Proc, host: str, port: int, timeout: float = 20.0) -> None:
    """Wait until ``host:port`` accepts TCP connections; raise StackError (with the log) if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port) and owns_port(proc.pid, port):  # open, and by this process
            return
        if not proc.alive():
            _fail(proc, f"{proc.name} exited with code {proc.returncode} before {host}:{port} accepted connections")
        time.sleep(0.05)
    _fail(proc, f"{proc.name} did not accept connections on {host}:{port} within {timeout:.0f}s")


def _fail(proc: Proc, message: str):
    proc.stop(timeout=3)
    error = StackError(f"{message}\n--- log {proc.log_path} ---\n{proc.output()[-8000:]}")
    if not port_taken(error):  # a taken port is retried on another one (the caller says so if it gives up)
        proc.dump()
    raise error


def _on_a_free_port(start, host: str, port: int | None):
    """``start(port)`` on ``port``, or when none is given on a free one, again on another if it was taken."""
    if port is not None:
        return start(port)
    for attempt in range(1, PORT_ATTEMPTS + 1):
        try:
            return start(free_port(host))
        except StackError as exc:
            if not port_taken(exc) or attempt == PORT_ATTEMPTS:
                raise
            print(f"[stack] port taken by another process; starting again on another ({attempt})",
                  file=sys.stderr, flush=True)


def start_ocpp_node(env: Mapping[str, str] | None, node_id: str, *, host: str = "127.0.0.1",
                    port: int | None = None, timeout: float = 20.0) -> Proc:
    """``python -m ocpp_server`` with OCPP_HOST/OCPP_PORT/OCPP_NODE_ID set; waits until the port accepts.

    The returned Proc has ``.port`` and ``.url`` (``ws://HOST:PORT/ocpp``; a charger connects to
    ``url + "/" + identity``)."""
    def start(port: int) -> Proc:
        e = dict(env or {}, OCPP_HOST=host, OCPP_PORT=str(port), OCPP_NODE_ID=node_id)
        proc = start_process(f"ocpp-{node_id}", ["-m", "ocpp_server"], e,
                             port=port, url=f"ws://{host}:{port}/ocpp")
        wait_for_port(proc, host, port, timeout)
        return proc

    return _on_a_free_port(start, host, port)


def start_worker(env: Mapping[str, str] | None, *, name: str = "worker", args: Iterable[str] = ()) -> Proc:
    """``python -m worker`` (RQ worker). Returns at once: it has no port to wait for."""
    proc = start_process(name, ["-m", "worker", *args], env)
    time.sleep(0.2)
    if not proc.alive():
        _fail(proc, f"{name} exited at once with code {proc.returncode}")
    return proc


def start_simulator(env: Mapping[str, str] | None, url: str, identity: str, password: str,
                    connectors: int = 1, extra_args: Iterable[str] = ()) -> Proc:
    """``python -m ocpp_server.simulator --url URL --id IDENTITY --password P --connectors N``.

    ``url`` is the OCPP base URL (``ws://127.0.0.1:PORT/ocpp``, e.g. ``node.url``). Returns at once;
    wait for its BootNotification in the database or for a line in ``proc.output()``."""
    args = ["-m", "ocpp_server.simulator", "--url", url, "--id", identity,
            "--password", password, "--connectors", str(connectors), *extra_args]
    return start_process(f"sim-{identity}", args, env)


def start_web(env: Mapping[str, str] | None, *, host: str = "127.0.0.1", port: int | None = None,
              server: str | None = None, timeout: float = 30.0) -> tuple[Proc, str]:
    """Start the web app on a free port; returns ``(proc, base_url)`` once /healthz answers.

    ``server`` is "gunicorn" (default: like production, 1 worker, 4 threads) or "flask"
    (``flask run``, single process); $STACK_WEB_SERVER chooses the default.
    PORTAL_BASE_URL is set to the base URL unless ``env`` sets it.
    Any HTTP answer from /healthz counts as up (503 means the app runs but a dependency is down)."""
    server = server or os.environ.get("STACK_WEB_SERVER", "gunicorn")
    return _on_a_free_port(lambda p: _start_web_on(env, host, p, server, timeout), host, port)


def _start_web_on(env: Mapping[str, str] | None, host: str, port: int, server: str,
                  timeout: float) -> tuple[Proc, str]:
    base_url = f"http://{host}:{port}"
    e = dict(env or {})
    e.setdefault("PORTAL_BASE_URL", base_url)
    e.setdefault("SECRET_KEY", "stack-test-secret-not-for-production")  # the app refuses to start without one
    if server == "flask":
        args = ["-m", "flask", "--app", "portal", "run", "--host", host, "--port", str(port), "--no-reload"]
    else:
        args = ["-m", "gunicorn", "portal:create_app()", "--bind", f"{host}:{port}",
                "--workers", "1", "--threads", "4", "--graceful-timeout", "3",
                "--access-logfile", "-", "--no-control-socket"]
    proc = start_process(f"web-{port}", args, e, port=port, url=base_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            _fail(proc, f"web exited with code {proc.returncode} before it answered on {base_url}")
        if "Connection in use" in proc.output():  # gunicorn would retry the bind for 5 s; another port is quicker
            _fail(proc, f"web: {host}:{port} was taken (Connection in use)")
        if port_open(host, port) and owns_port(proc.pid, port):
            try:
                with urllib.request.urlopen(f"{base_url}/healthz", timeout=5):
                    return proc, base_url
            except urllib.error.HTTPError:
                return proc, base_url  # the app answers (e.g. 503 or a 404 before /healthz exists)
            except (urllib.error.URLError, OSError):
                pass
        time.sleep(0.1)
    _fail(proc, f"web did not answer on {base_url}/healthz within {timeout:.0f}s")


class Stack:
    """Context manager that tracks started processes, stops them all at exit, and prints
    every log when the block raises.

        with Stack(env) as stack:
            node = stack.ocpp_node("a")
            sim = stack.simulator(node.url, "CP-1", "secret")
            web, base = stack.web()
    """

    def __init__(self, env: Mapping[str, str] | None = None):
        self.env = dict(env or {})
        self.procs: list[Proc] = []

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def ocpp_node(self, node_id: str, **kw) -> Proc:
        return self.add(start_ocpp_node(self.env, node_id, **kw))

    def worker(self, **kw) -> Proc:
        return self.add(start_worker(self.env, **kw))

    def simulator(self, url: str, identity: str, password: str, connectors: int = 1,
                  extra_args: Iterable[str] = ()) -> Proc:
        return self.add(start_simulator(self.env, url, identity, password, connectors, extra_args))

    def web(self, **kw) -> tuple[Proc, str]:
        proc, base = start_web(self.env, **kw)
        self.add(proc)
        return proc, base

    def dump(self) -> None:
        for p in self.procs:
            p.dump()

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.stop()

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.dump()
        self.stop()


def wait_for_db(db, fn, timeout: float = 30.0, describe=None):
    """Poll fn(session) with a fresh session until it returns something truthy (other processes write).

    On time-out the message includes describe(session), to show what the database held instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session() as s:
            value = fn(s)
        if value:
            return value
        time.sleep(0.1)
    detail = ""
    if describe is not None:
        with db.session() as s:
            detail = f"; found: {describe(s)}"
    raise AssertionError(f"condition not reached in {timeout}s{detail}")
