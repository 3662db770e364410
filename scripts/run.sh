#!/usr/bin/env bash
# `make run`: the whole Batch Gateway on this machine, in the foreground.
#
# Starts what is not given from outside, then the gateway (API + worker):
#   PostgreSQL          unless BGW_DB_URL is set      (port BGW_PG_PORT, default 55432)
#   Temporal dev server unless TEMPORAL_ADDRESS is set  (BGW_TEMPORAL_PORT 7233,
#                                                       UI BGW_TEMPORAL_UI_PORT 8233)
#   inference simulator unless BGW_INFERENCE_URL is set (port BGW_SIM_PORT, default 8100)
#   redis-server        unless BGW_REDIS_URL is set   (port BGW_REDIS_PORT, default 56379;
#                       not at all with BGW_LIMITER=local)
# State (database, Temporal's SQLite file, uploaded files) lives in BGW_DATA_DIR
# (default .data), so the next `make run` carries on where this one stopped.
# Ctrl-C or SIGTERM stops everything this script started.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Resolve a relative BGW_DATA_DIR against the caller's directory, before cd.
BGW_DATA_DIR="${BGW_DATA_DIR:-$BGW_ROOT/.data}"
mkdir -p "$BGW_DATA_DIR"
BGW_DATA_DIR=$(cd "$BGW_DATA_DIR" && pwd)
cd "$BGW_ROOT"

export BGW_DATA_DIR
export BGW_HTTP_PORT="${BGW_HTTP_PORT:-8000}"
export BGW_ADMIN_PORT="${BGW_ADMIN_PORT:-8001}"
export BGW_API_KEYS="${BGW_API_KEYS:-sk-local:default}"
export BGW_SIM_MODEL
PG_PORT="${BGW_PG_PORT:-55432}"
SIM_PORT="${BGW_SIM_PORT:-8100}"
REDIS_PORT="${BGW_REDIS_PORT:-56379}"
TEMPORAL_PORT="${BGW_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${BGW_TEMPORAL_UI_PORT:-8233}"
LOGS="$BGW_DATA_DIR/logs"
JAR="service/target/batch-gateway.jar"

# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
  local rc=$?
  trap '' INT TERM # a second Ctrl-C must not cut the shutdown short
  if [[ -n ${build_pid:-} ]]; then kill "$build_pid" 2>/dev/null || true; fi
  stop_all
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Fail before starting anything if the gateway's own ports are taken.
require_free_port 127.0.0.1 "$BGW_HTTP_PORT" "gateway API (BGW_HTTP_PORT)" || exit 1
require_free_port 127.0.0.1 "$BGW_ADMIN_PORT" "gateway admin (BGW_ADMIN_PORT)" || exit 1

# --- what is missing gets installed or built -------------------------------
bgw_use_java
mkdir -p "$LOGS"
# The jar builds in the background while the tools are fetched and built: on a fresh
# machine both take minutes (Maven downloads, the simulator's Go build), one mostly
# waiting on the network, the other on the CPU.
# Rebuild the jar when it is missing or older than any source or pom.
build_pid=""
if [[ ! -f $JAR || -n $(find pom.xml ./*/pom.xml ./*/src -newer "$JAR" -type f -print -quit 2>/dev/null) ]]; then
  log "building $JAR in the background (mvn package, tests skipped; a few minutes the first time; log: $LOGS/build.log)"
  mvn -B -q -ntp -DskipTests package >"$LOGS/build.log" 2>&1 &
  build_pid=$!
fi
tools=()
[[ -n ${TEMPORAL_ADDRESS:-} ]] || tools+=(temporal)
[[ -n ${BGW_INFERENCE_URL:-} ]] || tools+=(llm-d-inference-sim)
if ((${#tools[@]})); then bash scripts/tools.sh "${tools[@]}"; fi
[[ -n ${BGW_DB_URL:-} ]] || ensure_postgres_installed
# The pool limiter keeps its permits in Redis unless it is told to count locally.
need_redis=0
if [[ -z ${BGW_REDIS_URL:-} && ${BGW_LIMITER:-redisson} == redisson ]]; then
  need_redis=1
  ensure_redis_installed
fi

if [[ -n $build_pid ]]; then
  if ! wait "$build_pid"; then
    tail -n 40 "$LOGS/build.log" >&2
    die "the build failed (log: $LOGS/build.log)"
  fi
  log "built $JAR"
fi

# --- the stack --------------------------------------------------------------
if [[ -z ${BGW_DB_URL:-} ]]; then
  start_postgres "$BGW_DATA_DIR/postgres" "$PG_PORT" "$LOGS/postgres.log"
  export BGW_DB_URL="jdbc:postgresql://127.0.0.1:$PG_PORT/$BGW_PG_DB"
  export BGW_DB_USER="$BGW_PG_ROLE" BGW_DB_PASSWORD="$BGW_PG_PASSWORD"
fi
if [[ -z ${BGW_INFERENCE_URL:-} ]]; then
  start_sim "$SIM_PORT" "$LOGS/simulator.log"
  export BGW_INFERENCE_URL="http://127.0.0.1:$SIM_PORT"
fi
if ((need_redis)); then
  # Permits are soft state: a restarted Redis is sized again by the first worker, so it keeps
  # nothing on disk (no RDB, no AOF) and a stale lease never outlives a restart.
  start_redis "$REDIS_PORT" "$BGW_DATA_DIR/redis" "$LOGS/redis.log"
  export BGW_REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
fi
# Temporal last: its dev server also binds ports of its own choosing (metrics, internal
# services), which once took the port chosen for Redis when Redis started after it.
temporal_ui=""
if [[ -z ${TEMPORAL_ADDRESS:-} ]]; then
  start_temporal "$BGW_DATA_DIR/temporal/temporal.db" "$TEMPORAL_PORT" "$TEMPORAL_UI_PORT" "$LOGS/temporal.log"
  export TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
  temporal_ui="http://127.0.0.1:$TEMPORAL_UI_PORT"
fi
mkdir -p "$BGW_DATA_DIR/files"

# --- the gateway ------------------------------------------------------------
java_opts=()
read -r -a java_opts <<<"${BGW_JAVA_OPTS:-}"
log "starting the gateway (log: $LOGS/gateway.log)"
mkdir -p "$LOGS"
log_offset=$(($(stat -c %s "$LOGS/gateway.log" 2>/dev/null || echo 0) + 1))
# 45 s to stop: the worker's drain grace (temporal.shutdownGrace, 20 s), at most 20 s more to
# shut down, plus margin.
bgw_spawn gateway "$LOGS/gateway.log" 45 \
  "$JAVA_HOME/bin/java" -XX:+ExitOnOutOfMemoryError "${java_opts[@]}" -jar "$JAR" server service/config/gateway.yml
gateway_pid=$BGW_LAST_PID
# The gateway logs to a file (appended across runs); show this run's part here
# too, as a foreground app would.
tail -c "+$log_offset" -F "$LOGS/gateway.log" 2>/dev/null &
BGW_STARTED+=("pid|$!|log tail|1|")

if wait_http "http://127.0.0.1:$BGW_ADMIN_PORT/healthcheck" 120 "$gateway_pid"; then
  cat <<EOF

  Batch Gateway is up (Ctrl-C stops it and everything it started)
    API          http://127.0.0.1:$BGW_HTTP_PORT/v1   (API key: ${BGW_API_KEYS%%:*})
    admin        http://127.0.0.1:$BGW_ADMIN_PORT/healthcheck
    Temporal UI  ${temporal_ui:-(external Temporal at $TEMPORAL_ADDRESS)}
    inference    $BGW_INFERENCE_URL   model $BGW_SIM_MODEL
    limiter      ${BGW_LIMITER:-redisson}${BGW_REDIS_URL:+ (Redis at $BGW_REDIS_URL)}
    data, logs   $BGW_DATA_DIR

EOF
else
  log "the gateway did not become healthy; see $LOGS/gateway.log"
fi

# Wait for the gateway; signals interrupt `wait` and run the traps.
rc=0
wait "$gateway_pid" || rc=$?
log "gateway exited with status $rc"
exit "$rc"
