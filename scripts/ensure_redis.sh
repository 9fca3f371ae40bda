#!/usr/bin/env bash
# Make sure a Redis server answers and print the REDIS_URL to use (stdout,
# one line; messages go to stderr).
#
#  1. $REDIS_URL, if set and it answers PING;
#  2. else redis://127.0.0.1:6379/0 if it answers PING;
#  3. else our own redis-server from an earlier run (instance/redis.port), if alive;
#  4. else start a local redis-server on a free port: no persistence,
#     daemonized, pid/log files under instance/.
#
# Usage:  export REDIS_URL="$(scripts/ensure_redis.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[redis] %s\n' "$*" >&2; }
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3

# ping URL -> exit 0 when a Redis at URL answers PING (plain TCP, no client lib needed)
ping() {
    "$PY" - "$1" <<'EOF'
import socket, sys
from urllib.parse import urlparse
u = urlparse(sys.argv[1])
if u.scheme not in ("redis", "rediss"):
    sys.exit(2)
try:
    with socket.create_connection((u.hostname or "127.0.0.1", u.port or 6379), timeout=1.5) as s:
        if u.password:
            user = u.username or "default"
            s.sendall(b"AUTH %s %s\r\n" % (user.encode(), u.password.encode()))
            if not s.recv(64).startswith(b"+OK"):
                sys.exit(1)
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
EOF
}

if [ -n "${REDIS_URL:-}" ]; then
    if ping "$REDIS_URL"; then
        say "using REDIS_URL=$REDIS_URL"
        echo "$REDIS_URL"; exit 0
    fi
    say "REDIS_URL=$REDIS_URL does not answer; looking for another Redis"
fi

DEFAULT_URL="${ENSURE_REDIS_DEFAULT_URL:-redis://127.0.0.1:6379/0}"   # override only for testing this script
if ping "$DEFAULT_URL"; then
    say "using the Redis at $DEFAULT_URL"
    echo "$DEFAULT_URL"; exit 0
fi

mkdir -p instance
RUNDIR="$(pwd)/instance"
if [ -f "$RUNDIR/redis.port" ]; then
    port="$(cat "$RUNDIR/redis.port")"
    if ping "redis://127.0.0.1:$port/0"; then
        say "using our redis-server on 127.0.0.1:$port (started earlier, pid $(cat "$RUNDIR/redis.pid" 2>/dev/null || echo '?'))"
        echo "redis://127.0.0.1:$port/0"; exit 0
    fi
fi

command -v redis-server >/dev/null 2>&1 || {
    say "ERROR: no Redis answers and redis-server is not installed: apt-get install redis-server"
    exit 1
}

port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
say "starting redis-server on 127.0.0.1:$port (no persistence; log $RUNDIR/redis.log)"
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$RUNDIR/redis.pid" --logfile "$RUNDIR/redis.log" \
    --dir "$RUNDIR" >&2
for _ in $(seq 1 50); do
    if ping "redis://127.0.0.1:$port/0"; then
        echo "$port" > "$RUNDIR/redis.port"
        say "redis-server ready (pid $(cat "$RUNDIR/redis.pid" 2>/dev/null || echo '?')); stop it with: kill \$(cat instance/redis.pid)"
        echo "redis://127.0.0.1:$port/0"; exit 0
    fi
    sleep 0.1
done
say "ERROR: redis-server did not answer on port $port; see $RUNDIR/redis.log"
exit 1
