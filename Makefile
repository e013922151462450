# Hangar developer commands. `make run` needs nothing but Python 3.11+;
# `make test` needs PostgreSQL (DATABASE_URL) and Redis, as .ci/run sets up.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8001

.PHONY: run test lint check bench sandbox worker beat migrations clean lock audit

# Supply-chain tools (uv resolves and hashes the lock files, pip-audit checks them), in a
# venv of their own so they never mix with the project's dependencies.
TOOLS := $(VENV)/tools
TOOLS_STAMP := $(TOOLS)/.installed

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP)

# The embedded default: SQLite, operations in a worker thread, and the sandbox cluster
# (a local Kubernetes API emulator) in a second process that stops with the panel.
run: export DEBUG ?= 1
run: export SANDBOX_CLUSTER_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
run: $(STAMP)
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) -m clusters.sandbox --host 127.0.0.1 --port $(SANDBOX_PORT) & \
	  sandbox=$$!; trap 'kill $$sandbox 2>/dev/null' EXIT INT TERM; \
	  echo "Hangar: http://$(HOST):$(PORT)/  (sandbox cluster at $$SANDBOX_CLUSTER_URL)"; \
	  $(PY) manage.py runserver $(HOST):$(PORT)

# The suite runs on PostgreSQL, never SQLite (see controlpanel/settings_test.py).
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py check

migrations: $(STAMP)
	DEBUG=1 $(PY) manage.py makemigrations

# With CELERY_BROKER_URL set: the processes production runs besides the web server.
worker: $(STAMP)
	$(VENV)/bin/celery -A controlpanel worker --loglevel=INFO

beat: $(STAMP)
	mkdir -p var
	$(VENV)/bin/celery -A controlpanel beat --loglevel=INFO --schedule var/celerybeat-schedule

# Benchmarks (not part of `make test`; ~22 min on 2 cores): fleet rollouts against kubectl,
# Ansible and a raw apply, the API at agency scale, worker memory, billing, and the fault
# soak (a PostgreSQL server of its own, restarted on purpose; see docs/reliability.md). Each
# part makes and drops a database of its own; needs redis-server and wrk (apt). Results go to
# bench/results/; see docs/performance.md. BENCH_ARGS="--only soak" or "--quick".
bench: $(STAMP)
	$(PY) bench/run.py $(BENCH_ARGS)

sandbox: $(STAMP)
	$(PY) -m clusters.sandbox --host 127.0.0.1 --port $(SANDBOX_PORT)

clean:
	rm -rf var .pytest_cache .ruff_cache

$(TOOLS_STAMP):
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --upgrade pip
	$(TOOLS)/bin/pip install --quiet 'uv>=0.5,<1' 'pip-audit>=2.7,<3'
	touch $(TOOLS_STAMP)

# Pin every dependency with the hashes of its files: requirements.lock (the image's, see
# Dockerfile) and requirements-dev.lock (with the dev extra). Run after changing
# pyproject.toml's dependencies, or to take newer releases; review the diff, then
# `make audit`. Universal: one lock for every platform, Python 3.11 and newer.
LOCK_FLAGS := --universal --python-version 3.11 --generate-hashes --quiet
lock: $(TOOLS_STAMP)
	$(TOOLS)/bin/uv pip compile pyproject.toml $(LOCK_FLAGS) $(LOCK_ARGS) -o requirements.lock
	$(TOOLS)/bin/uv pip compile pyproject.toml --extra dev $(LOCK_FLAGS) $(LOCK_ARGS) \
	  -o requirements-dev.lock

# Known vulnerabilities in the locked dependencies (pip-audit). Fails on a vulnerability;
# warns without failing when the advisory source cannot be reached (.ci/audit_dependencies.py).
audit: $(TOOLS_STAMP)
	$(TOOLS)/bin/python .ci/audit_dependencies.py $(TOOLS)/bin/pip-audit \
	  requirements.lock requirements-dev.lock
