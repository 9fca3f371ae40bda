"""Wait until HOST:PORT accepts TCP connections, at most --timeout seconds; exit 0 either way.

    python scripts/wait_for_port.py 127.0.0.1 9000 --timeout 20

Used by the Procfile: the web starts once the OCPP node listens (or after the timeout, so a broken
node never hides the portal).
"""
from __future__ import annotations

import argparse
import socket
import sys
import time


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="wait_for_port.py")
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args(argv)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if port_open(args.host, args.port):
            return 0
        time.sleep(0.3)
    print(f"{args.host}:{args.port} does not answer after {args.timeout:.0f} s; starting anyway", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
