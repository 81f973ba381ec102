# cdportal — `make demo` serves the dashboard with a simulated pipeline; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/test
REDIS_TEST_URL ?= redis://127.0.0.1:6379/13
PORT ?= 8000

.PHONY: install demo serve lint test test-postgres bench screenshot clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

# The embedded default: SQLite in the checkout, in-memory channel layer, DEBUG on.
demo: install
	DEBUG=true $(PY) manage.py demo --port $(PORT)

# The dashboard alone (no simulator), e.g. against PostgreSQL/Redis from the environment.
serve: install
	$(PY) manage.py migrate
	$(PY) -m daphne -b 127.0.0.1 -p $(PORT) cdportal.asgi:application

# Errors, import order and modern syntax (the rules are in pyproject.toml).
lint: install
	$(PY) -m ruff check .

# Lint, the whole suite on the embedded defaults, then the database and channel-layer tests
# again on PostgreSQL + Redis when they answer (required in CI).
test: install lint
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-postgres

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
	rm -rf $(VENV) staticfiles cdportal.sqlite3 .pytest_cache
