# The portal's everyday commands. `make run` and `make test` are the two the README gives.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint format migrate demo lock clean bench bench-intake bench-push bench-reconcile messages graph screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Stamp files: reinstall only when a lock file changes.
$(VENV)/.base-installed: requirements/base.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/base.txt
	touch $@

$(VENV)/.dev-installed: requirements/dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $@ $(VENV)/.base-installed

## run: set up the portal with demo data on SQLite and serve it on http://$(HOST):$(PORT)/ (make run PORT=8010)
# The demo partners' Kiva connections point at the sandbox inside this same server.
run: export KIVA_SANDBOX_URL ?= http://$(HOST):$(PORT)/kiva-sandbox/
run: $(VENV)/.base-installed
	$(MANAGE) migrate --no-input
	$(MANAGE) load_demo --url http://$(HOST):$(PORT)/
	$(MANAGE) runserver $(HOST):$(PORT)

## test: install what the tests need and run the whole suite
test: $(VENV)/.dev-installed
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(MANAGE) makemigrations --check --dry-run

## graph: the import graph between the project's packages (the layers: docs/architecture.md)
graph: $(VENV)/.dev-installed
	$(BIN)/python tools/import_graph.py

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(VENV)/.base-installed
	$(MANAGE) migrate --no-input

# The demo serves the portal at --url while it loads (it sends to the sandbox there).
demo: export KIVA_SANDBOX_URL ?= http://$(HOST):$(PORT)/kiva-sandbox/
demo: migrate
	$(MANAGE) load_demo --url http://$(HOST):$(PORT)/

## lock: recompute the exact versions from pyproject.toml
lock: $(VENV)/.dev-installed
	$(BIN)/pip-compile --quiet --strip-extras -o requirements/base.txt pyproject.toml
	$(BIN)/pip-compile --quiet --strip-extras --extra dev -o requirements/dev.txt pyproject.toml

## bench-intake: loans (12 instalments each) and 10x repayments from CSV at BENCH_INTAKE_LOANS=1000,10000, beside a row-by-row ORM importer (PostgreSQL)
bench-intake: $(VENV)/.base-installed
	$(BIN)/python benchmarks/bench_intake.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache staticfiles

## bench: review pages and admin lists at BENCH_LOANS=2000,20000,100000 loans (5x repayments), beside Django's plain admin (PostgreSQL)
bench: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/review_pages.py

## bench-reconcile: reconcile 20,000 loans with the sandbox (100 ms a page): wall time, queries a page, memory
bench-reconcile: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/bench_reconcile.py

## bench-push: 1,000 loans approved in one bulk action, one send's statements and CPU, then approved records to the sandbox (100 ms a call) with 1, 2, 4 and 8 workers (PostgreSQL, own Redis)
bench-push: $(VENV)/.dev-installed
	$(BIN)/python benchmarks/bench_push.py $(BENCH_ARGS)

## screenshots: the main pages as the demo roles, desktop and phone, en/es/fr, into docs/img/ (Playwright, /usr/bin/chromium; SHOTS_PORT=8877)
screenshots: $(VENV)/.dev-installed
	$(BIN)/python tools/screenshots.py

## messages: extract the texts to translate into locale/ (es, fr) and compile them
messages: $(VENV)/.dev-installed
	$(MANAGE) makemessages -l es -l fr --ignore=.venv --ignore=tests --ignore=benchmarks --no-location
	$(MANAGE) compilemessages --ignore=.venv
