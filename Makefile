# Everyday commands. `make demo` and `make test` are all the setup a fresh machine needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
CHROMIUM ?= /usr/bin/chromium
# pytest's exit status 5 means "no tests ran": that is a failure here, not a pass.
PYTEST = $(BIN)/pytest -p no:cacheprovider
RUN_PYTEST = sh -c '$(PYTEST) "$$@"; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc' pytest

.PHONY: venv demo test lint check pytest browser test-postgres test-spark bench format clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: venv
	$(BIN)/equilean demo

test: lint check browser
	$(RUN_PYTEST) tests

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: venv
	EQUILEAN_ENV=development $(BIN)/python manage.py check --fail-level WARNING
	EQUILEAN_ENV=development $(BIN)/python manage.py makemigrations --check --dry-run

# The browser journeys drive Debian's chromium; install it when we can (root with apt-get).
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "$(CHROMIUM) is missing: run 'sudo apt-get install chromium' (browser tests need it)" >&2; exit 1; \
	  fi; \
	fi

# The Django tests again on a throwaway PostgreSQL cluster on 127.0.0.1 (the engine and the
# CLI tests do not touch the app database).
test-postgres: venv
	scripts/with-postgres $(RUN_PYTEST) tests --ignore=tests/engine --ignore=tests/test_cli.py -m "not browser"

# The compute tests again on Spark in local mode (needs Java 17); installs the spark extra once.
test-spark: venv
	$(BIN)/python -c "import pyspark" 2>/dev/null || $(BIN)/pip install --quiet -e '.[spark]'
	$(RUN_PYTEST) tests/engine -m spark

# Compute and FHIR ingest against the alternatives at 1M and 10M encounters (~20 minutes).
bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var test-results .ruff_cache
