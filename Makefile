# The project's commands. A newcomer needs two: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SERVICES := bash deploy/services.sh

.PHONY: demo test install services services-down lint unit bench chaos clean

## demo: install, start the services, run the worker on sample kickoffs, stop
demo: install
	@bash deploy/demo.sh

## test: install, start the services, run ruff, mypy and every test, stop
test: install
	@bash deploy/with-services.sh $(MAKE) --no-print-directory lint pytest

## install: a virtualenv in .venv with the service and its dev tools
install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

## services / services-down: a local Kafka broker and PostgreSQL on loopback
services:
	@$(SERVICES) up

services-down:
	@$(SERVICES) down

lint: install
	$(BIN)/ruff format --check service tests bench
	$(BIN)/ruff check service tests bench
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

## unit: the tests that need no services
unit: install
	$(BIN)/pytest tests/unit

## bench: the benchmarks, printing their tables (starts the services)
bench: install
	@bash deploy/with-services.sh $(BIN)/python -m bench

## chaos: workers killed, broker and PostgreSQL restarted mid-run; the invariants
chaos: install
	@bash deploy/with-services.sh $(BIN)/python -m bench.chaos

clean:
	rm -rf $(VENV) .services .mypy_cache .ruff_cache .pytest_cache reports
