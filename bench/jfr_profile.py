"""CPU profile of a gateway JVM with JDK Flight Recorder.

`start(pid)` runs `jcmd <pid> JFR.start` (settings=profile, with Java stacks sampled
every 2 ms instead of its 10 ms); `stop(pid, file)` dumps and stops the recording; `summarize`
reads the jdk.ExecutionSample events with `jfr print --json` and counts them by the
method on top of the stack (self time) and by component. A sample's component is decided
by the frame closest to the top of the stack that belongs to a known library or to the
gateway's own packages; frames of the JDK's general-purpose packages (java.lang,
java.util, ...) are passed over, so a HashMap lookup made by Jackson counts for Jackson.

ExecutionSample covers Java threads running Java code. GC and JIT compiler threads are
not sampled; their CPU comes from /proc per-thread times (probes.thread_cpu).
"""

import re
import subprocess
from collections import Counter
from pathlib import Path

SAMPLE_PERIOD = "2ms"  # `profile` samples every 10 ms; more samples, tighter shares

# (package prefix, component), matched in order against a frame's class name. General JDK
# packages (java.lang, java.util, java.util.concurrent, java.io, sun.nio.ch socket code, ...)
# are not listed: a frame there counts for the library or gateway code that called it, so
# a socket write made by the HTTP client counts for the HTTP client.
COMPONENTS = [
    ("dev.batchgateway.activities.chunk", "gateway: chunk runner (requests, segments)"),
    ("dev.batchgateway.activities.plan", "gateway: planning (validate, hash, sort)"),
    ("dev.batchgateway.activities.finalize", "gateway: finalize (join output)"),
    ("dev.batchgateway.service.inference", "gateway: HTTP inference client"),
    ("dev.batchgateway.service.db", "gateway: metadata store (SQL)"),
    ("dev.batchgateway", "gateway: other own code"),
    ("com.fasterxml.jackson", "Jackson JSON"),
    ("jdk.internal.net.http", "JDK HTTP client (java.net.http)"),
    ("java.net.http", "JDK HTTP client (java.net.http)"),
    ("io.temporal", "Temporal SDK"),
    ("io.grpc", "gRPC / Netty / protobuf (Temporal transport)"),
    ("io.netty", "gRPC / Netty / protobuf (Temporal transport)"),
    ("com.google.protobuf", "gRPC / Netty / protobuf (Temporal transport)"),
    ("org.postgresql", "PostgreSQL JDBC / JDBI / pool"),
    ("org.jdbi", "PostgreSQL JDBC / JDBI / pool"),
    ("org.apache.tomcat.jdbc", "PostgreSQL JDBC / JDBI / pool"),
    ("org.eclipse.jetty", "Jetty / Jersey (REST API)"),
    ("org.glassfish", "Jetty / Jersey (REST API)"),
    ("jakarta.", "Jetty / Jersey (REST API)"),
    ("com.codahale.metrics", "Dropwizard metrics"),
    ("io.dropwizard", "Dropwizard"),
    ("ch.qos.logback", "logging"),
    ("org.slf4j", "logging"),
    ("sun.security", "SecureRandom / crypto"),
    ("java.security", "SecureRandom / crypto"),
    ("sun.nio.fs", "file system"),
    ("java.nio.file", "file system"),
    ("jdk.jfr", "JFR itself"),
]


# Gateway methods that only wrap ChunkRunner$Execution.run (same samples).
WRAPPERS = {"dev.batchgateway.activities.ChunkActivitiesImpl.runChunk",
            "dev.batchgateway.activities.chunk.ChunkRunner.run"}


# The gateway's Netty inference client runs on threads of its own; its io.netty frames are
# told apart from Temporal's gRPC transport (and Redisson's) by the thread's name.
NETTY = "gRPC / Netty / protobuf (Temporal transport)"
INFERENCE_IO = ("inference-io", "Netty HTTP client (inference-io threads)")


def component_of(frames, thread=""):
    """frames: class names from the top of the stack down."""
    for cls in frames:
        for prefix, name in COMPONENTS:
            if cls.startswith(prefix):
                if name == NETTY and thread.startswith(INFERENCE_IO[0]):
                    return INFERENCE_IO[1]
                return name
    return "JDK only (thread pools, idle spinning, ...)"


def _jcmd(java_home, pid, *args):
    return subprocess.run([f"{java_home}/bin/jcmd", str(pid), *args], capture_output=True,
                          text=True, timeout=120)


def start(java_home, pid, name="bench"):
    result = _jcmd(java_home, pid, "JFR.start", f"name={name}", "settings=profile",
                   f"jdk.ExecutionSample#period={SAMPLE_PERIOD}",
                   # JDK 25's CPU-time sampler (JEP 509): samples by CPU time actually used,
                   # a cross-check for ExecutionSample on an oversubscribed machine.
                   "jdk.CPUTimeSample#enabled=true", f"jdk.CPUTimeSample#throttle={SAMPLE_PERIOD}")
    if result.returncode != 0 or "Started recording" not in result.stdout:
        raise RuntimeError(f"JFR.start failed: {result.stdout} {result.stderr}")


def stop(java_home, pid, path, name="bench"):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    result = _jcmd(java_home, pid, "JFR.stop", f"name={name}", f"filename={path}")
    if result.returncode != 0 or not path.is_file():
        raise RuntimeError(f"JFR.stop failed: {result.stdout} {result.stderr}")
    return path


def _events(java_home, path, event):
    """Yields (thread name, [(class, method), ...] top first) for each `event` in the
    recording, parsing `jfr print`'s text form as it streams (its JSON is ~70 KB/sample)."""
    proc = subprocess.Popen(
        [f"{java_home}/bin/jfr", "print", "--stack-depth", "64", "--events", event, str(path)],
        stdout=subprocess.PIPE, text=True, bufsize=1 << 20)
    thread, frames, in_stack = "?", [], False
    for line in proc.stdout:
        line = line.strip()
        if in_stack:
            if line == "]":
                in_stack = False
            elif line != "...":
                name = line.split("(", 1)[0]
                cls, _, method = name.rpartition(".")
                frames.append((cls, method))
        elif line.startswith(("sampledThread = ", "eventThread = ")):
            thread = line.split('"')[1] if '"' in line else "?"
        elif line == "stackTrace = [":
            in_stack, frames = True, []
        elif line == "}":
            if frames:
                yield thread, frames
            thread, frames = "?", []
    if proc.wait() != 0:
        raise RuntimeError(f"jfr print {event} failed")


def summarize(java_home, path, top=15, event="jdk.ExecutionSample"):
    methods = Counter()
    packages = Counter()
    components = Counter()
    threads = Counter()
    inclusive = Counter()
    with_own = 0
    for thread, frames in _events(java_home, path, event):
        classes = [c for c, _ in frames]
        cls, method = frames[0]
        methods[f"{cls}.{method}"] += 1
        packages[cls.rsplit(".", 1)[0] if "." in cls else cls] += 1
        components[component_of(classes, thread)] += 1
        threads[_fold_digits(thread)] += 1
        # Inclusive: each named gateway method on the stack counts once per sample.
        own = {f"{c}.{m}" for c, m in frames
               if c.startswith("dev.batchgateway") and "$$Lambda" not in c and "lambda$" not in m
               and f"{c}.{m}" not in WRAPPERS}
        for name in own:
            inclusive[name] += 1
        with_own += 1 if own else 0
    total = sum(components.values())
    return {
        "event": event,
        "samples": total,
        "top_methods": _shares(methods, total, top),
        "top_packages": _shares(packages, total, top),
        "components": _shares(components, total, None),
        "threads": _shares(threads, total, 10),
        "gateway_inclusive": _shares(inclusive, total, 40),
        "with_gateway_frame": round(with_own / total, 4) if total else 0,
    }


def _fold_digits(name):
    return re.sub(r"[0-9]+", "N", name)


def _shares(counter, total, top):
    items = counter.most_common(top)
    return [{"name": k, "samples": v, "share": round(v / total, 4) if total else 0}
            for k, v in items]
