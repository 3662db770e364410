"""Runs one batch through the official openai client, as a user's script would.

Arguments: base URL, API key, input file path, seconds to wait. Prints one JSON line when the
batch is created ({"batch_id": ...}), then one when it has ended (its status, counts and the
custom_id of every output line).
"""
import json
import sys
import time

from openai import OpenAI

base, key, path, wait = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
client = OpenAI(base_url=base + "/v1", api_key=key, max_retries=5)
with open(path, "rb") as f:
    uploaded = client.files.create(file=f, purpose="batch")
batch = client.batches.create(
    input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h")
print(json.dumps({"file_id": uploaded.id, "batch_id": batch.id}), flush=True)

deadline = time.time() + wait
while batch.status not in ("completed", "failed", "expired", "cancelled"):
    if time.time() > deadline:
        print(json.dumps({"status": batch.status, "timed_out": True}), flush=True)
        sys.exit(2)
    time.sleep(0.5)
    batch = client.batches.retrieve(batch.id)

ids = []
if batch.output_file_id:
    for line in client.files.content(batch.output_file_id).text.splitlines():
        if line:
            ids.append(json.loads(line)["custom_id"])
print(json.dumps({"status": batch.status, "completed": batch.request_counts.completed,
                  "failed": batch.request_counts.failed, "custom_ids": ids}), flush=True)
