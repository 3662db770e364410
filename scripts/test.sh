#!/usr/bin/env bash
# `make test`: every test against real components, on an isolated throwaway stack.
#
#  0. installs what is missing and can be installed without asking: the Debian
#     packages maven, postgresql, redis-server, openssl, python3-venv (when root), the
#     Python packages of tests/compat/python/requirements.txt into .venv, the
#     Temporal CLI and the simulator into .tools/bin; names the rest in one line;
#  1. starts, in a temp dir (never .data): PostgreSQL :55433, Temporal dev server
#     :7244 (UI :8244), llm-d-inference-sim :8101 and a faulty one :8102 (half of
#     its requests fail with 429 rate_limit or 503 server_error, for retry tests),
#     and redis-server :6380;
#  2. runs `mvn verify -DskipITs=false`: unit tests (surefire) and *IT (failsafe),
#     which find the stack through the BGW_TEST_* variables exported below;
#  3. starts the built gateway jar on :8010 (admin :8011) against the same stack
#     and runs the OpenAI-client compatibility tests in tests/compat/python.
#
# Usage: scripts/test.sh [-- <extra mvn args>]    e.g. -- -pl service -Dit.test=FooIT
# Env:   BGW_TEST_SKIP_MVN=1, BGW_TEST_SKIP_PYTEST=1 skip a step;
#        BGW_TEST_KEEP=1 keeps the temp dir (data and logs) afterwards;
#        BGW_TEST_PYTEST_ARGS="-k fuzz" passes arguments to the compatibility pytest run;
#        BGW_TEST_E2E_ARGS="-k operator" does the same for the end-to-end run (tests/e2e);
#        BGW_TEST_FUZZ_EXAMPLES sizes the fuzz suite (tests/compat/python/test_fuzz.py).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BGW_ROOT"

if [[ ${1:-} == "--" ]]; then shift; fi
MVN_ARGS=("$@")

PG_PORT=55433
TEMPORAL_PORT=7244
TEMPORAL_UI_PORT=8244
SIM_PORT=8101
FAULTY_SIM_PORT=8102
SLOW_SIM_PORT=8103
CRASH_SIM_PORT=8105
REDIS_PORT=6380
GW_HTTP_PORT=8010
GW_ADMIN_PORT=8011
JAR="service/target/batch-gateway.jar"
COMPAT_DIR="tests/compat/python"
# Remembers the last run's temp dir, so a run that was killed (no cleanup) is
# cleaned up by the next one instead of blocking its ports.
LAST_FILE="${TMPDIR:-/tmp}/batch-gateway-test.last"

mvn_rc=skipped
pytest_rc=skipped

phase_start=$SECONDS
phase() {
  log "== $* (previous step took $((SECONDS - phase_start))s)"
  phase_start=$SECONDS
}

# --- what the run needs, before anything starts -----------------------------------
# What can be installed without asking is: Debian packages when we are root, the
# Python packages into the project's .venv. The rest is named in one line, with
# how to install it, before anything is started.
phase "prerequisites"
need=()
bgw_java_home >/dev/null 2>&1 || need+=("$BGW_JDK_HINT")
# openssl makes the certificates of the TLS tests (PostgresTlsIT, RedisTlsIT).
debs=(maven postgresql redis-server openssl)
venv_ready || debs+=(python3-venv)
missing=$(missing_debs "${debs[@]}")
# shellcheck disable=SC2086 # a list of package names
if [[ -n $missing ]] && ! install_debs $missing; then
  missing=$(missing_debs "${debs[@]}")
  need+=("Debian packages $missing (sudo apt-get install -y $missing)")
fi
if ((${#need[@]})); then
  die "make test cannot run, missing: $(printf '%s; ' "${need[@]}" | sed 's/; $//')"
fi
bgw_use_java
# pytest, openai (tests/compat/python/requirements.txt) into .venv; its python
# runs both pytest suites, and comes first on PATH for anything they start.
ensure_venv "$COMPAT_DIR/requirements.txt"
export VIRTUAL_ENV="$BGW_VENV"
export PATH="$BGW_VENV/bin:$PATH"
PYTHON="$BGW_VENV/bin/python"

# --- leftovers of a killed run ------------------------------------------------
if [[ -f $LAST_FILE ]]; then
  read -r old old_pid old_start <"$LAST_FILE" || true
  if [[ -n ${old_pid:-} ]] && pid_alive "$old_pid" && [[ $(pid_starttime "$old_pid") == "${old_start:-}" ]]; then
    die "another test run (pid $old_pid, $old) is using the test ports; wait for it or stop it"
  fi
  if [[ -n ${old:-} && -d $old/logs ]]; then
    log "cleaning up after an earlier test run that did not finish ($old)"
    for f in "$old"/logs/*.pid; do
      if [[ -e $f ]]; then stop_pidfile "$f" "$(basename "$f" .pid)"; fi
    done
    if [[ -f $old/postgres/PG_VERSION ]]; then stop_postgres "$old/postgres"; fi
    rm -rf "$old"
  fi
  rm -f "$LAST_FILE"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bgw-test.XXXXXX")
# PostgreSQL runs as the postgres user when we are root: it must reach the dir.
chmod 755 "$WORK"
echo "$WORK $$ $(pid_starttime $$)" >"$LAST_FILE"
LOGS="$WORK/logs"
mkdir -p "$LOGS"

cleanup() {
  local rc=$?
  trap '' INT TERM
  set +e
  # Logs first: after the shutdown their last lines would be shutdown noise.
  ((rc == 0)) || tail_logs "$LOGS"/*.log
  stop_all
  if ((rc != 0)); then
    local keep="$BGW_ROOT/target/test-logs"
    rm -rf "$keep" && mkdir -p "$keep" && cp "$LOGS"/*.log "$keep"/ 2>/dev/null
    log "service logs copied to $keep"
  fi
  if [[ ${BGW_TEST_KEEP:-0} == 1 ]]; then
    log "kept $WORK"
  else
    rm -rf "$WORK"
  fi
  rm -f "$LAST_FILE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- tools and the stack --------------------------------------------------------
phase "tools"
bash scripts/tools.sh

phase "starting the test stack in $WORK"
BGW_PG_FAST=1 start_postgres "$WORK/postgres" "$PG_PORT" "$LOGS/postgres.log"
start_temporal "$WORK/temporal/temporal.db" "$TEMPORAL_PORT" "$TEMPORAL_UI_PORT" "$LOGS/temporal.log"
start_sim "$SIM_PORT" "$LOGS/simulator.log"
# --failure-types takes space-separated values after ONE flag: a comma list is
# rejected, and a repeated flag keeps only its first value.
start_sim "$FAULTY_SIM_PORT" "$LOGS/simulator-faulty.log" \
  --failure-injection-rate 50 --failure-types rate_limit server_error
# Slow enough that a batch is still running when a test cancels it or lets it expire.
start_sim "$SLOW_SIM_PORT" "$LOGS/simulator-slow.log" \
  --max-num-seqs 16 --time-to-first-token 500ms --inter-token-latency 50ms
# A little latency, so the crash test can kill `make run` in the middle of a batch.
start_sim "$CRASH_SIM_PORT" "$LOGS/simulator-crash.log" \
  --max-num-seqs 128 --time-to-first-token 40ms --inter-token-latency 5ms
# Installed by the prerequisites step: tests that need Redis never skip for want of it.
start_redis "$REDIS_PORT" "$WORK/redis" "$LOGS/redis.log" ||
  die "redis-server missing: install with: sudo apt-get install -y redis-server"
export BGW_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

export BGW_TEST_DB_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/$BGW_PG_DB"
# PostgresOutageIT stops and starts this cluster with pg_ctl (as its OS user when we are root).
BGW_TEST_PG_DATA=$(readlink -f "$WORK/postgres")
BGW_TEST_PG_BIN=$(pg_bindir)
BGW_TEST_PG_OS_USER=""
if ((EUID == 0)); then BGW_TEST_PG_OS_USER="$BGW_PG_OS_USER"; fi
export BGW_TEST_PG_DATA BGW_TEST_PG_BIN BGW_TEST_PG_OS_USER BGW_TEST_PG_LOG="$LOGS/postgres.log"
export BGW_TEST_DB_USER="$BGW_PG_ROLE"
export BGW_TEST_DB_PASSWORD="$BGW_PG_PASSWORD"
export BGW_TEST_TEMPORAL="127.0.0.1:$TEMPORAL_PORT"
export BGW_TEST_INFERENCE_URL="http://127.0.0.1:$SIM_PORT"
export BGW_TEST_FAULTY_INFERENCE_URL="http://127.0.0.1:$FAULTY_SIM_PORT"
export BGW_TEST_SLOW_INFERENCE_URL="http://127.0.0.1:$SLOW_SIM_PORT"
export BGW_TEST_CRASH_INFERENCE_URL="http://127.0.0.1:$CRASH_SIM_PORT"
export BGW_TEST_MODEL="$BGW_SIM_MODEL"

# --- Maven: unit tests and integration tests -----------------------------------
if [[ ${BGW_TEST_SKIP_MVN:-0} != 1 ]]; then
  phase "mvn verify -DskipITs=false${MVN_ARGS[*]:+ ${MVN_ARGS[*]}}"
  mvn_rc=0
  mvn -B -ntp verify -DskipITs=false "${MVN_ARGS[@]}" || mvn_rc=$?
fi

# --- the gateway jar and the OpenAI-client compatibility tests ------------------
has_compat_tests() {
  [[ -d $COMPAT_DIR ]] && [[ -n $(find "$COMPAT_DIR" -name 'test_*.py' -o -name '*_test.py' | head -n 1) ]]
}

if [[ ${BGW_TEST_SKIP_PYTEST:-0} == 1 ]]; then
  log "compatibility tests skipped (BGW_TEST_SKIP_PYTEST=1)"
elif [[ $mvn_rc != 0 && $mvn_rc != skipped ]]; then
  log "Maven failed: compatibility tests not run"
elif ! has_compat_tests; then
  log "no tests in $COMPAT_DIR yet: compatibility tests skipped"
elif [[ ! -f $JAR ]]; then
  log "$JAR missing: build it first (make build)"
  pytest_rc=1
else
  phase "gateway on :$GW_HTTP_PORT and pytest $COMPAT_DIR"
  java_opts=()
  read -r -a java_opts <<<"${BGW_TEST_JAVA_OPTS:-}"
  mkdir -p "$WORK/gateway"
  # The gateway's pool limiter keeps its permits in the test Redis.
  redis_env=()
  if [[ -n ${BGW_TEST_REDIS_URL:-} ]]; then redis_env=(BGW_REDIS_URL="$BGW_TEST_REDIS_URL"); fi
  bgw_spawn gateway "$LOGS/gateway.log" 30 env "${redis_env[@]}" \
    BGW_HTTP_PORT="$GW_HTTP_PORT" BGW_ADMIN_PORT="$GW_ADMIN_PORT" \
    BGW_DATA_DIR="$WORK/gateway" \
    BGW_API_KEYS="sk-test-a:tenant-a,sk-test-b:tenant-b" \
    BGW_INFERENCE_URL="$BGW_TEST_INFERENCE_URL" \
    TEMPORAL_ADDRESS="$BGW_TEST_TEMPORAL" \
    BGW_DB_URL="$BGW_TEST_DB_URL" BGW_DB_USER="$BGW_TEST_DB_USER" BGW_DB_PASSWORD="$BGW_TEST_DB_PASSWORD" \
    "$JAVA_HOME/bin/java" -XX:+ExitOnOutOfMemoryError "${java_opts[@]}" -jar "$JAR" server service/config/gateway.yml
  if ! wait_http "http://127.0.0.1:$GW_ADMIN_PORT/healthcheck" 60 "$BGW_LAST_PID"; then
    log "the gateway did not become healthy"
    pytest_rc=1
  else
    export BGW_TEST_GATEWAY_URL="http://127.0.0.1:$GW_HTTP_PORT/v1"
    export BGW_TEST_API_KEY="sk-test-a"
    export BGW_TEST_OTHER_API_KEY="sk-test-b"
    pytest_rc=0
    pytest_args=()
    read -r -a pytest_args <<<"${BGW_TEST_PYTEST_ARGS:-}"
    "$PYTHON" -m pytest -q "${pytest_args[@]}" "$COMPAT_DIR" || pytest_rc=$?
    if [[ $pytest_rc == 5 ]]; then
      log "pytest collected no tests in $COMPAT_DIR"
      pytest_rc=0
    fi
  fi
fi

# --- make run, killed with SIGKILL mid-batch and started again -----------------
e2e_rc=skipped
if [[ ${BGW_TEST_SKIP_E2E:-0} == 1 ]]; then
  log "end-to-end tests skipped (BGW_TEST_SKIP_E2E=1)"
elif [[ $mvn_rc != 0 && $mvn_rc != skipped ]] || [[ $pytest_rc != 0 && $pytest_rc != skipped ]]; then
  log "earlier failures: end-to-end tests not run"
else
  phase "end-to-end: make run crash recovery"
  e2e_rc=0
  e2e_args=()
  read -r -a e2e_args <<<"${BGW_TEST_E2E_ARGS:-}"
  "$PYTHON" -m pytest -q -s "${e2e_args[@]}" tests/e2e || e2e_rc=$?
fi

phase "done"
log "result: maven=$mvn_rc compat=$pytest_rc e2e=$e2e_rc"
[[ $mvn_rc == 0 || $mvn_rc == skipped ]] && [[ $pytest_rc == 0 || $pytest_rc == skipped ]] &&
  [[ $e2e_rc == 0 || $e2e_rc == skipped ]]
