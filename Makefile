# launchlink — every target says what it does: run `make help`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PUBLIC_URL ?= http://$(HOST):$(PORT)

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck check bench simulate migrate demo clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev]'
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install launchlink with test and dev tools

run: $(STAMP) ## Migrate, seed the demo and serve on http://$(HOST):$(PORT) with the simulator (Ctrl-C stops)
	$(BIN)/launchlink migrate
	LAUNCHLINK_PUBLIC_URL=$(PUBLIC_URL) $(BIN)/launchlink demo
	LAUNCHLINK_PUBLIC_URL=$(PUBLIC_URL) LAUNCHLINK_SIMULATOR_EMBEDDED=true \
		$(BIN)/launchlink serve --host $(HOST) --port $(PORT)

migrate: $(STAMP) ## Apply database migrations (LAUNCHLINK_DATABASE_URL, default var/launchlink.sqlite3)
	$(BIN)/launchlink migrate

demo: $(STAMP) ## Seed the demo workspace (idempotent)
	$(BIN)/launchlink demo

simulate: $(STAMP) ## Run the platform simulator alone on port 8765
	$(BIN)/launchlink simulate --port 8765

test: $(STAMP) ## Run every test (PostgreSQL, Redis and browser runs skip loudly when unavailable outside CI)
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff format --check and ruff check
	$(BIN)/ruff format --check src tests bench
	$(BIN)/ruff check src tests bench

typecheck: $(STAMP) ## mypy --strict on src/
	$(BIN)/mypy

check: lint typecheck test ## Everything CI runs

# A short fulfilment run (about a minute, embedded SQLite). The figures in docs/benchmarks.md
# come from: FULFILMENT_BENCH='--presaves 100000 --rate 100 --database sqlite' and
# FULFILMENT_BENCH='--presaves 100000 --rate 100 --database postgresql --workers 4'
# (PostgreSQL on 127.0.0.1:5432 and Redis on 127.0.0.1:6379).
FULFILMENT_BENCH ?= --presaves 6000 --rate 100 --database sqlite

bench: $(STAMP) ## Run the benchmarks in bench/ (needs wrk) and print their figures
	$(BIN)/python bench/smartlink.py
	$(BIN)/python bench/simulator.py
	$(BIN)/python bench/fulfilment.py $(FULFILMENT_BENCH)
	$(BIN)/python bench/outbox.py --database sqlite --events 20000
	$(BIN)/python bench/dashboard.py --campaigns 100 --requests 200

clean: ## Remove the virtualenv and local data under var/
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
