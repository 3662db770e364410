#!/usr/bin/env bash
# Checks, against a running `make run`, what an operator relies on:
#   1. /metrics on the admin port exposes every metric docs/metrics.md marks `always`,
#      with the documented type, and nothing undocumented (scripts/check_metrics.py);
#   2. the Temporal CLI finds a running batch by its search attributes: BatchStatus,
#      BatchTenant and BatchModel together, and BatchPriority;
#   3. a cancel through the API reaches the workflow (BatchStatus moves on).
#
#   scripts/check_make_run.sh
# Environment: BGW_HTTP_PORT (8000), BGW_ADMIN_PORT (8001), BGW_TEMPORAL_PORT (7233),
# BGW_API_KEY (sk-local) and BGW_TENANT (default, the tenant of that key in make run).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BGW_ROOT"

API="http://127.0.0.1:${BGW_HTTP_PORT:-8000}/v1"
ADMIN="http://127.0.0.1:${BGW_ADMIN_PORT:-8001}"
TEMPORAL="127.0.0.1:${BGW_TEMPORAL_PORT:-7233}"
KEY=${BGW_API_KEY:-sk-local}
TENANT=${BGW_TENANT:-default}
MODEL=${BGW_SIM_MODEL}
LINES=${BGW_CHECK_LINES:-50000} # the most one batch may hold
temporal=$(bgw_tool temporal) || die "the temporal CLI is missing (scripts/tools.sh temporal)"

curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" "$API/files" ||
  die "no gateway answers at $API: start \`make run\` first"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
# lists QUERY: the ids of the workflows the CLI lists for QUERY, one per line. (Read whole:
# `grep -q` straight on the CLI's output would end the pipe early and fail it under pipefail.)
lists() {
  "$temporal" workflow list --address "$TEMPORAL" --query "$1" -o json |
    python3 -c 'import json,sys; [print(w["execution"]["workflowId"]) for w in json.load(sys.stdin)]'
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# docs/metrics.md's `always` means: in a process that has run one batch. Run a small one first.
python3 - "$MODEL" >"$work/small.jsonl" <<'EOF'
import json, sys
for i in range(5):
    print(json.dumps({"custom_id": f"first-{i}", "method": "POST", "url": "/v1/chat/completions",
                      "body": {"model": sys.argv[1], "messages": [{"role": "user", "content": "Hi"}],
                               "max_tokens": 4}}))
EOF
small_file=$(curl -fsS -H "Authorization: Bearer $KEY" -F purpose=batch -F "file=@$work/small.jsonl" "$API/files" | json '["id"]')
small=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"input_file_id\":\"$small_file\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\"}" \
  "$API/batches" | json '["id"]')
status=""
for _ in $(seq 1 120); do
  status=$(curl -fsS -H "Authorization: Bearer $KEY" "$API/batches/$small" | json '["status"]')
  [[ $status == completed || $status == failed ]] && break
  sleep 0.5
done
log "first batch $small: $status"

# A batch long enough to still run while the CLI looks for it.
python3 - "$MODEL" "$LINES" >"$work/batch.jsonl" <<'EOF'
import json, sys
model, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    print(json.dumps({"custom_id": f"check-{i}", "method": "POST", "url": "/v1/chat/completions",
                      "body": {"model": model, "messages": [{"role": "user", "content": f"Q{i}"}],
                               "max_tokens": 16}}))
EOF
file=$(curl -fsS -H "Authorization: Bearer $KEY" -F purpose=batch -F "file=@$work/batch.jsonl" "$API/files" | json '["id"]')
batch=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"input_file_id\":\"$file\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"priority\":7}" \
  "$API/batches" | json '["id"]')
log "created $batch ($LINES lines, priority 7)"

failures=0
check() { # check DESCRIPTION COMMAND...: runs it, counts a failure
  local what=$1
  shift
  if "$@"; then log "ok: $what"; else
    log "FAILED: $what"
    failures=$((failures + 1))
  fi
}

# 2. Found by the CLI while it runs (search attributes are indexed within a second or two).
found_running() {
  local query="WorkflowType='BatchWorkflow' AND BatchStatus='in_progress' AND BatchTenant='$TENANT' AND BatchModel='$MODEL'"
  for _ in $(seq 1 60); do
    if lists "$query" | grep -x "$batch" >/dev/null; then
      echo "  temporal workflow list --address $TEMPORAL --query \"$query\""
      return 0
    fi
    sleep 0.5
  done
  return 1
}
check "the CLI finds $batch by BatchStatus, BatchTenant and BatchModel" found_running
found_by_priority() {
  for _ in $(seq 1 20); do
    if lists "BatchPriority = 7" | grep -x "$batch" >/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}
check "the CLI finds $batch by BatchPriority" found_by_priority
described() {
  local out
  out=$("$temporal" workflow describe --address "$TEMPORAL" --workflow-id "$batch" -o json)
  grep -q '"BatchTenant"' <<<"$out"
}
check "temporal workflow describe shows its search attributes" described

# 1. Metrics, with a batch running (some families appear with the first batch).
# The Temporal SDK's metrics and some of ours are reported on an interval after start:
# a gateway up for only a few seconds may not show them yet, so give it up to 30 s.
metrics_match() {
  local i
  for ((i = 0; i < 15; i++)); do
    if python3 scripts/check_metrics.py "$ADMIN/metrics" >"$work/metrics.out" 2>&1; then
      cat "$work/metrics.out"
      return 0
    fi
    sleep 2
  done
  cat "$work/metrics.out"
  return 1
}
check "/metrics matches docs/metrics.md" metrics_match

# 3. Cancel through the API; the workflow's BatchStatus follows.
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $KEY" "$API/batches/$batch/cancel"
cancelled() {
  for _ in $(seq 1 120); do
    if lists "WorkflowId='$batch' AND BatchStatus IN ('cancelling','cancelled')" | grep -x "$batch" >/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}
check "after the API cancel the CLI sees BatchStatus cancelling/cancelled" cancelled

if ((failures)); then die "$failures check(s) failed"; fi
log "all checks passed"
