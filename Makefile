# Souk — two commands on a fresh machine: `make up` and `make test`.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SERVICES := registry gateway catalog identity cart inventory orders payments notifications analytics telemetry web
PACKAGES := libs/chassis libs/contracts $(addprefix services/,$(SERVICES)) cli
PYPROJECTS := $(addsuffix /pyproject.toml,$(PACKAGES))
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
TEST_WORKERS ?= 3
SYSTEM_WORKERS ?= 2
# checkov (tests/deploy) pins packaging 23, the runtime set 26: it gets a virtualenv of its own
CHECKOV_VENV := .venv-checkov
# pip warns about every missing local mirror folder on some machines; keep real errors only
QUIET := { grep -v '^WARNING: Location' || true; }

.PHONY: up down status logs test test-fast lint fmt install install-dev install-tools clean bench k8s

$(BIN)/python:
	@echo "==> creating virtualenv $(VENV) with $(PY)"
	@$(PY) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "Souk needs Python 3.11+"'
	@$(PY) -m venv $(VENV)

$(VENV)/.runtime: $(BIN)/python requirements/runtime.txt $(PYPROJECTS)
	@echo "==> installing pinned runtime dependencies (requirements/runtime.txt)"
	@set -o pipefail; $(PIP) install -r requirements/runtime.txt setuptools==80.9.0 wheel==0.48.0 2>&1 | $(QUIET)
	@echo "==> installing Souk packages (editable)"
	@$(PIP) install --no-deps --no-build-isolation $(addprefix -e ,$(PACKAGES)) >/dev/null
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements/dev.txt
	@echo "==> installing pinned test and lint tools (requirements/dev.txt)"
	@set -o pipefail; $(PIP) install -r requirements/dev.txt 2>&1 | $(QUIET)
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@echo "==> installing checkov in its own virtualenv $(CHECKOV_VENV) (requirements/checkov.txt)"
	@$(PY) -m venv $(CHECKOV_VENV)
	@set -o pipefail; $(CHECKOV_VENV)/bin/python -m pip --disable-pip-version-check -q install \
		-r requirements/checkov.txt 2>&1 | $(QUIET)
	@touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev
install-tools: $(VENV)/.dev $(CHECKOV_VENV)/.installed

up: install ## start the whole platform (nats, registry, services, gateway) in the background
	@$(BIN)/souk up

down: ## stop everything souk up started
	@if [ -x $(BIN)/souk ]; then $(BIN)/souk down; else echo "nothing to stop (no virtualenv)"; fi

status: install
	@$(BIN)/souk status

logs: install
	@$(BIN)/souk logs

lint: install-dev ## ruff, mypy (strict on libs/), import-linter contracts
	$(BIN)/ruff check .
	$(BIN)/mypy libs/chassis/src libs/contracts/src $(addsuffix /src,$(addprefix services/,$(SERVICES))) cli/src
	$(BIN)/lint-imports --no-cache

ifdef SERVICE
# `make test SERVICE=orders`: that service's lint, types, unit and integration tests and the
# contract tests it takes part in (deploy/callgraph.py picks them)
test: install-dev
	@test -d services/$(SERVICE)/src/$(SERVICE) || { echo "no service '$(SERVICE)'; the services are: $(SERVICES)"; exit 2; }
	$(BIN)/ruff check services/$(SERVICE) libs
	$(BIN)/mypy libs/chassis/src libs/contracts/src services/$(SERVICE)/src
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -p no:cacheprovider $$($(BIN)/python deploy/callgraph.py tests $(SERVICE))
else
# the unit, integration and deploy tests spend most of their time waiting (databases created, a
# nats-server started, an answer polled for), so they run in TEST_WORKERS processes, a file each;
# the system tests start whole platforms, so they run after them, SYSTEM_WORKERS platforms side
# by side: a platform's tests in one process (tests/system/conftest.py groups them); the 15
# slowest steps are printed (decision 109)
test: lint install-tools ## lint, then the whole suite: unit, integration, deploy files, then system
	$(BIN)/pytest -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m "not system and not browser"
	$(BIN)/pytest -p no:cacheprovider -n $(SYSTEM_WORKERS) --dist loadgroup -m "system or browser" --durations=15
endif

k8s: install ## regenerate deploy/k8s from the code (call graph, settings, souk.toml)
	$(BIN)/python deploy/generate.py

test-fast: install-dev ## unit tests only
	$(BIN)/pytest -p no:cacheprovider -m unit -q

fmt: install-dev
	$(BIN)/ruff check --fix .

bench: install-dev ## benchmarks (they start their own platform; wrk and nginx from Debian help)
	@set -o pipefail; $(PIP) install -r requirements/bench.txt 2>&1 | $(QUIET)
	$(BIN)/python bench/gateway_routing.py
	$(BIN)/python bench/gateway_edge.py
	$(BIN)/python bench/checkout.py
	$(BIN)/python bench/checkout.py --tracing-compare
	$(BIN)/python bench/telemetry_ingest.py
	$(BIN)/python bench/overload.py

clean: down
	rm -rf $(VENV) $(CHECKOV_VENV) var .pytest_cache .mypy_cache .ruff_cache
