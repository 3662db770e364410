"""Run one batch against a running gateway and report what it cost.

Generates an input file, uploads it, creates the batch, and while it runs samples the
gateway's heap (Dropwizard's /metrics on the admin port). Prints one JSON object:
wall time from create to completed, requests per second, peak sampled heap, and the
workflow's history length (read with the Temporal CLI).

    python3 bench/batch_run.py --lines 10000
"""

import argparse
import json
import os
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from openai import OpenAI

ROOT = Path(__file__).resolve().parents[1]


def write_input(path, lines, model, prefixes, max_tokens, pad_bytes):
    padding = "x" * pad_bytes
    with open(path, "w") as f:
        for i in range(lines):
            f.write(
                json.dumps(
                    {
                        "custom_id": f"b-{i}",
                        "method": "POST",
                        "url": "/v1/chat/completions",
                        "body": {
                            "model": model,
                            "messages": [
                                {"role": "system", "content": f"System prompt {i % prefixes}."},
                                {"role": "user", "content": f"Request {i}. {padding}"},
                            ],
                            "max_tokens": max_tokens,
                        },
                    }
                )
                + "\n"
            )


class HeapSampler(threading.Thread):
    def __init__(self, admin_url):
        super().__init__(daemon=True)
        self.url = admin_url.rstrip("/") + "/metrics"
        self.peak = 0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    gauges = json.load(response)["gauges"]
                used = gauges["jvm.memory.heap.used"]["value"]
                self.peak = max(self.peak, used)
                self.samples += 1
            except OSError:
                pass
            self.stopped.wait(0.2)


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
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args()

    client = OpenAI(base_url=args.base_url, api_key=args.api_key, max_retries=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input.jsonl"
        write_input(path, args.lines, args.model, args.prefixes, args.max_tokens, args.pad_bytes)
        size = path.stat().st_size
        upload_start = time.time()
        with open(path, "rb") as f:
            input_file = client.files.create(file=f, purpose="batch")
        upload_seconds = time.time() - upload_start

    sampler = HeapSampler(args.admin_url)
    sampler.start()
    start = time.time()
    batch = client.batches.create(
        input_file_id=input_file.id, endpoint="/v1/chat/completions", completion_window="24h"
    )
    while batch.status not in ("completed", "failed", "expired", "cancelled"):
        if time.time() - start > args.timeout:
            raise SystemExit(f"batch {batch.id} still {batch.status} after {args.timeout} s")
        time.sleep(0.25)
        batch = client.batches.retrieve(batch.id)
    wall = time.time() - start
    sampler.stopped.set()
    sampler.join()

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
        "peak_heap_used_mb": round(sampler.peak / 2**20, 1),
        "heap_samples": sampler.samples,
        "history_events": history_length(batch.id, args.temporal),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
