"""Run the benchmark scenarios and regenerate docs/benchmarks.md.

    python3 bench/run.py --mode quick            # `make bench`, about 15 minutes
    python3 bench/run.py --mode full             # `make bench-full`
    python3 bench/run.py --mode quick --only prefix,crash

Raw results (timelines, heap samples, JFR recording) go to bench/results/<mode>/ (git
ignored); plots and the summary the document is generated from go to docs/bench/<mode>/
and docs/bench/summary-<mode>.json (kept in the repository). With --only, the named
scenarios replace their entries in the existing summary.
"""

import argparse
import json
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import plots  # noqa: E402
import probes  # noqa: E402
import report  # noqa: E402
import scenarios  # noqa: E402
from stack import ROOT, install_signal_handlers, log, reap_leftovers  # noqa: E402

# The engine of the adaptive-capacity scenarios: 32 slots, real-looking latencies; a
# request of max_tokens tokens holds a slot TTFT + (max_tokens - 1) x ITL (360 ms here).
ENGINE = dict(max_num_seqs=32, ttft="50ms", itl="10ms", sample_interval=0.5)
# Interactive waves: `high` then `low` share of the engine's slots (rates from Little's law
# on a calibrated request time), `waves` times; `settle` seconds at the start of each phase
# are left out of the per-phase figures, `lead_in` seconds of batch alone before the waves.
INTERACTIVE = dict(ENGINE, high=0.70, low=0.05, waves=2, interactive_max_tokens=32,
                   batch_max_tokens=32, lead_in=5, settle=3)
# Steady interactive load (15% of the fast engine, 60% of the slowed one) beside a batch;
# the simulator's latencies are multiplied by `slowdown` after `pre_seconds`.
CAPACITY_DROP = dict(ENGINE, slowdown=4, interactive_share=0.15, interactive_max_tokens=32,
                     batch_max_tokens=32, lead_in=5, tail_seconds=10, window_seconds=5,
                     recovery_bound=1.2, timeout=600)
# Three batches with tight, medium and loose windows (factors of the time one batch takes
# with the engine to itself), submitted loosest first; then two equal batches, one raised
# by `raised_priority` after `raise_after` s and watched `observe_after` s more.
DEADLINES = dict(ENGINE, batch_max_tokens=32, window_factors=dict(tight=1.8, medium=2.9, loose=4.5),
                 at_risk_after=8, segment_lines=10, raise_after=10, observe_after=15,
                 raised_priority=20, share_window=3)

MODES = {
    "quick": {
        "overhead": dict(lines=50_000, reps=3, warmup_lines=20_000, direct_passes=3, timeout=900),
        "prefix": dict(requests=5_000, reps=2, prompt_words=1_500, max_num_seqs=4,
                       prefill_per_token="10us", max_tokens=8, timeout=600),
        "crash": dict(lines=10_000, reps=1, crashes=3, ttft="300ms", timeout=900),
        "scaling": dict(sizes=[1_000, 10_000, 50_000], workers=[1, 2], reps=2,
                        warmup_lines=2_000, timeout=900),
        "interactive": dict(INTERACTIVE, phase_seconds=15, reps=1, batch_lines=12_000,
                            batch_alone_seconds=10),
        "capacity_drop": dict(CAPACITY_DROP, pre_seconds=15, post_seconds=30, baseline_seconds=10,
                              batch_lines=3_000, reps=1),
        "limiter": dict(lines=30_000, reps=3, warmup_lines=30_000, timeout=600),
        "deadlines": dict(DEADLINES, lines_per_batch=2_500, priority_lines=3_000),
    },
    "full": {
        "overhead": dict(lines=50_000, reps=5, warmup_lines=20_000, direct_passes=4, timeout=900),
        "prefix": dict(requests=5_000, reps=5, prompt_words=1_500, max_num_seqs=4,
                       prefill_per_token="10us", max_tokens=8, timeout=900),
        "crash": dict(lines=10_000, reps=3, crashes=3, ttft="300ms", timeout=900),
        "scaling": dict(sizes=[1_000, 10_000, 50_000], workers=[1, 2], reps=3,
                        warmup_lines=2_000, timeout=900),
        "interactive": dict(INTERACTIVE, phase_seconds=60, reps=2, batch_lines=30_000,
                            batch_alone_seconds=30),
        "capacity_drop": dict(CAPACITY_DROP, pre_seconds=30, post_seconds=60, baseline_seconds=30,
                              batch_lines=6_000, reps=2),
        "limiter": dict(lines=50_000, reps=3, warmup_lines=40_000, timeout=900),
        "deadlines": dict(DEADLINES, lines_per_batch=6_000, priority_lines=6_000),
    },
}
# A few seconds per scenario, to check the harness itself; writes only to bench/results/smoke.
MODES["smoke"] = {
    "overhead": dict(lines=3_000, reps=2, warmup_lines=500, direct_passes=2, timeout=300),
    "prefix": dict(requests=600, reps=1, prompt_words=1_500, max_num_seqs=4,
                   prefill_per_token="10us", max_tokens=8, timeout=300),
    "crash": dict(lines=3_000, reps=1, crashes=3, ttft="300ms", timeout=600),
    "scaling": dict(sizes=[500, 2_000], workers=[1, 2], reps=1, warmup_lines=500, timeout=300),
    "interactive": dict(INTERACTIVE, phase_seconds=5, reps=1, batch_lines=5_000,
                        batch_alone_seconds=5, lead_in=2, settle=1),
    "capacity_drop": dict(CAPACITY_DROP, pre_seconds=6, post_seconds=12, baseline_seconds=5,
                          batch_lines=1_200, reps=1, lead_in=2, tail_seconds=3, window_seconds=3),
    "limiter": dict(lines=3_000, reps=1, warmup_lines=500, timeout=300),
    "deadlines": dict(DEADLINES, lines_per_batch=600, priority_lines=1_500, at_risk_after=3,
                      raise_after=5, observe_after=10),
}
PLOTTERS = {
    "overhead": [("overhead.png", plots.overhead), ("overhead-profile.png", plots.profile)],
    "prefix": [("prefix.png", plots.prefix)],
    "crash": [("crash.png", plots.crash)],
    "scaling": [("scaling.png", plots.scaling)],
    "interactive": [("interactive.png", plots.interactive)],
    "capacity_drop": [("capacity-drop.png", plots.capacity_drop)],
    "limiter": [("limiter.png", plots.limiter)],
    "deadlines": [],
}
# Plotters that also read the raw timelines (bench/results/<mode>/<name>.json).
WITH_RAW = {plots.crash, plots.interactive, plots.capacity_drop}


def wait_for_test_suite(max_minutes):
    """The test suite and a benchmark must not share the machine: wait for it to end."""
    deadline = time.monotonic() + max_minutes * 60
    announced = False
    while subprocess.run(["pgrep", "-f", "scripts/test.sh"], capture_output=True).returncode == 0:
        if not announced:
            log("a test run (scripts/test.sh) is using the machine; waiting for it to end")
            announced = True
        if time.monotonic() > deadline:
            raise SystemExit(f"the test run did not end within {max_minutes} minutes")
        time.sleep(20)


def make_plots(result, raw, plot_dir):
    made = []
    for filename, fn in PLOTTERS.get(result["name"], []):
        path = plot_dir / filename
        try:
            ok = fn(result, path, raw) if fn in WITH_RAW else fn(result, path)
            if ok is not False:
                made.append(str(path.relative_to(ROOT / "docs")) if path.is_relative_to(ROOT / "docs")
                            else str(path))
        except Exception:  # a plot must not lose the numbers
            log(f"plot {filename} failed:\n{traceback.format_exc()}")
    return made


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="quick")
    parser.add_argument("--only", default="", help="comma-separated scenarios: "
                        + ",".join(scenarios.SCENARIOS))
    parser.add_argument("--wait-minutes", type=float, default=90,
                        help="how long to wait for a running test suite (scripts/test.sh)")
    parser.add_argument("--seed", type=int, default=None, help="crash points seed")
    parser.add_argument("--set", action="append", default=[], metavar="SCENARIO.KEY=VALUE",
                        help="override one setting of a scenario for this run (a JSON value, "
                        "else a string), e.g. interactive.sample_interval=0.1")
    args = parser.parse_args()
    install_signal_handlers()

    names = [n for n in args.only.split(",") if n] or list(scenarios.SCENARIOS)
    unknown = set(names) - set(scenarios.SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        scenario, dot, setting = key.partition(".")
        if not sep or not dot or scenario not in scenarios.SCENARIOS:
            parser.error(f"--set {item}: expected SCENARIO.KEY=VALUE with a known scenario")
        try:
            value = json.loads(value)
        except ValueError:
            pass
        overrides.setdefault(scenario, {})[setting] = value
    wait_for_test_suite(args.wait_minutes)
    reap_leftovers()

    mode = args.mode
    results_dir = ROOT / "bench" / "results" / mode
    smoke = mode == "smoke"
    plot_dir = results_dir / "plots" if smoke else ROOT / "docs" / "bench" / mode
    results_dir.mkdir(parents=True, exist_ok=True)
    plot_dir.mkdir(parents=True, exist_ok=True)
    summary_path = (results_dir / "summary.json" if smoke
                    else ROOT / "docs" / "bench" / f"summary-{mode}.json")
    summary = {}
    if args.only and summary_path.is_file():
        summary = json.loads(summary_path.read_text())
    started = time.monotonic()
    summary.update({
        "mode": mode,
        "command": {"quick": "make bench", "full": "make bench-full"}.get(mode, f"bench/run.py --mode {mode}"),
        "machine": probes.machine(),
        "partial": bool(args.only),
    })
    summary.setdefault("scenarios", {})
    ctx = {"root": ROOT, "results": results_dir, "logs": results_dir / "logs"}

    failed = []
    for name in names:
        cfg = dict(MODES[mode][name], **overrides.get(name, {}))
        if name == "crash" and args.seed is not None:
            cfg["seed"] = args.seed
        log(f"=== scenario {name} ({mode})")
        t0 = time.monotonic()
        try:
            result = scenarios.SCENARIOS[name](cfg, ctx)
        except Exception:
            log(f"scenario {name} FAILED:\n{traceback.format_exc()}")
            result = {"name": name, "error": traceback.format_exc(limit=6)}
            failed.append(name)
        result["seconds"] = round(time.monotonic() - t0, 1)
        raw = result.pop("raw", {})
        (results_dir / f"{name}.json").write_text(json.dumps({**result, "raw": raw}, indent=1))
        if "error" not in result:
            result["plots"] = make_plots(result, raw, plot_dir)
        summary["scenarios"][name] = result
        for line in report.headlines(result):
            print(f"  {line}", flush=True)

    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    summary_path.write_text(json.dumps(summary, indent=1) + "\n")
    if not smoke:
        report.write(ROOT)
        # Every figure of the document, as this run computed it.
        print("\n".join(report.render_mode(summary)), flush=True)
    log(f"wrote {summary_path.relative_to(ROOT)}{'' if smoke else ' and docs/benchmarks.md'} "
        f"({summary['seconds']:.0f} s)")
    if failed:
        log(f"failed scenarios: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
