#!/usr/bin/env bash
# Screenshots of the Temporal UI as an operator sees it, for docs/runbook.md:
#   docs/images/temporal-ui-batches.png  the batch workflows, filtered by a search attribute
#   docs/images/temporal-ui-batch.png    one batch: its history, search attributes, memo
#
# Needs `make run` up (in another terminal). Submits three small batches with the
# default key, waits for them to finish, then has Debian's headless Chromium (installed
# with apt-get when missing) load the two pages and save them.
#
#   scripts/screenshots.sh [OUT_DIR]          (default docs/images)
# Environment: BGW_HTTP_PORT (8000), BGW_TEMPORAL_UI_PORT (8233), BGW_API_KEY (sk-local),
# BGW_SIM_MODEL (the model make run serves).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$BGW_ROOT"

OUT=${1:-docs/images}
API="http://127.0.0.1:${BGW_HTTP_PORT:-8000}/v1"
UI="http://127.0.0.1:${BGW_TEMPORAL_UI_PORT:-8233}"
KEY=${BGW_API_KEY:-sk-local}
MODEL=${BGW_SIM_MODEL}

curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" "$API/files" ||
  die "no gateway answers at $API: start \`make run\` first"
curl -fsS -o /dev/null "$UI" || die "no Temporal UI at $UI (make run starts one)"

chromium=$(command -v chromium || true)
if [[ -z $chromium ]]; then
  ensure_debs chromium chromium
  chromium=$(command -v chromium) || die "chromium did not install"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Three batches, each a few lines, so the list has something to show.
ids=()
for n in 1 2 3; do
  for i in $(seq 1 $((n * 5))); do
    printf '{"custom_id":"shot-%d-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"%s","messages":[{"role":"user","content":"Question %d"}],"max_tokens":8}}\n' \
      "$n" "$i" "$MODEL" "$i"
  done >"$work/batch-$n.jsonl"
  file=$(curl -fsS -H "Authorization: Bearer $KEY" -F purpose=batch -F "file=@$work/batch-$n.jsonl" "$API/files" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  batch=$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"input_file_id\":\"$file\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"metadata\":{\"purpose\":\"screenshot\"}}" \
    "$API/batches" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  ids+=("$batch")
  log "created $batch ($((n * 5)) lines)"
done

for batch in "${ids[@]}"; do
  for _ in $(seq 1 120); do
    status=$(curl -fsS -H "Authorization: Bearer $KEY" "$API/batches/$batch" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
    [[ $status == completed || $status == failed ]] && break
    sleep 0.5
  done
  log "$batch: $status"
done

# shot URL FILE: a 1440x900 screenshot once the page's scripts have had time to render.
shot() {
  local url=$1 file=$2
  "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$work/profile" --window-size=1440,900 \
    --virtual-time-budget=15000 --screenshot="$file" "$url" >"$work/chromium.log" 2>&1 || {
    cat "$work/chromium.log" >&2
    die "chromium could not take $file"
  }
  [[ -s $file ]] || die "chromium wrote no $file"
  log "wrote $file"
}

mkdir -p "$OUT"
query=$(python3 -c 'import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1]))' \
  "WorkflowType = 'BatchWorkflow' AND BatchStatus = 'completed'")
shot "$UI/namespaces/default/workflows?query=$query" "$OUT/temporal-ui-batches.png"
shot "$UI/namespaces/default/workflows/${ids[2]}" "$OUT/temporal-ui-batch.png"
