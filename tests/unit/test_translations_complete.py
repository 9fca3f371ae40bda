"""Every message has a Norwegian and a Swedish translation, and the catalogues cover the code.

translations/ is created by scripts/i18n.sh and filled in by the translation pass; until it
exists these tests are skipped.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "translations"
LANGUAGES = ("nb", "sv")

pytestmark = pytest.mark.skipif(
    not TRANSLATIONS.is_dir(),
    reason="translations/ does not exist yet: run scripts/i18n.sh, then translate nb and sv",
)


def _catalog(language: str):
    path = TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"
    assert path.is_file(), f"{path} is missing: run scripts/i18n.sh"
    with path.open("rb") as fh:
        return read_po(fh, locale=language)


def _untranslated(message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return message.fuzzy or not all(s and s.strip() for s in strings)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated(language):
    catalog = _catalog(language)
    missing = [m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and _untranslated(m)]
    assert not missing, f"{len(missing)} message(s) without a {language} translation (or fuzzy): {missing[:20]}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match(language):
    problems = [(m.id, [str(e) for e in errors]) for m, errors in _catalog(language).check() if errors]
    assert not problems, f"{language}: placeholders differ from the msgid: {problems[:10]}"


def test_catalogues_cover_every_message_in_the_code(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-k", "lazy_ngettext:1,2", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True,
    )
    with pot.open("rb") as fh:
        in_code = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    for language in LANGUAGES:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(language) if m.id}
        new = sorted(in_code - known)
        assert not new, f"{len(new)} message(s) not in the {language} catalogue, run scripts/i18n.sh: {new[:20]}"
