"""Small helpers shared by the scenarios: statistics over repetitions, CPU snapshots of
the processes of a stack, machine-wide CPU use."""

import os
import statistics
import time

import probes


def stat(values, digits=1):
    """Median and spread (min..max) over repetitions."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
        "values": [round(v, digits) for v in values],
    }


STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def machine_jiffies():
    """{field: jiffies} summed over all CPUs, from the first line of /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:9]]
    return dict(zip(STAT_FIELDS, values))


class CpuWindow:
    """CPU seconds each group of processes used between start() and stop().

    groups: {name: callable returning the pids of the group now}; pids in `reaped`
    also count their reaped children (PostgreSQL's postmaster)."""

    def __init__(self, groups, reaped=None):
        self.groups = groups
        self.reaped = reaped or (lambda: set())

    def _sample(self):
        reaped = set(self.reaped())
        return {name: probes.cpu_of(pids(), reaped) for name, pids in self.groups.items()}

    def start(self):
        self.before = self._sample()
        self.jiffies_before = machine_jiffies()
        self.t0 = time.monotonic()
        return self

    def stop(self):
        self.after = self._sample()
        self.jiffies_after = machine_jiffies()
        self.seconds = time.monotonic() - self.t0
        return self

    def result(self, requests):
        per_group = {k: round(self.after[k] - self.before.get(k, 0.0), 3) for k in self.after}
        d = {k: self.jiffies_after[k] - self.jiffies_before[k] for k in STAT_FIELDS}
        total = sum(d.values())
        busy = total - d["idle"] - d["iowait"]
        ncpu = os.cpu_count() or 1
        seconds = {k: round(v / probes.CLK_TCK, 2) for k, v in d.items()}
        measured = sum(per_group.values())
        return {
            "cpu_seconds": per_group,
            "cpu_us_per_request": {k: round(v * 1e6 / requests, 1) for k, v in per_group.items()},
            # Share of all CPU time (both cores) that was not idle; steal (time the
            # hypervisor gave to someone else) counts as busy here and is shown apart.
            "machine_busy_share": round(busy / total, 3) if total else None,
            "machine_seconds": seconds,
            "machine_cpu_seconds": round(busy / probes.CLK_TCK, 2),
            # Busy time no process above accounts for: interrupts, softirq (loopback TCP is
            # processed there), steal, and other processes on the machine.
            "unattributed_cpu_seconds": round(busy / probes.CLK_TCK - measured, 2),
            "cores": ncpu,
            "window_seconds": round(self.seconds, 2),
        }
