"""Password rules for every new password (registration, reset, change, `flask users create`).

ASVS 2.1: at least 12 characters, any characters allowed, at most 128; no composition rules; refused when
it is a common or breached pattern: a well-known base word (common_passwords.txt, shipped here, no
network call) with digits or punctuation around it, one short run repeated, a keyboard row or a counting
sequence, or the account's own e-mail name or the service's name.
"""
from __future__ import annotations

import functools
import re
import string
from pathlib import Path

PASSWORD_MIN, PASSWORD_MAX = 12, 128
WORDS_FILE = Path(__file__).with_name("common_passwords.txt")
SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyzæøå", "0123456789012345678901234567890", "qwertyuiopåasdfghjkløæzxcvbnm", "qwertyuiopasdfghjklzxcvbnm",
    "qwertzuiopasdfghjklyxcvbnm", "azertyuiopqsdfghjklmwxcvbn", "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
)
EDGE = string.digits + string.punctuation + " "
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


@functools.cache
def common_words() -> frozenset[str]:
    lines = WORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _repeats_a_short_run(text: str) -> bool:
    return bool(re.fullmatch(r"(.{1,4})\1+.?", text))


def _is_sequence(text: str) -> bool:
    if len(text) < 6:
        return False
    for seq in SEQUENCES:
        if text in seq or text in seq[::-1] or text in seq * 2:
            return True
    return False


def _core(password: str) -> str:
    return password.lower().strip(EDGE)


def is_weak(password: str, *, email: str = "", extra_words: tuple[str, ...] = ()) -> bool:
    """True for a password from a common or breached pattern (see the module docstring)."""
    lowered = password.lower()
    core = _core(password)
    candidates = {core, core.translate(LEET), _core(lowered.translate(LEET))}
    words = common_words() | {w.lower() for w in extra_words if len(w) >= 4}
    name = email.split("@")[0].lower()
    if len(name) >= 4:
        words = words | {name}
    for candidate in candidates:
        if len(candidate) < 4 or candidate in words:
            return True
        if _repeats_a_short_run(candidate) or _is_sequence(candidate):
            return True
        if any(re.fullmatch(rf"(?:{re.escape(w)}[\W\d_]*)+", candidate) for w in words if candidate.startswith(w)):
            return True  # one common word repeated, digits or punctuation between ("summer2024summer")
    if len(set(lowered)) < 5 or _is_sequence(lowered) or _repeats_a_short_run(lowered):
        return True
    if email and email.lower() in lowered:
        return True
    return len(name) >= 4 and name in lowered and len(lowered) - len(name) < 6


def password_problem(password: str, *, email: str = "") -> str | None:
    """None when the password may be used, else a code: "length" or "common"."""
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return "length"
    if is_weak(password, email=email):
        return "common"
    return None
