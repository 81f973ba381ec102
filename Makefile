# cdportal — `make demo` serves the dashboard with a simulated pipeline; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/13
PORT ?= 8000

# uv installs exactly what uv.lock pins (hashes included); uv itself comes from PyPI at the
# version and hashes in requirements-uv.txt, into a small virtualenv of its own.
TOOLS ?= .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never

.PHONY: install lock audit demo serve lint format map test test-postgres bench screenshot clean

install: $(VENV)/.installed

$(UV): requirements-uv.txt
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q --disable-pip-version-check --require-hashes --no-deps -r requirements-uv.txt
	touch $@

# --frozen: install from uv.lock as it is; never re-resolve, never update it.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --python $(PYTHON) --quiet
	touch $@

# Re-resolve uv.lock from pyproject.toml's ranges (new releases of everything).
# One package only: `make lock LOCK_ARGS="--upgrade-package django"`.
lock: $(UV)
	$(UV) lock --python $(PYTHON) $(LOCK_ARGS)

# Known vulnerabilities in the locked versions (part of make test; skipped, saying so, when the
# vulnerability database does not answer).
audit: install
	$(UV) export --frozen --format requirements-txt --no-emit-project --all-extras --quiet \
		--output-file $(VENV)/audit-requirements.txt
	$(PY) .ci/audit.py $(VENV)/audit-requirements.txt

# The embedded default: SQLite in the checkout, in-memory channel layer, DEBUG on.
demo: install
	DEBUG=true $(PY) manage.py demo --port $(PORT)

# The dashboard alone (no simulator), e.g. against PostgreSQL/Redis from the environment.
serve: install
	$(PY) manage.py migrate
	$(PY) -m daphne -b 127.0.0.1 -p $(PORT) cdportal.asgi:application

# Errors, import order and modern syntax (the rules are in pyproject.toml), the formatter's
# layout, every import a declared dependency (deptry), the layers importing one way only
# (import-linter, contracts in pyproject.toml) and README's module map matching the tree.
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m deptry . --no-ansi
	$(VENV)/bin/lint-imports --no-cache
	$(PY) .ci/module_map.py --check

# Apply the formatter and the safe lint fixes to the whole tree.
format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Rewrite README's module map from the modules' first docstring lines.
map: install
	$(PY) .ci/module_map.py --write

# Lint, the whole suite on the embedded defaults, then the database and channel-layer tests
# again on PostgreSQL + Redis when they answer (required in CI).
test: install lint
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory audit

test-postgres: install
	@if $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then \
		echo "== database, API and live tests on PostgreSQL + Redis =="; \
		DATABASE_URL=$(PG_TEST_URL) REDIS_URL=$(REDIS_TEST_URL) $(PY) -m pytest -m "not browser" tests/pipeline tests/api tests/live tests/web; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL is required in CI but 127.0.0.1:5432 does not answer"; exit 1; \
	else \
		echo "SKIPPED PostgreSQL pass: 127.0.0.1:5432 does not answer (ran on SQLite only)"; \
	fi

bench: install
	$(PY) benchmarks/live_latency.py

# Refresh docs/screenshot.png (README) from a browser test run.
screenshot: install
	CDPORTAL_SCREENSHOT=1 $(PY) -m pytest tests/browser -q

clean:
	rm -rf $(VENV) $(TOOLS) staticfiles cdportal.sqlite3 .pytest_cache
