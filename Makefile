# Hangar developer commands. `make run` and `make test` need nothing but Python 3.11+:
# `make test` starts the servers the suite needs when they are not there (tests/services.py).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
SANDBOX_PORT ?= 8001
S3_PORT ?= 8002

.PHONY: run test lint mypy mypy-baseline check bench sandbox worker beat migrations clean lock audit

# Supply-chain tools (uv resolves and hashes the lock files, pip-audit checks them), in a
# venv of their own so they never mix with the project's dependencies.
TOOLS := $(VENV)/tools
TOOLS_STAMP := $(TOOLS)/.installed

# The dependencies exactly as locked (versions and file hashes, dev extra included), then
# Hangar itself on top without resolving anything again.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

# The embedded default: SQLite, operations and the periodic schedule in threads of the
# web process, and beside it the sandbox cluster (a local Kubernetes API emulator) and an
# S3 API server (controlpanel.demo_storage), which stop with the panel. When a MariaDB
# answers (HANGAR_DEMO_MARIADB_URL, default 127.0.0.1:3306 as root) and rclone and the
# mariadb client tools are installed, the sandbox provisions databases and takes real
# backups, running their Jobs as local processes; seed_demo says which. Usage is sampled
# every minute (production: hourly) so the demo shows costs soon.
run: export DEBUG ?= 1
run: export SANDBOX_CLUSTER_URL ?= http://127.0.0.1:$(SANDBOX_PORT)
run: export HANGAR_DEMO_S3_URL ?= http://127.0.0.1:$(S3_PORT)
run: export HANGAR_BILLING_SAMPLE_SECONDS ?= 60
run: $(STAMP)
	mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) -m clusters.sandbox --host 127.0.0.1 --port $(SANDBOX_PORT) --execute-tool-jobs \
	  $(SANDBOX_ARGS) & sandbox=$$!; \
	  $(PY) -m controlpanel.demo_storage --port $(S3_PORT) & storage=$$!; \
	  trap 'kill $$sandbox $$storage 2>/dev/null' EXIT INT TERM; \
	  $(PY) manage.py seed_demo && \
	  echo "Hangar: http://$(HOST):$(PORT)/  (sandbox cluster at $$SANDBOX_CLUSTER_URL)" && \
	  $(PY) manage.py runserver $(HOST):$(PORT)

# The suite runs on PostgreSQL, never SQLite (see controlpanel/settings_test.py), with Redis
# and MariaDB beside it: DATABASE_URL, CELERY_BROKER_URL and HANGAR_TEST_MARIADB_URL when set,
# else the servers on their default ports, else private ones started for the run and stopped
# after it; missing programs are installed with apt-get as root on Debian (tests/services.py).
test: $(STAMP)
	$(PY) tests/services.py -- $(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	DEBUG=1 $(PY) manage.py check
	$(MAKE) --no-print-directory mypy

# Types (pyproject.toml's [tool.mypy]): the errors listed in mypy-baseline.txt pass, a new
# one fails, and so does a fixed one still listed (`make mypy-baseline` takes it off;
# review that the diff only removes lines). About a minute on a cold cache, seconds after.
# mypy exits 1 when it finds errors and 2 when it could not check: only 1 goes on.
MYPY_OUT := .mypy_cache/lint-output.txt
MYPY_RUN := mkdir -p .mypy_cache; status=0; \
	$(VENV)/bin/mypy --no-error-summary > $(MYPY_OUT) || status=$$?; \
	if [ $$status -gt 1 ]; then cat $(MYPY_OUT); exit $$status; fi
mypy: $(STAMP)
	@$(MYPY_RUN); $(VENV)/bin/mypy-baseline filter < $(MYPY_OUT)

mypy-baseline: $(STAMP)
	@$(MYPY_RUN); $(VENV)/bin/mypy-baseline sync < $(MYPY_OUT)

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
	rm -rf var .pytest_cache .ruff_cache .mypy_cache

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
