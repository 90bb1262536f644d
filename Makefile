# The project's verbs. Every target installs what it needs first (scripts/setup.sh is idempotent
# and fast when nothing is missing), so each works on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
# uv may not be on PATH before `make setup` installs it; `python3 -m uv` works either way.
UV := $(shell command -v uv 2>/dev/null || echo python3 -m uv)
UV_RUN := $(UV) run --frozen
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help setup demo up install-pods demo-pods down status test test-unit test-integration generate check-generated \
        lint fmt dashboard images test-images bench bench-runtime bench-predictions bench-drift bench-api bench-operator bench-node clean

help: ## Show the verbs
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

setup: ## Install everything the project needs (system packages, Python env, local binaries)
	@bash scripts/setup.sh

demo: setup dashboard ## Bring up the whole local platform, print where everything is, run the demo story
	@$(UV_RUN) modelplane dev up
	@$(UV_RUN) modelplane demo

up: setup ## Bring up the local platform only
	@$(UV_RUN) modelplane dev up

install-pods: setup dashboard ## On the running platform (make up): operator and facade as pods (manifests/overlays/dev)
	@$(UV_RUN) modelplane dev install

demo-pods: install-pods ## The demo story through the operator and facade pods
	@$(UV_RUN) modelplane demo --in-cluster

status: ## Show what of the local platform is running
	@$(UV_RUN) modelplane dev status

down: ## Stop the local platform
	@$(UV_RUN) modelplane dev down

# pytest-xdist workers, each a session with its own platform; the real node's tests run in one
# of them (tests/conftest.py). 0 (the default, what CI runs) is one session, in order: no whole
# parallel run has been green yet (docs/development.md#tests). `make test PYTEST_WORKERS=2` tries it.
PYTEST_WORKERS ?= 0
PYTEST_XDIST = -n $(PYTEST_WORKERS) --dist loadgroup

test: setup check-generated dashboard ## Check generated files, then run unit and integration tests against real services
	@$(UV_RUN) pytest $(PYTEST_XDIST)

test-unit: setup ## Unit tests only (no services)
	@$(UV_RUN) pytest $(PYTEST_XDIST) -m "not integration"

test-integration: setup ## Integration tests only
	@$(UV_RUN) pytest $(PYTEST_XDIST) -m integration

generate: ## Regenerate the CRD YAML, the API reference, the OpenAPI document and the dashboard's types
	@$(UV_RUN) modelplane generate

# The dashboard's static export, rebuilt only when its sources changed; the facade serves it at /.
DASHBOARD_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
                     $(wildcard frontend/*.ts frontend/*.mjs frontend/package-lock.json)
dashboard: setup frontend/out/index.html ## Build the dashboard (frontend/out, served by the facade at /)

frontend/out/index.html: $(DASHBOARD_SOURCES)
	@cd frontend && NEXT_TELEMETRY_DISABLED=1 npx --no-install next build
	@touch $@

# Every image, built by buildah on this machine and cached by a digest of its inputs (no
# registry needed); the node imports pause, serving-runtime and operator. The GPU runtime is
# built here only, with its test: minutes on a cold cache, so it stays out of `make test`.
images: setup dashboard ## Build every image (base, uv, pause, serving runtime CPU and GPU, operator, facade); print ref, size, build time
	@$(UV_RUN) modelplane images build

test-images: images ## Run every image under runc as its pod would (facade, GPU runtime), no node needed
	@MODELPLANE_GPU_IMAGE=1 $(UV_RUN) pytest tests/images -q

check-generated: ## Fail when generated files differ from what `make generate` writes
	@$(UV_RUN) modelplane generate --check

lint: setup ## ruff, mypy --strict, import-linter; ESLint and tsc --noEmit for the dashboard
	@$(UV_RUN) ruff check .
	@$(UV_RUN) ruff format --check .
	@$(UV_RUN) mypy
	@$(UV_RUN) lint-imports
	@cd frontend && npx --no-install eslint . --max-warnings 0
	@cd frontend && npx --no-install tsc --noEmit

fmt: ## Format and autofix
	@$(UV_RUN) ruff format .
	@$(UV_RUN) ruff check --fix .

bench: bench-runtime bench-predictions bench-drift bench-api bench-operator bench-node ## All benchmarks (long; results in docs/benchmarks.md)

bench-runtime: setup ## Serving runtime vs raw onnxruntime, MLServer and KServe's model server
	@$(UV_RUN) python -m tests.bench.runtime

bench-predictions: setup ## Serving runtime: the prediction metrics' cost, on vs off in one run
	@$(UV_RUN) python -m tests.bench.runtime.predictions

bench-drift: setup ## Drift engine vs a scipy loop vs Evidently
	@$(UV_RUN) python -m tests.bench.drift

bench-api: setup ## Facade: authenticated list at concurrency 64, upload memory, MLflow tracking through it
	@$(UV_RUN) python -m tests.bench.api
	@$(UV_RUN) python -m tests.bench.mlflow
	@$(UV_RUN) python -m tests.bench.proxy

bench-operator: setup ## Operator at scale on kwok nodes: 1,000 ModelVersions, then 1,000 ModelDeployments vs 1,000 plain Deployments
	@$(UV_RUN) python -m tests.bench.operator
	@$(UV_RUN) python -m tests.bench.rollout

bench-node: setup ## Real node: start, apply → first prediction, memory, runtime in a pod vs bare
	@$(UV_RUN) python -m tests.bench.node

clean: down ## Stop everything and remove run directories (keeps the binary cache)
	@rm -rf .run
