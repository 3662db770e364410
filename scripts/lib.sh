# shellcheck shell=bash
# Shared helpers for scripts/run.sh, scripts/test.sh and the Makefile: find a JDK,
# wait for ports, start and stop the local stack (PostgreSQL, Temporal dev server,
# llm-d-inference-sim, Redis).
#
# Source it; it only defines variables and functions and leaves shell options to
# the caller (the scripts use `set -euo pipefail`). Every process started here is
# recorded in BGW_STARTED so that `stop_all` (called from the caller's EXIT trap)
# stops them all, newest first.

BGW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BGW_TOOLS_BIN="${BGW_TOOLS_BIN:-$BGW_ROOT/.tools/bin}"
BGW_SIM_MODEL="${BGW_SIM_MODEL:-Qwen/Qwen3-0.6B}"

# Database, role and password of the dev/test database (the app's BGW_DB_* defaults).
BGW_PG_DB="batchgateway"
BGW_PG_ROLE="batchgateway"
BGW_PG_PASSWORD="batchgateway"
# OS user that runs PostgreSQL when we are root (initdb/postgres refuse to run as root).
BGW_PG_OS_USER="${BGW_PG_OS_USER:-postgres}"

# Search attributes the workflows upsert; the dev server registers them at start.
# Kept in step with workflows/.../BatchSearchAttributes.java (the gateway also adds missing ones).
BGW_SEARCH_ATTRIBUTES=(BatchStatus=Keyword BatchTenant=Keyword BatchModel=Keyword BatchPriority=Int
  BatchDeadline=Datetime BatchRequestsTotal=Int BatchRequestsDone=Int)

# What to stop, in start order. Entries: "pid|<pid>|<name>|<grace seconds>|<pidfile or empty>"
# or "pg|<datadir>".
BGW_STARTED=()
# PID of the process most recently started by bgw_spawn.
BGW_LAST_PID=""

log() { printf '[bgw %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# ---------------------------------------------------------------------------
# Java

# Major version of the JDK in $1 (from its `release` file, else `java -version`).
_bgw_jdk_major() {
  local dir=$1 v=""
  if [[ -f $dir/release ]]; then
    v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$dir/release")
  fi
  if [[ -z $v && -x $dir/bin/java ]]; then
    v=$("$dir/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)
  fi
  [[ -n $v ]] || return 1
  v=${v#1.} # 1.8.0_x -> 8.0_x
  v=${v%%[!0-9]*}
  [[ -n $v ]] || return 1
  echo "$v"
}

# Echo the newest JDK >= 21 under /usr/lib/jvm (BGW_JAVA_HOME wins; an existing
# JAVA_HOME >= 21 is the fallback). The default `java` here may be 17.
bgw_java_home() {
  local best="" best_major=0 dir major
  if [[ -n ${BGW_JAVA_HOME:-} ]]; then
    echo "$BGW_JAVA_HOME"
    return 0
  fi
  for dir in /usr/lib/jvm/*/; do
    dir=$(readlink -f "$dir")
    # A JDK, not a JRE: Maven needs javac.
    [[ -x $dir/bin/java && -x $dir/bin/javac ]] || continue
    major=$(_bgw_jdk_major "$dir") || continue
    if ((major >= 21 && major > best_major)); then
      best=$dir
      best_major=$major
    fi
  done
  if [[ -z $best && -n ${JAVA_HOME:-} ]] && major=$(_bgw_jdk_major "$JAVA_HOME") && ((major >= 21)); then
    best=$JAVA_HOME
  fi
  if [[ -z $best ]]; then
    echo "bgw: no JDK >= 21 found under /usr/lib/jvm (set BGW_JAVA_HOME)" >&2
    return 1
  fi
  echo "$best"
}

# What to do without a JDK >= 21 (Debian 12 packages only 17).
BGW_JDK_HINT="no JDK >= 21 under /usr/lib/jvm: install one (Temurin 21+, https://adoptium.net/installation/linux/) or set BGW_JAVA_HOME"

# Export JAVA_HOME (and PATH) for Maven and the gateway; dies without a JDK >= 21.
bgw_use_java() {
  local jh
  jh=$(bgw_java_home 2>/dev/null) || die "$BGW_JDK_HINT"
  export JAVA_HOME=$jh
  export PATH="$JAVA_HOME/bin:$PATH"
}

# ---------------------------------------------------------------------------
# Processes and ports

# True if PID $1 exists and is not a zombie (kill -0 succeeds on zombies).
pid_alive() {
  local pid=$1 stat
  kill -0 "$pid" 2>/dev/null || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) } # the state letter follows "(comm) "
  [[ ${stat:0:1} != Z ]]
}

# Start time of PID $1 (clock ticks since boot): with the PID it names a process
# uniquely, so a recycled PID is never taken for a leftover of ours.
pid_starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # shellcheck disable=SC2086 # split on purpose: fields after "(comm)"
  set -- $stat
  echo "${20}"
}

# True if something accepts TCP connections on HOST:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# Fail with a readable message when HOST:PORT is taken.
require_free_port() {
  local host=$1 port=$2 what=$3
  if port_open "$host" "$port"; then
    log "port $port ($what) is already in use:"
    if command -v ss >/dev/null 2>&1; then ss -ltnp "sport = :$port" >&2 || true; fi
    return 1
  fi
}

# wait_port HOST PORT SECONDS [PID]: wait until HOST:PORT accepts connections;
# give up early if PID (the process that should open it) dies.
wait_port() {
  local host=$1 port=$2 secs=$3 pid=${4:-}
  local deadline=$((SECONDS + secs))
  until port_open "$host" "$port"; do
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      log "process $pid exited before $host:$port opened"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${secs}s waiting for $host:$port"
      return 1
    fi
    sleep 0.2
  done
}

# True if URL answers with a 2xx status.
http_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 3 "$1" 2>/dev/null
  else
    python3 - "$1" <<'EOF' 2>/dev/null
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=3) as r:
    sys.exit(0 if 200 <= r.status < 300 else 1)
EOF
  fi
}

# wait_http URL SECONDS [PID]: wait until URL answers 2xx; give up early if PID dies.
wait_http() {
  local url=$1 secs=$2 pid=${3:-}
  local deadline=$((SECONDS + secs))
  until http_ok "$url"; do
    if [[ -n $pid ]] && ! pid_alive "$pid"; then
      log "process $pid exited before $url answered"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "timed out after ${secs}s waiting for $url"
      return 1
    fi
    sleep 0.5
  done
}

# stop_pid PID NAME [GRACE]: SIGTERM, then SIGKILL after GRACE seconds (default 10).
stop_pid() {
  local pid=$1 name=$2 grace=${3:-10} i
  if pid_alive "$pid"; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 5; i++)); do
      pid_alive "$pid" || break
      sleep 0.2
    done
    if pid_alive "$pid"; then
      log "$name did not stop within ${grace}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      for ((i = 0; i < 25; i++)); do
        pid_alive "$pid" || break
        sleep 0.2
      done
    fi
  fi
  # Reap it if it is our child (no-op otherwise).
  wait "$pid" 2>/dev/null || true
}

# stop_pidfile PIDFILE NAME: stop the process a PIDFILE written by bgw_spawn names,
# if it still runs (a leftover of a run that was killed without cleaning up).
stop_pidfile() {
  local pidfile=$1 name=$2 pid start
  [[ -f $pidfile ]] || return 0
  read -r pid start <"$pidfile" || true
  if [[ -n ${pid:-} ]] && pid_alive "$pid" && [[ $(pid_starttime "$pid") == "${start:-}" ]]; then
    log "found $name left over from an earlier run"
    stop_pid "$pid" "$name" 10
  fi
  rm -f "$pidfile"
}

# setsid + setpriv --pdeathsig (util-linux) available? See bgw_spawn.
_BGW_SETPRIV=""
if command -v setsid >/dev/null 2>&1 && setpriv --help 2>/dev/null | grep -q -- --pdeathsig; then
  _BGW_SETPRIV=1
fi

# PID file kept beside a log file: x.log -> x.pid.
_pidfile_for() {
  local f=$1
  [[ $f == *.log ]] && f=${f%.log}
  echo "$f.pid"
}

# bgw_spawn NAME LOGFILE GRACE CMD...: run CMD in the background with its output
# appended to LOGFILE, record it for stop_all and in LOGFILE's .pid file (so a
# later run can clean up after a killed one). Sets BGW_LAST_PID.
bgw_spawn() {
  local name=$1 logfile=$2 grace=$3
  shift 3
  local pidfile
  pidfile=$(_pidfile_for "$logfile")
  mkdir -p "$(dirname "$logfile")"
  stop_pidfile "$pidfile" "$name"
  printf '==== %s: %s\n' "$(date '+%F %T')" "$*" >>"$logfile"
  # Ctrl-C in a terminal signals the whole foreground process group. Go programs
  # (temporal, the simulator) catch SIGINT even in background jobs, so they would
  # quit on their own, before the gateway that uses them. Run each in its own
  # session instead, so that only the script sees Ctrl-C and its trap stops
  # everything in order; PR_SET_PDEATHSIG (setpriv) still sends it SIGTERM if the
  # script itself dies, even by SIGKILL, so nothing is left behind.
  local detach=()
  if [[ -n $_BGW_SETPRIV ]]; then detach=(setsid setpriv --pdeathsig TERM --); fi
  "${detach[@]}" "$@" >>"$logfile" 2>&1 </dev/null &
  BGW_LAST_PID=$!
  echo "$BGW_LAST_PID $(pid_starttime "$BGW_LAST_PID" || echo 0)" >"$pidfile"
  BGW_STARTED+=("pid|$BGW_LAST_PID|$name|$grace|$pidfile")
}

# Stop everything started through this file, newest first. Safe to call twice.
stop_all() {
  local i entry pid name grace pidfile
  for ((i = ${#BGW_STARTED[@]} - 1; i >= 0; i--)); do
    entry=${BGW_STARTED[i]}
    case $entry in
      pid\|*)
        IFS='|' read -r _ pid name grace pidfile <<<"$entry"
        stop_pid "$pid" "$name" "$grace"
        if [[ -n $pidfile ]]; then rm -f "$pidfile"; fi
        ;;
      pg\|*)
        stop_postgres "${entry#pg|}" || true
        ;;
    esac
  done
  BGW_STARTED=()
}

# Path of a project tool: .tools/bin first, then PATH.
bgw_tool() {
  if [[ -x $BGW_TOOLS_BIN/$1 ]]; then
    echo "$BGW_TOOLS_BIN/$1"
  elif command -v "$1" >/dev/null 2>&1; then
    command -v "$1"
  else
    log "$1 not found in $BGW_TOOLS_BIN or PATH (run: make tools)"
    return 1
  fi
}

# Print the last lines of each log file given (for failure reports).
tail_logs() {
  local f
  for f in "$@"; do
    [[ -s $f ]] || continue
    printf '\n----- last lines of %s -----\n' "$f" >&2
    tail -n "${BGW_LOG_TAIL:-40}" "$f" >&2 || true
  done
}

# ---------------------------------------------------------------------------
# Debian packages

# True if what the Debian package PKG provides is usable here. Checks what we
# use rather than dpkg, so a PostgreSQL or Python installed some other way counts.
deb_present() {
  case $1 in
    postgresql) pg_bindir >/dev/null 2>&1 ;;
    redis-server) command -v redis-server >/dev/null 2>&1 ;;
    maven) command -v mvn >/dev/null 2>&1 ;;
    openssl) command -v openssl >/dev/null 2>&1 ;;
    # `python3 -m venv` needs ensurepip, which Debian splits off into python3-venv.
    python3-venv) python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ;;
    *) dpkg -s "$1" >/dev/null 2>&1 ;;
  esac
}

# Echo those of the Debian packages PKG... that are missing (space-separated).
missing_debs() {
  local p out=()
  for p in "$@"; do deb_present "$p" || out+=("$p"); done
  echo "${out[*]}"
}

# install_debs PKG...: apt-get install them when we are root and have apt-get.
# Returns 1 when that is not possible or did not make them present.
install_debs() {
  ((EUID == 0)) && command -v apt-get >/dev/null 2>&1 || return 1
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || true
  [[ -z $(missing_debs "$@") ]]
}

# ensure_debs WHAT PKG...: make sure the Debian packages are there; install the
# missing ones when root, else die with one line saying how to install them.
ensure_debs() {
  local what=$1 missing
  shift
  missing=$(missing_debs "$@")
  [[ -n $missing ]] || return 0
  # shellcheck disable=SC2086 # a list of package names
  install_debs $missing && return 0
  missing=$(missing_debs "$@")
  die "missing $what: install with: sudo apt-get install -y $missing"
}

# ---------------------------------------------------------------------------
# Python: one project-local virtual environment (.venv) for the test suites and
# the benchmark harness, so nothing is installed into the system's Python.

BGW_VENV="${BGW_VENV:-$BGW_ROOT/.venv}"

# venv_ready: true if $BGW_VENV holds a working Python.
venv_ready() {
  [[ -x $BGW_VENV/bin/python ]] && "$BGW_VENV/bin/python" -c 'import sys' >/dev/null 2>&1
}

# ensure_venv [REQUIREMENTS_FILE...]: create $BGW_VENV if needed (python3 -m
# venv) and install each requirements file into it. A file is installed again
# only when its content changed since the last install (a sha256 stamp per file
# inside the venv), so a warm run spends a few milliseconds here.
ensure_venv() {
  local req stamp sum
  if ! venv_ready; then
    ensure_debs "Python's venv module (python3 -m venv)" python3-venv
    log "creating the Python virtual environment $BGW_VENV"
    rm -rf "$BGW_VENV"
    python3 -m venv "$BGW_VENV" || die "python3 -m venv $BGW_VENV failed"
  fi
  mkdir -p "$BGW_VENV/.bgw-stamps"
  for req in "$@"; do
    [[ -f $req ]] || die "requirements file $req not found"
    # One stamp per file (path made flat), so the tests' and the benchmarks'
    # requirements do not invalidate each other.
    stamp="$BGW_VENV/.bgw-stamps/$(realpath --relative-to="$BGW_ROOT" "$req" | tr '/' '_').sha256"
    sum=$(sha256sum "$req" | cut -d' ' -f1)
    [[ -f $stamp && $(<"$stamp") == "$sum" ]] && continue
    log "pip install -r $req into $BGW_VENV"
    "$BGW_VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$req" ||
      die "could not install the Python packages of $req into $BGW_VENV (is PyPI reachable?)"
    echo "$sum" >"$stamp"
  done
}

# ---------------------------------------------------------------------------
# PostgreSQL

# Directory holding initdb, pg_ctl, postgres and psql (newest version first).
pg_bindir() {
  local d dirs
  if command -v pg_config >/dev/null 2>&1; then
    d=$(pg_config --bindir 2>/dev/null || true)
    if [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
      echo "$d"
      return 0
    fi
  fi
  mapfile -t dirs < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -rV)
  for d in "${dirs[@]}"; do
    if [[ -x $d/initdb && -x $d/pg_ctl && -x $d/postgres ]]; then
      echo "$d"
      return 0
    fi
  done
  if d=$(command -v initdb 2>/dev/null); then
    dirname "$d"
    return 0
  fi
  return 1
}

# Install Debian's postgresql when its binaries are missing and we are root.
ensure_postgres_installed() {
  ensure_debs "PostgreSQL server binaries" postgresql
}

# Install Debian's redis-server when it is missing and we are root.
ensure_redis_installed() {
  command -v redis-server >/dev/null 2>&1 && return 0
  if ((EUID == 0)) && command -v apt-get >/dev/null 2>&1; then
    log "redis-server missing: apt-get install redis-server"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    command -v redis-server >/dev/null 2>&1 && return 0
  fi
  die "redis-server not found: install the Debian package 'redis-server' (or set BGW_REDIS_URL to a Redis you run, or BGW_LIMITER=local)"
}

# Run a PostgreSQL binary, as the postgres OS user when we are root. From / so a
# private working directory (say /root/...) does not get in its way.
_pg_as() {
  if ((EUID == 0)); then
    (cd / && runuser -u "$BGW_PG_OS_USER" -- "$@")
  else
    "$@"
  fi
}

_pg_ensure_os_user() {
  id -u "$BGW_PG_OS_USER" >/dev/null 2>&1 && return 0
  log "creating system user $BGW_PG_OS_USER"
  useradd --system --no-create-home --home-dir /var/lib/postgresql --shell /usr/sbin/nologin "$BGW_PG_OS_USER"
}

# Echo the real data directory for DATADIR. As root, postgres runs as another user
# that must be able to reach it; if a parent folder is private (a clone under
# /root, say), keep the cluster under /var/lib/postgresql/bgw/ and leave a symlink
# at DATADIR, so the state still lives "in" DATADIR from the caller's view.
_pg_real_datadir() {
  local want=$1 parent real
  if [[ -L $want ]]; then
    readlink -f "$want"
    return 0
  fi
  parent=$(dirname "$want")
  mkdir -p "$parent"
  parent=$(cd "$parent" && pwd -P)
  if ((EUID != 0)) || runuser -u "$BGW_PG_OS_USER" -- test -x "$parent" 2>/dev/null; then
    echo "$parent/$(basename "$want")"
    return 0
  fi
  real="/var/lib/postgresql/bgw/$(printf '%s' "$parent/$(basename "$want")" | md5sum | cut -c1-16)"
  log "$BGW_PG_OS_USER cannot reach $parent; keeping the cluster in $real (symlinked from $want)"
  mkdir -p "$real"
  chown "$BGW_PG_OS_USER:" /var/lib/postgresql/bgw "$real"
  ln -sfn "$real" "$want"
  echo "$real"
}

# Socket directory for a cluster: inside the data dir, unless that path is too
# long for a Unix socket (~107 bytes), then a short one under /tmp.
_pg_socket_dir() {
  local dir=$1
  if ((${#dir} + 20 < 100)); then
    echo "$dir"
  else
    echo "/tmp/bgw-pg-$(printf '%s' "$dir" | md5sum | cut -c1-12)"
  fi
}

# Remove postmaster.pid / socket lock files that belong to no running postmaster
# of this cluster. PostgreSQL only checks that the PID in them is alive, which a
# recycled PID (say, after `kill -9` of the whole stack) can fool.
_pg_clear_stale_locks() {
  local dir=$1 sockdir=$2 port=$3 f pid
  for f in "$dir/postmaster.pid" "$sockdir/.s.PGSQL.$port.lock"; do
    [[ -f $f ]] || continue
    pid=$(head -n 1 "$f" 2>/dev/null || true)
    if [[ -n $pid ]] && pid_alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir"; then
      continue
    fi
    log "removing stale $(basename "$f") (pid ${pid:-?} is not this cluster's postmaster)"
    rm -f "$f"
    [[ $f == *.lock ]] && rm -f "$sockdir/.s.PGSQL.$port"
  done
  return 0
}

# start_postgres DATADIR PORT [LOGFILE]: a cluster in DATADIR (initdb on first
# use, data kept afterwards) listening on 127.0.0.1:PORT only, with role and
# database "batchgateway" (password "batchgateway"). Local socket connections are
# trusted (the socket lives in the data dir, mode 0700); TCP needs the password.
start_postgres() {
  local want=$1 port=$2 logfile=${3:-}
  local bindir dir sockdir running_port
  bindir=$(pg_bindir) || die "PostgreSQL server binaries not found (install the Debian package 'postgresql')"
  if ((EUID == 0)); then _pg_ensure_os_user; fi
  dir=$(_pg_real_datadir "$want")
  sockdir=$(_pg_socket_dir "$dir")
  [[ -n $logfile ]] || logfile="$dir/postgres.log"

  if [[ ! -f $dir/PG_VERSION ]]; then
    if [[ -d $dir && -n $(ls -A "$dir") ]]; then
      die "$dir exists, is not empty and holds no PostgreSQL cluster"
    fi
    mkdir -p "$dir"
    chmod 700 "$dir"
    if ((EUID == 0)); then chown "$BGW_PG_OS_USER:" "$dir"; fi
    log "initdb $dir"
    if ! _pg_as "$bindir/initdb" -D "$dir" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >"$dir.initdb.log" 2>&1; then
      cat "$dir.initdb.log" >&2
      die "initdb failed"
    fi
    rm -f "$dir.initdb.log"
    echo "include_if_exists = 'bgw.conf'" >>"$dir/postgresql.conf"
  fi

  # Settings that may change between runs (port, socket) are rewritten each start.
  {
    echo "# written by scripts/lib.sh at every start"
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$sockdir'"
    echo "max_connections = 200"
    if [[ ${BGW_PG_FAST:-0} == 1 ]]; then
      # Throwaway test clusters: durability buys nothing, speed does.
      echo "fsync = off"
      echo "synchronous_commit = off"
      echo "full_page_writes = off"
    fi
  } >"$dir/bgw.conf"
  mkdir -p "$sockdir" "$(dirname "$logfile")"
  touch "$logfile"
  if ((EUID == 0)); then
    chown "$BGW_PG_OS_USER:" "$dir/bgw.conf" "$logfile"
    chown "$BGW_PG_OS_USER:" "$sockdir"
  fi

  _pg_clear_stale_locks "$dir" "$sockdir" "$port"
  if [[ -f $dir/postmaster.pid ]]; then
    # Still running from a run that was killed: pg_ctl daemonizes the postmaster
    # into its own session, so killing our process group does not reach it.
    running_port=$(sed -n 4p "$dir/postmaster.pid")
    if [[ $running_port == "$port" ]]; then
      log "PostgreSQL already running on $dir (port $port), reusing it"
    else
      log "PostgreSQL on $dir runs on port $running_port, restarting on $port"
      _pg_as "$bindir/pg_ctl" -D "$dir" -m fast -w -t 60 stop >/dev/null
    fi
  fi
  if [[ ! -f $dir/postmaster.pid ]]; then
    require_free_port 127.0.0.1 "$port" "PostgreSQL" || die "cannot start PostgreSQL"
    log "starting PostgreSQL on 127.0.0.1:$port (data $dir)"
    if ! _pg_as "$bindir/pg_ctl" -D "$dir" -l "$logfile" -w -t 120 start >/dev/null; then
      tail_logs "$logfile"
      die "PostgreSQL did not start"
    fi
  fi
  BGW_STARTED+=("pg|$dir")

  local psql=("$bindir/psql" -X -q -v ON_ERROR_STOP=1 -h "$sockdir" -p "$port" -U postgres -d postgres)
  _pg_as "${psql[@]}" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$BGW_PG_ROLE') THEN
        CREATE ROLE $BGW_PG_ROLE LOGIN PASSWORD '$BGW_PG_PASSWORD';
      END IF;
    END \$\$;" || die "could not create role $BGW_PG_ROLE"
  if [[ $(_pg_as "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$BGW_PG_DB'") != 1 ]]; then
    _pg_as "${psql[@]}" -c "CREATE DATABASE $BGW_PG_DB OWNER $BGW_PG_ROLE" || die "could not create database $BGW_PG_DB"
  fi
}

# stop_postgres DATADIR: fast shutdown (rolls back open transactions, no waiting
# for clients), immediate if that does not finish in 30 s.
stop_postgres() {
  local dir bindir
  dir=$(readlink -f "$1")
  [[ -f $dir/postmaster.pid ]] || return 0
  bindir=$(pg_bindir) || return 1
  log "stopping PostgreSQL ($dir)"
  _pg_as "$bindir/pg_ctl" -D "$dir" -m fast -w -t 30 stop >/dev/null 2>&1 ||
    _pg_as "$bindir/pg_ctl" -D "$dir" -m immediate -w -t 30 stop >/dev/null 2>&1 ||
    true
  # The short socket dir used for long data dir paths (see _pg_socket_dir).
  local sockdir
  sockdir=$(_pg_socket_dir "$dir")
  if [[ $sockdir != "$dir" ]]; then rmdir "$sockdir" 2>/dev/null || true; fi
}

# ---------------------------------------------------------------------------
# Temporal dev server, inference simulator, Redis

# start_temporal DBFILE PORT UIPORT LOGFILE: Temporal CLI dev server (SQLite in
# DBFILE, kept across runs) on 127.0.0.1, with our search attributes registered.
start_temporal() {
  local dbfile=$1 port=$2 uiport=$3 logfile=$4
  local bin sa=() a
  bin=$(bgw_tool temporal) || die "Temporal CLI missing"
  mkdir -p "$(dirname "$dbfile")"
  stop_pidfile "$(_pidfile_for "$logfile")" temporal
  require_free_port 127.0.0.1 "$port" "Temporal gRPC" || die "cannot start Temporal"
  require_free_port 127.0.0.1 "$uiport" "Temporal UI" || die "cannot start Temporal"
  for a in "${BGW_SEARCH_ATTRIBUTES[@]}"; do sa+=(--search-attribute "$a"); done
  log "starting Temporal dev server on 127.0.0.1:$port (UI :$uiport, db $dbfile)"
  bgw_spawn temporal "$logfile" 15 "$bin" server start-dev --ip 127.0.0.1 \
    --port "$port" --ui-port "$uiport" --db-filename "$dbfile" --log-level warn "${sa[@]}"
  local pid=$BGW_LAST_PID deadline=$((SECONDS + 90))
  wait_port 127.0.0.1 "$port" 60 "$pid" || {
    tail_logs "$logfile"
    die "Temporal did not start"
  }
  # The port opens before the default namespace is served.
  until "$bin" operator namespace describe default --address "127.0.0.1:$port" >/dev/null 2>&1; do
    if ! pid_alive "$pid" || ((SECONDS >= deadline)); then
      tail_logs "$logfile"
      die "Temporal did not become ready"
    fi
    sleep 0.5
  done
}

# start_sim PORT LOGFILE [EXTRA ARGS...]: llm-d-inference-sim serving
# $BGW_SIM_MODEL with a dummy tokenizer (no model download).
start_sim() {
  local port=$1 logfile=$2
  shift 2
  local bin
  bin=$(bgw_tool llm-d-inference-sim) || die "llm-d-inference-sim missing"
  stop_pidfile "$(_pidfile_for "$logfile")" "simulator :$port"
  require_free_port 127.0.0.1 "$port" "inference simulator" || die "cannot start the simulator"
  log "starting llm-d-inference-sim on :$port ($BGW_SIM_MODEL${1:+; $*})"
  # POD_IP: the simulator reads it for its own address; unset, it looks one up.
  bgw_spawn "simulator :$port" "$logfile" 5 env POD_IP=127.0.0.1 "$bin" \
    --port "$port" --model "$BGW_SIM_MODEL" --force-dummy-tokenizer \
    --max-num-seqs 64 --enable-request-id-headers "$@"
  wait_http "http://127.0.0.1:$port/v1/models" 60 "$BGW_LAST_PID" || {
    tail_logs "$logfile"
    die "the simulator did not start"
  }
}

# start_redis PORT DIR LOGFILE: a throwaway redis-server on 127.0.0.1 (no
# persistence). Returns 1 when redis-server is not installed.
start_redis() {
  local port=$1 dir=$2 logfile=$3 bin
  bin=$(command -v redis-server) || return 1
  mkdir -p "$dir"
  stop_pidfile "$(_pidfile_for "$logfile")" "redis :$port"
  require_free_port 127.0.0.1 "$port" "Redis" || die "cannot start Redis"
  log "starting redis-server on 127.0.0.1:$port"
  bgw_spawn "redis :$port" "$logfile" 5 "$bin" --bind 127.0.0.1 --port "$port" \
    --dir "$dir" --save "" --appendonly no --daemonize no
  wait_port 127.0.0.1 "$port" 30 "$BGW_LAST_PID" || {
    tail_logs "$logfile"
    die "Redis did not start"
  }
}
