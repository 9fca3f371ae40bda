"""Development mail catcher: an SMTP server that prints every e-mail and keeps a copy.

    python scripts/dev_smtp.py [--host 127.0.0.1] [--port 8025] [--dir instance/mail]

Host and port default to SMTP_URL (smtp://127.0.0.1:8025). Nothing is delivered anywhere: each
mail is printed (headers and the text/plain part, so reset links can be clicked in the terminal)
and saved as an .eml file. `make run` starts it through the Procfile (honcho). Stops on Ctrl-C/SIGTERM.
"""
from __future__ import annotations

import argparse
import email
import logging
import os
import signal
import sys
import threading
import time
from email import policy
from pathlib import Path
from urllib.parse import urlsplit

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("dev_smtp")


class PrintAndSave:
    """aiosmtpd handler: print the mail, save it as .eml, accept it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw, policy=policy.default)
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{self.count:04d}.eml"
        path.write_bytes(raw)
        body = msg.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else "(no text/plain part)"
        print(f"\n=== mail #{self.count} to {', '.join(envelope.rcpt_tos)} ({path}) ===\n"
              f"From: {msg['From']}\nSubject: {msg['Subject']}\nLanguage: {msg['Content-Language']}\n"
              f"Parts: {', '.join(p.get_content_type() for p in msg.walk() if not p.is_multipart())}\n\n"
              f"{text.rstrip()}\n=== end of mail #{self.count} ===", flush=True)
        return "250 Message accepted (development mail catcher: not delivered)"


def main(argv: list[str] | None = None) -> int:
    target = urlsplit(os.environ.get("SMTP_URL") or "smtp://127.0.0.1:8025")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=target.hostname or "127.0.0.1")
    parser.add_argument("--port", type=int, default=target.port or 8025)
    parser.add_argument("--dir", type=Path, default=ROOT / "instance" / "mail")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command at INFO

    controller = Controller(PrintAndSave(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"development mail catcher on smtp://{args.host}:{args.port}; copies in {args.dir}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
