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
# shellcheck source=lib/settings.sh
source "$PROJECT_DIR/scripts/lib/settings.sh"


# shellcheck source=lib/pg-client.sh
source "$PROJECT_DIR/scripts/lib/pg-client.sh"

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
