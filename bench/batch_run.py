"""Run one batch against a running gateway and report what it cost.

Generates an input file, uploads it, creates the batch, and while it runs samples the
gateway's heap (Dropwizard's /metrics.json on the admin port). Prints one JSON object:
wall time from create to completed, requests per second, peak sampled heap, and the
workflow's history length (read with the Temporal CLI).

    python3 bench/batch_run.py --lines 10000

The scenarios in bench/scenarios.py import the functions below (input writing, upload,
create-and-wait, output checks) and start the stack themselves.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]
TERMINAL = ("completed", "failed", "expired", "cancelled")


def chat_line(custom_id, model, system, user, max_tokens, extra_body=None):
    return json.dumps({
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
            ],
            "max_tokens": max_tokens,
            **(extra_body or {}),
        },
    })


def write_input(path, lines, model, prefixes, max_tokens, pad_bytes, id_prefix="b",
                extra_body=None):
    """Small requests: `prefixes` short system prompts, round-robin. `extra_body` adds
    fields to every request body, e.g. {"ignore_eos": True} (the simulator then answers
    exactly max_tokens tokens)."""
    padding = "x" * pad_bytes
    with open(path, "w") as f:
        for i in range(lines):
            f.write(chat_line(f"{id_prefix}-{i}", model, f"System prompt {i % prefixes}.",
                              f"Request {i}. {padding}", max_tokens, extra_body) + "\n")


def write_lines(path, lines):
    with open(path, "w") as f:
        for line in lines:
            f.write(line + "\n")


def client_for(base_url, api_key):
    return OpenAI(base_url=base_url, api_key=api_key, max_retries=2, timeout=120)


def upload(client, path):
    start = time.monotonic()
    with open(path, "rb") as f:
        input_file = client.files.create(file=f, purpose="batch")
    return input_file.id, time.monotonic() - start


def create(client, file_id, extra_body=None):
    return client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions",
                                 completion_window="24h", extra_body=extra_body or None)


def adaptive_poll(batch):
    """Seconds to the next poll: 1 s while the batch is far from done (each poll costs the
    gateway a request), 0.1 s near the end so the finish time is not blurred."""
    counts = batch.request_counts if batch is not None else None
    if batch is None or counts is None or not counts.total:
        return 0.1 if batch is not None and batch.status == "finalizing" else 0.5
    done = (counts.completed + counts.failed) / counts.total
    return 0.1 if done >= 0.9 or batch.status == "finalizing" else 1.0


def wait(client, batch_id, timeout, poll=adaptive_poll, on_poll=None, start=None):
    """Polls until the batch is terminal. Returns (batch, seconds since start, timeline)
    where timeline is [(seconds, completed + failed)]. `poll` is seconds between polls or
    a function of the last batch giving them; on_poll(batch, elapsed) may act."""
    start = time.monotonic() if start is None else start
    timeline = []
    while True:
        try:
            batch = client.batches.retrieve(batch_id)
        except Exception as e:  # the API may be restarting in some scenarios
            batch = None
            print(f"retrieve failed: {e}", file=sys.stderr)
        elapsed = time.monotonic() - start
        if batch is not None:
            counts = batch.request_counts
            timeline.append((round(elapsed, 2), (counts.completed + counts.failed) if counts else 0))
            if batch.status in TERMINAL:
                return batch, elapsed, timeline
            if on_poll:
                on_poll(batch, elapsed)
        if elapsed > timeout:
            raise TimeoutError(f"batch {batch_id} not finished after {timeout} s")
        time.sleep(poll(batch) if callable(poll) else poll)


def output_ids(client, batch):
    """Counter of custom_ids over the output and error files."""
    ids = Counter()
    for file_id in (batch.output_file_id, batch.error_file_id):
        if not file_id:
            continue
        for line in client.files.content(file_id).text.splitlines():
            if line:
                ids[json.loads(line)["custom_id"]] += 1
    return ids


def check_output(client, batch, expected_ids):
    """(lost, duplicated): expected ids missing from both files, ids present twice or more."""
    ids = output_ids(client, batch)
    lost = sum(1 for i in expected_ids if i not in ids)
    duplicated = sum(n - 1 for n in ids.values() if n > 1)
    return lost, duplicated


def history_length(batch_id, temporal_address):
    tool = ROOT / ".tools" / "bin" / "temporal"
    try:
        out = subprocess.run(
            [str(tool), "workflow", "describe", "--workflow-id", batch_id,
             "--address", temporal_address, "--output", "json"],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout
        return int(json.loads(out)["workflowExecutionInfo"]["historyLength"])
    except (OSError, subprocess.SubprocessError, KeyError, ValueError):
        return None


def main():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from probes import HeapSampler

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--admin-url", default="http://127.0.0.1:8001")
    parser.add_argument("--api-key", default="sk-local")
    parser.add_argument("--temporal", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--model", default="Qwen/Qwen3-0.6B")
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--prefixes", type=int, default=10)
    parser.add_argument("--max-tokens", type=int, default=8)
    parser.add_argument("--pad-bytes", type=int, default=0, help="extra bytes per user message")
    parser.add_argument("--no-sort", action="store_true", help="create with sort_by_prefix=false")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    client = client_for(args.base_url, args.api_key)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        write_input(path, args.lines, args.model, args.prefixes, args.max_tokens, args.pad_bytes)
        size = path.stat().st_size
        file_id, upload_seconds = upload(client, path)

    sampler = HeapSampler([args.admin_url])
    sampler.start()
    start = time.monotonic()
    batch = create(client, file_id, {"sort_by_prefix": False} if args.no_sort else None)
    batch, wall, _ = wait(client, batch.id, args.timeout, start=start)
    sampler.stop()

    result = {
        "batch_id": batch.id,
        "status": batch.status,
        "lines": args.lines,
        "input_bytes": size,
        "upload_seconds": round(upload_seconds, 2),
        "wall_seconds": round(wall, 2),
        "requests_per_second": round(args.lines / wall, 1),
        "completed": batch.request_counts.completed,
        "failed": batch.request_counts.failed,
        "peak_heap_used_mb": round(sampler.peak[args.admin_url] / 2**20, 1),
        "heap_samples": len(sampler.samples[args.admin_url]),
        "history_events": history_length(batch.id, args.temporal),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
