# The two commands: `make run` (set up and serve the demo) and `make test` (set up and test).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
# Python 3.13 (.python-version), else another release without a known request-parsing flaw:
# 3.12 before 3.12.6 parses cookies in quadratic time (CVE-2024-7592; core/interpreter.py).
BOOTSTRAP_PYTHON := $(shell for p in python3.13 python3.14 python3.12 python3 python; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12, 6))' \
	>/dev/null 2>&1 && { echo $$p; break; }; done)

# The local demo: DEBUG on, plain HTTP, two-factor off (every page shows a banner saying so).
DEMO_ENV := DEBUG=1 REQUIRE_MFA=0
# The test suite runs with DEBUG off, as production does, but over plain HTTP and without
# collectstatic. Its secret key is for tests only.
TEST_ENV := SECRET_KEY=$${SECRET_KEY:-tests-only-secret-key-not-for-any-deployment-5b1c0e} \
	HTTPS_ONLY=0 STATIC_MANIFEST=0 DJANGO_ALLOW_ASYNC_UNSAFE=true

.PHONY: help run test venv install install-dev install-bench migrate demo lint format check clean backup restore fuzz bench

help:
	@echo "make run    set up everything and serve the demo at http://127.0.0.1:8000 (PORT=8001 for another)"
	@echo "make test   set up and run the whole test suite (PYTEST_ARGS=... to narrow it)"
	@echo "make lint   ruff check and format check, and the import layers (docs/ARCHITECTURE.md)"
	@echo "make format fix what ruff can and format the code"
	@echo "make backup  a timestamped backup of the database (DATABASE_URL) into backups/"
	@echo "make restore FILE=backups/... [CONFIRM=yes]  put a backup back into that database"
	@echo "make bench  benchmark pages and load on PostgreSQL (DATABASE_URL), small and county"
	@echo "            scale; writes docs/PERFORMANCE.md (SCALES=small LOADTEST=0 to narrow it)"

$(PY):
	@if [ -z "$(BOOTSTRAP_PYTHON)" ]; then \
		echo "Python 3.13 (or 3.12.6 or newer) is needed and none was found on PATH."; \
		echo "Install it (python.org, your package manager, or 'pyenv install 3.13')."; \
		exit 1; fi
	$(BOOTSTRAP_PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,bench]"
	@touch $@ $(VENV)/.installed-run $(VENV)/.installed-bench

$(VENV)/.installed-bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[bench]"
	@touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
install-dev: $(VENV)/.installed-dev
install-bench: $(VENV)/.installed-bench

# PORT=8001 make run serves on another port. The set-up runs quietly; the demo's address and
# accounts come last, in a box (seed_demo), just before the server's own few lines.
PORT ?= 8000

run: install
	@echo "Setting up the demo database (the first run takes a minute or two)..."
	@$(DEMO_ENV) $(PY) manage.py migrate --noinput --verbosity 0
	@$(DEMO_ENV) $(PY) manage.py seed_directory --verbosity 0 >/dev/null
	@$(DEMO_ENV) $(PY) manage.py seed_demo --url http://127.0.0.1:$(PORT)/
	@# The background worker (long CSV imports) beside the server, stopped with it.
	@$(DEMO_ENV) $(PY) manage.py db_worker --verbosity 0 & worker=$$!; \
		trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
		$(DEMO_ENV) $(PY) manage.py runserver 127.0.0.1:$(PORT)

# The suite runs on every core (pytest-xdist); TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto

test: install-dev
	$(TEST_ENV) $(PY) -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Backups hold client records: backups/ is git-ignored and the files are owner-only (0600).
# pg_dump/pg_restore on PostgreSQL, the SQLite backup API otherwise: see scripts/backup.py.
backup: install
	$(PY) scripts/backup.py backup

# Replaces the database's contents, so it needs the file named and a typed confirmation
# (or CONFIRM=yes, for scripts). Stop the application servers first.
restore: install
	@if [ -z "$(FILE)" ]; then \
		echo "Name the backup to restore: make restore FILE=backups/<name> [CONFIRM=yes]"; \
		exit 2; fi
	$(PY) scripts/backup.py restore "$(FILE)" $(if $(filter yes,$(CONFIRM)),--yes)

# The hostile-input fuzz (tests/security/test_fuzz_forms.py) with a large budget and a random
# seed: FUZZ_EXAMPLES examples per form (default 2000; CI runs 25, always the same ones).
# About an hour on SQLite; DATABASE_URL=postgres://... to fuzz against PostgreSQL.
fuzz: install-dev
	$(TEST_ENV) FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} FUZZ_RANDOM=$${FUZZ_RANDOM:-1} \
		$(PY) -m pytest tests/security/test_fuzz_forms.py -p no:cacheprovider -q -rP $(PYTEST_ARGS)

# The benchmark (scripts/bench.py): on PostgreSQL only. For each of SCALES (default
# "small county") a database <name>_bench_<scale> beside DATABASE_URL's (default
# postgres://postgres@127.0.0.1:5432/selfhelp), generated once with SEED (default 2026;
# BENCH_REGENERATE=1 makes it again); the pages measured in each (BENCH_ITERATIONS, default 40,
# after BENCH_WARMUP, default 5); the load test on the county one (LOADTEST=0 skips it). Writes
# docs/PERFORMANCE.md and docs/performance.json. County scale takes a while: see README.
bench: install-bench
	$(PY) scripts/bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles
