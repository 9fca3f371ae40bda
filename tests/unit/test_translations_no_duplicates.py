"""A message id appears once per catalogue: two engineers appending the same msgid (e.g. "Received") makes
GNU msgfmt refuse the file, and Babel silently keeps only one of the two translations."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_no_message_id_is_defined_twice(language):
    text = (ROOT / "translations" / language / "LC_MESSAGES" / "messages.po").read_text(encoding="utf-8")
    ids = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        match = re.search(r"(?s)^(msgctxt .*?\n)?(msgid .*?)\nmsgstr", "\n".join(lines))
        if match and match.group(2) != 'msgid ""':
            ids.append((match.group(1) or "") + match.group(2))
    twice = [key for key, count in Counter(ids).items() if count > 1]
    assert not twice, f"{language}: defined more than once: {twice[:20]}"
