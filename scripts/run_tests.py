"""Run the whole test suite the way `make test` promises.

1. the suite on SQLite (TEST_DATABASE=sqlite);
2. the suite again on PostgreSQL (TEST_DATABASE=postgresql, TEST_POSTGRES_URL=...)
   when a server answers at $TEST_POSTGRES_URL or 127.0.0.1:5432.
   Without a PostgreSQL the second pass is reported as SKIPPED in the summary (a developer's
   machine without one can still run the rest); TEST_POSTGRES=1, and CI=true, make a missing
   PostgreSQL a failure: CI must never go green on half the matrix.

Under CI=true a skipped test fails the run too (tests/conftest.py turns each skip into a
failure with its reason; the count from the JUnit file is checked here as well, for skips
that happen while collecting). pytest exit code 5 ("no tests collected") is a failure under
CI and a loud warning otherwise. A summary with the counts of every pass is printed last,
with each pass's time and its ten slowest tests (from the JUnit file; pytest --durations=10 also
prints them in its own output), ending in one plain line "total: N passed, N failed, N skipped".

Extra arguments are handed to pytest, e.g. `make test ARGS="tests/unit -x"`.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(os.environ.get("TEST_RESULTS_DIR") or ROOT / "instance" / "test-results")
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def log(msg: str) -> None:
    print(f"[test] {msg}", flush=True)


def postgres_answers(url: str) -> tuple[bool, str]:
    """True when we can connect and run SELECT 1 (not just open the port)."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is pinned
        return False, f"psycopg not importable: {exc}"
    u = urlparse(url)
    scheme = u.scheme.split("+", 1)[0]
    conninfo = u._replace(scheme=scheme).geturl()
    try:
        with psycopg.connect(conninfo, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True, ""
    except Exception as exc:  # noqa: BLE001 - any failure means "does not answer"
        return False, str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def counts_from_junit(path: Path) -> dict[str, int] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    c = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        for k in c:
            c[k] += int(s.get(k, 0) or 0)
    c["passed"] = c["tests"] - c["failures"] - c["errors"] - c["skipped"]
    return c


def slowest_from_junit(path: Path, n: int = 10) -> list[tuple[float, str]]:
    """The ``n`` slowest tests of a pass as (seconds, node id), slowest first.

    JUnit's ``time`` is each test's whole duration (set-up, call and tear-down: junit_duration_report
    defaults to "total"), the figure that makes a pass slow."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return []
    timed = []
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}".lstrip(":")
        timed.append((float(case.get("time", 0) or 0), name))
    return sorted(timed, key=lambda t: t[0], reverse=True)[:n]


def run_pass(name: str, env_extra: dict[str, str], pytest_args: list[str]) -> dict:
    RESULTS.mkdir(parents=True, exist_ok=True)
    junit = RESULTS / f"junit-{name}.xml"
    junit.unlink(missing_ok=True)
    env = dict(os.environ, **env_extra)
    # -rfEs: list failures, errors and every skip with its reason (nothing is skipped silently)
    # --durations=10: pytest prints the ten slowest phases at the end of its own output as well
    cmd = [sys.executable, "-m", "pytest", "-rfEs", f"--junitxml={junit}", "-o", "junit_family=xunit2",
           "--durations=10"]
    if not any(a.startswith("--timeout") for a in pytest_args):
        cmd.append(f"--timeout={os.environ.get('PYTEST_TIMEOUT', '300')}")
    cmd += pytest_args or ["tests"]
    log(f"=== {name}: {' '.join(f'{k}={v}' for k, v in env_extra.items())} {' '.join(cmd[1:])}")
    t0 = time.monotonic()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    return {"name": name, "rc": rc, "counts": counts_from_junit(junit), "secs": time.monotonic() - t0,
            "slowest": slowest_from_junit(junit)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=["sqlite", "postgresql"])
    args, pytest_args = ap.parse_known_args()
    if not (ROOT / "tests").is_dir():
        log("ERROR: no tests/ directory")
        return 1

    results: list[dict] = []
    notes: list[str] = []
    failed = False

    if args.only in (None, "sqlite"):
        results.append(run_pass("sqlite", {"TEST_DATABASE": "sqlite"}, pytest_args))

    if args.only in (None, "postgresql"):
        pg_url = os.environ.get("TEST_POSTGRES_URL") or DEFAULT_PG_URL
        if os.environ.get("TEST_POSTGRES", "") == "0" and not CI:
            notes.append("postgresql: NOT RUN (TEST_POSTGRES=0 was set)")
        else:
            ok, why = postgres_answers(pg_url)
            if ok:
                results.append(run_pass(
                    "postgresql",
                    {"TEST_DATABASE": "postgresql", "TEST_POSTGRES_URL": pg_url},
                    pytest_args,
                ))
            elif CI or os.environ.get("TEST_POSTGRES", "") == "1" or args.only == "postgresql":
                notes.append(f"postgresql: FAILED - no PostgreSQL answers at {pg_url} ({why}); "
                             "the PostgreSQL pass was asked for (CI=true, TEST_POSTGRES=1 or --only postgresql)")
                failed = True
            else:
                notes.append(f"postgresql: SKIPPED - no PostgreSQL answers at {pg_url} ({why}); "
                             "start one or set TEST_POSTGRES_URL to run the suite on PostgreSQL too")

    total = {"passed": 0, "failures": 0, "errors": 0, "skipped": 0}
    print()
    log("================ summary ================")
    for r in results:
        c = r["counts"]
        rc = r["rc"]
        if rc == 0:
            status = "ok"
        elif rc == 5:
            status = "NO TESTS COLLECTED"
            if CI:
                failed = True
            else:
                notes.append(f"{r['name']}: pytest collected no tests (exit 5) - treated as failure under CI")
        else:
            status = f"FAILED (pytest exit {rc})"
            failed = True
        if CI and c and c["skipped"]:
            notes.append(f"{r['name']}: {c['skipped']} test(s) skipped - a skip fails the run under CI=true")
            failed = True
        if c is None and rc != 5:
            notes.append(f"{r['name']}: no JUnit results were written - the pass cannot be counted")
            failed = True
        detail = ""
        if c:
            for k in total:
                total[k] += c[k]
            detail = (f"{c['passed']} passed, {c['failures']} failed, {c['errors']} errors, "
                      f"{c['skipped']} skipped")
        log(f"{r['name']:<11} {status:<22} {detail}  ({r['secs']:.0f}s)")
    for r in results:
        log(f"{r['name']}: the pass took {r['secs']:.1f}s; its ten slowest tests:")
        for secs, test in r["slowest"]:
            log(f"  {secs:7.2f}s  {test}")
    for n in notes:
        log(n)
    if not results:
        failed = True
    log("result: " + ("FAILED" if failed else "PASSED"))
    # one plain closing line with the totals over all passes
    print(f"total: {total['passed']} passed, {total['failures'] + total['errors']} failed, "
          f"{total['skipped']} skipped", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
