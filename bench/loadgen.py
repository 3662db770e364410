"""Interactive traffic for an OpenAI-compatible server: streaming chat completions at a
fixed arrival rate (open loop, Poisson arrivals), recording time to first token (TTFT),
inter-token latency (ITL) and end-to-end latency in HdrHistograms (microseconds).

    python3 bench/loadgen.py --url http://127.0.0.1:9100 --rate 10 --seconds 30

Prints one JSON object: counts, errors, p50/p90/p99/p99.9/max of each histogram, and
each histogram encoded (HdrHistogram's compressed base64 form), so runs can be merged or
re-analysed later (`hdrh.histogram.HdrHistogram.decode`). Arrivals that find
`--max-in-flight` requests still running are counted as `dropped`, not queued, so a slow
server cannot make the generator's own queue part of the measured latency.

Used as a library by the interactive scenario (bench/scenarios.py): `run(...)` returns the
same dict. The interactive-protection benchmarks of the adaptive-capacity work build on it.
"""

import argparse
import asyncio
import json
import random
import time

from hdrh.histogram import HdrHistogram
from openai import AsyncOpenAI

LOWEST_US = 1
HIGHEST_US = 600_000_000  # 10 minutes
SIGNIFICANT = 3
PERCENTILES = (50, 90, 99, 99.9)


def new_histogram():
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT)


def prompt_of_words(words, seed):
    rng = random.Random(seed)
    vocabulary = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
                  "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]
    return " ".join(rng.choice(vocabulary) for _ in range(words))


class Recorder:
    def __init__(self):
        self.ttft = new_histogram()
        self.itl = new_histogram()
        self.e2e = new_histogram()
        self.ok = 0
        self.errors = 0
        self.dropped = 0
        self.tokens = 0
        self.error_samples = []

    def summary(self, seconds):
        def hist(h):
            if h.get_total_count() == 0:
                return {"count": 0}
            out = {"count": h.get_total_count(),
                   "mean_ms": round(h.get_mean_value() / 1000, 3),
                   "max_ms": round(h.get_max_value() / 1000, 3)}
            for p in PERCENTILES:
                out[f"p{p:g}_ms"] = round(h.get_value_at_percentile(p) / 1000, 3)
            out["encoded"] = h.encode().decode()
            return out

        return {
            "seconds": round(seconds, 2),
            "ok": self.ok,
            "errors": self.errors,
            "dropped": self.dropped,
            "achieved_rate": round(self.ok / seconds, 2) if seconds else 0,
            "output_chunks": self.tokens,
            "ttft": hist(self.ttft),
            "itl": hist(self.itl),
            "e2e": hist(self.e2e),
            "error_samples": self.error_samples[:5],
        }


async def one_request(client, model, prompt, max_tokens, recorder, headers):
    start = time.perf_counter()
    last = None
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=max_tokens,
            stream=True,
            extra_headers=headers or None,
        )
        async for chunk in stream:
            if not chunk.choices or not chunk.choices[0].delta.content:
                continue
            now = time.perf_counter()
            if last is None:
                recorder.ttft.record_value(max(LOWEST_US, int((now - start) * 1e6)))
            else:
                recorder.itl.record_value(max(LOWEST_US, int((now - last) * 1e6)))
            last = now
            recorder.tokens += 1
        recorder.e2e.record_value(max(LOWEST_US, int((time.perf_counter() - start) * 1e6)))
        recorder.ok += 1
    except Exception as e:  # every failure is counted, the run goes on
        recorder.errors += 1
        if len(recorder.error_samples) < 5:
            recorder.error_samples.append(repr(e)[:300])


async def run_async(url, model, rate, seconds, prompt_words=64, max_tokens=32,
                    max_in_flight=256, seed=1, headers=None, api_key="none"):
    recorder = Recorder()
    rng = random.Random(seed)
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    client = AsyncOpenAI(base_url=base, api_key=api_key, max_retries=0, timeout=300)
    tasks = set()
    try:
        start = time.perf_counter()
        next_at = start
        n = 0
        while True:
            next_at += rng.expovariate(rate)
            if next_at - start > seconds:
                break
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(tasks) >= max_in_flight:
                recorder.dropped += 1
                continue
            prompt = f"Question {n}: " + prompt_of_words(prompt_words, seed * 1_000_003 + n)
            n += 1
            task = asyncio.create_task(
                one_request(client, model, prompt, max_tokens, recorder, headers))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.wait(tasks, timeout=300)
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    return recorder.summary(elapsed)


def run(url, model, rate, seconds, **kwargs):
    return asyncio.run(run_async(url, model, rate, seconds, **kwargs))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="server base URL, with or without /v1")
    parser.add_argument("--model", default="Qwen/Qwen3-0.6B")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--prompt-words", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                        help="extra request header, e.g. x-gateway-inference-objective:chat")
    parser.add_argument("--no-histograms", action="store_true",
                        help="leave the encoded histograms out of the output")
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    result = run(args.url, args.model, args.rate, args.seconds, prompt_words=args.prompt_words,
                 max_tokens=args.max_tokens, max_in_flight=args.max_in_flight, seed=args.seed,
                 headers=headers)
    if args.no_histograms:
        for key in ("ttft", "itl", "e2e"):
            result[key].pop("encoded", None)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
