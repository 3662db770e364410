"""PNG plots of the scenario results (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

PROCESS_COLORS = {
    "gateway": "#1f77b4", "simulator": "#ff7f0e", "temporal": "#2ca02c",
    "postgres": "#9467bd", "bench client": "#8c564b", "direct client": "#17becf",
}


# /proc thread names (15 characters, digits folded to N) and what those threads do.
THREADS = {
    "HttpClient-N-Wo": "HTTP client workers",
    "HttpClient-N-Se": "HTTP client selector",
    "inference-io-N-": "Netty inference client (event loop, answer handling)",
    "CN CompilerThre": "JIT compiler",
    "Activity Execut": "Temporal activities (chunk loop)",
    "Activity Poller": "Temporal activity pollers",
    "ForkJoinPool.co": "common pool (answer handling)",
    "GC Thread#N": "GC workers",
    "GN Conc#N": "G1 concurrent marking",
    "GN Refine#N": "G1 refinement",
    "GN Service": "G1 service",
    "grpc-default-wo": "gRPC event loop",
    "Workflow Execut": "Temporal workflow tasks",
    "Workflow Poller": "Temporal workflow pollers",
    "workflow-thread": "workflow code",
    "JFR Sampler Thr": "JFR sampler",
    "JFR Recorder Th": "JFR recorder",
    "dw-N": "Jetty (API)",
    "dw-admin-N": "Jetty (admin, /metrics)",
    "VM Thread": "JVM (VM thread)",
    "Attach Listener": "jcmd attach",
}


def thread_label(name):
    return f"{THREADS[name]} ({name})" if name in THREADS else name


def _err(s):
    """matplotlib yerr from a stat dict: distance to min and max."""
    return [[s["median"] - s["min"]], [s["max"] - s["median"]]]


def _bar(ax, x, s, color, label=None):
    ax.bar(x, s["median"], color=color, yerr=_err(s), capsize=6, label=label)
    ax.annotate(f"{s['median']:,.0f}" if s["median"] >= 100 else f"{s['median']:,.1f}",
                (x, s["max"]), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=9)


def _finish(fig, path, title):
    fig.suptitle(title, fontsize=12)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def overhead(result, path):
    f, b = result["figures"], result["baseline"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    _bar(a1, 0, b["requests_per_second"], "#bbbbbb")
    _bar(a1, 1, f["requests_per_second"], PROCESS_COLORS["gateway"])
    a1.axhline(3000, color="red", ls="--", lw=1)
    a1.text(-0.45, 3000, "goal 3,000 req/s", color="red", va="bottom", ha="left", fontsize=8)
    a1.set_xticks([0, 1], ["direct to simulator\n(baseline)", "through the gateway"])
    a1.set_ylabel("requests / s (median, bars = min..max)")
    a1.set_title(f"Throughput, {result['config']['lines']:,} requests")

    groups = ["gateway", "simulator", "temporal", "postgres", "bench client"]
    bottom = 0
    for g in groups:
        s = f["cpu_us_per_request_by_process"].get(g)
        if not s:
            continue
        a2.bar(1, s["median"], bottom=bottom, color=PROCESS_COLORS[g], label=g)
        if s["median"] > 15:
            a2.text(1, bottom + s["median"] / 2, f"{s['median']:.0f}", ha="center", va="center",
                    fontsize=8, color="white")
        bottom += s["median"]
    direct = b["client_cpu_us_per_request"]["median"]
    a2.bar(0, direct, color=PROCESS_COLORS["direct client"], label="direct client")
    a2.bar(0, b["simulator_cpu_us_per_request"], bottom=direct, color=PROCESS_COLORS["simulator"])
    a2.axhline(200, color="red", ls="--", lw=1)
    a2.text(-0.45, 200, "gateway goal 200 µs", color="red", va="bottom", ha="left", fontsize=8)
    a2.set_xticks([0, 1], ["direct to simulator\n(baseline)", "through the gateway"])
    a2.set_ylabel("CPU µs per request (median)")
    a2.set_title("Where the machine's CPU goes, per request")
    a2.legend(fontsize=8, loc="upper left")
    _finish(fig, path, "Overhead (zero-latency simulator, 2 cores shared by everything)")


def profile(result, path):
    prof = result.get("profile")
    if not prof:
        return False
    per_req = result["figures"]["gateway_cpu_us_per_request"]["median"]
    threads = (result.get("profile_run") or result["runs"][-1])["thread_cpu_us_per_request"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5))
    basis = prof.get("cpu_time_samples") or prof
    event = "CPUTimeSample" if prof.get("cpu_time_samples") else "ExecutionSample"
    comps = basis["components"][:12][::-1]
    a1.barh([c["name"] for c in comps], [c["share"] * 100 for c in comps], color="#1f77b4")
    for i, c in enumerate(comps):
        a1.text(c["share"] * 100, i, f" {c['share']:.0%}", va="center", fontsize=8)
    a1.set_xlabel(f"share of JFR {event} samples (application threads), %")
    a1.set_title(f"By component ({basis['samples']:,} samples)")
    a1.tick_params(axis="y", labelsize=8)
    names = list(threads)[:10][::-1]
    a2.barh([thread_label(n) for n in names], [threads[n] for n in names], color="#ff7f0e")
    for i, n in enumerate(names):
        a2.text(threads[n], i, f" {threads[n]:.0f}", va="center", fontsize=8)
    a2.set_xlabel("CPU µs per request (from /proc, profiled run)")
    a2.set_title(f"By thread group (all: {per_req:.0f} µs/request)")
    a2.tick_params(axis="y", labelsize=8)
    _finish(fig, path, "Where the gateway's CPU goes (JDK Flight Recorder + /proc)")
    return True


def prefix(result, path):
    runs = result["runs"]
    f = result["figures"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.8))
    _bar(a1, 0, f["share_of_ideal_sorted_pct"], "#2ca02c")
    _bar(a1, 1, f["share_of_ideal_unsorted_pct"], "#bbbbbb")
    a1.axhline(95, color="red", ls="--", lw=1)
    a1.text(1.45, 95, "goal 95%", color="red", va="bottom", ha="right", fontsize=8)
    a1.set_xticks([0, 1], ["sorted by prefix", "unsorted (baseline)"])
    a1.set_ylabel("prefix-cache hit rate, % of ideal")
    a1.set_ylim(0, 110)
    a1.set_title(f"Hit rate (ideal = {f['ideal_hit_rate']:.1%} of prompt tokens)")
    _bar(a2, 0, f["makespan_sorted_seconds"], "#2ca02c")
    _bar(a2, 1, f["makespan_unsorted_seconds"], "#bbbbbb")
    for r in runs:
        a2.plot(0 if r["sorted"] else 1, r["makespan_seconds"], "k.", ms=5)
    a2.set_xticks([0, 1], ["sorted by prefix", "unsorted (baseline)"])
    a2.set_ylabel("makespan, create → completed (s)")
    a2.set_title(f"Makespan: {f['makespan_shorter_pct']['median']:.0f}% shorter sorted (goal 30%)")
    _finish(fig, path, f"Prefix reuse: {result['config']['requests']:,} requests, "
                       f"{result['config']['prefixes']} prefixes round-robin")


def crash(result, path, raw):
    rep = raw.get("rep1")
    if not rep:
        return False
    fig, ax = plt.subplots(figsize=(11, 4.8))
    tb = rep["baseline_timeline"]
    tc = rep["timeline"]
    ax.plot([t for t, _ in tb], [d for _, d in tb], color="#bbbbbb", lw=2, label="no crash (baseline)")
    ax.plot([t for t, _ in tc], [d for _, d in tc], color="#1f77b4", lw=2, label="three SIGKILLs")
    for i, k in enumerate(rep["kills"]):
        ax.axvline(k["killed_at"], color="red", lw=1, label="worker killed" if i == 0 else None)
        ax.axvline(k["healthy_at"], color="green", ls=":", lw=1,
                   label="new worker healthy" if i == 0 else None)
        if "progress_at" in k:
            ax.axvline(k["progress_at"], color="black", ls="--", lw=0.8,
                       label="progress again" if i == 0 else None)
    ax.set_xlabel("seconds since create")
    ax.set_ylabel("requests done (API request_counts)")
    r = result["runs"][0]
    ax.set_title(f"Rep 1: lost {r['lost']}, duplicated {r['duplicated']}, re-sent {r['resent']} "
                 f"requests, {r['extra_seconds']:.1f} s longer than without crashes")
    ax.legend(fontsize=8, loc="lower right")
    _finish(fig, path, f"Crash cost: {result['config']['lines']:,}-line batch, worker SIGKILLed "
                       f"{result['config']['crashes']} times")
    return True


def scaling(result, path):
    table = result["figures"]["table"]
    workers = sorted({t["workers"] for t in table})
    fig, (a1, a2, a3) = plt.subplots(1, 3, figsize=(15, 4.8))
    colors = {1: "#1f77b4", 2: "#ff7f0e"}
    for w in workers:
        rows = [t for t in table if t["workers"] == w]
        xs = [t["lines"] for t in rows]
        a1.errorbar(xs, [t["ms_per_request"]["median"] for t in rows],
                    yerr=[[t["ms_per_request"]["median"] - t["ms_per_request"]["min"] for t in rows],
                          [t["ms_per_request"]["max"] - t["ms_per_request"]["median"] for t in rows]],
                    marker="o", capsize=4, color=colors.get(w), label=f"{w} worker{'s' if w > 1 else ''}")
        a2.errorbar(xs, [t["max_worker_heap_mb"]["median"] for t in rows],
                    yerr=[[t["max_worker_heap_mb"]["median"] - t["max_worker_heap_mb"]["min"] for t in rows],
                          [t["max_worker_heap_mb"]["max"] - t["max_worker_heap_mb"]["median"] for t in rows]],
                    marker="o", capsize=4, color=colors.get(w), label=f"{w} worker{'s' if w > 1 else ''}: peak used")
        if "max_worker_retained_mb" in rows[0]:
            a2.plot(xs, [t["max_worker_retained_mb"]["median"] for t in rows], marker="s", ls="--",
                    color=colors.get(w), label=f"{w} worker{'s' if w > 1 else ''}: old gen after GC")
    for a in (a1, a2):
        a.set_xscale("log")
        a.set_xlabel("batch size (lines)")
        a.legend(fontsize=8)
    a1.set_ylabel("wall ms per request (create → completed)")
    a1.set_ylim(bottom=0)
    a1.set_title("Time per request")
    a2.axhline(512, color="red", ls="--", lw=1)
    a2.text(a2.get_xlim()[1], 512, "heap limit 512 MB ", color="red", va="bottom", ha="right", fontsize=8)
    a2.set_ylabel("heap per worker (MB)")
    a2.set_ylim(0, 560)
    a2.set_title("Worker heap")
    largest = max(t["lines"] for t in table)
    groups = ["gateway", "simulator", "temporal", "postgres", "bench client"]
    for i, w in enumerate(workers):
        row = next(t for t in table if t["workers"] == w and t["lines"] == largest)
        bottom = 0
        for g in groups:
            s = row["cpu_us_per_request_by_process"].get(g)
            if not s:
                continue
            name = "gateway (API + workers)" if g == "gateway" else g
            a3.bar(i, s["median"], bottom=bottom, color=PROCESS_COLORS[g], label=name if i == 0 else None)
            bottom += s["median"]
        busy = row["machine_busy_share"]["median"]
        a3.annotate(f"machine busy {busy:.0%}", (i, bottom), textcoords="offset points",
                    xytext=(0, 5), ha="center", fontsize=8)
    a3.set_xticks(range(len(workers)), [f"{w} worker{'s' if w > 1 else ''}" for w in workers])
    a3.set_ylabel(f"CPU µs per request at {largest:,} lines")
    a3.set_title("CPU per request by process")
    a3.legend(fontsize=8, loc="lower right")
    _finish(fig, path, "Scaling (zero-latency simulator; API and workers are separate JVMs, -Xmx512m)")


RUN_COLORS = {"alone": "#7f7f7f", "fixed": "#d62728", "adaptive": "#1f77b4"}
RUN_LABELS = {"alone": "interactive alone", "fixed": "beside a batch, fixed permits (ungated)",
              "adaptive": "beside a batch, adaptive capacity"}


def _series(rows, suffix):
    out = []
    for r in rows:
        for k, v in (r.get("gauges") or {}).items():
            if k.endswith("." + suffix) and isinstance(v, (int, float)):
                out.append((r["t"], v))
                break
    return out


def _engine(rows, key):
    return [(r["t"], r["engine"][key]) for r in rows if key in (r.get("engine") or {})]


def _rate(rows, key="succeeded", span=2.0):
    """Requests/s from a cumulative meter, over `span`-second steps."""
    pts = [(r["t"], r[key]) for r in rows if r.get(key) is not None]
    out = []
    j = 0
    for i in range(len(pts)):
        while pts[i][0] - pts[j][0] > span:
            j += 1
        if i > j:
            out.append((pts[i][0], (pts[i][1] - pts[j][1]) / (pts[i][0] - pts[j][0])))
    return out


def _xy(points, shift=0.0):
    return [t - shift for t, _ in points], [v for _, v in points]


def interactive(result, path, raw=None):
    rep = (raw or {}).get("rep1")
    if not rep or "adaptive" not in rep:  # results of the former interactive scenario
        return False
    f, c = result["figures"], result["config"]
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(12, 10), sharex=True)
    for which in ("alone", "fixed", "adaptive"):
        tl = rep[which]
        shift = tl["phases"][0][0]  # x = seconds since the interactive load started
        pts = [(x[0], x[1]) for x in tl["samples"] if x[1] is not None]
        a1.plot(*_xy(pts, shift), ".", ms=2.5, alpha=0.5, color=RUN_COLORS[which],
                label=RUN_LABELS[which])
        if which == "alone":
            a2.plot(*_xy(_engine(tl["rows"], "running"), shift), ":", color=RUN_COLORS[which],
                    lw=1.2, label="engine running (interactive alone)")
            continue
        style = "-" if which == "adaptive" else "--"
        lim = _series(tl["rows"], "limit")
        if lim:
            a2.plot(*_xy(lim, shift), style, color=RUN_COLORS[which], lw=1.6,
                    label=f"gateway limit ({which})")
        inflight = _series(tl["rows"], "in_flight")
        if inflight:
            a2.plot(*_xy(inflight, shift), style, color=RUN_COLORS[which], lw=0.8, alpha=0.6,
                    label=f"gateway in flight ({which})")
        run_ = _engine(tl["rows"], "running")
        wait = _engine(tl["rows"], "waiting")
        a2.plot(*_xy(run_, shift), ":", color=RUN_COLORS[which], lw=1.2,
                label=f"engine running ({which})")
        if any(v for _, v in wait):
            a2.plot(*_xy(wait, shift), "-.", color=RUN_COLORS[which], lw=0.8, alpha=0.7,
                    label=f"engine waiting ({which})")
        a3.plot(*_xy(_rate(tl["rows"]), shift), style, color=RUN_COLORS[which], lw=1.4,
                label=f"batch req/s ({which})")
    alone_rps = f["batch_alone_rps"]["median"] if f.get("batch_alone_rps") else None
    if alone_rps:
        a3.axhline(alone_rps, color="black", lw=0.8, ls=":")
        a3.axhline(0.8 * alone_rps, color="red", lw=0.8, ls="--")
        a3.text(0, 0.8 * alone_rps, " goal: 0.8 × batch alone in low phases", color="red",
                fontsize=8, va="bottom")
    a2.axhline(c["max_num_seqs"], color="black", lw=0.8, ls=":")
    for ax in (a1, a2, a3):
        shift = rep["adaptive"]["phases"][0][0]
        for t0, t1, rate in rep["adaptive"]["phases"]:
            if rate == c["high_rate"]:
                ax.axvspan(t0 - shift, t1 - shift, color="#ffdd99", alpha=0.35, lw=0)
    a1.set_yscale("log")
    a1.set_ylabel("interactive TTFT (ms, per request)")
    a1.set_title(f"Interactive TTFT: p99 alone {f['ttft_p99_ms_alone']['median']:.0f} ms, fixed "
                 f"{f['ttft_p99_ms_fixed']['median']:.0f} ms, adaptive "
                 f"{f['ttft_p99_ms_adaptive']['median']:.0f} ms (shaded: {c['high_share']:.0%} phases)",
                 fontsize=10)
    a1.legend(fontsize=8, loc="upper right", markerscale=4)
    a2.set_ylabel("requests")
    a2.set_title(f"Gateway capacity gauges (when published) and the engine's "
                 f"{c['max_num_seqs']} slots", fontsize=10)
    a2.legend(fontsize=7, loc="upper right", ncol=2)
    a3.set_ylabel("batch requests/s")
    a3.set_xlabel("seconds since the interactive load started")
    a3.set_title("Batch throughput (gateway meters, 2 s steps)", fontsize=10)
    a3.legend(fontsize=8, loc="upper right")
    _finish(fig, path, "Interactive protection: waves of interactive traffic beside a batch")
    return True


def capacity_drop(result, path, raw=None):
    rep = (raw or {}).get("rep1")
    if not rep:
        return False
    r = result["runs"][0]
    t_change = rep["t_change"]
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(12, 9.5), sharex=True)
    pts = [(x[0], x[1]) for x in rep["samples"] if x[1] is not None]
    a1.plot(*_xy(pts, t_change), ".", ms=2.5, alpha=0.5, color="#1f77b4", label="TTFT per request")
    if rep["windows"]:
        a1.plot([w[0] + result["config"]["window_seconds"] - t_change for w in rep["windows"]],
                [w[1] for w in rep["windows"]], "-", color="black", lw=1.2,
                label=f"rolling p99 ({result['config']['window_seconds']} s window, at its end)")
    if r.get("ttft_recovery_bound_ms"):
        a1.axhline(r["ttft_recovery_bound_ms"], color="red", ls="--", lw=0.8,
                   label="1.2 × p99 alone on the slowed simulator")
    a1.set_yscale("log")
    a1.set_ylabel("interactive TTFT (ms)")
    a1.legend(fontsize=8, loc="upper left", markerscale=4)
    lim = _series(rep["rows"], "limit")
    inflight = _series(rep["rows"], "in_flight")
    if lim:
        a2.plot(*_xy(lim, t_change), "-", color="#1f77b4", lw=1.6, label="gateway limit")
    if inflight:
        a2.plot(*_xy(inflight, t_change), "-", color="#1f77b4", lw=0.8, alpha=0.6,
                label="gateway in flight")
    a2.plot(*_xy(_engine(rep["rows"], "running"), t_change), ":", color="black", lw=1.2,
            label="engine running")
    a2.plot(*_xy(_engine(rep["rows"], "waiting"), t_change), "-.", color="#d62728", lw=1,
            label="engine waiting")
    a2.set_ylabel("requests")
    a2.legend(fontsize=8, loc="upper left")
    a3.plot(*_xy(_rate(rep["rows"]), t_change), "-", color="#2ca02c", lw=1.4, label="batch req/s")
    a3.set_ylabel("batch requests/s")
    a3.set_xlabel(f"seconds since the simulator became {result['config']['slowdown']}× slower")
    a3.legend(fontsize=8, loc="upper right")
    for ax in (a1, a2, a3):
        ax.axvline(0, color="red", lw=1)
        if rep.get("t_restore") is not None:  # speed restored so that the batch can finish
            ax.axvline(rep["t_restore"] - t_change, color="green", lw=1, ls="--")
    a3.text(0, a3.get_ylim()[1], " slower", color="red", fontsize=8, va="top")
    if rep.get("t_restore") is not None:
        a3.text(rep["t_restore"] - t_change, a3.get_ylim()[1], " speed restored (batch finishes)",
                color="green", fontsize=8, va="top")
    def secs(v, missing):
        return missing if v is None else f"{v:.1f} s"

    a1.set_title(f"Limit settled after {secs(r['limit_settle_seconds'], 'n/a (no limit gauge)')}; "
                 f"TTFT p99 back within bound after "
                 f"{secs(r['ttft_recovery_seconds'], 'n/a (not recovered)')}; batch "
                 f"{r['batch_status']}, lost {r['lost']}, duplicated {r['duplicated']}", fontsize=10)
    _finish(fig, path, "Capacity drop: adaptive gateway, batch + steady interactive load")
    return True


def limiter(result, path):
    f = result["figures"]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for i, (k, color) in enumerate((("local", "#bbbbbb"), ("redisson", "#1f77b4"))):
        g = f.get(f"gateway_cpu_us_per_request_{k}")
        rd = f.get(f"redis_cpu_us_per_request_{k}")
        if g:
            _bar(a1, i, g, color)
        if rd and g:
            a1.bar(i, rd["median"], bottom=g["median"], color="#d62728",
                   label="Redis server" if i == 1 else None)
        t = f.get(f"requests_per_second_{k}")
        if t:
            _bar(a2, i, t, color)
    a1.set_xticks([0, 1], ["local (in-process)", "redisson (Redis)"])
    a1.set_ylabel("gateway CPU µs per request (bar); Redis on top")
    a1.legend(fontsize=8)
    ratio = f.get("gateway_cpu_ratio")
    a1.set_title(f"CPU per request: ratio {ratio['median']:.3f} (goal ≤ 1.10)" if ratio else "CPU")
    a2.set_xticks([0, 1], ["local (in-process)", "redisson (Redis)"])
    a2.set_ylabel("requests/s")
    a2.set_title("Throughput")
    _finish(fig, path, f"Limiter overhead: {result['config']['lines']:,}-line batch, zero-latency simulator")
