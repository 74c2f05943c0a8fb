#!/usr/bin/env bash
# Local throwaway services for tests and local runs of the report worker:
#   * a single-node KRaft Kafka (broker + controller in one JVM)
#   * a PostgreSQL server with user/database "reports"
# No Docker: Kafka runs from jars fetched once with Maven (deploy/kafka/pom.xml)
# and cached in .cache/kafka-libs; PostgreSQL comes from Debian's packages.
#
# Usage: deploy/services.sh up|down|env|status|restart-kafka|restart-postgres
#
#   up                idempotent; starts what is not running, waits until ready,
#                     then prints `export ...` lines on stdout (progress goes to
#                     stderr), so `eval "$(deploy/services.sh up)"` works.
#   down              idempotent; stops what .services/*.pid names and deletes the
#                     throwaway data (.services/kafka, .services/pg). Jars stay.
#   env               prints the export lines only.
#   status            says what runs.
#   restart-kafka     stop + start Kafka, keeping its data (for fault tests).
#   restart-postgres  stop + start PostgreSQL, keeping its data (for fault tests).
#
# Environment:
#   REPORTS_KAFKA_PORT             broker port (default 19092)
#   REPORTS_KAFKA_CONTROLLER_PORT  KRaft controller port (default 19093)
#   REPORTS_PG_PORT                PostgreSQL port (default 15432)
#   REPORTS_DATABASE_URL           if set and answering, `up` uses that database
#                                  and starts no PostgreSQL
#   REPORTS_SERVICES_TIMEOUT       seconds to wait for each service (default 90)
#   KAFKA_HEAP_OPTS                JVM heap flags (default -Xms128m -Xmx512m)
#
# Everything listens on 127.0.0.1 only. The password "reports" is a local
# throwaway (auth is trust on loopback anyway).
set -euo pipefail

# --- paths and settings ------------------------------------------------------

# Repo root = parent of the folder holding this script, whatever the cwd.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVICES="$ROOT/.services"           # runtime state: data, logs, pid files
CACHE="$ROOT/.cache"                 # survives `down`
KAFKA_LIBS="$CACHE/kafka-libs"       # broker jars, fetched once by Maven
KAFKA_POM="$ROOT/deploy/kafka/pom.xml"

HOST=127.0.0.1
KAFKA_PORT="${REPORTS_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${REPORTS_KAFKA_CONTROLLER_PORT:-19093}"
PG_PORT="${REPORTS_PG_PORT:-15432}"
TIMEOUT="${REPORTS_SERVICES_TIMEOUT:-90}"

KAFKA_DIR="$SERVICES/kafka"          # config + data (deleted by `down`)
KAFKA_PID="$SERVICES/kafka.pid"
KAFKA_LOG="$SERVICES/kafka.log"

PG_HOME="$SERVICES/pg"               # owned by the postgres OS user when root
PG_PID="$SERVICES/postgres.pid"
PG_USER=reports
PG_PASSWORD=reports                  # local throwaway
PG_DB=reports
PG_SUPERUSER=postgres                # database superuser created by initdb

LOCAL_DATABASE_URL="postgresql://$PG_USER:$PG_PASSWORD@$HOST:$PG_PORT/$PG_DB"

IS_ROOT=false
[[ "$(id -u)" == 0 ]] && IS_ROOT=true

# --- small helpers -------------------------------------------------------------

log() { printf '[services] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Print the end of a log file to stderr (used when a start fails).
log_tail() {
  local file="$1"
  if [[ -f "$file" ]]; then
    log "--- last lines of $file ---"
    tail -n 60 "$file" >&2 || true
    log "--- end of $file ---"
  else
    log "(no log file at $file)"
  fi
}

# Install Debian packages (only called when something is missing).
apt_install() {
  $IS_ROOT || die "need the Debian package(s) $*, but not root: install them first"
  log "installing Debian package(s): $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update >&2
  apt-get install -y --no-install-recommends "$@" >&2
}

# True when the pid in file $1 is alive and its command line contains $2
# (guards against a recycled pid after a reboot or a crash).
pid_running() {
  local file="$1" pattern="$2" pid
  [[ -s "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$pattern"
}

# Wait until pid $1 exits, at most $2 seconds. True if it exited.
wait_exit() {
  local pid="$1" secs="$2" i
  for ((i = 0; i < secs * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  ! kill -0 "$pid" 2>/dev/null
}

# A python3 for the readiness probe (stdlib only).
python_bin() {
  if command -v python3 >/dev/null; then echo python3
  elif [[ -x "$ROOT/.venv/bin/python" ]]; then echo "$ROOT/.venv/bin/python"
  else die "python3 is needed for the Kafka readiness check"; fi
}

# ============================================================================
# Kafka
# ============================================================================

kafka_running() { pid_running "$KAFKA_PID" "kafka.Kafka"; }

# Java 17+ (Kafka 4.x needs it); installs Debian's default JRE if missing.
java_bin() {
  local java="java"
  [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]] && java="$JAVA_HOME/bin/java"
  if ! command -v "$java" >/dev/null; then
    apt_install default-jre-headless
    java=java
  fi
  local major
  major="$("$java" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n1)"
  [[ -n "$major" && "$major" -ge 17 ]] || die "Kafka 4.x needs Java 17+, found: $("$java" -version 2>&1 | head -n1)"
  echo "$java"
}

# Fetch the broker jars into .cache/kafka-libs once. The pom's checksum is kept
# next to them, so editing the pom (e.g. a version bump) fetches again; an
# unchanged pom means no Maven run and no network.
kafka_fetch_jars() {
  local sum
  sum="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
  if [[ -f "$KAFKA_LIBS/.pom.sha256" && "$(cat "$KAFKA_LIBS/.pom.sha256")" == "$sum" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || apt_install maven
  log "fetching Kafka jars with Maven into $KAFKA_LIBS (first run only)"
  local tmp="$KAFKA_LIBS.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$CACHE"
  # Maven's own output goes to stderr so stdout stays clean for `eval`; the sed
  # drops the stray colour codes Debian's Maven 3.8 prints even with -B -q.
  if ! mvn -B -q -f "$KAFKA_POM" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 \
      | sed -e $'s/\e\\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "Maven could not fetch the Kafka jars"
  fi
  echo "$sum" >"$tmp/.pom.sha256"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
}

# server.properties + log4j2 config, rewritten on every start (ports may change).
kafka_write_config() {
  mkdir -p "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Generated by deploy/services.sh: single-node KRaft, loopback only, throwaway.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  # Everything to stdout, which is appended to .services/kafka.log.
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
EOF
}

# True when something answers a Kafka Metadata request (v4) on $1:$2 and lists
# at least one live broker: the broker is registered and serving clients.
kafka_probe() {
  "$(python_bin)" - "$1" "$2" <<'PY' 2>/dev/null
import socket, struct, sys
host, port = sys.argv[1], int(sys.argv[2])

def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf

with socket.create_connection((host, port), timeout=2) as s:
    s.settimeout(2)
    client = b"services.sh"
    # header: api_key=3 (Metadata), api_version=4, correlation_id=1, client_id
    header = struct.pack(">hhih", 3, 4, 1, len(client)) + client
    body = struct.pack(">i", 0) + b"\x00"   # no topics, no auto-create
    msg = header + body
    s.sendall(struct.pack(">i", len(msg)) + msg)
    size = struct.unpack(">i", recv_exact(s, 4))[0]
    resp = recv_exact(s, size)
    # response: correlation_id, throttle_time_ms, brokers array length
    corr, _throttle, nbrokers = struct.unpack(">iii", resp[:12])
    sys.exit(0 if corr == 1 and nbrokers >= 1 else 1)
PY
}

# Format (first start only) and launch the broker, then wait until it serves.
kafka_start() {
  if kafka_running; then
    log "kafka already running (pid $(cat "$KAFKA_PID"))"
  else
    rm -f "$KAFKA_PID"
    if kafka_probe "$HOST" "$KAFKA_PORT"; then
      die "something else already serves Kafka on $HOST:$KAFKA_PORT (not started by this script); stop it or set REPORTS_KAFKA_PORT"
    fi
    local java
    java="$(java_bin)"
    kafka_fetch_jars
    mkdir -p "$SERVICES"
    kafka_write_config

    local heap jvm_opts
    read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
    jvm_opts=(
      "${heap[@]}"
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError
      -Djava.awt.headless=true
      -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties"
    )

    # First start: format the storage with a random cluster id (Kafka's Uuid
    # format: 16 random bytes, URL-safe base64 without padding, not starting '-').
    if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
      local cluster_id
      cluster_id="$("$(python_bin)" -c 'import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
    if not s.startswith("-"):
        print(s); break')"
      log "formatting Kafka storage (cluster id $cluster_id)"
      : >"$KAFKA_LOG"
      if ! "$java" "${jvm_opts[@]}" -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool \
          format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >>"$KAFKA_LOG" 2>&1; then
        log_tail "$KAFKA_LOG"
        die "Kafka storage format failed"
      fi
    fi

    log "starting Kafka on $HOST:$KAFKA_PORT (controller $HOST:$KAFKA_CONTROLLER_PORT)"
    # setsid: own session, so a Ctrl-C in the calling terminal/make does not
    # reach the broker. In a non-interactive script the child is no process
    # group leader, so setsid execs in place and $! is the java pid.
    setsid "$java" "${jvm_opts[@]}" -cp "$KAFKA_LIBS/*" \
      kafka.Kafka "$KAFKA_DIR/server.properties" \
      </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
    echo $! >"$KAFKA_PID"
  fi

  # Wait (bounded) until the broker answers a metadata request.
  local deadline=$((SECONDS + TIMEOUT))
  until kafka_probe "$HOST" "$KAFKA_PORT"; do
    if ! kafka_running; then
      log_tail "$KAFKA_LOG"
      rm -f "$KAFKA_PID"
      die "Kafka exited during startup"
    fi
    if ((SECONDS >= deadline)); then
      log_tail "$KAFKA_LOG"
      die "Kafka did not answer on $HOST:$KAFKA_PORT within ${TIMEOUT}s (still running, pid $(cat "$KAFKA_PID"))"
    fi
    sleep 0.3
  done
  log "kafka ready on $HOST:$KAFKA_PORT (pid $(cat "$KAFKA_PID"))"
}

# SIGTERM (controlled shutdown), SIGKILL after 20 s. Only the pid we recorded.
kafka_stop() {
  if kafka_running; then
    local pid
    pid="$(cat "$KAFKA_PID")"
    log "stopping Kafka (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_exit "$pid" 20; then
      log "Kafka still running after 20s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_exit "$pid" 10 || die "could not stop Kafka pid $pid"
    fi
  fi
  rm -f "$KAFKA_PID"
}

# ============================================================================
# PostgreSQL
# ============================================================================

PG_BIN=""

# Newest /usr/lib/postgresql/<version>/bin holding pg_ctl (empty if none).
pg_newest_bin() {
  local ctl
  for ctl in /usr/lib/postgresql/*/bin/pg_ctl; do
    [[ -x "$ctl" ]] && dirname "$ctl"
  done | sort -V | tail -n1
}

# Sets PG_BIN; installs Debian's postgresql package if no server is there.
pg_find_bin() {
  [[ -n "$PG_BIN" ]] && return 0
  PG_BIN="$(pg_newest_bin)"
  if [[ -z "$PG_BIN" ]]; then
    apt_install postgresql
    PG_BIN="$(pg_newest_bin)"
    [[ -n "$PG_BIN" ]] || die "postgresql installed but no pg_ctl under /usr/lib/postgresql/*/bin"
  fi
}

# The server refuses to run as root: as root, run server-side commands as the
# postgres OS user (created if missing); otherwise as the current user.
pg_as_owner() {
  if $IS_ROOT; then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Where the data, socket and log live. Normally .services/pg; when running as
# root and the postgres user cannot reach that path (e.g. a repo under /root),
# the real folder is under /tmp and .services/pg is a symlink to it. Also used
# when the socket path would be too long for a unix socket (107 bytes).
pg_prepare_home() {
  mkdir -p "$SERVICES"
  if $IS_ROOT && ! id postgres >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
  fi
  if [[ -e "$PG_HOME" ]]; then
    return 0   # already set up by an earlier start (kept until `down`)
  fi
  mkdir -p "$PG_HOME"
  $IS_ROOT && chown postgres:postgres "$PG_HOME"
  local sock_path="$PG_HOME/sock/.s.PGSQL.$PG_PORT"
  if ! pg_as_owner test -w "$PG_HOME" 2>/dev/null || ((${#sock_path} > 100)); then
    rmdir "$PG_HOME"
    local real
    real="$(mktemp -d /tmp/reports-pg.XXXXXX)"
    $IS_ROOT && chown postgres:postgres "$real"
    chmod 700 "$real"
    ln -s "$real" "$PG_HOME"
    log "postgres files live in $real (linked from $PG_HOME)"
  fi
}

# Resolved paths (the postgres user may not be able to follow .services/pg).
pg_real() { readlink -f "$PG_HOME"; }
pg_data() { echo "$(pg_real)/data"; }
pg_sock() { echo "$(pg_real)/sock"; }
pg_log() { echo "$(pg_real)/postgres.log"; }

pg_running() { pid_running "$PG_PID" "postgres"; }

# psql as the database superuser through our unix socket.
pg_psql() {
  "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$(pg_sock)" -p "$PG_PORT" \
    -U "$PG_SUPERUSER" -d postgres "$@"
}

# initdb on first start; settings that follow the env are rewritten each start.
pg_init() {
  local data
  data="$(pg_data)"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initdb into $data"
    pg_as_owner mkdir -p "$(pg_sock)"
    if ! pg_as_owner "$PG_BIN/initdb" -D "$data" -U "$PG_SUPERUSER" \
        --auth=trust -E UTF8 --locale=C >"$SERVICES/initdb.log" 2>&1; then
      log_tail "$SERVICES/initdb.log"
      die "initdb failed"
    fi
    echo "include_if_exists = 'reports.conf'" | pg_as_owner tee -a "$data/postgresql.conf" >/dev/null
  fi
  # Loopback only, our socket dir, throwaway durability settings (a crashed
  # server still keeps its data: only an OS crash could lose some).
  pg_as_owner tee "$data/reports.conf" >/dev/null <<EOF
# Generated by deploy/services.sh on each start.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$(pg_sock)'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
  # trust for local socket and loopback TCP only; nothing else may connect.
  pg_as_owner tee "$data/pg_hba.conf" >/dev/null <<EOF
# Generated by deploy/services.sh: throwaway local server.
local all all trust
host  all all 127.0.0.1/32 trust
host  all all ::1/128 trust
EOF
}

# User "reports" (CREATEDB: tests create a database per test from the
# "reports" template; pg_signal_backend: DROP DATABASE ... WITH (FORCE) must
# end an autovacuum worker that is in the database) and database "reports"
# owned by it. Idempotent.
pg_create_role_and_db() {
  if [[ "$(pg_psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]]; then
    pg_psql -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
  fi
  pg_psql -qc "GRANT pg_signal_backend TO $PG_USER"
  if [[ "$(pg_psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]]; then
    pg_psql -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
  fi
}

# An externally provided REPORTS_DATABASE_URL that answers (and is not ours).
pg_external_url() {
  [[ -n "${REPORTS_DATABASE_URL:-}" ]] || return 1
  pg_running && return 1
  "$PG_BIN/pg_isready" -q -t 3 -d "$REPORTS_DATABASE_URL" >/dev/null 2>&1
}

pg_start() {
  pg_find_bin
  if pg_external_url; then
    log "REPORTS_DATABASE_URL answers: using it, starting no PostgreSQL"
    return 0
  fi
  if pg_running; then
    log "postgres already running (pid $(cat "$PG_PID"))"
  else
    rm -f "$PG_PID"
    if "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" >/dev/null 2>&1; then
      die "something else already serves PostgreSQL on $HOST:$PG_PORT (not started by this script); stop it or set REPORTS_PG_PORT"
    fi
    pg_prepare_home
    pg_init
    log "starting PostgreSQL on $HOST:$PG_PORT"
    # -w waits for readiness, bounded by -t. pg_ctl detaches the server into
    # its own session, so it survives the caller's Ctrl-C.
    if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$(pg_data)" -l "$(pg_log)" \
        -w -t "$TIMEOUT" start >&2 </dev/null 9>&-; then
      log_tail "$(pg_log)"
      die "PostgreSQL did not start"
    fi
    head -n1 "$(pg_data)/postmaster.pid" >"$PG_PID"
  fi

  # Bounded wait until it accepts connections (normally immediate after -w).
  local deadline=$((SECONDS + TIMEOUT))
  until "$PG_BIN/pg_isready" -q -h "$(pg_sock)" -p "$PG_PORT" >/dev/null 2>&1; do
    if ! pg_running || ((SECONDS >= deadline)); then
      log_tail "$(pg_log)"
      die "PostgreSQL is not ready on $HOST:$PG_PORT"
    fi
    sleep 0.3
  done
  pg_create_role_and_db
  log "postgres ready on $HOST:$PG_PORT (pid $(cat "$PG_PID"))"
}

# pg_ctl stop -m fast; SIGKILL the recorded pid only if that fails.
pg_stop() {
  if pg_running; then
    local pid
    pid="$(cat "$PG_PID")"
    log "stopping PostgreSQL (pid $pid)"
    pg_find_bin
    if ! pg_as_owner "$PG_BIN/pg_ctl" -D "$(pg_data)" -m fast -w -t 30 stop >&2; then
      log "pg_ctl stop failed, sending SIGKILL to $pid"
      kill -KILL "$pid" 2>/dev/null || true
      wait_exit "$pid" 10 || die "could not stop PostgreSQL pid $pid"
    fi
  fi
  rm -f "$PG_PID"
}

# Remove the data folder (and its /tmp target when .services/pg is a link).
pg_remove_data() {
  if [[ -L "$PG_HOME" ]]; then
    local real
    real="$(readlink -f "$PG_HOME")"
    [[ "$real" == /tmp/reports-pg.* ]] && rm -rf "$real"
    rm -f "$PG_HOME"
  else
    rm -rf "$PG_HOME"
  fi
  rm -f "$SERVICES/initdb.log"
}

# ============================================================================
# Subcommands
# ============================================================================

print_env() {
  local db_url="$LOCAL_DATABASE_URL"
  if [[ -n "${REPORTS_DATABASE_URL:-}" ]] && ! pg_running; then
    db_url="$REPORTS_DATABASE_URL"
  fi
  printf 'export REPORTS_KAFKA_BOOTSTRAP_SERVERS=%q\n' "$HOST:$KAFKA_PORT"
  printf 'export REPORTS_DATABASE_URL=%q\n' "$db_url"
}

cmd_up() {
  local t0=$SECONDS
  kafka_start
  pg_start
  log "services up in $((SECONDS - t0))s"
  print_env
}

cmd_down() {
  kafka_stop
  pg_stop
  rm -rf "$KAFKA_DIR"      # throwaway broker data; jars in .cache stay
  pg_remove_data
  log "services down"
}

# Exits 0 when both services are up (or the database is an external one).
cmd_status() {
  local rc=0
  if kafka_running; then
    echo "kafka:    running, pid $(cat "$KAFKA_PID"), $HOST:$KAFKA_PORT (log $KAFKA_LOG)"
  else
    echo "kafka:    stopped"
    rc=1
  fi
  if pg_running; then
    echo "postgres: running, pid $(cat "$PG_PID"), $HOST:$PG_PORT (log $(pg_log))"
  elif [[ -n "${REPORTS_DATABASE_URL:-}" && "$REPORTS_DATABASE_URL" != "$LOCAL_DATABASE_URL" ]]; then
    echo "postgres: not started here (REPORTS_DATABASE_URL is set)"
  else
    echo "postgres: stopped"
    rc=1
  fi
  return $rc
}

# Serialise concurrent invocations (e.g. parallel make targets). The long-lived
# servers are started with `9>&-` so they do not inherit (and hold) this lock.
mkdir -p "$SERVICES"
exec 9>"$SERVICES/.lock"
flock 9

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  env) print_env ;;
  status) cmd_status ;;
  restart-kafka) kafka_stop; kafka_start ;;
  restart-postgres)
    pg_find_bin
    pg_external_url && die "REPORTS_DATABASE_URL points at an external server; not restarting it"
    pg_stop; pg_start ;;
  *)
    echo "usage: $0 up|down|env|status|restart-kafka|restart-postgres" >&2
    exit 2 ;;
esac
