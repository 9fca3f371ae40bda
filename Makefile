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

run: setup
	@set -e; \
	REDIS_URL="$$(scripts/ensure_redis.sh)"; export REDIS_URL; \
	SECRET_KEY="$${SECRET_KEY:-$$($(PY) -c 'from portal.security.secret_key import ensure_key_file; print(ensure_key_file())')}"; \
	export SECRET_KEY; \
	echo "[run] REDIS_URL=$$REDIS_URL"; \
	$(FLASK) db upgrade; \
	$(FLASK) seed-demo; \
	exec $(PY) scripts/run_stack.py

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
