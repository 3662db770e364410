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
# The benchmark stacks start Debian's redis-server (the gateway's limiter permits live there).
BENCH_REDIS = command -v redis-server >/dev/null || { apt-get update -qq && apt-get install -y -qq redis-server; }
bench: ## quick benchmark pass (~15 min): regenerates docs/benchmarks.md and docs/bench/
	python3 -m pip install -q --disable-pip-version-check -r bench/requirements.txt
	bash scripts/tools.sh temporal llm-d-inference-sim
	bash -c 'source scripts/lib.sh && ensure_postgres_installed'
	$(BENCH_REDIS)
	$(MAKE) build
	python3 bench/run.py --mode quick

bench-full: ## full-length benchmarks: regenerates docs/benchmarks.md and docs/bench/
	python3 -m pip install -q --disable-pip-version-check -r bench/requirements.txt
	bash scripts/tools.sh temporal llm-d-inference-sim
	bash -c 'source scripts/lib.sh && ensure_postgres_installed'
	$(BENCH_REDIS)
	$(MAKE) build
	python3 bench/run.py --mode full

fmt: ## format the Java sources (spotless)
	$(MVN) -B -ntp -q spotless:apply

tools: ## build the Temporal CLI and llm-d-inference-sim into .tools/bin
	bash scripts/tools.sh

clean: ## remove build output (keeps .tools and .data)
	$(MVN) -B -ntp -q clean

distclean: clean ## also remove .tools and .data (local state)
	rm -rf .tools .data
