# Fenghuo — `make help` lists the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
TSTAMP := $(VENV)/.installed-test

.DEFAULT_GOAL := help
.PHONY: help run test lint format screenshots bench bench-full clean

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(TSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(STAMP)

run: $(STAMP) ## Install, migrate the embedded SQLite database, seed the demo org if empty, serve on FENGHUO_HOST:FENGHUO_PORT (127.0.0.1:8000)
	$(BIN)/fenghuo run

lint: $(TSTAMP) ## ruff (lint and format check) and mypy strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(TSTAMP) lint ## Lint, then the whole test suite (PostgreSQL and Chromium tests skip if absent, fail under FENGHUO_REQUIRE_ALL=1)
	$(BIN)/pytest -n auto --durations=25

format: $(TSTAMP) ## Format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

screenshots: $(TSTAMP) ## Write the UI screenshots into docs/screenshots/
	$(BIN)/python scripts/screenshots.py

bench: $(TSTAMP) ## The benchmarks, short (< 5 min): real processes, both engines, small sizes; the goals of issue 11 met or not
	$(BIN)/python bench/run.py --short

bench-full: $(TSTAMP) ## The benchmarks at full size: 1,000,000 incidents, 2,000 timers at one instant, cold and warm caches (FENGHUO_BENCH_RESTART_PG=1: restart PostgreSQL for cold)
	$(BIN)/python bench/run.py --full

clean: ## Remove the virtualenv and caches (keeps instance/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
