# Two entry points on a fresh machine: `make demo` and `make test`. Both build .venv and
# node_modules themselves from the pinned requirements, and refresh them when those change.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.ready
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_CLI_TELEMETRY := true
# bench's pipelines need pipefail
SHELL := /bin/bash

.PHONY: demo up down status reliability smoke test unit lint typecheck pytest synth bench bench-distribution clean

$(READY): requirements.txt requirements-dev.txt package.json package-lock.json pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .  # drexfy-ops
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# make demo STACK=Drexfy-dev: the same story told to a deployed stack (local/demo.py)
demo: $(READY)
	$(BIN)/python -m local.demo $(if $(STACK),--stack $(STACK))

# The same local platform as a background service, for drexfy-ops and exploring by hand.
# State (ledger, tables, keys, executions, notifications) survives `make down` / `make up`.
up: $(READY)
	$(BIN)/python -m local.control up

down: $(READY)
	$(BIN)/python -m local.control down

status: $(READY)
	$(BIN)/python -m local.control status

test: lint typecheck pytest

# The fast tier alone: pure tests of domain/ and other pure modules (tests/unit), seconds.
unit: $(READY)
	$(BIN)/pytest -q -p no:cacheprovider tests/unit

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(READY)
	$(BIN)/mypy domain lambdas local ops cdk bench app.py

pytest: $(READY)
	$(BIN)/pytest -n 2 --dist loadfile

# Figures, not pass/fail: each prints its table (docs/performance.md records the latest). A
# benchmark that fails does not stop the others; its progress and traceback are in
# .local/bench/<name>.log, and stdout's JSON log lines are dropped from the tables.
BENCH_LOGS := .local/bench
BENCH = set -o pipefail; $(BIN)/python bench/$(1).py 2>$(BENCH_LOGS)/$(1).log | sed '/^{/d'

bench-distribution: $(READY)
	mkdir -p $(BENCH_LOGS)
	$(call BENCH,distribution_bench)

bench: $(READY)
	mkdir -p $(BENCH_LOGS)
	-$(BIN)/python bench/import_time.py
	-$(BIN)/python bench/ledger_bench.py
	-$(call BENCH,purchase_cost)
	-$(call BENCH,purchase_latency)
	-$(call BENCH,withdrawal_bench)
	-$(BIN)/python bench/capacity_model.py
	-$(call BENCH,distribution_bench)

# The whole reliability harness at full size (make test runs it small), then its table. The
# mixed load runs last, alone: it measures the platform under its own load; beside another
# worker's fault matrix the 2 cores starve its steps into Lambda's 30 s timeout.
MIXED_LOAD := tests/reliability/test_mixed_load.py
reliability: $(READY)
	rm -rf .local/reliability
	DREXFY_RELIABILITY=full $(BIN)/pytest -n 2 --dist loadfile tests/reliability \
	    --ignore=$(MIXED_LOAD); harness=$$?; \
	DREXFY_RELIABILITY=full DREXFY_RELIABILITY_APPEND=1 $(BIN)/pytest $(MIXED_LOAD); \
	load=$$?; DREXFY_RELIABILITY=full $(BIN)/python -m tests.reliability.report; \
	test $$harness -eq 0 -a $$load -eq 0

# After a deploy: the deployed stack's smoke checks (ops/smoke.py), e.g. make smoke STACK=Drexfy-dev
smoke: $(READY)
	@test -n "$(STACK)" || { echo "usage: make smoke STACK=Drexfy-<env>"; exit 2; }
	$(BIN)/python -m ops.smoke --stack $(STACK)

synth: $(READY)
	CDK_OUTDIR=cdk.out $(BIN)/python app.py

clean:
	rm -rf $(VENV) node_modules .local cdk.out .pytest_cache .mypy_cache .ruff_cache
