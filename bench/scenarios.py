"""The benchmark scenarios. Each one starts its own stack (PostgreSQL, Temporal dev
server, Redis, simulator(s), gateway process(es)) with the settings it needs, runs, stops
everything (also on failure) and returns a result dict:

    {"name", "title", "config", "runs", "baseline", "figures", "goals", "analysis", "raw"}

`raw` (timelines, heap samples, profiles) goes to bench/results/, the rest into the
summary the report is generated from. Every figure is printed next to a baseline measured
in the same run, and repeated `reps` times (median and min..max).
"""

import json
import random
import subprocess
import time
from pathlib import Path

import batch_run as br
import probes
import jfr_profile as jfr
import loadgen
from common import CpuWindow, stat
from stack import (API_KEY, MODEL, SIM_PORT, Stack, StackError, history_events, log,
                   port_open, wait_until)

# Gateway defaults (service/config/gateway.yml); the scenarios use them unless they say.
DEFAULTS = dict(chunk_lines=500, segment_lines=50, parallel_chunks=4, chunk_concurrency=32,
                pool_permits=256, max_activities=64)
HEAP = "512m"


def gateway_pids(*gateways):
    return lambda: [g.pid for g in gateways if g.proc.alive()]


def cpu_groups(stack, gateways, sim):
    return CpuWindow(
        {
            "gateway": gateway_pids(*gateways),
            "simulator": lambda: [sim.proc.pid],
            "temporal": lambda: [stack.temporal_proc.pid],
            "postgres": stack.postgres_pids,
            "bench client": lambda: [__import__("os").getpid()],
        },
        reaped=lambda: set(stack.postgres_pids()[:1]),
    )


def gateway_meters(gateway):
    try:
        m = probes.dropwizard(gateway.admin_url)["meters"]
        return {k: m[k]["count"] for k in ("batch.requests.succeeded", "batch.requests.failed",
                                            "batch.requests.retried") if k in m}
    except (OSError, KeyError, ValueError):
        return {}


def meter_delta(before, after):
    return {k.rsplit(".", 1)[-1]: after.get(k, 0) - before.get(k, 0) for k in after}


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
        gw = st.start_gateway("server")
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
            [f"{st.java_home}/bin/java", "-Xmx512m", str(Path(__file__).parent / "DirectLoad.java"),
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
        for rep in range(cfg["reps"]):
            profiled = rep == cfg["reps"] - 1
            log(f"overhead: rep {rep + 1}/{cfg['reps']}, {lines} lines"
                + (" (JFR profile on)" if profiled else ""))
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
            runs.append(run)
            raw[f"rep{rep + 1}"] = {"timeline": timeline, "threads": threads}
            log(f"overhead: {run['requests_per_second']} req/s, "
                f"{run['gateway_cpu_us_per_request']} us gateway CPU/request, "
                f"{run['history_events']} history events")
        if runs and runs[-1]["profiled"]:
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
    result["profile"] = profile_summary
    result["goals"] = [
        goal("requests/s", ">=", 3000, rps["median"], "req/s"),
        goal("gateway CPU per request", "<=", 200, cpu_us["median"], "µs"),
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
# 5. Interactive traffic (the load generator, and the baseline the adaptive-capacity
#    work will improve on: what a batch does to interactive latency today)


def interactive(cfg, ctx):
    result = {"name": "interactive", "title": "Interactive latency beside a batch (load generator)",
              "config": {"rate": cfg["rate"], "seconds": cfg["seconds"], "reps": cfg["reps"],
                         "batch_lines": cfg["batch_lines"], "simulator_args": cfg["sim_args"],
                         "max_tokens": cfg["max_tokens"], **DEFAULTS}}
    runs = []
    with Stack("interactive", ctx["logs"] / "interactive") as st:
        st.start_postgres()
        st.start_temporal()
        st.start_redis()
        sim = st.start_sim(SIM_PORT + 4, *cfg["sim_args"])
        st.configure_gateway(sim.url, heap=HEAP)
        gw = st.start_gateway("server")
        client = br.client_for(gw.base_url, API_KEY)
        path = st.work / "batch.jsonl"
        br.write_input(path, cfg["batch_lines"], MODEL, 10, cfg["max_tokens"], 0, id_prefix="i")
        file_id, _ = br.upload(client, path)

        def measure(label, rep):
            log(f"interactive: rep {rep + 1}/{cfg['reps']} {label}, {cfg['seconds']} s at {cfg['rate']}/s")
            return loadgen.run(sim.url, MODEL, cfg["rate"], cfg["seconds"],
                               max_tokens=cfg["max_tokens"], seed=rep + 1)

        for rep in range(cfg["reps"]):
            alone = measure("alone", rep)
            batch = br.create(client, file_id)
            wait_until(lambda: client.batches.retrieve(batch.id).status == "in_progress", 120,
                       "the batch to be in progress")
            time.sleep(3)
            during = measure("beside a batch", rep)
            status = client.batches.retrieve(batch.id).status
            if status not in br.TERMINAL:
                try:
                    client.batches.cancel(batch.id)
                except Exception as e:  # it may have finished in between
                    log(f"interactive: cancel: {e}")
            wait_until(lambda: client.batches.retrieve(batch.id).status in br.TERMINAL, 120,
                       "the batch to stop")
            for r in (alone, during):
                for key in ("ttft", "itl", "e2e"):
                    r[key].pop("encoded", None)
            runs.append({"rep": rep + 1, "alone": alone, "during_batch": during,
                         "batch_status_during": status})
            log(f"interactive: TTFT p99 {alone['ttft'].get('p99_ms')} ms alone, "
                f"{during['ttft'].get('p99_ms')} ms beside a batch")
    result["runs"] = runs

    def f(which, key, p):
        return stat([r[which][key].get(p) for r in runs], 2)

    result["figures"] = {
        f"{key}_{p}_{which}": f(which, key, p)
        for key in ("ttft", "itl") for p in ("p50_ms", "p99_ms") for which in ("alone", "during_batch")
    }
    result["figures"]["errors"] = sum(r["alone"]["errors"] + r["during_batch"]["errors"] for r in runs)
    a = result["figures"]["ttft_p99_ms_alone"]["median"]
    d = result["figures"]["ttft_p99_ms_during_batch"]["median"]
    result["figures"]["ttft_p99_ratio"] = round(d / a, 2) if a else None
    result["baseline"] = {"what": "the same interactive load on the same simulator with no batch"}
    result["goals"] = []  # no goal yet: the adaptive-capacity work sets one
    result["raw"] = {}
    return result


SCENARIOS = {
    "overhead": overhead,
    "prefix": prefix_reuse,
    "crash": crash_cost,
    "scaling": scaling,
    "interactive": interactive,
}
