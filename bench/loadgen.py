"""Interactive traffic for an OpenAI-compatible server: streaming chat completions at a
fixed arrival rate (open loop, Poisson arrivals), recording time to first token (TTFT),
inter-token latency (ITL) and end-to-end latency in HdrHistograms (microseconds).

Requests go through a minimal asyncio HTTP/1.1 client (`--client raw`, the default):
the openai SDK (`--client openai`) costs three to four times the CPU per streamed token,
and on a 2-core machine a generator that falls behind reads several tokens at once and
reports its own lateness as TTFT and inter-token latency.

    python3 bench/loadgen.py --url http://127.0.0.1:9100 --rate 10 --seconds 30

Prints one JSON object: counts, errors, p50/p90/p99/p99.9/max of each histogram, and
each histogram encoded (HdrHistogram's compressed base64 form), so runs can be merged or
re-analysed later (`hdrh.histogram.HdrHistogram.decode`). Arrivals that find
`--max-in-flight` requests still running are counted as `dropped`, not queued, so a slow
server cannot make the generator's own queue part of the measured latency.

Used as a library by the scenarios (bench/scenarios.py): `run(...)` returns the same dict.
Given a `schedule` of (seconds, rate) phases (waves of load), it also returns one summary
per phase, and with `samples=True` one row per request, [start, ttft_ms, e2e_ms, phase]
(start in seconds on the caller's `clock_zero`, a time.monotonic() value, so requests line
up with other samplers' timelines; ttft_ms and e2e_ms are null for a failed request).

    python3 bench/loadgen.py --url http://127.0.0.1:9100 --phase 20:60 --phase 20:4
"""

import argparse
import asyncio
import json
import random
import time

from hdrh.histogram import HdrHistogram

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
            # One pass over the counts for all percentiles.
            for p, v in h.get_percentile_to_value_dict(list(PERCENTILES)).items():
                out[f"p{p:g}_ms"] = round(v / 1000, 3)
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


class OpenAIClient:
    """Streams through the official openai SDK (pydantic models per chunk: three to four
    times the CPU of RawClient, which matters on a small machine)."""

    def __init__(self, base_url, api_key):
        from openai import AsyncOpenAI  # imported only when used: a second of CPU

        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=300)

    async def tokens(self, model, prompt, max_tokens, headers, extra_body):
        stream = await self.client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=max_tokens,
            stream=True,
            extra_headers=headers or None,
            extra_body=extra_body or None,
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                yield time.perf_counter()

    async def close(self):
        await self.client.close()


class RawClient:
    """A minimal HTTP/1.1 client for streaming chat completions on asyncio streams: one
    connection per request (loopback), chunked transfer decoding, server-sent events
    parsed line by line; yields the arrival time of every chunk whose delta carries
    content. It keeps the generator's own CPU per token small, so that on a shared
    2-core machine its lateness does not become part of the measured latencies."""

    def __init__(self, base_url, api_key, timeout=300):
        rest = base_url.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.host, self.port = host, int(port or 80)
        self.path = "/" + path.rstrip("/") + "/chat/completions"
        self.api_key = api_key
        self.timeout = timeout

    async def tokens(self, model, prompt, max_tokens, headers, extra_body):
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}],
                           "max_tokens": max_tokens, "stream": True, **(extra_body or {})}).encode()
        head = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                "Content-Type: application/json", "Accept: text/event-stream",
                f"Authorization: Bearer {self.api_key}", f"Content-Length: {len(body)}",
                "Connection: close"]
        head += [f"{k}: {v}" for k, v in (headers or {}).items()]
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            status_line = await reader.readline()
            parts = status_line.split()
            status = int(parts[1]) if len(parts) > 1 else 0
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
                    chunked = True
            if status != 200:
                rest = await reader.read(2000)
                raise RuntimeError(f"HTTP {status}: {rest[:300]!r}")
            buf = b""
            while True:
                if chunked:
                    size_line = await reader.readline()
                    if not size_line:
                        break
                    size = int(size_line.split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        break
                    data = (await reader.readexactly(size + 2))[:-2]
                else:
                    data = await reader.read(65536)
                    if not data:
                        break
                now = time.perf_counter()
                buf += data
                *lines, buf = buf.split(b"\n")
                for line in lines:
                    # A token is an event whose delta has a non-empty "content" string (the
                    # first event has only the role, the last only finish_reason / usage).
                    at = line.find(b'"content":"') if line.startswith(b"data: {") else -1
                    if at >= 0 and line[at + 11:at + 12] != b'"':
                        yield now
        finally:
            writer.close()

    async def close(self):
        pass


CLIENTS = {"raw": RawClient, "openai": OpenAIClient}


async def one_request(client, model, prompt, max_tokens, recorder, headers, extra_body=None,
                      phase=None, sample=None):
    """One streaming request, recorded in `recorder` and in `phase` (a second Recorder, or
    None); `sample` is a list [start, ttft_ms, e2e_ms, phase index] filled in place."""
    start = time.perf_counter()
    last = None
    first = None
    recorders = (recorder,) if phase is None else (recorder, phase)
    try:
        async for now in client.tokens(model, prompt, max_tokens, headers, extra_body):
            for r in recorders:
                if last is None:
                    r.ttft.record_value(max(LOWEST_US, int((now - start) * 1e6)))
                else:
                    r.itl.record_value(max(LOWEST_US, int((now - last) * 1e6)))
                r.tokens += 1
            if last is None:
                first = now
            last = now
        e2e = time.perf_counter() - start
        for r in recorders:
            r.e2e.record_value(max(LOWEST_US, int(e2e * 1e6)))
            r.ok += 1
        if sample is not None:
            sample[1] = None if first is None else round((first - start) * 1000, 2)
            sample[2] = round(e2e * 1000, 2)
    except Exception as e:  # every failure is counted, the run goes on
        for r in recorders:
            r.errors += 1
            if len(r.error_samples) < 5:
                r.error_samples.append(repr(e)[:300])


async def run_async(url, model, rate=None, seconds=None, prompt_words=64, max_tokens=32,
                    max_in_flight=256, seed=1, headers=None, api_key="none", schedule=None,
                    extra_body=None, samples=False, clock_zero=None, client="raw"):
    """Open-loop Poisson arrivals at `rate` for `seconds`, or through the phases of
    `schedule` [(seconds, rate), ...] one after the other (a rate of 0 sends nothing)."""
    if schedule is None:
        schedule = [(seconds, rate)]
    schedule = [(float(d), float(r)) for d, r in schedule]
    recorder = Recorder()
    phases = [Recorder() for _ in schedule]
    rows = []
    rng = random.Random(seed)
    base = url.rstrip("/")
    if not base.endswith("/v1"):
        base += "/v1"
    client = CLIENTS[client](base, api_key)
    tasks = set()
    zero = time.monotonic() if clock_zero is None else clock_zero
    bounds = []
    try:
        start = time.perf_counter()
        offset = time.monotonic() - zero  # start of the schedule on the caller's clock
        phase_start = start
        n = 0
        for index, (length, phase_rate) in enumerate(schedule):
            phase_end = phase_start + length
            bounds.append((round(offset + phase_start - start, 3), round(offset + phase_end - start, 3)))
            next_at = phase_start
            while phase_rate > 0:
                next_at += rng.expovariate(phase_rate)
                if next_at > phase_end:
                    break
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if len(tasks) >= max_in_flight:
                    recorder.dropped += 1
                    phases[index].dropped += 1
                    continue
                prompt = f"Question {n}: " + prompt_of_words(prompt_words, seed * 1_000_003 + n)
                n += 1
                sample = None
                if samples:
                    sample = [round(time.monotonic() - zero, 3), None, None, index]
                    rows.append(sample)
                task = asyncio.create_task(one_request(
                    client, model, prompt, max_tokens, recorder, headers, extra_body,
                    phases[index] if len(schedule) > 1 else None, sample))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            delay = phase_end - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            phase_start = phase_end
        if tasks:
            await asyncio.wait(tasks, timeout=300)
        elapsed = time.perf_counter() - start
    finally:
        await client.close()
    out = recorder.summary(elapsed)
    if len(schedule) > 1:
        out["phases"] = []
        for (length, phase_rate), r, (t0, t1) in zip(schedule, phases, bounds):
            p = r.summary(length)
            p.update(rate=phase_rate, start=t0, end=t1)
            out["phases"].append(p)
    if samples:
        out["samples"] = rows
    return out


def run(url, model, rate=None, seconds=None, **kwargs):
    return asyncio.run(run_async(url, model, rate, seconds, **kwargs))


def run_process(url, model, rate=None, seconds=None, schedule=None, max_tokens=32, seed=1,
                ignore_eos=False, clock_zero=None, max_in_flight=256, prompt_words=64,
                client="raw", timeout=None):
    """The same as run(..., samples=True) in a child Python process, so the generator has
    an interpreter (GIL) of its own and the caller's threads (samplers, batch polling)
    cannot delay its event loop; the histograms are left out. CLOCK_MONOTONIC is
    system-wide, so samples still line up with `clock_zero`."""
    import subprocess
    import sys

    if schedule is None:
        schedule = [(seconds, rate)]
    cmd = [sys.executable, __file__, "--url", url, "--model", model, "--max-tokens", str(max_tokens),
           "--seed", str(seed), "--max-in-flight", str(max_in_flight), "--prompt-words",
           str(prompt_words), "--client", client, "--no-histograms", "--samples"]
    for length, phase_rate in schedule:
        cmd += ["--phase", f"{length}:{phase_rate}"]
    if ignore_eos:
        cmd.append("--ignore-eos")
    if clock_zero is not None:
        cmd += ["--clock-zero", repr(clock_zero)]
    total = sum(float(d) for d, _ in schedule)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or total + 400)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="server base URL, with or without /v1")
    parser.add_argument("--model", default="Qwen/Qwen3-0.6B")
    parser.add_argument("--rate", type=float, default=5.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--phase", action="append", default=[], metavar="SECONDS:RATE",
                        help="a phase of a load schedule (repeatable; replaces --rate/--seconds)")
    parser.add_argument("--ignore-eos", action="store_true",
                        help="send ignore_eos=true: every answer has max_tokens tokens")
    parser.add_argument("--prompt-words", type=int, default=64)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-in-flight", type=int, default=256)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--header", action="append", default=[], metavar="NAME:VALUE",
                        help="extra request header, e.g. x-gateway-inference-objective:chat")
    parser.add_argument("--client", choices=sorted(CLIENTS), default="raw",
                        help="raw: minimal asyncio HTTP client (default); openai: the SDK")
    parser.add_argument("--samples", action="store_true",
                        help="add one [start, ttft_ms, e2e_ms, phase] row per request")
    parser.add_argument("--clock-zero", type=float, default=None,
                        help="time.monotonic() value sample starts are relative to")
    parser.add_argument("--no-histograms", action="store_true",
                        help="leave the encoded histograms out of the output")
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    schedule = [tuple(float(x) for x in p.split(":", 1)) for p in args.phase] or None
    result = run(args.url, args.model, args.rate, args.seconds, prompt_words=args.prompt_words,
                 max_tokens=args.max_tokens, max_in_flight=args.max_in_flight, seed=args.seed,
                 headers=headers, schedule=schedule,
                 extra_body={"ignore_eos": True} if args.ignore_eos else None,
                 samples=args.samples, clock_zero=args.clock_zero, client=args.client)
    if args.no_histograms:
        for part in [result] + result.get("phases", []):
            for key in ("ttft", "itl", "e2e"):
                part[key].pop("encoded", None)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
