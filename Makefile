# EV-charging resident portal: the two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV   := .venv
PY     := $(VENV)/bin/python
FLASK  := $(VENV)/bin/flask --app portal

.PHONY: help setup run test test-sqlite test-postgres lint redis clean

help:
	@echo "make run    - set up everything, migrate, load demo data, start web :5000, OCPP :9000, worker, simulators"
	@echo "make test   - set up everything and run the whole test suite (SQLite, and PostgreSQL when reachable)"
	@echo "make setup  - only the set-up step (venv, pip, npm, vendor assets, translations, system packages)"
	@echo "make lint   - byte-compile all Python (and ruff when installed)"

setup:
	@scripts/setup.sh

# Prints the REDIS_URL in use (starts a local redis-server when none answers).
redis: setup
	@scripts/ensure_redis.sh

# The stack is the Procfile, run by honcho: one terminal, each line prefixed with the process name;
# Ctrl-C stops it all, and so does any process that exits (honcho restarts nothing).
# WEB_HOST/WEB_PORT (PORTAL_BASE_URL defaults to them), WEB_WORKERS/WEB_THREADS, OCPP_PROCESSES (node
# processes on the one port, default one per core), RUN_SIMULATORS=0, RUN_DEV_SMTP=0 choose what starts.
run: setup
	@set -e; \
	REDIS_URL="$$(scripts/ensure_redis.sh)"; export REDIS_URL; \
	SECRET_KEY="$${SECRET_KEY:-$$($(PY) -c 'from portal.security.secret_key import ensure_key_file; print(ensure_key_file())')}"; \
	export SECRET_KEY; \
	export PORTAL_BASE_URL="$${PORTAL_BASE_URL:-http://$${WEB_HOST:-127.0.0.1}:$${WEB_PORT:-5000}}"; \
	export PATH="$(CURDIR)/$(VENV)/bin:$$PATH" PYTHONUNBUFFERED=1; \
	echo "[run] REDIS_URL=$$REDIS_URL"; \
	$(FLASK) db upgrade; \
	$(FLASK) seed-demo; \
	procs="web worker ocpp"; \
	if [ "$${RUN_SIMULATORS:-1}" != 0 ]; then procs="$$procs sim1 sim2"; fi; \
	case "$${SMTP_URL:-smtp://127.0.0.1:8025}" in \
	  smtp://127.0.0.1:*|smtp://localhost:*) if [ "$${RUN_DEV_SMTP:-1}" != 0 ]; then procs="$$procs mail"; fi;; \
	esac; \
	echo "[run] web http://$${WEB_HOST:-127.0.0.1}:$${WEB_PORT:-5000}/ (resident@demo.test / demo-password), OCPP ws://$${OCPP_HOST:-127.0.0.1}:$${OCPP_PORT:-9000}/ocpp/<identity>; Ctrl-C stops everything"; \
	exec $(VENV)/bin/honcho start -c "ocpp=$${OCPP_PROCESSES:-$$(nproc)}" $$procs

# Whole suite on SQLite, then again on PostgreSQL when one answers
# (127.0.0.1:5432 or $$TEST_POSTGRES_URL). Extra pytest args: make test ARGS="-k login"
test: setup
	@$(PY) scripts/run_tests.py $(ARGS)

test-sqlite: setup
	@$(PY) scripts/run_tests.py --only sqlite $(ARGS)

test-postgres: setup
	@$(PY) scripts/run_tests.py --only postgresql $(ARGS)

lint: setup
	@$(PY) -m compileall -q $(wildcard portal worker ocpp_server scripts tests migrations bench)
	@if [ -x $(VENV)/bin/ruff ]; then $(VENV)/bin/ruff check .; else echo "[lint] ruff not installed (optional): $(VENV)/bin/pip install ruff"; fi

clean:
	rm -rf .stamps static/vendor .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -not -path './node_modules/*' -exec rm -rf {} +
