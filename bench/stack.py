"""Start and stop what a benchmark scenario needs: PostgreSQL, the Temporal dev server,
Redis, llm-d-inference-sim instances and gateway processes (`server`, `api`, `worker`).

Every scenario builds one `Stack` and uses it as a context manager; leaving the `with`
block (normally, by an exception, or by SIGTERM/SIGINT, which `install_signal_handlers`
turns into SystemExit) stops everything the stack started, newest first. Children run
in their own session (so a Ctrl-C reaches only this process) under
`setpriv --pdeathsig TERM`, so they die with the benchmark even when it is SIGKILLed.
PostgreSQL is started and stopped through scripts/lib.sh (initdb, running it as the
postgres user when we are root); pg_ctl daemonizes it, so it is stopped explicitly.

Only loopback addresses are used. Ports come from the ranges reserved for benchmarks:
gateways 9000-9099, simulators 9100-9199, PostgreSQL 55470-55479, Temporal 7290-7299
(UI 8290-8299), Redis 6390-6399.

Redis (Debian's redis-server, no persistence) holds the gateway's distributed limiter
permits: once `start_redis()` ran, every gateway of the stack gets `BGW_REDIS_URL` and,
unless the scenario says otherwise, `BGW_LIMITER=redisson`.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / ".tools" / "bin"
JAR = ROOT / "service" / "target" / "batch-gateway.jar"
CONFIG = ROOT / "service" / "config" / "gateway.yml"
MODEL = "Qwen/Qwen3-0.6B"
API_KEY = "sk-bench"
SEARCH_ATTRIBUTES = [
    "BatchStatus=Keyword", "BatchTenant=Keyword", "BatchModel=Keyword", "BatchPriority=Int",
    "BatchDeadline=Datetime", "BatchRequestsTotal=Int", "BatchRequestsDone=Int",
]

PG_PORT = 55470
TEMPORAL_PORT = 7290
TEMPORAL_UI_PORT = 8290
SIM_PORT = 9100
GATEWAY_PORT = 9000  # gateway n uses 9000 + 2n (API) and 9001 + 2n (admin)
REDIS_PORT = 6390
DEFAULT_LIMITER = "redisson"  # BGW_LIMITER of bench gateways when the stack runs Redis

_SETPRIV = shutil.which("setpriv") is not None and "--pdeathsig" in subprocess.run(
    ["setpriv", "--help"], capture_output=True, text=True).stdout


class StackError(RuntimeError):
    pass


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def java_home():
    out = subprocess.run(["bash", "-c", f"source {ROOT}/scripts/lib.sh && bgw_java_home"],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def port_open(port, host="127.0.0.1"):
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex((host, port)) == 0


def http_ok(url, timeout=3):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.HTTPError):
        return False


def wait_until(predicate, seconds, what, process=None, interval=0.25):
    deadline = time.monotonic() + seconds
    while not predicate():
        if process is not None and process.poll() is not None:
            raise StackError(f"{what}: the process exited with status {process.returncode}")
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(interval)


def install_signal_handlers():
    """SIGTERM and SIGINT raise SystemExit in the main thread, so `finally` blocks run."""

    def handler(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def reap_leftovers():
    """Stops the PostgreSQL of earlier benchmark runs that were killed before they could
    clean up (pg_ctl daemonizes it, so it outlives them and keeps its port), and removes
    their work folders. Everything else a run starts dies with it (PR_SET_PDEATHSIG)."""
    for work in Path(tempfile.gettempdir()).glob("bgw-bench-*"):
        try:
            owner = int((work / "owner").read_text())
            if owner != os.getpid() and Path(f"/proc/{owner}").exists() and "bench" in Path(
                    f"/proc/{owner}/cmdline").read_text(errors="replace"):
                continue  # a benchmark still running
        except (OSError, ValueError):
            pass
        pidfile = work / "postgres" / "postmaster.pid"
        if pidfile.is_file():
            log(f"stopping PostgreSQL left over by an earlier run in {work}")
            subprocess.run(
                ["bash", "-c", 'source "$1/scripts/lib.sh" && stop_postgres "$2"', "_",
                 str(ROOT), str(work / "postgres")], capture_output=True, text=True, timeout=120)
        shutil.rmtree(work, ignore_errors=True)


class Proc:
    """One child process with its log file."""

    def __init__(self, name, popen, logfile, grace):
        self.name = name
        self.popen = popen
        self.logfile = logfile
        self.grace = grace

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def kill(self):
        """SIGKILL, as a crash: nothing runs on the way out."""
        if self.alive():
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self):
        if self.alive():
            self.popen.terminate()
            try:
                self.popen.wait(timeout=self.grace)
            except subprocess.TimeoutExpired:
                log(f"{self.name} did not stop within {self.grace} s, SIGKILL")
                self.popen.kill()
                self.popen.wait(timeout=30)


class Gateway:
    """A gateway JVM (`server`, `api` or `worker`) with its API and admin ports."""

    def __init__(self, proc, role, http_port, admin_port):
        self.proc = proc
        self.role = role
        self.http_port = http_port
        self.admin_port = admin_port

    @property
    def pid(self):
        return self.proc.pid

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.http_port}/v1"

    @property
    def admin_url(self):
        return f"http://127.0.0.1:{self.admin_port}"

    def healthy(self):
        return http_ok(self.admin_url + "/healthcheck")

    def stop(self, stack):
        """Stop this gateway (SIGTERM, then SIGKILL after the grace) and free its ports."""
        self.proc.stop()
        stack.forget(self.proc)
        wait_until(lambda: not port_open(self.http_port) and not port_open(self.admin_port), 30,
                   f"the ports of {self.proc.name} to close")


class Sim:
    def __init__(self, proc, port, args):
        self.proc = proc
        self.port = port
        self.args = args

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"


class Stack:
    """What one scenario started. Use as `with Stack("overhead") as stack: ...`."""

    def __init__(self, name, keep_logs_dir=None):
        self.name = name
        self.started = []  # Proc or ("pg", datadir), in start order
        self.work = Path(tempfile.mkdtemp(prefix=f"bgw-bench-{name}-"))
        # PostgreSQL runs as the postgres user when we are root: it must reach this folder.
        self.work.chmod(0o755)
        (self.work / "owner").write_text(str(os.getpid()))
        self.logs = self.work / "logs"
        self.logs.mkdir()
        self.keep_logs_dir = Path(keep_logs_dir) if keep_logs_dir else None
        self.java_home = java_home()
        self.pg_port = None
        self.temporal_address = None
        self.sims = {}
        self.gateway_env = {}
        self.redis_url = None
        self.redis_proc = None
        self._thread = threading.current_thread()

    # -- lifecycle --------------------------------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        failed = exc_type is not None
        if failed and self.keep_logs_dir:
            self._save_logs()
        self.stop_all()
        shutil.rmtree(self.work, ignore_errors=True)
        return False

    def _save_logs(self):
        try:
            self.keep_logs_dir.mkdir(parents=True, exist_ok=True)
            for f in self.logs.glob("*.log"):
                shutil.copy(f, self.keep_logs_dir / f.name)
            log(f"logs of the failed scenario kept in {self.keep_logs_dir}")
        except OSError as e:
            log(f"could not keep the logs: {e}")

    def stop_all(self):
        while self.started:
            entry = self.started.pop()
            try:
                if isinstance(entry, Proc):
                    entry.stop()
                else:
                    self._stop_postgres(entry[1])
            except Exception as e:  # keep stopping the rest
                log(f"stopping {entry}: {e}")

    def spawn(self, name, cmd, env=None, grace=15, logname=None):
        if threading.current_thread() is not self._thread:
            # PR_SET_PDEATHSIG fires when the *thread* that forked the child exits.
            raise StackError("spawn children from the thread that made the stack")
        logfile = self.logs / f"{logname or name}.log"
        prefix = ["setpriv", "--pdeathsig", "TERM", "--"] if _SETPRIV else []
        with open(logfile, "ab") as out:
            out.write(f"==== {time.strftime('%F %T')}: {' '.join(map(str, cmd))}\n".encode())
            out.flush()
            popen = subprocess.Popen(
                prefix + [str(c) for c in cmd], stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, env=env, cwd=ROOT, start_new_session=True)
        proc = Proc(name, popen, logfile, grace)
        self.started.append(proc)
        return proc

    def forget(self, proc):
        if proc in self.started:
            self.started.remove(proc)

    # -- PostgreSQL -------------------------------------------------------------------
    def start_postgres(self, port=PG_PORT):
        if port_open(port):
            raise StackError(f"port {port} (PostgreSQL) is already in use")
        datadir = self.work / "postgres"
        log(f"{self.name}: PostgreSQL on 127.0.0.1:{port}")
        result = subprocess.run(
            ["bash", "-c", 'source "$1/scripts/lib.sh" && start_postgres "$2" "$3" "$4"', "_",
             str(ROOT), str(datadir), str(port), str(self.logs / "postgres.log")],
            capture_output=True, text=True, timeout=180)
        # Registered even on failure: a half-started cluster must be stopped too.
        self.started.append(("pg", datadir))
        if result.returncode != 0:
            raise StackError(f"PostgreSQL did not start: {result.stderr[-2000:]}")
        self.pg_port = port
        return port

    def _stop_postgres(self, datadir):
        subprocess.run(
            ["bash", "-c", 'source "$1/scripts/lib.sh" && stop_postgres "$2"', "_", str(ROOT),
             str(datadir)], capture_output=True, text=True, timeout=120)

    def postgres_pids(self):
        """The postmaster and its children (backends, checkpointer, WAL writer...)."""
        pidfile = self.work / "postgres" / "postmaster.pid"
        try:
            master = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return []
        return [master] + children_of(master)

    # -- Temporal ---------------------------------------------------------------------
    def start_temporal(self, port=TEMPORAL_PORT, ui_port=TEMPORAL_UI_PORT):
        for p in (port, ui_port):
            if port_open(p):
                raise StackError(f"port {p} (Temporal) is already in use")
        log(f"{self.name}: Temporal dev server on 127.0.0.1:{port}")
        cmd = [TOOLS / "temporal", "server", "start-dev", "--ip", "127.0.0.1", "--port", port,
               "--ui-port", ui_port, "--db-filename", self.work / "temporal.db",
               "--log-level", "warn"]
        for a in SEARCH_ATTRIBUTES:
            cmd += ["--search-attribute", a]
        proc = self.spawn("temporal", cmd)
        address = f"127.0.0.1:{port}"

        def ready():
            return subprocess.run(
                [TOOLS / "temporal", "operator", "namespace", "describe", "default",
                 "--address", address], capture_output=True).returncode == 0

        wait_until(lambda: port_open(port), 60, "the Temporal port", proc.popen)
        wait_until(ready, 90, "Temporal's default namespace", proc.popen, interval=0.5)
        self.temporal_proc = proc
        self.temporal_address = address
        return address

    # -- Redis ------------------------------------------------------------------------
    def start_redis(self, port=REDIS_PORT):
        """A throwaway redis-server on 127.0.0.1 (no RDB, no AOF), stopped with the stack."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError("redis-server is missing (Debian: apt-get install redis-server)")
        if port_open(port):
            raise StackError(f"port {port} (Redis) is already in use")
        datadir = self.work / "redis"
        datadir.mkdir(exist_ok=True)
        log(f"{self.name}: Redis on 127.0.0.1:{port}")
        proc = self.spawn("redis", [binary, "--bind", "127.0.0.1", "--port", port, "--dir", datadir,
                                    "--save", "", "--appendonly", "no", "--daemonize", "no"], grace=5)
        self.redis_proc = proc
        self.redis_port = port
        wait_until(lambda: port_open(port), 30, "the Redis port", proc.popen)
        def pong():
            try:
                return self.redis("PING") == "PONG"
            except (OSError, StackError):
                return False

        wait_until(pong, 30, "Redis to answer PING", proc.popen)
        self.redis_url = f"redis://127.0.0.1:{port}"
        return self.redis_url

    def redis(self, *args):
        """One command over RESP; returns the reply decoded (simple string, integer, bulk
        string or list), raises StackError on an error reply."""
        payload = f"*{len(args)}\r\n".encode()
        for a in args:
            b = str(a).encode()
            payload += f"${len(b)}\r\n".encode() + b + b"\r\n"
        with socket.create_connection(("127.0.0.1", self.redis_port), timeout=5) as sock:
            sock.sendall(payload)
            reader = sock.makefile("rb")
            return _resp_read(reader)

    def flush_redis(self):
        """Forget every key (limiter permits of gateways stopped before), between runs."""
        if self.redis_url:
            self.redis("FLUSHALL")

    # -- simulator --------------------------------------------------------------------
    def start_sim(self, port, *args, name=None):
        if port_open(port):
            raise StackError(f"port {port} (simulator) is already in use")
        env = dict(os.environ, POD_IP="127.0.0.1")
        cmd = [TOOLS / "llm-d-inference-sim", "--port", port, "--model", MODEL,
               "--force-dummy-tokenizer", "--enable-request-id-headers", *args]
        log(f"{self.name}: simulator on :{port} {' '.join(map(str, args))}")
        proc = self.spawn(name or f"sim-{port}", cmd, env=env, grace=5)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/v1/models"), 60,
                   f"the simulator on :{port}", proc.popen)
        sim = Sim(proc, port, list(args))
        self.sims[port] = sim
        return sim

    def stop_sim(self, sim):
        sim.proc.stop()
        self.forget(sim.proc)
        self.sims.pop(sim.port, None)
        wait_until(lambda: not port_open(sim.port), 30, f"port {sim.port} to close")

    # -- gateway ----------------------------------------------------------------------
    def configure_gateway(self, inference_url, heap="512m", **tuning):
        """Environment shared by every gateway process of this stack."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("BGW_") or k == "TEMPORAL_ADDRESS":
                del env[k]
        env.update(
            JAVA_HOME=self.java_home,
            BGW_DATA_DIR=str(self.work),
            BGW_API_KEYS=f"{API_KEY}:bench",
            BGW_INFERENCE_URL=inference_url,
            BGW_MODELS=MODEL,
            TEMPORAL_ADDRESS=self.temporal_address,
            BGW_DB_URL=f"jdbc:postgresql://127.0.0.1:{self.pg_port}/batchgateway",
            BGW_DB_USER="batchgateway",
            BGW_DB_PASSWORD="batchgateway",
        )
        if self.redis_url:
            env["BGW_REDIS_URL"] = self.redis_url
            env["BGW_LIMITER"] = DEFAULT_LIMITER
        for key, value in tuning.items():
            env[f"BGW_{key.upper()}"] = str(value)
        (self.work / "files").mkdir(exist_ok=True)
        self.gateway_env = env
        self.heap = heap

    def start_gateway(self, role="server", index=0, wait=True, extra_java=(), env=None):
        """Start a gateway JVM; returns once /healthcheck answers (if wait). `env` adds to
        or overrides the stack's gateway environment for this process only, e.g.
        {"BGW_CAPACITY": "fixed"}."""
        if not JAR.is_file():
            raise StackError(f"{JAR} is missing: build it with `make build`")
        http_port = GATEWAY_PORT + 2 * index
        admin_port = http_port + 1
        for p in (http_port, admin_port):
            if port_open(p):
                raise StackError(f"port {p} (gateway) is already in use")
        env = dict(self.gateway_env, **{k: str(v) for k, v in (env or {}).items()},
                   BGW_HTTP_PORT=str(http_port), BGW_ADMIN_PORT=str(admin_port))
        cmd = [Path(self.java_home) / "bin" / "java", f"-Xmx{self.heap}", "-XX:+ExitOnOutOfMemoryError",
               *extra_java,
               "-jar", JAR, role, CONFIG]
        name = f"gateway-{role}-{index}"
        knobs = " ".join(f"{k}={env[k]}" for k in ("BGW_LIMITER", "BGW_CAPACITY") if k in env)
        log(f"{self.name}: {name} on :{http_port} (admin :{admin_port}){' ' + knobs if knobs else ''}")
        proc = self.spawn(name, cmd, env=env, grace=30)
        gateway = Gateway(proc, role, http_port, admin_port)
        gateway.env = {k: v for k, v in env.items() if k.startswith("BGW_")}
        if wait:
            wait_until(gateway.healthy, 120, f"{name} to be healthy", proc.popen)
        return gateway


def _resp_read(reader):
    line = reader.readline()
    if not line:
        raise StackError("Redis closed the connection")
    kind, rest = line[:1], line[1:].rstrip(b"\r\n")
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise StackError(f"Redis: {rest.decode()}")
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = reader.read(n + 2)
        return data[:-2].decode(errors="replace")
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_resp_read(reader) for _ in range(n)]
    raise StackError(f"Redis: unexpected reply {line!r}")


def children_of(pid):
    """PIDs whose parent is `pid` (one level)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(entry))
    return out


def describe_history_length(temporal_address, workflow_id):
    try:
        out = subprocess.run(
            [TOOLS / "temporal", "workflow", "describe", "--workflow-id", workflow_id,
             "--address", temporal_address, "--output", "json"],
            capture_output=True, text=True, check=True, timeout=30).stdout
        return int(json.loads(out)["workflowExecutionInfo"]["historyLength"])
    except (OSError, subprocess.SubprocessError, KeyError, ValueError):
        return None


def history_events(temporal_address, workflow_id):
    """Counter-like {event type: count} of a workflow's history, plus the timeout types of
    timed-out workflow and activity tasks, e.g. {"WORKFLOW_TASK_TIMED_OUT:SCHEDULE_TO_START": 3}."""
    try:
        out = subprocess.run(
            [TOOLS / "temporal", "workflow", "show", "--workflow-id", workflow_id,
             "--address", temporal_address, "--output", "json"],
            capture_output=True, text=True, check=True, timeout=60).stdout
        events = json.loads(out).get("events", [])
    except (OSError, subprocess.SubprocessError, ValueError):
        return {}
    counts = {}
    for e in events:
        kind = str(e.get("eventType", "?")).replace("EVENT_TYPE_", "")
        for key, attrs in e.items():
            if key.endswith("TimedOutEventAttributes") and isinstance(attrs, dict):
                timeout = attrs.get("timeoutType") or (attrs.get("failure") or {}).get(
                    "timeoutFailureInfo", {}).get("timeoutType")
                if timeout:
                    kind += ":" + str(timeout).replace("TIMEOUT_TYPE_", "")
        started = e.get("activityTaskStartedEventAttributes")
        if isinstance(started, dict) and int(started.get("attempt", 1)) > 1:
            kind += ":RETRIED_ATTEMPT"
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))
