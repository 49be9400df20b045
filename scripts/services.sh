#!/usr/bin/env bash
# Starts, stops and reports the PostgreSQL and Redis servers this project needs on a dev box or in CI.
#
#   bash scripts/services.sh start|stop|status
#
# Ports and credentials come from DATABASE_URL and REDIS_URL (environment first, then .env in the project
# root, then the defaults in src/config/configuration.ts). For a local host (127.0.0.1, localhost, ::1):
# whatever already answers on the port is used as is; otherwise our own server is started with its data
# under ${DATA_DIR:-<project>/.data}/{pg,redis}-<port>. For any other host nothing is started, the server
# is only checked. `stop` stops only servers whose pid files live in our data folders.
#
# Missing binaries are installed from Debian's packages (postgresql, redis-server); this needs root.
set -euo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_DATABASE_URL='postgres://legalpro:legalpro@127.0.0.1:55432/legalpro'
DEFAULT_REDIS_URL='redis://127.0.0.1:56379'
PG_OS_USER=postgres
WAIT_SECONDS=30
# Tests run side by side, each with apps, workers and pools of their own: PostgreSQL's default of 100 is too few.
PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-300}

log() { printf '%s\n' "$*"; }
die() { printf 'services.sh: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------- settings

# shellcheck source=lib/settings.sh
source "$PROJECT_DIR/scripts/lib/settings.sh"


# Splits a URL into shell variables PREFIX_{SCHEME,HOST,PORT,USER,PASSWORD,PATH}, percent-decoded, IPv6
# brackets removed. Node (a hard dependency of this project) parses: it gets encoded passwords and IPv6 right.
parse_url() {
  local prefix=$1 name=$2 url=$3 default_port=$4 parts=()
  mapfile -d '' parts < <(node -e '
    const [url, defaultPort] = process.argv.slice(1);
    let u;
    try { u = new URL(url); } catch { process.exit(1); }
    const d = decodeURIComponent;
    const values = [u.protocol.replace(/:$/, ""), u.hostname.replace(/^\[|\]$/g, "") || "127.0.0.1",
      u.port || defaultPort, d(u.username), d(u.password), d(u.pathname.replace(/^\//, ""))];
    process.stdout.write(values.join("\0") + "\0");
  ' "$url" "$default_port" 2>/dev/null || true)
  [[ ${#parts[@]} -eq 6 ]] || die "$name is not a valid URL: $url"
  printf -v "${prefix}_SCHEME" '%s' "${parts[0]}"
  printf -v "${prefix}_HOST" '%s' "${parts[1]}"
  printf -v "${prefix}_PORT" '%s' "${parts[2]}"
  printf -v "${prefix}_USER" '%s' "${parts[3]}"
  printf -v "${prefix}_PASSWORD" '%s' "${parts[4]}"
  printf -v "${prefix}_PATH" '%s' "${parts[5]}"
}

is_local_host() { [[ $1 == 127.0.0.1 || $1 == localhost || $1 == ::1 ]]; }

# The address our own servers listen on for a given URL host.
listen_address() { if [[ $1 == ::1 ]]; then printf '::1'; else printf '127.0.0.1'; fi; }

# True when something accepts TCP connections on host:port (bash's /dev/tcp, so no extra tools needed).
port_open() {
  local host=$1 port=$2
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

load_settings() {
  DATABASE_URL=$(setting DATABASE_URL "$DEFAULT_DATABASE_URL")
  REDIS_URL=$(setting REDIS_URL "$DEFAULT_REDIS_URL")
  parse_url PG DATABASE_URL "$DATABASE_URL" 5432
  parse_url REDIS REDIS_URL "$REDIS_URL" 6379
  [[ $PG_SCHEME == postgres || $PG_SCHEME == postgresql ]] || die "DATABASE_URL must start with postgres:// (got $PG_SCHEME://)"
  [[ $REDIS_SCHEME == redis || $REDIS_SCHEME == rediss ]] || die "REDIS_URL must start with redis:// (got $REDIS_SCHEME://)"
  [[ -n $PG_USER && -n $PG_PATH ]] || die "DATABASE_URL must name a user and a database (got $DATABASE_URL)"
  [[ $PG_PORT =~ ^[0-9]+$ && $REDIS_PORT =~ ^[0-9]+$ ]] || die 'ports in DATABASE_URL and REDIS_URL must be numbers'

  DATA_ROOT=${DATA_DIR:-$PROJECT_DIR/.data}
  [[ $DATA_ROOT == /* ]] || DATA_ROOT="$PROJECT_DIR/$DATA_ROOT"
  REDIS_DIR="$DATA_ROOT/redis-$REDIS_PORT"
  PG_DIR="$DATA_ROOT/pg-$PG_PORT"
  DATA_ID=$(printf '%s' "$DATA_ROOT" | cksum | cut -d' ' -f1)
  PG_FALLBACK_DIR="/var/tmp/legalpro-$DATA_ID/pg-$PG_PORT"
  # The fallback is chosen by pg_pick_dir when the postgres OS user cannot reach DATA_ROOT.
  if [[ ! -d $PG_DIR/data && -d $PG_FALLBACK_DIR/data ]]; then use_pg_dir "$PG_FALLBACK_DIR"; else use_pg_dir "$PG_DIR"; fi
}

use_pg_dir() {
  PG_DIR=$1
  PG_DATA="$PG_DIR/data"
  PG_LOG="$PG_DIR/postgres.log"
  PG_SOCKET_DIR="$PG_DIR/run"
  # A Unix socket path may hold at most 107 bytes; deep checkouts get a short folder under /tmp instead.
  if (( ${#PG_SOCKET_DIR} + ${#PG_PORT} + 12 > 100 )); then PG_SOCKET_DIR="/tmp/legalpro-$DATA_ID-pg-$PG_PORT"; fi
}

# ------------------------------------------------------------------------------------------- installing

APT_UPDATED=0
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "$* is missing and only root can install it: apt-get install -y $*"
  command -v apt-get >/dev/null || die "$* is missing and this is not a Debian/Ubuntu machine: install it by hand"
  log "services.sh: installing $* from Debian's packages..."
  export DEBIAN_FRONTEND=noninteractive
  if [[ $APT_UPDATED -eq 0 ]]; then
    apt-get update -qq >/dev/null || die 'apt-get update failed'
    APT_UPDATED=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

pg_bin_dir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  [[ -n $dir && -x $dir/initdb && -x $dir/psql ]] && printf '%s' "$dir"
}

ensure_pg_binaries() {
  PG_BIN=$(pg_bin_dir || true)
  if [[ -z $PG_BIN ]]; then
    apt_install postgresql
    PG_BIN=$(pg_bin_dir || true)
    [[ -n $PG_BIN ]] || die 'postgresql was installed but no /usr/lib/postgresql/<version>/bin/initdb was found'
  fi
  if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
    useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash "$PG_OS_USER" \
      || die "cannot create the $PG_OS_USER OS user"
  fi
}

ensure_redis_binary() {
  command -v redis-server >/dev/null || apt_install redis-server
  command -v redis-server >/dev/null || die 'redis-server is still missing after apt-get install redis-server'
}

# Runs a command as the postgres OS user, from / (our cwd may be closed to it).
as_pg() {
  if [[ $(id -un) == "$PG_OS_USER" ]]; then "$@"
  elif [[ $(id -u) -eq 0 ]]; then (cd / && runuser -u "$PG_OS_USER" -- "$@")
  else die "PostgreSQL must run as the $PG_OS_USER OS user: run this script as root or as $PG_OS_USER"
  fi
}

# ------------------------------------------------------------------------------------------- PostgreSQL

pg_pid() {
  local pid
  [[ -f $PG_DATA/postmaster.pid ]] || return 1
  pid=$(head -n1 "$PG_DATA/postmaster.pid" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s' "$pid"
}

# PostgreSQL runs as the postgres OS user, which must reach its data folder. The project tree normally allows
# that (we only add o+x to folders we create); when a parent outside the project does not (say a clone under
# /root), the cluster goes to a per-project folder under /var/tmp instead.
pg_pick_dir() {
  local reach=(test -x "$DATA_ROOT")
  [[ $(id -u) -eq 0 ]] && reach=(runuser -u "$PG_OS_USER" -- test -x "$DATA_ROOT")
  mkdir -p "$DATA_ROOT"
  "${reach[@]}" 2>/dev/null || chmod o+x "$DATA_ROOT"
  if ! "${reach[@]}" 2>/dev/null; then
    log "postgres: the $PG_OS_USER OS user cannot reach $DATA_ROOT (a parent folder is closed); using $PG_FALLBACK_DIR"
    use_pg_dir "$PG_FALLBACK_DIR"
  fi
  mkdir -p "$PG_DIR"
  chmod 755 "$PG_DIR"
  [[ $(id -u) -ne 0 ]] || chown "$PG_OS_USER:" "$PG_DIR"
}

pg_init() {
  [[ -f $PG_DATA/PG_VERSION ]] && return 0
  log "postgres: creating a cluster in $PG_DATA"
  as_pg mkdir -p -m 700 "$PG_DATA"
  # Superuser access only through the Unix socket in our data folder, as the postgres OS user (peer);
  # TCP always needs a password (scram). No superuser password exists at all.
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --no-locale \
    --auth-local=peer --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1 \
    || { tail -n 20 "$PG_DIR/initdb.log" >&2; die "initdb failed (log: $PG_DIR/initdb.log)"; }
}

pg_start_own() {
  local listen
  listen=$(listen_address "$PG_HOST")
  [[ -d $PG_SOCKET_DIR ]] || { mkdir -p "$PG_SOCKET_DIR"; chmod 755 "$PG_SOCKET_DIR"; [[ $(id -u) -ne 0 ]] || chown "$PG_OS_USER:" "$PG_SOCKET_DIR"; }
  log "postgres: starting on $listen:$PG_PORT (data $PG_DATA)"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t "$WAIT_SECONDS" start \
    -o "-p $PG_PORT -k '$PG_SOCKET_DIR' -c listen_addresses=$listen -c max_connections=$PG_MAX_CONNECTIONS" >/dev/null \
    || { tail -n 20 "$PG_LOG" >&2 || true; die "PostgreSQL did not start on port $PG_PORT (log: $PG_LOG)"; }
}

# Creates or updates the app's role (LOGIN, CREATEDB for the test databases, the URL's password) and database.
pg_ensure_role_and_db() {
  [[ -n $PG_PASSWORD ]] || die "DATABASE_URL has no password: our server only accepts password logins over TCP"
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U postgres -d postgres \
    -v role="$PG_USER" -v password="$PG_PASSWORD" -v db="$PG_PATH" >/dev/null <<'SQL' \
    || die "cannot create the role or database named in DATABASE_URL"
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')
\gexec
SELECT format('ALTER ROLE %I LOGIN CREATEDB PASSWORD %L', :'role', :'password')
\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')
\gexec
SQL
}

# Logs in exactly as the app will (TCP, the URL's credentials) and says whether that works.
pg_check_login() {
  local out
  out=$(PGPASSWORD="$PG_PASSWORD" PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -w -At -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_PATH" -c 'select 1' 2>&1) && return 0
  printf '%s\n' "$out" >&2
  return 1
}

pg_start() {
  if ! is_local_host "$PG_HOST"; then
    port_open "$PG_HOST" "$PG_PORT" || die "PostgreSQL at $PG_HOST:$PG_PORT (DATABASE_URL) does not answer; it is not local, so it is not started here"
    log "postgres: remote $PG_HOST:$PG_PORT answers (not managed here)"
    return 0
  fi
  ensure_pg_binaries
  if port_open "$PG_HOST" "$PG_PORT"; then
    if pg_pid >/dev/null; then
      pg_ensure_role_and_db
      log "postgres: already running (ours, pid $(pg_pid)) on $PG_HOST:$PG_PORT"
    else
      pg_check_login || die "something answers on $PG_HOST:$PG_PORT but it is not our PostgreSQL and logging in with DATABASE_URL failed; stop it or pick another port"
      log "postgres: $PG_HOST:$PG_PORT already answers and accepts DATABASE_URL (not started by this script)"
    fi
    return 0
  fi
  pg_pick_dir
  pg_init
  if [[ -f $PG_DATA/postmaster.pid ]] && ! pg_pid >/dev/null; then
    log "postgres: removing a stale postmaster.pid"
    rm -f "$PG_DATA/postmaster.pid"
  fi
  pg_start_own
  pg_ensure_role_and_db
  pg_check_login || die "PostgreSQL started but logging in with DATABASE_URL failed (log: $PG_LOG)"
  log "postgres: running (ours, pid $(pg_pid)) on $PG_HOST:$PG_PORT, database $PG_PATH, log $PG_LOG"
}

pg_stop() {
  local pid
  if ! pid=$(pg_pid); then
    log "postgres: not running from $PG_DATA (nothing to stop)"
    return 0
  fi
  PG_BIN=$(pg_bin_dir || true)
  if [[ -n $PG_BIN ]]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t "$WAIT_SECONDS" stop >/dev/null \
      || die "pg_ctl stop failed for $PG_DATA (pid $pid)"
  else
    kill -INT "$pid"
    wait_gone "$pid" || die "PostgreSQL (pid $pid) did not stop"
  fi
  log "postgres: stopped (pid $pid, port $PG_PORT)"
}

pg_status() {
  local pid
  if ! is_local_host "$PG_HOST"; then
    if port_open "$PG_HOST" "$PG_PORT"; then log "postgres: remote $PG_HOST:$PG_PORT answers (not managed here)"
    else log "postgres: remote $PG_HOST:$PG_PORT does not answer"; return 1; fi
  elif pid=$(pg_pid); then
    log "postgres: running (ours, pid $pid) on $PG_HOST:$PG_PORT, data $PG_DATA"
  elif port_open "$PG_HOST" "$PG_PORT"; then
    log "postgres: $PG_HOST:$PG_PORT answers (not started by this script)"
  else
    log "postgres: not running on $PG_HOST:$PG_PORT"; return 1
  fi
}

# ------------------------------------------------------------------------------------------------ Redis

redis_pid() {
  local pid
  [[ -f $REDIS_DIR/redis.pid ]] || return 1
  pid=$(head -n1 "$REDIS_DIR/redis.pid" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null \
    && printf '%s' "$pid"
}

# Sends PING (after AUTH when the URL has a password) over bash's /dev/tcp: no redis-cli needed.
redis_ping() {
  local host=$1 port=$2 reply
  [[ $REDIS_SCHEME == rediss ]] && { port_open "$host" "$port"; return; }
  # $0..$3 = host, port, user, password; RESP lengths are byte counts, hence LC_ALL=C.
  reply=$(LC_ALL=C timeout 3 bash -c '
    exec 3<>"/dev/tcp/$0/$1" || exit 1
    if [[ -n $3 && -n $2 ]]; then printf "*3\r\n\$4\r\nAUTH\r\n\$%d\r\n%s\r\n\$%d\r\n%s\r\n" ${#2} "$2" ${#3} "$3" >&3; read -r line <&3
    elif [[ -n $3 ]]; then printf "*2\r\n\$4\r\nAUTH\r\n\$%d\r\n%s\r\n" ${#3} "$3" >&3; read -r line <&3; fi
    printf "*1\r\n\$4\r\nPING\r\n" >&3
    read -r line <&3
    printf "%s" "$line"
  ' "$host" "$port" "$REDIS_USER" "$REDIS_PASSWORD" 2>/dev/null) || return 1
  [[ $reply == +PONG* ]]
}

redis_start() {
  local listen args
  if ! is_local_host "$REDIS_HOST"; then
    redis_ping "$REDIS_HOST" "$REDIS_PORT" || die "Redis at $REDIS_HOST:$REDIS_PORT (REDIS_URL) does not answer PING; it is not local, so it is not started here"
    log "redis: remote $REDIS_HOST:$REDIS_PORT answers (not managed here)"
    return 0
  fi
  if port_open "$REDIS_HOST" "$REDIS_PORT"; then
    redis_ping "$REDIS_HOST" "$REDIS_PORT" \
      || die "something answers on $REDIS_HOST:$REDIS_PORT but does not answer Redis PING with REDIS_URL's credentials; stop it or pick another port"
    if redis_pid >/dev/null; then log "redis: already running (ours, pid $(redis_pid)) on $REDIS_HOST:$REDIS_PORT"
    else log "redis: $REDIS_HOST:$REDIS_PORT already answers PING (not started by this script)"; fi
    return 0
  fi
  [[ $REDIS_SCHEME == redis ]] || die 'REDIS_URL uses rediss:// (TLS); a local TLS Redis is not started by this script'
  ensure_redis_binary
  mkdir -p "$REDIS_DIR"
  chmod 700 "$REDIS_DIR"
  rm -f "$REDIS_DIR/redis.pid"
  listen=$(listen_address "$REDIS_HOST")
  # BullMQ needs noeviction (an evicted job key corrupts its queues) and append-only persistence so queued
  # jobs survive a restart.
  args=(--port "$REDIS_PORT" --bind "$listen" --protected-mode yes --dir "$REDIS_DIR"
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction
    --daemonize yes --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log")
  if [[ -n $REDIS_PASSWORD && -z $REDIS_USER ]]; then args+=(--requirepass "$REDIS_PASSWORD"); fi
  if [[ -n $REDIS_USER && $REDIS_USER != default ]]; then
    die "REDIS_URL names the ACL user '$REDIS_USER'; a local Redis with ACL users is not set up by this script"
  fi
  if [[ $REDIS_USER == default && -n $REDIS_PASSWORD ]]; then args+=(--requirepass "$REDIS_PASSWORD"); fi
  log "redis: starting on $listen:$REDIS_PORT (data $REDIS_DIR)"
  redis-server "${args[@]}" || { tail -n 20 "$REDIS_DIR/redis.log" >&2 || true; die "redis-server failed to start (log: $REDIS_DIR/redis.log)"; }
  local i
  for ((i = 0; i < WAIT_SECONDS * 5; i++)); do
    redis_ping "$REDIS_HOST" "$REDIS_PORT" && break
    sleep 0.2
  done
  redis_ping "$REDIS_HOST" "$REDIS_PORT" \
    || { tail -n 20 "$REDIS_DIR/redis.log" >&2 || true; die "Redis did not answer on port $REDIS_PORT within ${WAIT_SECONDS}s (log: $REDIS_DIR/redis.log)"; }
  log "redis: running (ours, pid $(redis_pid)) on $REDIS_HOST:$REDIS_PORT, log $REDIS_DIR/redis.log"
}

wait_gone() {
  local pid=$1 i
  for ((i = 0; i < WAIT_SECONDS * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

redis_stop() {
  local pid
  if ! pid=$(redis_pid); then
    log "redis: not running from $REDIS_DIR (nothing to stop)"
    return 0
  fi
  kill -TERM "$pid" # redis-server saves and exits on SIGTERM
  wait_gone "$pid" || die "Redis (pid $pid) did not stop within ${WAIT_SECONDS}s"
  rm -f "$REDIS_DIR/redis.pid"
  log "redis: stopped (pid $pid, port $REDIS_PORT)"
}

redis_status() {
  local pid
  if ! is_local_host "$REDIS_HOST"; then
    if redis_ping "$REDIS_HOST" "$REDIS_PORT"; then log "redis: remote $REDIS_HOST:$REDIS_PORT answers (not managed here)"
    else log "redis: remote $REDIS_HOST:$REDIS_PORT does not answer"; return 1; fi
  elif pid=$(redis_pid); then
    log "redis: running (ours, pid $pid) on $REDIS_HOST:$REDIS_PORT, data $REDIS_DIR"
  elif redis_ping "$REDIS_HOST" "$REDIS_PORT"; then
    log "redis: $REDIS_HOST:$REDIS_PORT answers (not started by this script)"
  else
    log "redis: not running on $REDIS_HOST:$REDIS_PORT"; return 1
  fi
}

# ------------------------------------------------------------------------------------------------- main

main() {
  local cmd=${1:-}
  case $cmd in
    start)
      load_settings
      pg_start
      redis_start
      ;;
    stop)
      load_settings
      local rc=0
      (redis_stop) || rc=1
      (pg_stop) || rc=1
      return $rc
      ;;
    status)
      load_settings
      local rc=0
      (pg_status) || rc=1
      (redis_status) || rc=1
      return $rc
      ;;
    *)
      printf 'usage: %s start|stop|status\n' "$0" >&2
      exit 2
      ;;
  esac
}

main "$@"
