#!/usr/bin/env bash
# Dumps the PostgreSQL database named in DATABASE_URL to one file (pg_dump --format=custom).
#
#   bash scripts/db-backup.sh [out-file]
#
# DATABASE_URL comes from the environment first, then .env in the project root (read, never executed), then the
# default in src/config/configuration.ts, exactly as scripts/services.sh finds it. Without out-file the dump goes
# to <project>/backups/legalpro-<UTC timestamp>.dump (backups/ is git-ignored). An existing file is never
# overwritten. The dump is created mode 0600: it holds personal data (encrypted phone numbers, redacted payloads).
# It is useless without DATA_ENCRYPTION_KEY (and any DATA_ENCRYPTION_OLD_KEYS), which must be kept elsewhere.
#
# pg_dump is taken from $PG_BIN if set, else the newest /usr/lib/postgresql/<version>/bin (Debian's
# postgresql-client), else PATH. It must be at least as new as the server. Restore with scripts/db-restore.sh.
set -euo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_DATABASE_URL='postgres://legalpro:legalpro@127.0.0.1:55432/legalpro'
ME=db-backup.sh
BACKUP_DONE=0

log() { printf '%s\n' "$*"; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: bash scripts/db-backup.sh [out-file]

Dumps the database in DATABASE_URL (environment, then .env) with pg_dump --format=custom.
Default out-file: backups/legalpro-<UTC timestamp>.dump under the project. Never overwrites a file.
Set PG_BIN=/usr/lib/postgresql/<version>/bin to choose the pg_dump version.
EOF
}

# ---------------------------------------------------------------------------------------------- settings
# (the same reading of .env as scripts/services.sh)

# Reads KEY from .env without executing it: the last `KEY=value` (optionally `export KEY=value`) line wins;
# one pair of surrounding quotes is removed.
dotenv_value() {
  local key=$1 file="$PROJECT_DIR/.env" line value=''
  [[ -f $file ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    line=${line%$'\r'}
    if [[ $line =~ ^[[:space:]]*(export[[:space:]]+)?${key}[[:space:]]*=[[:space:]]*(.*)$ ]]; then
      value=${BASH_REMATCH[2]}
      value=${value%"${value##*[![:space:]]}"}
      if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
    fi
  done <"$file"
  printf '%s' "$value"
}

setting() {
  local key=$1 default=$2 value
  value=${!key:-}
  [[ -n $value ]] || value=$(dotenv_value "$key")
  printf '%s' "${value:-$default}"
}

# Splits DATABASE_URL with Node (a hard dependency of this project: it gets encoded passwords and IPv6 right) into
# DB_HOST, DB_PORT, DB_USER, DB_NAME (decoded, for messages), DB_PASSWORD (decoded) and DB_URI: the same URL without
# its password, query parameters (sslmode...) kept, for libpq. The password then travels in PGPASSWORD, not argv.
parse_database_url() {
  local url=$1 parts=()
  command -v node >/dev/null || die 'node is needed to read DATABASE_URL (this project requires Node 20)'
  mapfile -d '' parts < <(node -e '
    let u;
    try { u = new URL(process.argv[1]); } catch { process.exit(1); }
    if (!/^postgres(ql)?:$/.test(u.protocol)) process.exit(2);
    const d = decodeURIComponent;
    const password = d(u.password);
    u.password = "";
    const values = [u.hostname.replace(/^\[|\]$/g, "") || "localhost", u.port || "5432", d(u.username),
      d(u.pathname.replace(/^\//, "")), password, u.toString()];
    process.stdout.write(values.join("\0") + "\0");
  ' "$url" 2>/dev/null || true)
  [[ ${#parts[@]} -eq 6 ]] || die "DATABASE_URL is not a valid postgres:// URL: $(mask_url "$url")"
  DB_HOST=${parts[0]} DB_PORT=${parts[1]} DB_USER=${parts[2]} DB_NAME=${parts[3]} DB_PASSWORD=${parts[4]} DB_URI=${parts[5]}
  [[ -n $DB_USER && -n $DB_NAME ]] || die "DATABASE_URL must name a user and a database (got $(mask_url "$url"))"
}

# The URL with its password replaced, for messages.
mask_url() { printf '%s' "$1" | sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#'; }

# ------------------------------------------------------------------------------------------ pg binaries

# Prints the path of a PostgreSQL client program: $PG_BIN, else the newest Debian versioned one, else PATH.
pg_tool() {
  local name=$1 dir
  if [[ -n ${PG_BIN:-} ]]; then
    [[ -x $PG_BIN/$name ]] || die "PG_BIN=$PG_BIN has no executable $name"
    printf '%s' "$PG_BIN/$name"
    return
  fi
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [[ -n $dir && -x $dir/$name ]]; then printf '%s' "$dir/$name"; return; fi
  command -v "$name" 2>/dev/null && return
  die "$name not found: install the PostgreSQL client (Debian: apt-get install postgresql-client) or set PG_BIN"
}

# ------------------------------------------------------------------------------------------------- main

human_size() {
  local bytes=$1
  if command -v numfmt >/dev/null; then numfmt --to=iec-i --suffix=B "$bytes"; else printf '%s bytes' "$bytes"; fi
}

main() {
  local out='' arg
  for arg in "$@"; do
    case $arg in
      -h | --help) usage; exit 0 ;;
      -*) usage >&2; die "unknown option: $arg" ;;
      *) [[ -z $out ]] || { usage >&2; die 'give at most one out-file'; }; out=$arg ;;
    esac
  done

  local url
  url=$(setting DATABASE_URL "$DEFAULT_DATABASE_URL")
  parse_database_url "$url"

  if [[ -z $out ]]; then
    mkdir -p -m 700 "$PROJECT_DIR/backups"
    out="$PROJECT_DIR/backups/legalpro-$(date -u +%Y%m%dT%H%M%SZ).dump"
  fi
  local dir
  dir=$(dirname -- "$out")
  [[ -d $dir ]] || die "the folder $dir does not exist"
  [[ ! -e $out ]] || die "$out already exists; refusing to overwrite it (choose another name or move it away)"

  local pg_dump pg_restore
  pg_dump=$(pg_tool pg_dump)
  pg_restore=$(pg_tool pg_restore)

  # Claim the name atomically (noclobber) so that two backups started in the same second cannot share a file;
  # remove it again if anything below fails.
  umask 077
  (set -o noclobber; : >"$out") 2>/dev/null || die "cannot create $out (it appeared meanwhile, or the folder is not writable)"
  # Globals, not locals: the EXIT trap runs after main has returned.
  OUT_FILE=$out
  ERRORS_FILE=$(mktemp)
  trap 'rm -f -- "$ERRORS_FILE"; [[ $BACKUP_DONE -eq 1 ]] || rm -f -- "$OUT_FILE"' EXIT
  local errors=$ERRORS_FILE

  log "$ME: dumping database $DB_NAME on $DB_HOST:$DB_PORT as $DB_USER ($("$pg_dump" --version))"
  # Exported, not passed as an argument: argv is visible to every user of the machine (ps).
  [[ -z $DB_PASSWORD ]] || export PGPASSWORD=$DB_PASSWORD
  if ! "$pg_dump" --format=custom --no-password --file="$out" --dbname="$DB_URI" 2>"$errors"; then
    cat "$errors" >&2
    if grep -q 'server version mismatch' "$errors"; then
      printf '%s: hint: this pg_dump is older than the server; install a newer postgresql-client and set PG_BIN, or run pg_dump inside the server container (docs/deployment.md, Backups)\n' "$ME" >&2
    fi
    die "pg_dump failed; nothing was kept"
  fi
  cat "$errors" >&2 # warnings, if any

  # A cheap integrity check: the archive's table of contents must read back.
  "$pg_restore" --list "$out" >/dev/null 2>"$errors" || { cat "$errors" >&2; die "the dump cannot be read back by pg_restore; nothing was kept"; }
  BACKUP_DONE=1

  local bytes
  bytes=$(stat -c %s -- "$out")
  log "$ME: wrote $(human_size "$bytes") ($bytes bytes) to $out"
  log "$ME: restore with: bash scripts/db-restore.sh $out"
}

main "$@"
