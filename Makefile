# The README's two commands: `make dev` runs the whole system on embedded defaults, `make test` tests it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: dev test lint format install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the project's dependency files change.
$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: install
	$(BIN)/python -m devmode

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

# Every benchmark and one table; writes bench/results.json. `make bench BENCH_ARGS=--full` for the
# issue's sizes plus bench.freshness (README, Performance).
.PHONY: bench
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Every reliability scenario (tests/reliability) at the issue's full sizes; writes RELIABILITY.md.
.PHONY: reliability
reliability: install
	$(BIN)/python -m tests.reliability.report
