# CarePipe: `make up` runs the platform on embedded defaults, `make test` runs the suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test
# pytest-xdist workers for `make test`. `--dist loadfile` keeps a file's tests in one worker,
# so module-scoped fixtures (a running `carepipe up`, a throwaway PostgreSQL cluster) start once.
TEST_WORKERS ?= 2

.PHONY: up test test-quick bench lint format install install-test system-deps clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Reinstall only when pyproject.toml changes, so `make up` works offline afterwards.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP) $@

install: $(STAMP)
install-test: $(TSTAMP)

system-deps:
	bash scripts/install-system-deps.sh

up: $(STAMP)
	-bash scripts/install-system-deps.sh --runtime
	$(BIN)/carepipe up

test: $(TSTAMP) system-deps
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=25

# The inner loop: SQLite only, no browser, nothing marked slow (a few minutes).
test-quick: $(TSTAMP)
	$(BIN)/python -m pytest -q -m "not slow" -k "not postgres and not browser"

bench: $(TSTAMP) system-deps
	$(BIN)/python benchmarks/run_all.py

lint: $(TSTAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports

format: $(TSTAMP)
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache

screenshots: $(TSTAMP) system-deps
	CAREPIPE_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest -q tests/web -k browser
