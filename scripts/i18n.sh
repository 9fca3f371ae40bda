#!/usr/bin/env bash
# Translations: extract every message into translations/messages.pot, then create (init) or
# refresh (update) the catalogues for Norwegian bokmål (nb) and Swedish (sv). English needs no
# catalogue: the msgids are English. Entries whose msgid changed come back marked fuzzy; the test
# tests/unit/test_translations_complete.py fails until every nb and sv entry is translated.
#
#   scripts/i18n.sh            extract + init/update nb and sv
#   scripts/i18n.sh compile    ... and compile the .mo files too (make setup also compiles)
#
# Runs with the project's virtualenv (.venv) unless PYBABEL points elsewhere; needs no make.
set -euo pipefail
cd "$(dirname "$0")/.."

PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
if [ ! -x "$PYBABEL" ]; then
    PYBABEL="$(command -v pybabel || true)"
fi
if [ -z "$PYBABEL" ]; then
    echo "i18n: pybabel not found; run 'make setup' first (it installs Babel into .venv)" >&2
    exit 1
fi

LANGS=(nb sv)
mkdir -p translations

"$PYBABEL" extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
    --add-comments=TRANSLATORS: --sort-by-file --no-wrap \
    --project="EV charging portal" --copyright-holder="EV charging portal" \
    -o translations/messages.pot .

for lang in "${LANGS[@]}"; do
    if [ -f "translations/$lang/LC_MESSAGES/messages.po" ]; then
        "$PYBABEL" update -i translations/messages.pot -d translations -l "$lang" --no-wrap
    else
        "$PYBABEL" init -i translations/messages.pot -d translations -l "$lang" --no-wrap
    fi
done

if [ "${1:-}" = "compile" ]; then
    "$PYBABEL" compile -d translations --statistics
fi
echo "i18n: translations/<nb, sv>/LC_MESSAGES/messages.po match the code; translate the empty and fuzzy entries"
