#!/usr/bin/env bash
# Runs the commands of docs/runbook.md, as written there, against a running `make run`, and
# checks what they answer. `make test` runs it (tests/e2e/test_operator_checks.py); by hand,
# start `make run` first (any ports), then
#
#   bash scripts/check_docs_commands.sh
#
# It reads the same variables as `make run` (BGW_HTTP_PORT, BGW_ADMIN_PORT, BGW_TEMPORAL_PORT,
# BGW_PG_PORT, BGW_API_KEYS) to find it. It pauses the pool `default` while it works (so its
# batches stay in progress), creates and cancels three small batches, creates and revokes one
# API key, and resumes the pool at the end. Each command is printed before it runs.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BGW_ROOT"
bgw_use_java
export PATH="$BGW_TOOLS_BIN:$PATH"

# The runbook's variables, here from make run's.
API="http://127.0.0.1:${BGW_HTTP_PORT:-8000}"
ADMIN="http://127.0.0.1:${BGW_ADMIN_PORT:-8001}"
TEMPORAL="127.0.0.1:${BGW_TEMPORAL_PORT:-7233}"
api_keys="${BGW_API_KEYS:-sk-local:default}"
KEY="Authorization: Bearer ${api_keys%%:*}"
export BGW_DB_URL="jdbc:postgresql://127.0.0.1:${BGW_PG_PORT:-55432}/$BGW_PG_DB"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/bgw-docs-check.XXXXXX")
trap 'temporal workflow signal --address "$TEMPORAL" --workflow-id capacity-probe-default --name resume >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT

# run CMD...: prints the command as the runbook has it, runs it, keeps its output in $OUT.
OUT=""
RAN=()
run() {
  RAN+=("$1")
  printf '\n$ %s\n' "$1" >&2
  OUT=$(bash -c "$1" 2>&1) || {
    printf '%s\n' "$OUT" >&2
    die "failed: $1"
  }
  printf '%s\n' "$OUT" >&2
}
expect() { # expect TEXT: the last output holds TEXT
  [[ $OUT == *"$1"* ]] || die "expected '$1' in the output above"
}
export API ADMIN TEMPORAL KEY

# A request file of 50 lines for the simulator's model.
python3 - "$WORK/requests.jsonl" "$BGW_SIM_MODEL" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(50):
        f.write(json.dumps({"custom_id": f"r-{i}", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": sys.argv[2], "messages": [{"role": "user", "content": f"n {i}"}],
                     "max_tokens": 8}}) + "\n")
EOF
new_batch() { # new_batch PRIORITY: prints the id of a new batch
  local file
  file=$(curl -sf "$API/v1/files" -H "$KEY" -F purpose=batch -F "file=@$WORK/requests.jsonl" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])')
  curl -sf "$API/v1/batches" -H "$KEY" -H 'Content-Type: application/json' \
    -d "{\"input_file_id\": \"$file\", \"endpoint\": \"/v1/chat/completions\", \"completion_window\": \"24h\", \"priority\": $1}" |
    python3 -c 'import sys,json; print(json.load(sys.stdin)["id"])'
}
status_of() { curl -sf "$API/v1/batches/$1" -H "$KEY" | python3 -c 'import sys,json; print(json.load(sys.stdin)["status"])'; }
wait_status() { # wait_status BATCH STATUS
  local i
  for ((i = 0; i < 60; i++)); do
    [[ $(status_of "$1") == "$2" ]] && return 0
    sleep 0.5
  done
  die "batch $1 did not reach $2 (it is $(status_of "$1"))"
}

# --- Health and metrics -------------------------------------------------------------
run 'curl -s "$ADMIN/healthcheck"'
expect '"postgresql":{"healthy":true'
expect '"temporal":{"healthy":true'
run 'curl -s "$ADMIN/ping"'
expect 'pong'
run 'curl -s "$ADMIN/metrics" | grep "^batch_gateway_batches{"'
expect 'status="in_progress"'

# --- Pause the pool, so that the batches below stay in progress ----------------------
run 'temporal workflow signal --address "$TEMPORAL" --workflow-id capacity-probe-default --name pause'
sleep 4
run 'curl -s "$ADMIN/metrics" | grep "^batch_gateway_capacity_limit"'
expect 'batch_gateway_capacity_limit{pool="default"} 0'

BATCH=$(new_batch 5)
export BATCH
wait_status "$BATCH" in_progress

# --- Find batches ---------------------------------------------------------------------
run 'temporal workflow list --address "$TEMPORAL" --query "BatchStatus='"'in_progress'"' AND BatchTenant='"'default'"'"'
expect "$BATCH"
run 'temporal workflow count --address "$TEMPORAL" --query "BatchStatus='"'in_progress'"'"'
expect 'Total:'
run 'temporal workflow list --address "$TEMPORAL" --query "BatchModel='"'$BGW_SIM_MODEL'"' AND BatchPriority >= 5"'
expect "$BATCH"
run 'temporal workflow describe --address "$TEMPORAL" --workflow-id "$BATCH"'
expect 'BatchStatus'
run 'temporal workflow query --address "$TEMPORAL" --workflow-id "$BATCH" --type progress'
expect '"status":"IN_PROGRESS"'

# --- Reprioritize ----------------------------------------------------------------------
run 'curl -s -X POST "$API/v1/batches/$BATCH/priority" -H "$KEY" -H "Content-Type: application/json" -d '"'"'{"priority": 20}'"'"''
expect '"priority":20'
run 'temporal workflow signal --address "$TEMPORAL" --workflow-id "$BATCH" --name reprioritize --input '"'"'{"priority": 30}'"'"''
sleep 2
run 'curl -s "$API/v1/batches/$BATCH" -H "$KEY"'
expect '"priority":30'
run 'temporal workflow list --address "$TEMPORAL" --query "BatchPriority >= 30"'
expect "$BATCH"

# --- Pin and pause ----------------------------------------------------------------------
run 'temporal workflow signal --address "$TEMPORAL" --workflow-id capacity-probe-default --name pin --input '"'"'{"permits": 8}'"'"''
run 'temporal workflow query --address "$TEMPORAL" --workflow-id capacity-probe-default --type state'
expect '"steering":{"paused":true,"pinnedPermits":8}'
run 'temporal workflow signal --address "$TEMPORAL" --workflow-id capacity-probe-default --name unpin'
run 'temporal workflow query --address "$TEMPORAL" --workflow-id capacity-probe-default --type state'
expect '"steering":{"paused":true,"pinnedPermits":null}'

# --- Cancel ------------------------------------------------------------------------------
run 'curl -s -X POST "$API/v1/batches/$BATCH/cancel" -H "$KEY"'
expect '"status":"cancelling"'
wait_status "$BATCH" cancelled
OTHER=$(new_batch 0)
wait_status "$OTHER" in_progress
BATCH=$OTHER
run 'temporal workflow signal --address "$TEMPORAL" --workflow-id "$BATCH" --name cancel --input '"'"'{"reason": "stopped by the operator"}'"'"''
wait_status "$BATCH" cancelled
run 'temporal workflow list --address "$TEMPORAL" --query "BatchStatus='"'cancelled'"' AND BatchTenant='"'default'"'"'
expect "$BATCH"

# --- Resume the pool; a new batch completes -----------------------------------------------
run 'temporal workflow signal --address "$TEMPORAL" --workflow-id capacity-probe-default --name resume'
BATCH=$(new_batch 0)
wait_status "$BATCH" completed
run 'temporal workflow list --address "$TEMPORAL" --query "BatchStatus='"'completed'"' AND BatchTenant='"'default'"'"'
expect "$BATCH"

# --- API keys ----------------------------------------------------------------------------
run 'java -jar service/target/batch-gateway.jar keys create --tenant team-a service/config/gateway.yml 2>/dev/null'
expect 'sk-bgw-'
NEW_KEY=$(printf '%s\n' "$OUT" | grep '^sk-bgw-')
KEY_ID=$(printf '%s\n' "$NEW_KEY" | cut -d- -f3)
export KEY_ID
[[ $(curl -s -o /dev/null -w '%{http_code}' "$API/v1/batches" -H "Authorization: Bearer $NEW_KEY") == 200 ]] ||
  die "the new key was refused"
run 'java -jar service/target/batch-gateway.jar keys list --tenant team-a service/config/gateway.yml 2>/dev/null'
expect "$KEY_ID"
run 'java -jar service/target/batch-gateway.jar keys revoke "$KEY_ID" service/config/gateway.yml 2>/dev/null'
expect 'Revoked'
sleep 3
[[ $(curl -s -o /dev/null -w '%{http_code}' "$API/v1/batches" -H "Authorization: Bearer $NEW_KEY") == 401 ]] ||
  die "the revoked key was still accepted"

# --- Every command of the runbook's code blocks was among those run -----------------------
missing=0
while IFS= read -r line; do
  found=0
  for cmd in "${RAN[@]}"; do [[ $cmd == "$line" ]] && found=1; done
  if ((!found)); then
    log "docs/runbook.md has a command this script did not run: $line"
    missing=1
  fi
done < <(awk '/^```/ {inside = !inside; next} inside && /^(curl|temporal|java) /' docs/runbook.md)
((missing == 0)) || die "run the runbook's new commands here too"

log "every runbook command ran and answered as expected"
