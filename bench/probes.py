"""What the scenarios read while they run: CPU time of processes and threads from /proc,
the simulator's Prometheus /metrics, the gateway's Dropwizard /metrics.json, machine facts."""

import json
import os
import platform
import re
import subprocess
import threading
import time
import urllib.request
from datetime import datetime, timezone

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(path):
    with open(path) as f:
        stat = f.read()
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    return comm, stat[stat.rindex(")") + 2:].split()


def cpu_seconds(pid, with_children=False):
    """utime+stime of a process (all its threads); cutime+cstime too if with_children."""
    try:
        _, f = _stat_fields(f"/proc/{pid}/stat")
    except (OSError, ValueError):
        return 0.0
    ticks = int(f[11]) + int(f[12])
    if with_children:
        ticks += int(f[13]) + int(f[14])
    return ticks / CLK_TCK


def cpu_of(pids, reaped_of=()):
    """Total CPU seconds of `pids`; for pids in reaped_of, also their reaped children."""
    return sum(cpu_seconds(p, with_children=p in reaped_of) for p in pids)


_DIGITS = re.compile(r"[0-9]+")


def thread_cpu(pid):
    """{thread group name: CPU seconds} of a process; digits in names are folded, so
    'GC Thread#0' and 'GC Thread#1' count as 'GC Thread#N'."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            comm, f = _stat_fields(f"/proc/{pid}/task/{tid}/stat")
        except (OSError, ValueError):
            continue
        name = _DIGITS.sub("N", comm)
        out[name] = out.get(name, 0.0) + (int(f[11]) + int(f[12])) / CLK_TCK
    return out


def thread_cpu_delta(before, after):
    names = set(before) | set(after)
    delta = {n: after.get(n, 0.0) - before.get(n, 0.0) for n in names}
    return {n: round(v, 3) for n, v in sorted(delta.items(), key=lambda kv: -kv[1]) if v > 0}


def prometheus(url, timeout=5):
    """{metric name with labels: value} from a Prometheus text endpoint."""
    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        try:
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
        except ValueError:
            continue
    return values


def metric_sum(values, prefix):
    """Sum of every series whose name (before labels) is prefix or prefix_total."""
    total = 0.0
    for key, value in values.items():
        name = key.split("{", 1)[0]
        if name in (prefix, prefix + "_total"):
            total += value
    return total


def sim_counters(sim_url):
    v = prometheus(sim_url + "/metrics")
    return {
        "success": metric_sum(v, "vllm:request_success"),
        "prefix_hits": metric_sum(v, "vllm:prefix_cache_hits"),
        "prefix_queries": metric_sum(v, "vllm:prefix_cache_queries"),
        "prompt_tokens": metric_sum(v, "vllm:prompt_tokens"),
    }


def dropwizard(admin_url, timeout=3):
    """Dropwizard's JSON of the gateway's registry (the admin port's /metrics is Prometheus text)."""
    with urllib.request.urlopen(admin_url.rstrip("/") + "/metrics.json", timeout=timeout) as r:
        return json.load(r)


# The gateway names a metric family[label=value] in its registry (docs/metrics.md); the bench
# keeps its older keys: capacity.<pool>.<gauge> and succeeded/failed/retried.
_LABELED = re.compile(r"^([a-z_]+)\[(.*)\]$")
_OLD_GAUGE = {"estimate": "capacity_estimate", "kv_cache_usage_ratio": "kv_cache_usage"}


def _labels(name):
    m = _LABELED.match(name)
    if not m:
        return name, {}
    return m.group(1), dict(p.split("=", 1) for p in m.group(2).split(",") if "=" in p)


def request_counts(metrics):
    """{"succeeded": n, "failed": n, "retried": n} from Dropwizard's JSON of the gateway."""
    out = {}
    for name, c in metrics.get("counters", {}).items():
        family, labels = _labels(name)
        if family == "batch_gateway_requests_total" and labels.get("result"):
            out[labels["result"]] = c.get("count", 0)
        elif family == "batch_gateway_request_retries_total":
            out["retried"] = c.get("count", 0)
    return out


class HeapSampler(threading.Thread):
    """Samples the heap of one or more gateways every `interval` seconds from Dropwizard's
    /metrics.json: jvm.memory.heap.used (garbage included, so it rises and falls with
    allocation) and the old generation's occupancy right after the last GC
    (jvm.memory.pools.<old gen>.used-after-gc), which is what the JVM actually retains."""

    def __init__(self, admin_urls, interval=0.25):
        super().__init__(daemon=True)
        self.urls = list(admin_urls)
        self.interval = interval
        self.peak = {u: 0 for u in self.urls}
        self.peak_retained = {u: 0 for u in self.urls}
        self.samples = {u: [] for u in self.urls}
        self.t0 = time.monotonic()
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            for url in self.urls:
                try:
                    gauges = dropwizard(url)["gauges"]
                    used = gauges["jvm.memory.heap.used"]["value"]
                except (OSError, KeyError, ValueError):
                    continue
                retained = next((g["value"] for k, g in gauges.items()
                                 if "Old-Gen.used-after-gc" in k or "Tenured-Gen.used-after-gc" in k),
                                0) or 0
                self.peak[url] = max(self.peak[url], used)
                self.peak_retained[url] = max(self.peak_retained[url], retained)
                self.samples[url].append((round(time.monotonic() - self.t0, 2), used, retained))
            self.stopped.wait(self.interval)

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)


def _module_version(binary):
    """`path version` of a Go binary (go version -m), or its file name."""
    try:
        out = subprocess.run(["go", "version", "-m", str(binary)], capture_output=True,
                             text=True, timeout=20).stdout
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "mod":
                return f"{parts[1].rsplit('/', 1)[-1]} {parts[2]}"
    except (OSError, subprocess.SubprocessError):
        pass
    return binary.name


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = 0
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem_kb = int(line.split()[1])
    except OSError:
        pass
    from stack import java_home, TOOLS

    jh = java_home()
    java = subprocess.run([f"{jh}/bin/java", "-version"], capture_output=True, text=True).stderr
    sim_version = _module_version(TOOLS / "llm-d-inference-sim")
    temporal = _module_version(TOOLS / "temporal")
    from stack import JAR, ROOT

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    jar_mtime = JAR.stat().st_mtime if JAR.is_file() else None
    newer = []
    if jar_mtime:
        for top in ("pom.xml", *[f"{m}/pom.xml" for m in ("workflows", "activities", "temporal",
                                                           "service")]):
            if (ROOT / top).is_file() and (ROOT / top).stat().st_mtime > jar_mtime:
                newer.append(top)
        for module in ("workflows", "activities", "temporal", "service"):
            src = ROOT / module / "src" / "main"
            for path in src.rglob("*") if src.is_dir() else []:
                if path.is_file() and path.stat().st_mtime > jar_mtime:
                    newer.append(str(path.relative_to(ROOT)))
    gateway = {
        "commit": git("rev-parse", "--short", "HEAD"),
        "commit_subject": git("log", "-1", "--format=%s"),
        "jar_built": datetime.fromtimestamp(jar_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        if jar_mtime else None,
        "main_sources_newer_than_jar": newer[:20],
        "main_sources_newer_count": len(newer),
    }
    return {
        "gateway": gateway,
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 2**20, 1),
        "cpu_model": model,
        "kernel": platform.release(),
        "jdk": java.splitlines()[0] if java else jh,
        "jdk_runtime": java.splitlines()[1] if java and len(java.splitlines()) > 1 else "",
        "python": platform.python_version(),
        "temporal_cli": temporal,
        "simulator": sim_version,
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "loadavg_at_start": open("/proc/loadavg").read().split()[:3],
    }


# -- capacity timeline ------------------------------------------------------------------

CAPACITY_FAMILY = "batch_gateway_capacity_"
ENGINE_METRICS = {
    "vllm:num_requests_running": "running",
    "vllm:num_requests_waiting": "waiting",
    "vllm:kv_cache_usage_perc": "kv_cache",
}


def engine_gauges(sim_url, timeout=2):
    """{running, waiting, kv_cache} from the simulator's Prometheus /metrics (summed over
    label sets); missing series are left out."""
    values = prometheus(sim_url.rstrip("/") + "/metrics", timeout=timeout)
    out = {}
    for key, value in values.items():
        short = ENGINE_METRICS.get(key.split("{", 1)[0])
        if short:
            out[short] = out.get(short, 0.0) + value
    return out


def capacity_gauges(admin_url, timeout=2):
    """The gateway's adaptive-capacity gauges and request counters from its Dropwizard
    /metrics.json, in the keys the bench has always used:
    {"gauges": {"capacity.default.limit": 24, ...}, "succeeded": n, "failed": n}.
    Gauges the gateway does not publish (yet) are simply absent."""
    m = dropwizard(admin_url, timeout=timeout)
    gauges = {}
    for name, g in m.get("gauges", {}).items():
        family, labels = _labels(name)
        if family.startswith(CAPACITY_FAMILY) and "pool" in labels:
            short = family[len(CAPACITY_FAMILY):]
            gauges[f"capacity.{labels['pool']}.{_OLD_GAUGE.get(short, short)}"] = g.get("value")
    counts = request_counts(m)
    return {"gauges": gauges,
            "succeeded": counts.get("succeeded"),
            "failed": counts.get("failed")}


class TimelineSampler(threading.Thread):
    """Every `interval` seconds: the simulator's running/waiting/KV-cache gauges and, when a
    gateway is given, its capacity.* gauges and batch request meters. Rows are dicts with
    `t` in seconds on `clock_zero` (a time.monotonic() value shared with the load
    generator). The gateway can be swapped while sampling (`sampler.gateway = ...`)."""

    def __init__(self, sim_url, gateway_admin_url=None, interval=0.5, clock_zero=None):
        super().__init__(daemon=True)
        self.sim_url = sim_url
        self.gateway = gateway_admin_url
        self.interval = interval
        self.zero = time.monotonic() if clock_zero is None else clock_zero
        self.rows = []
        self.errors = 0
        self.stopped = threading.Event()

    def sample(self):
        row = {"t": round(time.monotonic() - self.zero, 3)}
        try:
            row["engine"] = engine_gauges(self.sim_url)
        except (OSError, ValueError):
            self.errors += 1
        gateway = self.gateway
        if gateway:
            try:
                row.update(capacity_gauges(gateway))
            except (OSError, ValueError, KeyError):
                self.errors += 1
        return row

    def run(self):
        while not self.stopped.is_set():
            started = time.monotonic()
            self.rows.append(self.sample())
            self.stopped.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def stop(self):
        self.stopped.set()
        self.join(timeout=10)
        return self.rows
