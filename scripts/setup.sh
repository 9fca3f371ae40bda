#!/usr/bin/env bash
# Idempotent set-up used by `make setup` (and so by `make run` / `make test`).
#
#  1. system packages (python3-venv, redis-server, nodejs, npm, chromium):
#     installed with apt-get when missing and running as root; otherwise we say
#     exactly which package to install and fail.
#  2. .venv (python3 -m venv) when missing.
#  3. pip install -r requirements.txt only when requirements.txt changed.
#  4. npm ci only when package-lock.json changed (or node_modules is missing).
#  5. vendor assets: htmx + Pico CSS copied from node_modules to static/vendor/.
#  6. translations compiled (pybabel) when translations/ exists.
#
# Fast when everything is already done: it only hashes two files and compares a
# few timestamps.
set -euo pipefail
cd "$(dirname "$0")/.."

STAMPS=.stamps
VENV=.venv
mkdir -p "$STAMPS" instance

say() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# --- 1. system packages ------------------------------------------------------
missing=()
have() { command -v "$1" >/dev/null 2>&1; }

have python3 || missing+=(python3)
if have python3 && [ ! -x "$VENV/bin/python" ]; then
    # Debian's python3 has no ensurepip without python3-venv.
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
fi
have redis-server || missing+=(redis-server)
have node || missing+=(nodejs)
have openssl || missing+=(openssl)   # the TLS (security profile 2) tests make a certificate with it
have npm || missing+=(npm)
if [ -z "${CHROMIUM_PATH:-}" ] && ! have chromium; then
    missing+=(chromium fonts-liberation)
fi

if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && have apt-get; then
        say "installing system packages with apt-get: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    else
        die "missing system packages: ${missing[*]}
        install them with:  sudo apt-get install ${missing[*]}
        (or run 'make setup' as root, which installs them)"
    fi
fi

# --- 2. virtualenv -----------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    python3 -m venv "$VENV"
fi

# --- 3. Python packages ------------------------------------------------------
req_hash="$(cat requirements.txt <("$VENV/bin/python" -VV) | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STAMPS/requirements.sha256" 2>/dev/null || true)" != "$req_hash" ]; then
    say "installing Python packages (requirements.txt changed)"
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r requirements.txt >&2
    echo "$req_hash" > "$STAMPS/requirements.sha256"
fi

# --- 4. npm packages ---------------------------------------------------------
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat "$STAMPS/package-lock.sha256" 2>/dev/null || true)" != "$lock_hash" ]; then
    say "installing npm packages (package-lock.json changed)"
    npm ci --no-audit --no-fund --loglevel=error >&2
    echo "$lock_hash" > "$STAMPS/package-lock.sha256"
fi

# --- 5. vendor assets (never committed; static/vendor is gitignored) ---------
mkdir -p static/vendor
copy_if_changed() {
    [ -f "$1" ] || die "$1 not found (did npm ci succeed?)"
    cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
copy_if_changed node_modules/htmx.org/dist/htmx.min.js static/vendor/htmx.min.js
copy_if_changed node_modules/@picocss/pico/css/pico.min.css static/vendor/pico.min.css

# --- 6. translations ---------------------------------------------------------
if [ -d translations ]; then
    # compile only when some .po is newer than its .mo (or the .mo is missing)
    stale=0
    while IFS= read -r po; do
        mo="${po%.po}.mo"
        if [ ! -f "$mo" ] || [ "$po" -nt "$mo" ]; then stale=1; break; fi
    done < <(find translations -name '*.po' -path '*/LC_MESSAGES/*')
    if [ "$stale" = 1 ]; then
        say "compiling translations"
        "$VENV/bin/pybabel" compile -d translations >&2
    fi
fi

say "ok"
