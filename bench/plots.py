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
    threads = result["runs"][-1]["thread_cpu_us_per_request"]
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


def interactive(result, path):
    f = result["figures"]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    labels = ["TTFT p50", "TTFT p99", "ITL p50", "ITL p99"]
    keys = ["ttft_p50_ms", "ttft_p99_ms", "itl_p50_ms", "itl_p99_ms"]
    for j, (which, color, name) in enumerate((("alone", "#bbbbbb", "interactive alone (baseline)"),
                                              ("during_batch", "#d62728", "beside a running batch"))):
        vals = [f[f"{k}_{which}"]["median"] for k in keys]
        xs = [i + (j - 0.5) * 0.38 for i in range(len(keys))]
        ax.bar(xs, vals, width=0.38, color=color, label=name)
        for x, v in zip(xs, vals):
            ax.text(x, v, f"{v:.0f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(keys)), labels)
    ax.set_ylabel("ms (median over repetitions)")
    ax.legend(fontsize=8)
    _finish(fig, path, "Interactive streaming latency, alone and beside a batch (no protection yet)")
