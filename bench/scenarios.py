"""The benchmark scenarios. Each one starts its own stack (PostgreSQL, Temporal dev
server, Redis, simulator(s), gateway process(es)) with the settings it needs, runs, stops
everything (also on failure) and returns a result dict:

    {"name", "title", "config", "runs", "baseline", "figures", "goals", "analysis", "raw"}

`raw` (timelines, heap samples, profiles) goes to bench/results/, the rest into the
summary the report is generated from. Every figure is printed next to a baseline measured
in the same run, and repeated `reps` times (median and min..max).
"""

import json
import math
import os
import random
import subprocess
import time
from pathlib import Path

import batch_run as br
import probes
import jfr_profile as jfr
import loadgen
from common import CpuWindow, stat
from stack import (API_KEY, DEFAULT_LIMITER, MODEL, SIM_PORT, Stack, StackError,
                   history_events, log, port_open, wait_until)

# Gateway defaults (service/config/gateway.yml); the scenarios use them unless they say.
DEFAULTS = dict(chunk_lines=2000, segment_lines=50, parallel_chunks=4, chunk_concurrency=32,
                pool_permits=256, max_activities=64, limiter=DEFAULT_LIMITER,
                capacity="gateway default (adaptive) unless the scenario says")
HEAP = "512m"

# The processes of the gateway's stack, whose CPU a request costs (the engine and the
# benchmark's own client are left out).
STACK_GROUPS = ("gateway", "temporal", "postgres", "redis")


def gateway_pids(*gateways):
    return lambda: [g.pid for g in gateways if g.proc.alive()]


def cpu_groups(stack, gateways, sim):
    return CpuWindow(
        {
            "gateway": gateway_pids(*gateways),
            "simulator": lambda: [sim.proc.pid],
            "temporal": lambda: [stack.temporal_proc.pid],
            "postgres": stack.postgres_pids,
            "redis": lambda: [stack.redis_proc.pid] if getattr(stack, "redis_proc", None) else [],
            "bench client": lambda: [__import__("os").getpid()],
        },
        reaped=lambda: set(stack.postgres_pids()[:1]),
    )


def gateway_meters(gateway):
    """{"succeeded": n, "failed": n, "retried": n}: the gateway's batch request counters."""
    try:
        return probes.request_counts(probes.dropwizard(gateway.admin_url))
    except (OSError, KeyError, ValueError):
        return {}


def meter_delta(before, after):
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def run_batch(client, file_id, lines, timeout, extra_body=None, on_poll=None,
              poll=br.adaptive_poll):
    start = time.monotonic()
    batch = br.create(client, file_id, extra_body)
    batch, wall, timeline = br.wait(client, batch.id, timeout, poll=poll, on_poll=on_poll,
                                    start=start)
    if batch.status != "completed":
        raise RuntimeError(f"batch {batch.id} ended {batch.status}: {batch.errors}")
    return batch, wall, timeline


# ---------------------------------------------------------------------------------------
# 1. Overhead


def overhead(cfg, ctx):
    lines = cfg["lines"]
    concurrency = DEFAULTS["parallel_chunks"] * DEFAULTS["chunk_concurrency"]
    result = {"name": "overhead", "title": "Overhead: zero-latency simulator",
              "config": {"lines": lines, "reps": cfg["reps"], "heap": HEAP,
                         "warmup_lines": cfg["warmup_lines"], "direct_passes": cfg["direct_passes"],
                         "concurrency": concurrency, "max_tokens": 8, **DEFAULTS}}
    raw = {}
    with Stack("overhead", ctx["logs"] / "overhead") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT, "--max-num-seqs", "512", "--max-waiting-queue-length", "10000")
        st.configure_gateway(sim.url, heap=HEAP)
        # `--set overhead.gateway_env='{"BGW_LIMITER": "local"}'` compares other settings.
        gw = st.start_gateway("server", env=cfg.get("gateway_env") or None)
        client = br.client_for(gw.base_url, API_KEY)

        path = st.work / "input.jsonl"
        br.write_input(path, lines, MODEL, 10, 8, 0)
        bodies = st.work / "bodies.jsonl"
        with open(path) as src, open(bodies, "w") as dst:
            for line in src:
                dst.write(json.dumps(json.loads(line)["body"]) + "\n")

        # Baseline: the same bodies straight to the simulator, same HTTP stack and concurrency.
        log(f"overhead: direct baseline, {cfg['direct_passes']} passes of {lines}")
        sim_cpu0 = probes.cpu_seconds(sim.proc.pid)
        out = subprocess.run(
            [f"{st.java_home}/bin/java", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError", str(Path(__file__).parent / "DirectLoad.java"),
             sim.url, str(bodies), str(concurrency), str(cfg["direct_passes"])],
            capture_output=True, text=True, timeout=1200)
        if out.returncode != 0:
            raise RuntimeError(f"DirectLoad failed: {out.stderr[-2000:]}")
        passes = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
        sim_cpu_direct = probes.cpu_seconds(sim.proc.pid) - sim_cpu0
        measured = passes[1:] if len(passes) > 1 else passes  # pass 1 warms the JIT up
        result["baseline"] = {
            "what": "same request bodies sent straight to the simulator by a bare JDK HttpClient "
                    f"(HTTP/1.1, async, {concurrency} in flight), first pass discarded as warm-up",
            "requests_per_second": stat([p["requests_per_second"] for p in measured]),
            "client_cpu_us_per_request": stat([p["client_cpu_us_per_request"] for p in measured]),
            "simulator_cpu_us_per_request": round(sim_cpu_direct * 1e6 / (lines * len(passes)), 1),
            "passes": passes,
        }

        # Warm-up batch: the JIT compiles the gateway's hot paths before anything is measured.
        warm = st.work / "warmup.jsonl"
        br.write_input(warm, cfg["warmup_lines"], MODEL, 10, 8, 0, id_prefix="w")
        warm_id, _ = br.upload(client, warm)
        log(f"overhead: warm-up batch of {cfg['warmup_lines']}")
        run_batch(client, warm_id, cfg["warmup_lines"], 600)

        file_id, upload_s = br.upload(client, path)
        expected = [f"b-{i}" for i in range(lines)]
        runs = []
        profile_summary = None
        # One more repetition than measured, with the JFR profile on: the profiler's own threads
        # (and its sampling) cost CPU that is not the gateway's, so that run is kept apart.
        for rep in range(cfg["reps"] + 1):
            profiled = rep == cfg["reps"]
            log(f"overhead: rep {rep + 1}/{cfg['reps']}, {lines} lines" if not profiled else
                f"overhead: profiled run (not counted), {lines} lines (JFR profile on)")
            heap = probes.HeapSampler([gw.admin_url], interval=1.0)
            heap.start()
            threads0 = probes.thread_cpu(gw.pid)
            meters0 = gateway_meters(gw)
            window = cpu_groups(st, [gw], sim).start()
            if profiled:
                jfr.start(st.java_home, gw.pid)
            batch, wall, timeline = run_batch(client, file_id, lines, cfg["timeout"])
            window.stop()
            if profiled:
                jfr_file = jfr.stop(st.java_home, gw.pid, ctx["results"] / "overhead.jfr")
            threads = probes.thread_cpu_delta(threads0, probes.thread_cpu(gw.pid))
            heap.stop()
            cpu = window.result(lines)
            lost, duplicated = br.check_output(client, batch, expected)
            run = {
                "rep": rep + 1,
                "batch_id": batch.id,
                "wall_seconds": round(wall, 2),
                "requests_per_second": round(lines / wall, 1),
                "gateway_cpu_us_per_request": cpu["cpu_us_per_request"]["gateway"],
                "cpu": cpu,
                "history_events": br.history_length(batch.id, st.temporal_address),
                "completed": batch.request_counts.completed,
                "failed": batch.request_counts.failed,
                "lost": lost,
                "duplicated": duplicated,
                "meters": meter_delta(meters0, gateway_meters(gw)),
                "peak_heap_mb": round(heap.peak[gw.admin_url] / 2**20, 1),
                "profiled": profiled,
                "thread_cpu_us_per_request": {k: round(v * 1e6 / lines, 1)
                                              for k, v in threads.items()},
            }
            if profiled:
                result["profile_run"] = run
            else:
                runs.append(run)
            raw[f"rep{rep + 1}"] = {"timeline": timeline, "threads": threads}
            log(f"overhead: {run['requests_per_second']} req/s, "
                f"{run['gateway_cpu_us_per_request']} us gateway CPU/request, "
                f"{run['history_events']} history events")
        if result.get("profile_run"):
            log("overhead: summarizing the JFR recording")
            profile_summary = jfr.summarize(st.java_home, jfr_file)
            cpu_time = jfr.summarize(st.java_home, jfr_file, event="jdk.CPUTimeSample")
            profile_summary["cpu_time_samples"] = cpu_time if cpu_time["samples"] else None
            profile_summary["recording"] = str(jfr_file.relative_to(ctx["root"]))

    result["runs"] = runs
    rps = stat([r["requests_per_second"] for r in runs])
    cpu_us = stat([r["gateway_cpu_us_per_request"] for r in runs])
    groups = sorted(runs[0]["cpu"]["cpu_us_per_request"])
    result["figures"] = {
        "requests_per_second": rps,
        "gateway_cpu_us_per_request": cpu_us,
        "wall_seconds": stat([r["wall_seconds"] for r in runs], 2),
        "history_events": stat([r["history_events"] for r in runs], 0),
        "ratio_to_direct": round(rps["median"] / result["baseline"]["requests_per_second"]["median"], 3),
        "cpu_us_per_request_by_process": {
            g: stat([r["cpu"]["cpu_us_per_request"][g] for r in runs]) for g in groups},
        "machine_busy_share": stat([r["cpu"]["machine_busy_share"] for r in runs], 3),
        "lost": sum(r["lost"] for r in runs),
        "duplicated": sum(r["duplicated"] for r in runs),
        "retried": sum(r["meters"].get("retried", 0) for r in runs),
        "upload_seconds": round(upload_s, 2),
    }
    # What a user pays per request: every process of the stack but the engine and this benchmark.
    stack_us = stat([sum(v for g, v in r["cpu"]["cpu_us_per_request"].items()
                         if g in STACK_GROUPS) for r in runs])
    bare = result["baseline"]["client_cpu_us_per_request"]["median"]
    result["figures"]["stack_cpu_us_per_request"] = stack_us
    result["figures"]["stack_cpu_ratio_to_bare"] = round(stack_us["median"] / bare, 3) if bare else None
    result["profile"] = profile_summary
    result["goals"] = [
        goal("requests/s", ">=", 3000, rps["median"], "req/s"),
        goal("gateway CPU per request", "<=", 200, cpu_us["median"], "µs"),
        goal("throughput ÷ bare client's", ">=", 0.75, result["figures"]["ratio_to_direct"], "×"),
        goal("whole-stack CPU per request ÷ bare client's", "<=", 1.3,
             result["figures"]["stack_cpu_ratio_to_bare"], "×"),
    ]
    result["raw"] = raw
    return result


def goal(what, op, target, measured, unit):
    if measured is None:
        return {"what": what, "op": op, "target": target, "measured": None, "met": False,
                "unit": unit, "miss": None}
    met = measured >= target if op == ">=" else measured <= target
    # How far off, as a share of the target (positive = missed by that much).
    if target == 0:
        miss = None
    else:
        miss = (target - measured) / target if op == ">=" else (measured - target) / target
    return {"what": what, "op": op, "target": target, "measured": measured, "met": met,
            "unit": unit, "miss": None if miss is None else round(miss, 3)}


# ---------------------------------------------------------------------------------------
# 2. Prefix reuse

PREFIXES = 10
# Short words, so a prompt is about 4 characters per token as with a real tokenizer; the
# simulator's dummy tokenizer counts one token per word or punctuation mark.
VOCABULARY = ("the", "a", "of", "to", "and", "in", "is", "it", "you", "that", "for", "on",
              "are", "with", "as", "be", "at", "this", "have", "or", "by", "not", "but",
              "from", "can", "will", "data", "user", "task", "rule", "when", "must", "each",
              "item", "note", "may", "all", "any", "one", "two", "new", "old", "key", "set")


def system_prompt(k, words):
    """About `words` tokens for the simulator's dummy tokenizer (one per word); every
    prompt has the same token count, so the ideal hit rate is the same for each."""
    rng = random.Random(1000 + k)
    body = " ".join(rng.choice(VOCABULARY) for _ in range(words - 5))
    return f"You are assistant {k}. {body}"


def user_prompt(i):
    return f"Request {i}: summarize item {i} in one line."


def prefix_line(i, k, words, max_tokens):
    return br.chat_line(f"p-{i}", MODEL, system_prompt(k, words), user_prompt(i), max_tokens)


def _chat(url, system, user, max_tokens):
    import urllib.request

    body = json.dumps({"model": MODEL, "max_tokens": max_tokens, "messages": [
        {"role": "system", "content": system}, {"role": "user", "content": user}]}).encode()
    req = urllib.request.Request(url + "/v1/chat/completions", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.load(r)


def prefix_reuse(cfg, ctx):
    n = cfg["requests"]
    words = cfg["prompt_words"]
    block = 16
    running = cfg["max_num_seqs"]
    sim_common = ["--max-num-seqs", str(running), "--max-model-len", "8192",
                  "--block-size", str(block), "--prefill-time-per-token", cfg["prefill_per_token"],
                  "--zmq-endpoint=", "--max-waiting-queue-length", "10000"]
    result = {"name": "prefix", "title": "Prefix reuse: sorted vs unsorted"}
    raw = {}
    with Stack("prefix", ctx["logs"] / "prefix") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()

        # Calibration on a throwaway simulator with a big cache: how the dummy tokenizer
        # counts a prompt, and how many tokens a second request of one prefix finds cached.
        sim = st.start_sim(SIM_PORT + 1, *sim_common, "--enable-kvcache", "--kv-cache-size", "8192")
        probe = system_prompt(99, words)
        a = _chat(sim.url, probe, user_prompt(0), 4)
        b = _chat(sim.url, probe, user_prompt(1), 4)
        prompt_tokens = b["usage"]["prompt_tokens"]
        cached = (b["usage"].get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        assert a["usage"]["prompt_tokens"] == prompt_tokens, "prompts differ in length"
        st.stop_sim(sim)
        if cached <= 0:
            raise StackError("the simulator reported no cached tokens for a repeated prefix")
        request_blocks = -(-prompt_tokens // block)
        prefix_blocks = cached // block
        kv_blocks = running * request_blocks + 2 * prefix_blocks
        ideal_rate = (n - PREFIXES) * cached / (n * prompt_tokens)
        calibration = {
            "system_prompt_chars": len(probe),
            "system_prompt_words": words,
            "prompt_tokens_per_request": prompt_tokens,
            "chars_per_token": round(len(probe) / prompt_tokens, 2),
            "cached_tokens_when_prefix_cached": cached,
            "block_size": block,
            "blocks_per_request": request_blocks,
            "prefix_blocks": prefix_blocks,
            "kv_cache_blocks": kv_blocks,
            "ideal_hit_rate": round(ideal_rate, 4),
        }
        log(f"prefix: calibration {calibration}")
        sim_args = [*sim_common, "--enable-kvcache", "--kv-cache-size", str(kv_blocks)]
        result["config"] = {"requests": n, "prefixes": PREFIXES, "reps": cfg["reps"],
                            "max_num_seqs": running, "prefill_time_per_token": cfg["prefill_per_token"],
                            "max_tokens": cfg["max_tokens"], "simulator_args": sim_args,
                            "calibration": calibration, **DEFAULTS}

        st.configure_gateway(f"http://127.0.0.1:{SIM_PORT + 1}", heap=HEAP)
        gw = st.start_gateway("server")
        client = br.client_for(gw.base_url, API_KEY)
        path = st.work / "prefix.jsonl"
        br.write_lines(path, (prefix_line(i, i % PREFIXES, words, cfg["max_tokens"])
                              for i in range(n)))
        file_id, _ = br.upload(client, path)
        expected = [f"p-{i}" for i in range(n)]

        runs = []
        for rep in range(cfg["reps"]):
            order = [True, False] if rep % 2 == 0 else [False, True]
            for sort in order:
                label = "sorted" if sort else "unsorted"
                sim = st.start_sim(SIM_PORT + 1, *sim_args)  # a fresh, empty cache every run
                try:
                    c0 = probes.sim_counters(sim.url)
                    meters0 = gateway_meters(gw)
                    log(f"prefix: rep {rep + 1}/{cfg['reps']} {label}")
                    batch, wall, timeline = run_batch(
                        client, file_id, n, cfg["timeout"], {"sort_by_prefix": sort})
                    c1 = probes.sim_counters(sim.url)
                finally:
                    st.stop_sim(sim)
                hits = c1["prefix_hits"] - c0["prefix_hits"]
                queries = c1["prefix_queries"] - c0["prefix_queries"]
                rate = hits / queries if queries else 0.0
                lost, duplicated = br.check_output(client, batch, expected)
                run = {
                    "rep": rep + 1, "sorted": sort, "batch_id": batch.id,
                    "makespan_seconds": round(wall, 2),
                    "hit_tokens": int(hits), "queried_tokens": int(queries),
                    "hit_rate": round(rate, 4),
                    "share_of_ideal": round(rate / ideal_rate, 4),
                    "served": int(c1["success"] - c0["success"]),
                    "completed": batch.request_counts.completed,
                    "failed": batch.request_counts.failed,
                    "lost": lost, "duplicated": duplicated,
                    "meters": meter_delta(meters0, gateway_meters(gw)),
                }
                runs.append(run)
                raw[f"rep{rep + 1}-{label}"] = {"timeline": timeline}
                log(f"prefix: {label}: hit rate {run['hit_rate']:.3f} "
                    f"({run['share_of_ideal']:.1%} of ideal), makespan {wall:.1f} s")

    result["runs"] = runs
    s = [r for r in runs if r["sorted"]]
    u = [r for r in runs if not r["sorted"]]
    share_s = stat([r["share_of_ideal"] * 100 for r in s])
    share_u = stat([r["share_of_ideal"] * 100 for r in u])
    mk_s = stat([r["makespan_seconds"] for r in s], 2)
    mk_u = stat([r["makespan_seconds"] for r in u], 2)
    # Pairwise per repetition: sorted and unsorted of one rep ran back to back.
    shorter = stat([(1 - a["makespan_seconds"] / b["makespan_seconds"]) * 100
                    for a, b in zip(s, u)])
    result["baseline"] = {"what": "the same batch with sort_by_prefix=false (round-robin order "
                                  "as uploaded), same simulator settings, fresh cache each run"}
    result["figures"] = {
        "share_of_ideal_sorted_pct": share_s,
        "share_of_ideal_unsorted_pct": share_u,
        "hit_rate_sorted": stat([r["hit_rate"] for r in s], 4),
        "hit_rate_unsorted": stat([r["hit_rate"] for r in u], 4),
        "ideal_hit_rate": calibration["ideal_hit_rate"],
        "makespan_sorted_seconds": mk_s,
        "makespan_unsorted_seconds": mk_u,
        "makespan_shorter_pct": shorter,
        "failed": sum(r["failed"] for r in runs),
        "retried": sum(r["meters"].get("retried", 0) for r in runs),
        "lost": sum(r["lost"] for r in runs),
        "duplicated": sum(r["duplicated"] for r in runs),
    }
    result["goals"] = [
        goal("sorted hit rate, share of ideal", ">=", 95, share_s["median"], "%"),
        goal("unsorted hit rate below sorted by (points)", ">=", 10,
             round(share_s["median"] - share_u["median"], 1), "points"),
        goal("makespan shorter when sorted", ">=", 30, shorter["median"], "%"),
    ]
    result["raw"] = raw
    return result


# ---------------------------------------------------------------------------------------
# 3. Crash cost


def crash_cost(cfg, ctx):
    lines = cfg["lines"]
    seed = cfg.get("seed") or int(time.time())
    rng = random.Random(seed)
    parallel, segment, window = (DEFAULTS["parallel_chunks"], DEFAULTS["segment_lines"],
                                 DEFAULTS["chunk_concurrency"])
    result = {"name": "crash", "title": "Crash cost: SIGKILL of the worker",
              "config": {"lines": lines, "reps": cfg["reps"], "crashes": cfg["crashes"],
                         "seed": seed, "simulator_latency": cfg["ttft"], "heap": HEAP,
                         "processes": "one `api` process and one `worker` process", **DEFAULTS}}
    raw = {}
    runs = []
    baselines = []
    with Stack("crash", ctx["logs"] / "crash") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 2, "--max-num-seqs", "512", "--time-to-first-token",
                           cfg["ttft"], "--max-waiting-queue-length", "10000")
        st.configure_gateway(sim.url, heap=HEAP)
        api = st.start_gateway("api", index=0)
        worker = st.start_gateway("worker", index=1)
        client = br.client_for(api.base_url, API_KEY)
        path = st.work / "crash.jsonl"
        br.write_input(path, lines, MODEL, 7, 4, 0, id_prefix="c")
        file_id, _ = br.upload(client, path)
        expected = [f"c-{i}" for i in range(lines)]

        for rep in range(cfg["reps"]):
            # Baseline: the same batch, nobody killed.
            log(f"crash: rep {rep + 1}/{cfg['reps']} baseline (no crash)")
            s0 = probes.sim_counters(sim.url)["success"]
            batch, wall_base, timeline_base = run_batch(client, file_id, lines, cfg["timeout"])
            s1 = probes.sim_counters(sim.url)["success"]
            lost, dup = br.check_output(client, batch, expected)
            baselines.append({"rep": rep + 1, "wall_seconds": round(wall_base, 2),
                              "served": int(s1 - s0), "lost": lost, "duplicated": dup})

            # Crash points: random progress shares, at least 15 points apart.
            points = []
            while len(points) < cfg["crashes"]:
                points = sorted(rng.uniform(0.1, 0.8) for _ in range(cfg["crashes"]))
                if any(b - a < 0.15 for a, b in zip(points, points[1:])):
                    points = []
            log(f"crash: rep {rep + 1} crash run, kills at {[round(p, 2) for p in points]} of the batch")
            state = {"next": 0, "kills": [], "worker": worker}
            start = time.monotonic()

            def on_poll(batch, elapsed, state=state, points=points):
                done = batch.request_counts.completed + batch.request_counts.failed
                kills = state["kills"]
                if kills and "progress_at" not in kills[-1] and done > kills[-1]["done_at_kill"]:
                    kills[-1]["progress_at"] = round(elapsed, 2)
                    kills[-1]["resume_after_kill_s"] = round(elapsed - kills[-1]["killed_at"], 2)
                    kills[-1]["resume_after_restart_s"] = round(elapsed - kills[-1]["healthy_at"], 2)
                    log(f"crash: progress again {kills[-1]['resume_after_kill_s']} s after the kill")
                if (state["next"] < len(points) and batch.status == "in_progress"
                        and done >= points[state["next"]] * lines
                        and (not kills or "progress_at" in kills[-1])):
                    old = state["worker"]
                    old.proc.kill()
                    killed_at = time.monotonic() - start
                    st.forget(old.proc)
                    # Segments saved between the poll and the kill count as done before it.
                    counts = client.batches.retrieve(batch.id).request_counts
                    done = max(done, counts.completed + counts.failed)
                    wait_until(lambda: not port_open(old.admin_port), 30, "the killed worker's port")
                    new = st.start_gateway("worker", index=1)
                    healthy_at = time.monotonic() - start
                    state["worker"] = new
                    kills.append({"share": round(points[state["next"]], 3), "done_at_kill": done,
                                  "killed_at": round(killed_at, 2),
                                  "healthy_at": round(healthy_at, 2),
                                  "restart_seconds": round(healthy_at - killed_at, 2)})
                    state["next"] += 1
                    log(f"crash: killed the worker at {done}/{lines} done, new worker healthy "
                        f"{healthy_at - killed_at:.1f} s later")

            s_crash0 = probes.sim_counters(sim.url)["success"]
            batch = br.create(client, file_id)
            batch, wall, timeline = br.wait(client, batch.id, cfg["timeout"], poll=0.25,
                                            on_poll=on_poll, start=start)
            worker = state["worker"]
            if batch.status != "completed":
                raise RuntimeError(f"crash batch ended {batch.status}")
            time.sleep(1)  # answers to requests the dead worker sent may still be on their way
            served = int(probes.sim_counters(sim.url)["success"] - s_crash0)
            lost, duplicated = br.check_output(client, batch, expected)
            kills = state["kills"]
            events = history_events(st.temporal_address, batch.id)
            resent = served - lines
            run = {
                "rep": rep + 1, "batch_id": batch.id, "seed": seed,
                "wall_seconds": round(wall, 2),
                "extra_seconds": round(wall - wall_base, 2),
                "crashes": len(kills),
                "lost": lost, "duplicated": duplicated,
                "served": served, "resent": resent,
                "resent_per_crash": round(resent / max(1, len(kills)), 1),
                "kills": kills,
                "history": events,
                "completed": batch.request_counts.completed,
                "failed": batch.request_counts.failed,
            }
            runs.append(run)
            raw[f"rep{rep + 1}"] = {"timeline": timeline, "baseline_timeline": timeline_base,
                                    "kills": kills}
            log(f"crash: lost {lost}, duplicated {duplicated}, re-sent {resent} "
                f"({run['resent_per_crash']} per crash), wall {wall:.1f} s vs {wall_base:.1f} s")

    result["runs"] = runs
    result["baseline"] = {"what": "the same batch on the same stack with no crash",
                          "runs": baselines,
                          "wall_seconds": stat([b["wall_seconds"] for b in baselines], 2),
                          "resent": stat([b["served"] - lines for b in baselines], 0)}
    per_crash_bound = parallel * (segment + window)
    strict_bound = parallel * segment
    all_kills = [k for r in runs for k in r["kills"]]
    result["figures"] = {
        "lost": sum(r["lost"] for r in runs),
        "duplicated": sum(r["duplicated"] for r in runs),
        "resent_per_crash": stat([r["resent_per_crash"] for r in runs]),
        "resent_total": stat([r["resent"] for r in runs], 0),
        "checkpoint_intervals_per_chunk": stat(
            [r["resent_per_crash"] / strict_bound for r in runs], 2),
        "strict_bound_per_crash": strict_bound,
        "design_bound_per_crash": per_crash_bound,
        "resume_after_kill_seconds": stat([k.get("resume_after_kill_s") for k in all_kills], 2),
        "resume_after_restart_seconds": stat([k.get("resume_after_restart_s") for k in all_kills], 2),
        "worker_restart_seconds": stat([k["restart_seconds"] for k in all_kills], 2),
        "wall_seconds": stat([r["wall_seconds"] for r in runs], 2),
        "extra_seconds": stat([r["extra_seconds"] for r in runs], 2),
        "extra_seconds_per_crash": stat([r["extra_seconds"] / max(1, r["crashes"]) for r in runs], 2),
    }
    f = result["figures"]
    result["goals"] = [
        goal("lost requests", "<=", 0, f["lost"], ""),
        goal("duplicated results", "<=", 0, f["duplicated"], ""),
        goal("re-sent per crash (one checkpoint interval per in-flight chunk)", "<=", strict_bound,
             f["resent_per_crash"]["median"] if f["resent_per_crash"] else None, "requests"),
    ]
    result["raw"] = raw
    return result


# ---------------------------------------------------------------------------------------
# 4. Scaling


def scaling(cfg, ctx):
    sizes = cfg["sizes"]
    result = {"name": "scaling", "title": "Scaling: batch size and workers",
              "config": {"sizes": sizes, "workers": cfg["workers"], "reps": cfg["reps"],
                         "heap": HEAP, "warmup_lines": cfg["warmup_lines"],
                         "processes": "one `api` process plus 1 or 2 `worker` processes",
                         "simulator": "zero latency", **DEFAULTS}}
    raw = {}
    runs = []
    with Stack("scaling", ctx["logs"] / "scaling") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 3, "--max-num-seqs", "512", "--max-waiting-queue-length", "10000")
        st.configure_gateway(sim.url, heap=HEAP)
        api = st.start_gateway("api", index=0)
        client = br.client_for(api.base_url, API_KEY)
        files = {}
        for size in sizes + [cfg["warmup_lines"]]:
            path = st.work / f"scale-{size}.jsonl"
            br.write_input(path, size, MODEL, 10, 8, 0, id_prefix=f"s{size}")
            files[size] = br.upload(client, path)[0]
        workers = []
        for count in sorted(cfg["workers"]):
            while len(workers) < count:
                workers.append(st.start_gateway("worker", index=1 + len(workers)))
            log(f"scaling: {count} worker(s), warm-up batch")
            run_batch(client, files[cfg["warmup_lines"]], cfg["warmup_lines"], 600)
            for rep in range(cfg["reps"]):
                for size in sizes:
                    log(f"scaling: {count} worker(s), {size} lines, rep {rep + 1}/{cfg['reps']}")
                    admin = [w.admin_url for w in workers]
                    heap = probes.HeapSampler(admin, interval=0.5)
                    heap.start()
                    window = cpu_groups(st, [api, *workers], sim).start()
                    wcpu = CpuWindow({"workers": gateway_pids(*workers), "api": gateway_pids(api)}).start()
                    batch, wall, timeline = run_batch(client, files[size], size, cfg["timeout"])
                    window.stop()
                    wcpu.stop()
                    heap.stop()
                    cpu = window.result(size)
                    run = {
                        "workers": count, "lines": size, "rep": rep + 1, "batch_id": batch.id,
                        "wall_seconds": round(wall, 2),
                        "ms_per_request": round(wall * 1000 / size, 3),
                        "requests_per_second": round(size / wall, 1),
                        "peak_heap_mb": {str(i + 1): round(heap.peak[u] / 2**20, 1)
                                         for i, u in enumerate(admin)},
                        "max_worker_heap_mb": round(max(heap.peak.values()) / 2**20, 1),
                        "max_worker_retained_mb": round(max(heap.peak_retained.values()) / 2**20, 1),
                        "cpu": cpu,
                        "worker_cpu_us_per_request": wcpu.result(size)["cpu_us_per_request"]["workers"],
                        "history_events": br.history_length(batch.id, st.temporal_address),
                        "completed": batch.request_counts.completed,
                        "failed": batch.request_counts.failed,
                    }
                    runs.append(run)
                    raw[f"w{count}-n{size}-r{rep + 1}"] = {
                        "timeline": timeline,
                        "heap": {str(i + 1): heap.samples[u] for i, u in enumerate(admin)}}
                    log(f"scaling: {run['ms_per_request']} ms/request, {run['requests_per_second']} req/s, "
                        f"peak worker heap {run['max_worker_heap_mb']} MB")

    result["runs"] = runs
    table = []
    for count in sorted(cfg["workers"]):
        for size in sizes:
            rs = [r for r in runs if r["workers"] == count and r["lines"] == size]
            table.append({
                "workers": count, "lines": size,
                "ms_per_request": stat([r["ms_per_request"] for r in rs], 3),
                "requests_per_second": stat([r["requests_per_second"] for r in rs]),
                "max_worker_heap_mb": stat([r["max_worker_heap_mb"] for r in rs]),
                "max_worker_retained_mb": stat([r["max_worker_retained_mb"] for r in rs]),
                "worker_cpu_us_per_request": stat([r["worker_cpu_us_per_request"] for r in rs]),
                "history_events": stat([r["history_events"] for r in rs], 0),
                "machine_busy_share": stat([r["cpu"]["machine_busy_share"] for r in rs], 3),
                "cpu_us_per_request_by_process": {
                    g: stat([r["cpu"]["cpu_us_per_request"][g] for r in rs])
                    for g in sorted(rs[0]["cpu"]["cpu_us_per_request"])},
            })
    result["figures"] = {"table": table}
    one = [t for t in table if t["workers"] == min(cfg["workers"])]
    small, big = one[0], one[-1]
    # "Flat": per-request time of the largest batch vs the middle one (the smallest is
    # dominated by fixed costs: workflow start, plan and finalize activities).
    mid = one[len(one) // 2] if len(one) > 2 else one[0]
    growth = round(big["ms_per_request"]["median"] / mid["ms_per_request"]["median"], 3)
    heap_growth = round(big["max_worker_heap_mb"]["median"] - small["max_worker_heap_mb"]["median"], 1)
    retained_growth = round(big["max_worker_retained_mb"]["median"]
                            - small["max_worker_retained_mb"]["median"], 1)
    two = [t for t in table if t["workers"] == max(cfg["workers"])]
    speedup = round(one[-1]["ms_per_request"]["median"] / two[-1]["ms_per_request"]["median"], 3) \
        if two and two is not one else None
    result["figures"].update({
        "ms_per_request_growth_mid_to_largest": growth,
        "heap_growth_smallest_to_largest_mb": heap_growth,
        "retained_growth_smallest_to_largest_mb": retained_growth,
        "two_worker_speedup_largest": speedup,
    })
    result["baseline"] = {"what": f"the {mid['lines']:,}-line batch with one worker (per-request "
                                  "time) and the smallest batch (heap), same stack and run"}
    result["goals"] = [
        goal(f"ms/request at {big['lines']:,} vs {mid['lines']:,} lines (ratio)", "<=", 1.10, growth, "×"),
        goal(f"retained worker heap growth, {small['lines']:,} → {big['lines']:,} lines", "<=", 64,
             retained_growth, "MB"),
    ]
    result["raw"] = raw
    return result


# ---------------------------------------------------------------------------------------
# Shared by the adaptive-capacity scenarios (5, 6, 7)

IGNORE_EOS = {"ignore_eos": True}  # the simulator then answers exactly max_tokens tokens


def ms(duration):
    """'50ms' / '1.5s' / '200us' -> milliseconds."""
    d = str(duration).strip()
    for suffix, factor in (("ms", 1.0), ("us", 1e-3), ("µs", 1e-3), ("s", 1000.0)):
        if d.endswith(suffix):
            return float(d[:-len(suffix)]) * factor
    return float(d)


def engine_sim_args(cfg):
    return ["--max-num-seqs", str(cfg["max_num_seqs"]), "--time-to-first-token", cfg["ttft"],
            "--inter-token-latency", cfg["itl"], "--max-waiting-queue-length", "10000",
            *cfg.get("sim_extra_args", [])]


def load_cpu_window(stack, gateways, sim):
    """CPU of the stack's processes and of this benchmark, the load generator's child
    processes included (they are reaped before the window closes)."""
    me = os.getpid()
    return CpuWindow(
        {
            "gateway": gateway_pids(*gateways),
            "simulator": lambda: [sim.proc.pid],
            "temporal": lambda: [stack.temporal_proc.pid],
            "postgres": stack.postgres_pids,
            "redis": lambda: [stack.redis_proc.pid] if stack.redis_proc else [],
            "bench client": lambda: [me],
        },
        reaped=lambda: set(stack.postgres_pids()[:1]) | {me},
    )


def request_ms(ttft, itl, tokens):
    """How long one request holds an engine slot in llm-d-inference-sim v0.10.2: the
    worker sleeps TTFT, sends the first token, then sleeps ITL before each further token
    (pkg/llm-d-inference-sim/simulator.go simulateResponseProcessing); with ignore_eos
    an answer has exactly max_tokens tokens."""
    return ms(ttft) + (tokens - 1) * ms(itl)


def calibrate(sim_url, max_tokens, seconds=3.0, rate=4.0):
    """Measured time of one streaming request on the idle simulator (median end-to-end
    at a low rate): the request duration of Little's law."""
    r = loadgen.run_process(sim_url, MODEL, rate, seconds, max_tokens=max_tokens, ignore_eos=True,
                            seed=99)
    e2e = sorted(x[2] for x in r["samples"] if x[2] is not None)
    if not e2e:
        raise StackError(f"calibration requests failed: {r['error_samples']}")
    return {"requests": len(e2e), "e2e_median_ms": e2e[len(e2e) // 2],
            "ttft_median_ms": sorted(x[1] for x in r["samples"] if x[1] is not None)[len(e2e) // 2],
            "chunks_per_request": round(r["output_chunks"] / max(1, r["ok"]), 1)}


def wait_engine_idle(sim_url, seconds=120):
    """Until the simulator has nothing running or waiting (a cancelled batch's requests
    still drain from its queue)."""
    def idle():
        try:
            g = probes.engine_gauges(sim_url)
        except (OSError, ValueError):
            return False
        return g.get("running", 0) == 0 and g.get("waiting", 0) == 0

    wait_until(idle, seconds, "the simulator to be idle", interval=0.5)


def start_batch(client, file_id, timeout=180):
    batch = br.create(client, file_id)
    wait_until(lambda: client.batches.retrieve(batch.id).status in ("in_progress",) + br.TERMINAL,
               timeout, "the batch to be in progress", interval=0.5)
    return batch


def stop_batch(client, batch_id, label):
    """Cancel a batch that was only there to load the engine; returns its status then."""
    status = client.batches.retrieve(batch_id).status
    if status not in br.TERMINAL:
        try:
            client.batches.cancel(batch_id)
        except Exception as e:  # it may have finished in between
            log(f"{label}: cancel: {e}")
    wait_until(lambda: client.batches.retrieve(batch_id).status in br.TERMINAL, 180,
               "the batch to stop", interval=0.5)
    return status


def wait_for_answers(sampler, count=1, seconds=120):
    """Until the gateway's batch.requests.succeeded meter moved by `count` (the batch is
    really sending)."""
    base = None
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = [r for r in sampler.rows if r.get("succeeded") is not None]
        if rows:
            base = rows[0]["succeeded"] if base is None else base
            if rows[-1]["succeeded"] - base >= count:
                return
        time.sleep(0.25)
    raise StackError("the batch sent no request in time")


def counter_at(rows, key, t):
    """Linear interpolation of a cumulative counter (e.g. the succeeded meter) at time t."""
    pts = [(r["t"], r[key]) for r in rows if r.get(key) is not None]
    if not pts or t < pts[0][0] or t > pts[-1][0]:
        return None
    for (t0, v0), (t1, v1) in zip(pts, pts[1:]):
        if t0 <= t <= t1:
            return v0 if t1 == t0 else v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return pts[-1][1]


def rate_between(rows, key, t0, t1):
    a, b = counter_at(rows, key, t0), counter_at(rows, key, t1)
    if a is None or b is None or t1 <= t0:
        return None
    return (b - a) / (t1 - t0)


def mean_between(rows, path, t0, t1):
    vals = []
    for r in rows:
        if t0 <= r["t"] <= t1:
            v = r
            for k in path:
                v = v.get(k) if isinstance(v, dict) else None
            if v is not None:
                vals.append(v)
    return round(sum(vals) / len(vals), 2) if vals else None


def gauge_series(rows, suffix):
    """[(t, value)] of the first capacity.<pool>.<suffix> gauge in the rows."""
    out = []
    for r in rows:
        for k, v in (r.get("gauges") or {}).items():
            if k.endswith("." + suffix) and isinstance(v, (int, float)):
                out.append((r["t"], v))
                break
    return out


def pct_of(values, p):
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    k = max(0, min(len(values) - 1, int(round(p / 100 * len(values) + 0.5)) - 1))
    return values[k]


def strip_encoded(r):
    for part in [r] + r.get("phases", []):
        for key in ("ttft", "itl", "e2e"):
            part.get(key, {}).pop("encoded", None)
    return r


def ratio(a, b, digits=3):
    return round(a / b, digits) if a is not None and b else None


# ---------------------------------------------------------------------------------------
# 5. Interactive protection: waves of interactive traffic beside a batch


def interactive(cfg, ctx):
    """Interactive streaming traffic straight to the simulator in waves (high, low, high,
    low: shares of the engine's capacity), alone, beside a batch through a gateway with
    BGW_CAPACITY=fixed (ungated) and beside the same batch with BGW_CAPACITY=adaptive."""
    slots = cfg["max_num_seqs"]
    sim_args = engine_sim_args(cfg)
    it_tokens, b_tokens = cfg["interactive_max_tokens"], cfg["batch_max_tokens"]
    result = {"name": "interactive", "title": "Interactive protection: waves of interactive "
                                               "traffic beside a batch"}
    raw = {}
    runs = []
    with Stack("interactive", ctx["logs"] / "interactive") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 4, *sim_args)
        cal = calibrate(sim.url, it_tokens)
        duration_s = cal["e2e_median_ms"] / 1000
        high = round(cfg["high"] * slots / duration_s, 2)
        low = round(cfg["low"] * slots / duration_s, 2)
        schedule = [(cfg["phase_seconds"], high), (cfg["phase_seconds"], low)] * cfg["waves"]
        result["config"] = {
            "simulator_args": sim_args, "max_num_seqs": slots,
            "interactive_max_tokens": it_tokens, "batch_max_tokens": b_tokens,
            "request_ms_model": request_ms(cfg["ttft"], cfg["itl"], it_tokens),
            "batch_request_ms_model": request_ms(cfg["ttft"], cfg["itl"], b_tokens),
            "calibration": cal, "high_share": cfg["high"], "low_share": cfg["low"],
            "high_rate": high, "low_rate": low, "phase_seconds": cfg["phase_seconds"],
            "waves": cfg["waves"], "schedule": schedule, "lead_in_seconds": cfg["lead_in"],
            "settle_seconds": cfg["settle"], "batch_lines": cfg["batch_lines"],
            "batch_alone_seconds": cfg["batch_alone_seconds"], "reps": cfg["reps"],
            "heap": HEAP, **DEFAULTS}
        log(f"interactive: one request takes {cal['e2e_median_ms']:.0f} ms alone (model "
            f"{result['config']['request_ms_model']:.0f} ms); {cfg['high']:.0%} of {slots} slots = "
            f"{high}/s, {cfg['low']:.0%} = {low}/s")

        # The operator's figure: the engine's --max-num-seqs (the controller learns it
        # when it is not given, from what the engine runs while requests wait).
        st.configure_gateway(sim.url, heap=HEAP, engine_max_concurrency=cfg["max_num_seqs"])
        gw = st.start_gateway("server", env={"BGW_CAPACITY": "adaptive"})
        client = br.client_for(gw.base_url, API_KEY)
        path = st.work / "batch.jsonl"
        br.write_input(path, cfg["batch_lines"], MODEL, 10, b_tokens, 0, id_prefix="i",
                       extra_body=IGNORE_EOS)
        file_id, _ = br.upload(client, path)

        def waves(label, rep, gateway=None, with_batch=False):
            """One run of the wave schedule; returns (run summary, raw timeline)."""
            zero = time.monotonic()
            sampler = probes.TimelineSampler(sim.url, gateway.admin_url if gateway else None,
                                             cfg["sample_interval"], zero)
            sampler.start()
            batch = None
            try:
                if with_batch:
                    batch = start_batch(client, file_id)
                    wait_for_answers(sampler)
                    time.sleep(cfg["lead_in"])
                log(f"interactive: rep {rep + 1}/{cfg['reps']} {label}: "
                    f"{' / '.join(f'{r}/s' for _, r in schedule)} for {cfg['phase_seconds']} s each")
                window = load_cpu_window(st, [gateway] if gateway else [], sim).start()
                load = loadgen.run_process(sim.url, MODEL, schedule=schedule, max_tokens=it_tokens,
                                           ignore_eos=True, clock_zero=zero, seed=rep + 1,
                                           max_in_flight=cfg.get("max_in_flight", 512))
                window.stop()
                status = stop_batch(client, batch.id, "interactive") if batch else None
            finally:
                rows = sampler.stop()
            if batch:
                wait_engine_idle(sim.url)
            strip_encoded(load)
            phases = load["phases"]
            out = {"label": label, "ttft": load["ttft"], "itl": load["itl"], "e2e": load["e2e"],
                   "ok": load["ok"], "errors": load["errors"], "dropped": load["dropped"],
                   "error_samples": load["error_samples"],
                   "cpu_seconds": window.result(max(1, load["ok"]))["cpu_seconds"],
                   "phases": [{k: ph[k] for k in ("rate", "start", "end", "ok", "errors", "ttft", "itl")}
                              for ph in phases]}
            for ph, summary in zip(phases, out["phases"]):
                t0, t1 = ph["start"] + cfg["settle"], ph["end"]
                summary["engine_running_mean"] = mean_between(rows, ("engine", "running"), t0, t1)
                summary["engine_waiting_mean"] = mean_between(rows, ("engine", "waiting"), t0, t1)
                summary["limit_mean"] = _gauge_mean(rows, "limit", t0, t1)
                summary["in_flight_mean"] = _gauge_mean(rows, "in_flight", t0, t1)
                if with_batch:
                    r = rate_between(rows, "succeeded", t0, t1)
                    summary["batch_rps"] = None if r is None else round(r, 1)
            if with_batch:
                out["batch_id"] = batch.id
                out["batch_status_at_end"] = status
                out["batch_ran_throughout"] = status == "in_progress"
                lows = [(ph["start"] + cfg["settle"], ph["end"]) for ph in phases if ph["rate"] == low]
                highs = [(ph["start"] + cfg["settle"], ph["end"]) for ph in phases if ph["rate"] == high]
                out["batch_low_rps"] = _window_rate(rows, lows)
                out["batch_high_rps"] = _window_rate(rows, highs)
                out["gauges_seen"] = sorted({k for r in rows for k in (r.get("gauges") or {})})
            timeline = {"samples": load["samples"], "rows": rows,
                        "phases": [(ph["start"], ph["end"], ph["rate"]) for ph in phases]}
            return out, timeline

        for rep in range(cfg["reps"]):
            # The batch with the engine to itself (adaptive): what the low phases compare to.
            zero = time.monotonic()
            sampler = probes.TimelineSampler(sim.url, gw.admin_url, cfg["sample_interval"], zero)
            sampler.start()
            try:
                log(f"interactive: rep {rep + 1}/{cfg['reps']} batch alone (adaptive), "
                    f"{cfg['batch_alone_seconds']} s")
                batch = start_batch(client, file_id)
                wait_for_answers(sampler)
                time.sleep(cfg["lead_in"])
                t0 = time.monotonic() - zero
                time.sleep(cfg["batch_alone_seconds"])
                t1 = time.monotonic() - zero
                time.sleep(cfg["sample_interval"] * 2)
                stop_batch(client, batch.id, "interactive")
            finally:
                rows = sampler.stop()
            wait_engine_idle(sim.url)
            alone_batch = {"batch_id": batch.id, "window": [round(t0, 2), round(t1, 2)],
                           "rps": _window_rate(rows, [(t0, t1)]),
                           "engine_running_mean": mean_between(rows, ("engine", "running"), t0, t1),
                           "engine_waiting_mean": mean_between(rows, ("engine", "waiting"), t0, t1),
                           "limit_mean": _gauge_mean(rows, "limit", t0, t1)}
            log(f"interactive: batch alone {alone_batch['rps']} req/s, engine running "
                f"{alone_batch['engine_running_mean']}, waiting {alone_batch['engine_waiting_mean']}")

            alone, tl_alone = waves("interactive alone", rep)
            adaptive, tl_adaptive = waves("beside a batch, adaptive", rep, gw, with_batch=True)
            # Same stack, gateway restarted with fixed permits (today's behaviour).
            gw.stop(st)
            st.flush_redis()
            gw = st.start_gateway("server", env={"BGW_CAPACITY": "fixed"})
            fixed, tl_fixed = waves("beside a batch, fixed (ungated)", rep, gw, with_batch=True)
            gw.stop(st)
            st.flush_redis()
            if rep + 1 < cfg["reps"]:
                gw = st.start_gateway("server", env={"BGW_CAPACITY": "adaptive"})
            run = {"rep": rep + 1, "batch_alone": alone_batch, "alone": alone,
                   "adaptive": adaptive, "fixed": fixed}
            for which in ("adaptive", "fixed"):
                w = run[which]
                w["ttft_p99_ratio"] = ratio(w["ttft"].get("p99_ms"), alone["ttft"].get("p99_ms"))
                w["itl_p99_ratio"] = ratio(w["itl"].get("p99_ms"), alone["itl"].get("p99_ms"))
                w["batch_low_share"] = ratio(w["batch_low_rps"], alone_batch["rps"])
            runs.append(run)
            raw[f"rep{rep + 1}"] = {"alone": tl_alone, "adaptive": tl_adaptive, "fixed": tl_fixed,
                                    "batch_alone": rows}
            log(f"interactive: TTFT p99 alone {alone['ttft'].get('p99_ms')} ms, fixed "
                f"{fixed['ttft'].get('p99_ms')} ms ({fixed['ttft_p99_ratio']}x), adaptive "
                f"{adaptive['ttft'].get('p99_ms')} ms ({adaptive['ttft_p99_ratio']}x); batch in low "
                f"phases: fixed {fixed['batch_low_rps']} req/s, adaptive {adaptive['batch_low_rps']} "
                f"req/s vs {alone_batch['rps']} alone")

    result["runs"] = runs
    fig = {}
    for which in ("alone", "fixed", "adaptive"):
        for key in ("ttft", "itl"):
            for p in ("p50_ms", "p99_ms"):
                fig[f"{key}_{p}_{which}"] = stat([r[which][key].get(p) for r in runs], 2)
    for which in ("fixed", "adaptive"):
        fig[f"ttft_p99_ratio_{which}"] = stat([r[which]["ttft_p99_ratio"] for r in runs], 3)
        fig[f"itl_p99_ratio_{which}"] = stat([r[which]["itl_p99_ratio"] for r in runs], 3)
        fig[f"batch_low_rps_{which}"] = stat([r[which]["batch_low_rps"] for r in runs])
        fig[f"batch_high_rps_{which}"] = stat([r[which]["batch_high_rps"] for r in runs])
        fig[f"batch_low_share_{which}"] = stat([r[which]["batch_low_share"] for r in runs], 3)
        fig[f"batch_ran_throughout_{which}"] = all(r[which]["batch_ran_throughout"] for r in runs)
    fig["batch_alone_rps"] = stat([r["batch_alone"]["rps"] for r in runs])
    fig["errors"] = sum(r[w]["errors"] for r in runs for w in ("alone", "fixed", "adaptive"))
    fig["dropped"] = sum(r[w]["dropped"] for r in runs for w in ("alone", "fixed", "adaptive"))
    # Little's law check: the engine's running count in the alone run's phases.
    fig["engine_running_alone_high"] = stat([_phase_mean(r["alone"], high, "engine_running_mean")
                                             for r in runs])
    fig["engine_running_alone_low"] = stat([_phase_mean(r["alone"], low, "engine_running_mean")
                                            for r in runs])
    fig["capacity_gauges_seen"] = sorted({g for r in runs for w in ("fixed", "adaptive")
                                          for g in r[w].get("gauges_seen", [])})
    result["figures"] = fig
    result["baseline"] = {
        "what": "the same interactive waves on the same simulator with no batch (latency), and "
                "the batch with the engine to itself through the adaptive gateway (throughput)"}

    def med(key):
        return fig[key]["median"] if fig.get(key) else None

    result["goals"] = [
        goal("adaptive: interactive TTFT p99 ÷ alone", "<=", 1.2, med("ttft_p99_ratio_adaptive"), "×"),
        goal("adaptive: interactive inter-token p99 ÷ alone", "<=", 1.2, med("itl_p99_ratio_adaptive"), "×"),
        goal("adaptive: batch throughput in low phases ÷ batch alone", ">=", 0.8,
             med("batch_low_share_adaptive"), "×"),
        goal("stretch: adaptive TTFT p99 ÷ alone", "<=", 1.1, med("ttft_p99_ratio_adaptive"), "×"),
        goal("stretch: adaptive inter-token p99 ÷ alone", "<=", 1.1, med("itl_p99_ratio_adaptive"), "×"),
    ]
    result["raw"] = raw
    return result


def _gauge_mean(rows, suffix, t0, t1):
    vals = [v for t, v in gauge_series(rows, suffix) if t0 <= t <= t1]
    return round(sum(vals) / len(vals), 2) if vals else None


def _window_rate(rows, windows):
    """Requests/s completed by the gateway (batch.requests.succeeded + failed meters) over
    the union of (t0, t1) windows."""
    done = seconds = 0.0
    for t0, t1 in windows:
        parts = [rate_between(rows, k, t0, t1) for k in ("succeeded", "failed")]
        if parts[0] is None:
            return None
        done += sum(p for p in parts if p is not None) * (t1 - t0)
        seconds += t1 - t0
    return round(done / seconds, 1) if seconds else None


def _phase_mean(run, rate, key):
    vals = [ph[key] for ph in run["phases"] if ph["rate"] == rate and ph.get(key) is not None]
    return round(sum(vals) / len(vals), 2) if vals else None


# ---------------------------------------------------------------------------------------
# 6. Capacity drop: the engine becomes slower mid-run


def _post_admin(sim_url, changes):
    """POST /admin/config of llm-d-inference-sim (v0.10.2): partial update of the
    admin-configurable fields, durations as strings; answers the whole configuration."""
    import urllib.request

    req = urllib.request.Request(sim_url + "/admin/config", data=json.dumps(changes).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def _slow(cfg):
    f = cfg["slowdown"]
    return {"time-to-first-token": f"{ms(cfg['ttft']) * f:g}ms",
            "inter-token-latency": f"{ms(cfg['itl']) * f:g}ms"}


def _fast(cfg):
    return {"time-to-first-token": cfg["ttft"], "inter-token-latency": cfg["itl"]}


def settle_time(series, t_change, t_end, tail_seconds, band=0.10, min_band=1):
    """Seconds from t_change until a gauge stays within ±band of its final value (the
    median over the last tail_seconds before t_end), and that final value. The band is at
    least ±min_band: the limit is a whole number of permits, and ±10% of a limit under 10
    is narrower than one permit, so a settled limit of 4 could never move by one (min_band=0
    gives the plain ±band)."""
    after = [(t, v) for t, v in series if t_change <= t <= t_end]
    tail = sorted(v for t, v in after if t >= t_end - tail_seconds)
    if len(after) < 2 or not tail:
        return None, None
    final = tail[len(tail) // 2]
    width = max(abs(final) * band, min_band)
    lo, hi = final - width, final + width
    settled_at = None
    for t, v in after:
        if lo <= v <= hi:
            if settled_at is None:
                settled_at = t
        else:
            settled_at = None
    return (None if settled_at is None else round(settled_at - t_change, 2)), final


P99_MIN_REQUESTS = 100


def rolling_p99(samples, t_from, t_to, window, step=0.5, min_count=5):
    """[(window start, p99 TTFT ms, count)] of requests started in [s, s + window)."""
    out = []
    s0 = t_from
    while s0 + window <= t_to + 1e-9:
        vals = [x[1] for x in samples if s0 <= x[0] < s0 + window and x[1] is not None]
        if len(vals) >= min_count:
            out.append((round(s0, 2), pct_of(vals, 99), len(vals)))
        s0 += step
    return out


def recovery_time(windows, t_change, bound):
    """Seconds from t_change to the start of the first window after which every window's
    p99 stays within bound; None if the last window is still above it."""
    ok_from = None
    for s0, p99, _ in windows:
        if s0 < t_change:
            continue
        if p99 <= bound:
            if ok_from is None:
                ok_from = s0
        else:
            ok_from = None
    return None if ok_from is None else round(ok_from - t_change, 2)


def capacity_drop(cfg, ctx):
    slots = cfg["max_num_seqs"]
    sim_args = engine_sim_args(cfg)
    tokens = cfg["interactive_max_tokens"]
    result = {"name": "capacity_drop", "title": "Capacity drop: the engine becomes "
                                                 f"{cfg['slowdown']}× slower mid-run"}
    raw = {}
    runs = []
    with Stack("capacity_drop", ctx["logs"] / "capacity_drop") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 5, *sim_args)
        cal = calibrate(sim.url, tokens)
        rate = round(cfg["interactive_share"] * slots / (cal["e2e_median_ms"] / 1000), 2)
        # A p99 needs at least 100 requests (fewer, and it is the slowest one): windows long
        # enough to hold that many at this rate, and never shorter than configured.
        window = max(cfg["window_seconds"], math.ceil(P99_MIN_REQUESTS / rate))
        slow = _slow(cfg)
        log(f"capacity_drop: one request takes {cal['e2e_median_ms']:.0f} ms alone; "
            f"{cfg['interactive_share']:.0%} of {slots} slots = {rate}/s")
        result["config"] = {
            "simulator_args": sim_args, "max_num_seqs": slots, "slowdown": cfg["slowdown"],
            "admin_change": slow, "interactive_max_tokens": tokens,
            "batch_max_tokens": cfg["batch_max_tokens"], "calibration": cal,
            "interactive_share_of_fast_engine": cfg["interactive_share"], "interactive_rate": rate,
            "pre_seconds": cfg["pre_seconds"], "post_seconds": cfg["post_seconds"],
            "baseline_seconds": cfg["baseline_seconds"], "window_seconds": window,
            "short_window_seconds": cfg["window_seconds"], "p99_min_requests": P99_MIN_REQUESTS,
            "tail_seconds": cfg["tail_seconds"], "recovery_bound": cfg["recovery_bound"],
            "lead_in_seconds": cfg["lead_in"],
            "batch_lines": cfg["batch_lines"], "reps": cfg["reps"], "heap": HEAP, **DEFAULTS}

        # The operator's figure: the engine's --max-num-seqs (the controller learns it
        # when it is not given, from what the engine runs while requests wait).
        st.configure_gateway(sim.url, heap=HEAP, engine_max_concurrency=cfg["max_num_seqs"])
        gw = st.start_gateway("server", env={"BGW_CAPACITY": "adaptive"})
        client = br.client_for(gw.base_url, API_KEY)

        for rep in range(cfg["reps"]):
            # New baseline: interactive alone on the slowed simulator.
            answer = _post_admin(sim.url, slow)
            applied = {k: answer.get(k) for k in slow}
            log(f"capacity_drop: rep {rep + 1}/{cfg['reps']} baseline: interactive alone on the "
                f"slowed simulator ({applied}), {rate}/s for {cfg['baseline_seconds']} s")
            base = strip_encoded(loadgen.run_process(sim.url, MODEL, rate, cfg["baseline_seconds"],
                                                     max_tokens=tokens, ignore_eos=True, seed=50 + rep))
            _post_admin(sim.url, _fast(cfg))
            wait_engine_idle(sim.url)
            baseline_p99 = base["ttft"].get("p99_ms")

            path = st.work / f"drop-{rep}.jsonl"
            lines = cfg["batch_lines"]
            br.write_input(path, lines, MODEL, 10, cfg["batch_max_tokens"], 0, id_prefix=f"d{rep}",
                           extra_body=IGNORE_EOS)
            file_id, _ = br.upload(client, path)
            zero = time.monotonic()
            sampler = probes.TimelineSampler(sim.url, gw.admin_url, cfg["sample_interval"], zero)
            sampler.start()
            state = {}
            try:
                batch = start_batch(client, file_id)
                wait_for_answers(sampler)
                time.sleep(cfg["lead_in"])

                def change():
                    time.sleep(cfg["pre_seconds"])
                    state["t_change"] = time.monotonic() - zero
                    state["answer"] = _post_admin(sim.url, slow)
                    log(f"capacity_drop: simulator {cfg['slowdown']}× slower at "
                        f"{state['t_change']:.1f} s")

                import threading
                changer = threading.Thread(target=change, daemon=True)
                log(f"capacity_drop: batch of {lines} + interactive {rate}/s; slowdown after "
                    f"{cfg['pre_seconds']} s, observed {cfg['post_seconds']} s more")
                changer.start()
                load = loadgen.run_process(sim.url, MODEL, rate, cfg["pre_seconds"] + cfg["post_seconds"],
                                           max_tokens=tokens, ignore_eos=True, clock_zero=zero,
                                           seed=rep + 1)
                changer.join(timeout=30)
                t_end = time.monotonic() - zero
                status_at_end = client.batches.retrieve(batch.id).status
                # Let the batch finish at full speed: it must complete, every line once.
                _post_admin(sim.url, _fast(cfg))
                t_restore = time.monotonic() - zero
                batch, done_at, _ = br.wait(client, batch.id, cfg["timeout"], poll=1.0, start=zero)
            finally:
                rows = sampler.stop()
                try:
                    _post_admin(sim.url, _fast(cfg))
                except OSError:
                    pass
            expected = [f"d{rep}-{i}" for i in range(lines)]
            lost, duplicated = br.check_output(client, batch, expected)
            t_change = state["t_change"]
            load_end = max((x[0] for x in load["samples"]), default=t_end)
            limit = gauge_series(rows, "limit")
            settle, final = settle_time(limit, t_change, load_end, cfg["tail_seconds"])
            settle_strict, _ = settle_time(limit, t_change, load_end, cfg["tail_seconds"], min_band=0)
            before = [v for t, v in limit if t_change - cfg["tail_seconds"] <= t < t_change]
            first = min((x[0] for x in load["samples"]), default=0)
            windows = rolling_p99(load["samples"], first, load_end, window)
            bound = cfg["recovery_bound"] * baseline_p99 if baseline_p99 else None
            recovery = recovery_time(windows, t_change, bound) if bound else None
            # The configured windows hold fewer requests than a p99 needs, so their "p99" is their
            # slowest request: reported beside, not judged.
            short = rolling_p99(load["samples"], first, load_end, cfg["window_seconds"])
            recovery_short = recovery_time(short, t_change, bound) if bound else None
            post = [x[1] for x in load["samples"] if x[0] >= t_change and x[1] is not None]
            pre = [x[1] for x in load["samples"] if x[0] < t_change and x[1] is not None]
            run = {
                "rep": rep + 1, "batch_id": batch.id, "batch_status": batch.status,
                "batch_status_at_end_of_load": status_at_end,
                "batch_ran_throughout": status_at_end == "in_progress",
                "batch_done_at_seconds": round(done_at, 2), "load_ended_at_seconds": round(t_end, 2),
                "lost": lost, "duplicated": duplicated,
                "completed": batch.request_counts.completed, "failed": batch.request_counts.failed,
                "t_change": round(t_change, 2), "admin_answer": {k: state["answer"].get(k) for k in slow},
                "baseline_slowed": {"ttft": base["ttft"], "itl": base["itl"], "ok": base["ok"],
                                    "errors": base["errors"]},
                "baseline_ttft_p99_ms": baseline_p99,
                "interactive_ttft_p99_before_ms": pct_of(pre, 99),
                "interactive_ttft_p99_after_ms": pct_of(post, 99),
                "interactive_errors": load["errors"],
                "limit_before": sorted(before)[len(before) // 2] if before else None,
                "limit_final": final, "limit_settle_seconds": settle,
                "limit_settle_seconds_strict": settle_strict,
                "ttft_recovery_seconds": recovery,
                "ttft_recovery_seconds_short_windows": recovery_short,
                "ttft_recovery_bound_ms": None if bound is None else round(bound, 1),
                "observed_after_change_seconds": round(load_end - t_change, 2),
                "batch_rps_before": _window_rate(rows, [(t_change - cfg["tail_seconds"], t_change)]),
                "batch_rps_after": _window_rate(rows, [(load_end - cfg["tail_seconds"], load_end)]),
                "gauges_seen": sorted({k for r in rows for k in (r.get("gauges") or {})}),
            }
            runs.append(run)
            raw[f"rep{rep + 1}"] = {"samples": load["samples"], "rows": rows, "windows": windows,
                                    "t_change": t_change, "t_restore": t_restore}
            log(f"capacity_drop: limit settled in {settle} s (final {final}); TTFT p99 back within "
                f"{cfg['recovery_bound']}× of {baseline_p99} ms after {recovery} s; batch "
                f"{batch.status}, lost {lost}, duplicated {duplicated}")

    result["runs"] = runs
    obs = min(r["observed_after_change_seconds"] for r in runs)
    fig = {
        "limit_settle_seconds": stat([r["limit_settle_seconds"] for r in runs], 2),
        "limit_settle_seconds_strict": stat([r["limit_settle_seconds_strict"] for r in runs], 2),
        "ttft_recovery_seconds": stat([r["ttft_recovery_seconds"] for r in runs], 2),
        "ttft_recovery_seconds_short_windows": stat(
            [r["ttft_recovery_seconds_short_windows"] for r in runs], 2),
        "not_recovered": sum(1 for r in runs if r["ttft_recovery_seconds"] is None),
        "limit_before": stat([r["limit_before"] for r in runs]),
        "limit_final": stat([r["limit_final"] for r in runs]),
        "baseline_ttft_p99_ms": stat([r["baseline_ttft_p99_ms"] for r in runs], 2),
        "ttft_p99_before_ms": stat([r["interactive_ttft_p99_before_ms"] for r in runs], 2),
        "ttft_p99_after_ms": stat([r["interactive_ttft_p99_after_ms"] for r in runs], 2),
        "batch_rps_before": stat([r["batch_rps_before"] for r in runs]),
        "batch_rps_after": stat([r["batch_rps_after"] for r in runs]),
        "lost": sum(r["lost"] for r in runs), "duplicated": sum(r["duplicated"] for r in runs),
        "batch_completed_all": all(r["batch_status"] == "completed" for r in runs),
        "batch_ran_throughout": all(r["batch_ran_throughout"] for r in runs),
        "observed_after_change_seconds": obs,
        "capacity_gauges_seen": sorted({g for r in runs for g in r["gauges_seen"]}),
    }
    result["figures"] = fig
    result["baseline"] = {"what": "interactive load alone on the slowed simulator (its TTFT p99 "
                                  "is the level to get back to)"}
    rec = fig["ttft_recovery_seconds"]["median"] if fig["ttft_recovery_seconds"] else None
    if fig["not_recovered"] and rec is None:
        rec = obs  # not back within the observation: at least this long (goal missed)
    g_rec = goal("interactive TTFT p99 back within 1.2× of the slowed baseline", "<=", 15, rec, "s")
    if fig["not_recovered"]:
        g_rec["met"] = False
        g_rec["miss"] = None
        g_rec["note"] = f"not recovered within {obs:.0f} s in {fig['not_recovered']} run(s)"
    result["goals"] = [
        goal("capacity limit settled (±10%, at least ±1 permit) after the slowdown", "<=", 10,
             fig["limit_settle_seconds"]["median"] if fig["limit_settle_seconds"] else None, "s"),
        g_rec,
        goal("lost requests", "<=", 0, fig["lost"], ""),
        goal("duplicated results", "<=", 0, fig["duplicated"], ""),
    ]
    result["raw"] = raw
    return result


# ---------------------------------------------------------------------------------------
# 7. Limiter overhead: permits in Redis (redisson) vs in-process (local)


def limiter_overhead(cfg, ctx):
    lines = cfg["lines"]
    result = {"name": "limiter", "title": "Limiter overhead: Redis (redisson) vs in-process (local)",
              "config": {"lines": lines, "reps": cfg["reps"], "warmup_lines": cfg["warmup_lines"],
                         "heap": HEAP, "capacity": "fixed", "max_tokens": 8, **DEFAULTS}}
    raw = {}
    runs = []
    with Stack("limiter", ctx["logs"] / "limiter") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 6, "--max-num-seqs", "512", "--max-waiting-queue-length", "10000")
        st.configure_gateway(sim.url, heap=HEAP)
        path = st.work / "input.jsonl"
        br.write_input(path, lines, MODEL, 10, 8, 0)
        warm = st.work / "warmup.jsonl"
        br.write_input(warm, cfg["warmup_lines"], MODEL, 10, 8, 0, id_prefix="w")
        expected = [f"b-{i}" for i in range(lines)]
        for rep in range(cfg["reps"]):
            order = ["local", "redisson"] if rep % 2 == 0 else ["redisson", "local"]
            for limiter in order:
                st.flush_redis()
                gw = st.start_gateway("server", env={"BGW_LIMITER": limiter, "BGW_CAPACITY": "fixed"})
                try:
                    client = br.client_for(gw.base_url, API_KEY)
                    warm_id, _ = br.upload(client, warm)
                    file_id, _ = br.upload(client, path)
                    log(f"limiter: rep {rep + 1}/{cfg['reps']} {limiter}: warm-up "
                        f"{cfg['warmup_lines']}, then {lines} lines")
                    run_batch(client, warm_id, cfg["warmup_lines"], cfg["timeout"])
                    groups = {"gateway": gateway_pids(gw), "simulator": lambda: [sim.proc.pid],
                              "redis": lambda: [st.redis_proc.pid],
                              "temporal": lambda: [st.temporal_proc.pid],
                              "postgres": st.postgres_pids}
                    window = CpuWindow(groups, reaped=lambda: set(st.postgres_pids()[:1])).start()
                    redis0 = _redis_commands(st)
                    threads0 = probes.thread_cpu(gw.pid)
                    profiled = cfg.get("profile") and rep == cfg["reps"] - 1
                    if profiled:
                        jfr.start(st.java_home, gw.pid)
                    batch, wall, _ = run_batch(client, file_id, lines, cfg["timeout"])
                    window.stop()
                    threads = probes.thread_cpu_delta(threads0, probes.thread_cpu(gw.pid))
                    if profiled:
                        recording = jfr.stop(st.java_home, gw.pid,
                                             ctx["results"] / f"limiter-{limiter}.jfr")
                        raw[f"profile_{limiter}"] = jfr.summarize(st.java_home, recording, top=40)
                    redis_cmds = _redis_commands(st) - redis0
                    lost, duplicated = br.check_output(client, batch, expected)
                    cpu = window.result(lines)
                finally:
                    gw.stop(st)
                run = {"rep": rep + 1, "limiter": limiter, "batch_id": batch.id,
                       "wall_seconds": round(wall, 2), "requests_per_second": round(lines / wall, 1),
                       "gateway_cpu_us_per_request": cpu["cpu_us_per_request"]["gateway"],
                       "redis_cpu_us_per_request": cpu["cpu_us_per_request"]["redis"],
                       "redis_commands_per_request": round(redis_cmds / lines, 2),
                       "cpu": cpu, "lost": lost, "duplicated": duplicated,
                       "thread_cpu_us_per_request": {k: round(v * 1e6 / lines, 1)
                                                     for k, v in threads.items()},
                       "completed": batch.request_counts.completed,
                       "failed": batch.request_counts.failed}
                runs.append(run)
                log(f"limiter: {limiter}: {run['requests_per_second']} req/s, gateway "
                    f"{run['gateway_cpu_us_per_request']} µs/request, Redis "
                    f"{run['redis_cpu_us_per_request']} µs and {run['redis_commands_per_request']} "
                    f"commands per request")
    result["runs"] = runs
    by = {k: [r for r in runs if r["limiter"] == k] for k in ("local", "redisson")}
    fig = {}
    for k, rs in by.items():
        fig[f"gateway_cpu_us_per_request_{k}"] = stat([r["gateway_cpu_us_per_request"] for r in rs])
        fig[f"redis_cpu_us_per_request_{k}"] = stat([r["redis_cpu_us_per_request"] for r in rs])
        fig[f"redis_commands_per_request_{k}"] = stat([r["redis_commands_per_request"] for r in rs], 2)
        fig[f"requests_per_second_{k}"] = stat([r["requests_per_second"] for r in rs])
    # Pairwise per repetition: the two limiters of one rep ran back to back.
    pairs = [(a, b) for a, b in zip(by["redisson"], by["local"])]
    fig["gateway_cpu_ratio"] = stat([a["gateway_cpu_us_per_request"] / b["gateway_cpu_us_per_request"]
                                     for a, b in pairs if b["gateway_cpu_us_per_request"]], 3)
    # The JIT compiler still works through the first tens of thousands of requests of a fresh
    # JVM, and how much it does varies from start to start by more than the limiters differ.
    def no_jit(run):
        jit = sum(v for k, v in run["thread_cpu_us_per_request"].items() if "CompilerThre" in k)
        return run["gateway_cpu_us_per_request"] - jit
    fig["gateway_cpu_ratio_without_jit"] = stat([no_jit(a) / no_jit(b) for a, b in pairs
                                                 if no_jit(b) > 0], 3)
    fig["jit_cpu_us_per_request"] = {
        k: stat([r["gateway_cpu_us_per_request"] - no_jit(r) for r in rs]) for k, rs in by.items()}
    fig["gateway_plus_redis_cpu_ratio"] = stat(
        [(a["gateway_cpu_us_per_request"] + a["redis_cpu_us_per_request"])
         / (b["gateway_cpu_us_per_request"] + b["redis_cpu_us_per_request"])
         for a, b in pairs if b["gateway_cpu_us_per_request"]], 3)
    fig["throughput_ratio"] = stat([a["requests_per_second"] / b["requests_per_second"]
                                    for a, b in pairs if b["requests_per_second"]], 3)
    fig["lost"] = sum(r["lost"] for r in runs)
    fig["duplicated"] = sum(r["duplicated"] for r in runs)
    result["figures"] = fig
    result["baseline"] = {"what": "the same batch through the same stack with BGW_LIMITER=local "
                                  "(in-process permits), run back to back with the redisson one"}
    result["goals"] = [
        goal("gateway CPU per request, redisson ÷ local", "<=", 1.10,
             fig["gateway_cpu_ratio"]["median"] if fig["gateway_cpu_ratio"] else None, "×"),
        goal("lost requests", "<=", 0, fig["lost"], ""),
        goal("duplicated results", "<=", 0, fig["duplicated"], ""),
    ]
    result["raw"] = raw
    return result


# ---------------------------------------------------------------------------------------
# 8. Deadlines and priority


class BatchSampler:
    """Polls each batch's request_counts every `interval` s in a thread: [(t, {id: done})]."""

    def __init__(self, client, interval, zero):
        import threading
        self.client, self.interval, self.zero = client, interval, zero
        self.ids = []
        self.rows = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            done = {}
            for batch_id in list(self.ids):
                try:
                    b = self.client.batches.retrieve(batch_id)
                    c = b.request_counts
                    done[batch_id] = (c.completed + c.failed) if c else 0
                except Exception:  # a poll that fails is left out
                    pass
            self.rows.append((round(time.monotonic() - self.zero, 2), done))
            self._stop.wait(self.interval)

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        return self.rows


def _done_at(rows, batch_id, t):
    """Lines done of a batch at time t (the last sample at or before t)."""
    last = 0
    for ts, done in rows:
        if ts > t:
            break
        last = done.get(batch_id, last)
    return last


def _share(rows, a, b, t0, t1):
    """a's share of the lines both batches finished between t0 and t1."""
    da = _done_at(rows, a, t1) - _done_at(rows, a, t0)
    db = _done_at(rows, b, t1) - _done_at(rows, b, t0)
    return None if da + db <= 0 else da / (da + db)


def _post_priority(gw, batch_id, priority):
    import urllib.request
    req = urllib.request.Request(f"{gw.base_url}/batches/{batch_id}/priority",
                                 data=json.dumps({"priority": priority}).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {API_KEY}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def deadlines(cfg, ctx):
    slots = cfg["max_num_seqs"]
    sim_args = engine_sim_args(cfg)
    tokens = cfg["batch_max_tokens"]
    result = {"name": "deadlines", "title": "Deadlines and priority: batches sharing one pool"}
    raw = {}
    with Stack("deadlines", ctx["logs"] / "deadlines") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 7, *sim_args)
        cal = calibrate(sim.url, tokens)
        engine_rps = slots / (cal["e2e_median_ms"] / 1000)
        n = cfg["lines_per_batch"]
        unit = n / engine_rps  # one batch with the engine to itself, by Little's law
        windows = {k: max(5, round(f * unit)) for k, f in cfg["window_factors"].items()}
        window_names = {k: f"{v}s" for k, v in windows.items()}
        log(f"deadlines: a request takes {cal['e2e_median_ms']:.0f} ms, engine ~{engine_rps:.0f} "
            f"req/s; {n} lines per batch = {unit:.0f} s alone; windows {window_names}")
        # Fixed permits at the engine's slots: what is measured is how they are shared.
        st.configure_gateway(sim.url, heap=HEAP, completion_windows=",".join(window_names.values()),
                             at_risk_after=f"{cfg['at_risk_after']}s", pool_permits=slots,
                             segment_lines=cfg["segment_lines"])
        gw = st.start_gateway("server", env={"BGW_CAPACITY": "fixed"})
        client = br.client_for(gw.base_url, API_KEY)
        result["config"] = {
            **DEFAULTS,  # first: what this scenario sets below wins
            "simulator_args": sim_args, "max_num_seqs": slots, "batch_max_tokens": tokens,
            "calibration": cal, "engine_rps_estimate": round(engine_rps, 1),
            "lines_per_batch": n, "window_factors": cfg["window_factors"], "windows_seconds": windows,
            "at_risk_after_seconds": cfg["at_risk_after"], "segment_lines": cfg["segment_lines"],
            "priority_lines": cfg["priority_lines"], "raise_after": cfg["raise_after"],
            "raised_priority": cfg["raised_priority"], "sample_interval": cfg["sample_interval"],
            "share_window": cfg["share_window"], "observe_after": cfg["observe_after"],
            "capacity": "fixed", "pool_permits": slots, "heap": HEAP}

        # A. Three batches submitted loosest first: first come, first served would run the
        # tight one last.
        order = ["loose", "medium", "tight"]
        files = {}
        for k in order:
            path = st.work / f"deadline-{k}.jsonl"
            br.write_input(path, n, MODEL, 10, tokens, 0, id_prefix=k[0], extra_body=IGNORE_EOS)
            files[k], _ = br.upload(client, path)
        zero = time.monotonic()
        sampler = BatchSampler(client, cfg["sample_interval"], zero)
        batches = {}
        try:
            for k in order:
                b = client.batches.create(input_file_id=files[k], endpoint="/v1/chat/completions",
                                          completion_window=window_names[k])
                batches[k] = b
                sampler.ids.append(b.id)
            sampler.start()
            final = {}
            for k in order:
                final[k], _, _ = br.wait(client, batches[k].id, windows["loose"] + 120, poll=0.5,
                                         start=zero)
        finally:
            rows = sampler.stop()
        runs = {}
        for k in order:
            b = final[k]
            end = b.completed_at or b.expired_at or b.failed_at or b.cancelled_at
            lost, dup = br.check_output(client, b, [f"{k[0]}-{i}" for i in range(n)])
            runs[k] = {"batch_id": b.id, "window_seconds": windows[k], "status": b.status,
                       "finished_after_seconds": None if end is None else end - b.created_at,
                       "in_window": b.status == "completed" and end - b.created_at <= windows[k],
                       "completed": b.request_counts.completed, "failed": b.request_counts.failed,
                       "lost": lost, "duplicated": dup}
        ends = {k: runs[k]["finished_after_seconds"] for k in order}
        makespan = max(v for v in ends.values() if v is not None)
        measured_rps = 3 * n / makespan
        # What earliest-deadline-first could do at the throughput this run had: the batches
        # one after the other, tightest first.
        edf = {k: (i + 1) * n / measured_rps for i, k in enumerate(["tight", "medium", "loose"])}
        fcfs = {k: (i + 1) * n / measured_rps for i, k in enumerate(order)}
        feasible = [k for k in order if edf[k] <= windows[k]]
        met = [k for k in feasible if runs[k]["in_window"]]
        finished = sorted((v, k) for k, v in ends.items() if v is not None)
        tight_first = bool(finished) and finished[0][1] == "tight"
        log(f"deadlines: finished after {ends} s (windows {windows}); EDF could finish "
            f"{feasible}, met {met}")
        raw["three"] = {"rows": rows, "batches": {k: runs[k]["batch_id"] for k in order}}

        # B. Two equal batches; one raised mid-run.
        pn = cfg["priority_lines"]
        ids = {}
        for k in ("a", "b"):
            path = st.work / f"priority-{k}.jsonl"
            br.write_input(path, pn, MODEL, 10, tokens, 0, id_prefix=f"p{k}", extra_body=IGNORE_EOS)
            fid, _ = br.upload(client, path)
            ids[k] = fid
        zero = time.monotonic()
        sampler = BatchSampler(client, cfg["sample_interval"], zero)
        try:
            pa = br.create(client, ids["a"])
            pb = br.create(client, ids["b"])
            sampler.ids += [pa.id, pb.id]
            sampler.start()
            wait_until(lambda: _done_at(sampler.rows, pa.id, 1e9) > 0
                       and _done_at(sampler.rows, pb.id, 1e9) > 0, 120, "both batches to answer",
                       interval=0.5)
            t_start = time.monotonic() - zero
            time.sleep(cfg["raise_after"])
            t_raise = time.monotonic() - zero
            answer = _post_priority(gw, pa.id, cfg["raised_priority"])
            time.sleep(cfg["observe_after"])
            t_obs_end = time.monotonic() - zero
            fa, _, _ = br.wait(client, pa.id, 600, poll=1.0, start=zero)
            fb, _, _ = br.wait(client, pb.id, 600, poll=1.0, start=zero)
        finally:
            prow = sampler.stop()
        lost_a, dup_a = br.check_output(client, fa, [f"pa-{i}" for i in range(pn)])
        lost_b, dup_b = br.check_output(client, fb, [f"pb-{i}" for i in range(pn)])
        before = _share(prow, pa.id, pb.id, t_start + 2, t_raise)
        after = _share(prow, pa.id, pb.id, t_raise + 5, t_obs_end)
        win = cfg["share_window"]
        rise = None
        if before is not None and after is not None and after > before:
            half = before + (after - before) / 2
            t = t_raise
            while t <= t_obs_end:
                sh = _share(prow, pa.id, pb.id, max(t_raise, t - win), t) if t > t_raise else None
                if sh is not None and t - t_raise >= 0.5 and sh >= half:
                    rise = round(t - t_raise, 2)
                    break
                t += cfg["sample_interval"]
        raw["priority"] = {"rows": prow, "a": pa.id, "b": pb.id, "t_raise": t_raise}
        log(f"deadlines: raised batch's share {before} -> {after}, halfway after {rise} s")

    result["runs"] = [runs]
    fig = {
        "windows_seconds": windows, "finished_after_seconds": {k: None if v is None else round(v, 1)
                                                               for k, v in ends.items()},
        "status": {k: runs[k]["status"] for k in order},
        "measured_rps": round(measured_rps, 1),
        "edf_finish_seconds": {k: round(v, 1) for k, v in edf.items()},
        "fcfs_finish_seconds": {k: round(v, 1) for k, v in fcfs.items()},
        "edf_feasible": feasible, "met_of_feasible": met, "tight_first": tight_first,
        "lost": sum(r["lost"] for r in runs.values()) + lost_a + lost_b,
        "duplicated": sum(r["duplicated"] for r in runs.values()) + dup_a + dup_b,
        "share_before": None if before is None else round(before, 3),
        "share_after": None if after is None else round(after, 3),
        "share_rise_seconds": rise, "raised_priority": cfg["raised_priority"],
        "priority_answer": answer.get("priority") if isinstance(answer, dict) else None,
        "priority_batches_completed": fa.status == "completed" and fb.status == "completed",
    }
    result["figures"] = fig
    result["baseline"] = {"what": "first come, first served at the run's own throughput (the "
                                  "batches one after another in the order they were submitted)"}
    result["goals"] = [
        goal("batches that earliest-deadline-first could finish in time that did", ">=",
             len(feasible), len(met), ""),
        goal("tight batch finished first (1 = yes)", ">=", 1, 1 if tight_first else 0, ""),
        goal("raised batch's share halfway to its new level", "<=", 5, rise, "s"),
        goal("lost requests", "<=", 0, fig["lost"], ""),
        goal("duplicated results", "<=", 0, fig["duplicated"], ""),
    ]
    result["raw"] = raw
    return result


def _redis_commands(st):
    """Commands Redis processed so far (INFO stats total_commands_processed)."""
    try:
        info = st.redis("INFO", "stats")
        for line in info.splitlines():
            if line.startswith("total_commands_processed:"):
                return int(line.split(":", 1)[1])
    except (OSError, StackError, ValueError):
        pass
    return 0


SCENARIOS = {
    "overhead": overhead,
    "prefix": prefix_reuse,
    "crash": crash_cost,
    "scaling": scaling,
    "interactive": interactive,
    "capacity_drop": capacity_drop,
    "limiter": limiter_overhead,
    "deadlines": deadlines,
}
