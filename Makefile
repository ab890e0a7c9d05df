# Hangar: two commands matter.
#   make run   - set up everything this machine needs and start the server (SQLite, ~/.hangar)
#   make test  - set up everything the tests need and run lint, type checks and the test suite
# Everything is idempotent: a second run only redoes what changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/hangar/web/static/vendor/htmx.min.js
# Debian packages the test suite drives for real: PostgreSQL and a browser.
TEST_DEBS := postgresql chromium chromium-driver bubblewrap
# What dev environments run: sshd per environment, and code-server's native-module build needs.
IDE_DEBS := bubblewrap openssh-server openssh-client libkrb5-dev ripgrep pkg-config build-essential python3
CODE_SERVER := .tools/code-server/.installed-version
PYTEST_ARGS ?= -n 2

.PHONY: help run test deps test-deps lint typecheck fmt pytest clean migration

help:
	@echo "make run    set up and start the server on http://127.0.0.1:8420"
	@echo "make test   set up and run lint, type checks and all tests (SQLite + PostgreSQL)"
	@echo "make lint | typecheck | fmt | pytest | clean"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(VENDOR): src/hangar/web/package.json src/hangar/web/package-lock.json
	scripts/web-assets.sh

$(CODE_SERVER): scripts/code-server.sh
	scripts/debian-packages.sh $(IDE_DEBS)
	scripts/code-server.sh >/dev/null

deps: $(STAMP) $(VENDOR) $(CODE_SERVER)

test-deps: deps
	scripts/debian-packages.sh $(TEST_DEBS)

run: deps
	$(BIN)/hangar server

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: test-deps
	export HANGAR_TEST_PG_URL="$$(scripts/test-postgres.sh)"; \
	$(BIN)/python -m pytest $(PYTEST_ARGS) --durations=10

test: test-deps lint typecheck pytest

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

migration: $(STAMP)
	@test -n "$(MSG)" || { echo 'usage: make migration MSG="what changed"'; exit 2; }
	rm -f /tmp/hangar-migration.db
	$(BIN)/python -c 'import sys; from alembic import command; from hangar.db.migrate import alembic_config; \
	  cfg = alembic_config("sqlite:////tmp/hangar-migration.db"); command.upgrade(cfg, "head"); \
	  command.revision(cfg, message=sys.argv[1], autogenerate=True)' "$(MSG)"

clean:
	rm -rf $(VENV) src/hangar/web/node_modules src/hangar/web/static/vendor .mypy_cache .ruff_cache
