#!/usr/bin/env bash
# Restores a dump made by scripts/db-backup.sh into the PostgreSQL database named in DATABASE_URL.
#
#   bash scripts/db-restore.sh <file> [--yes] [--force-production]
#
# Runs pg_restore --clean --if-exists --no-owner in one transaction: every object in the dump is dropped and
# recreated from it (objects the dump does not hold are left alone); on any error nothing changes. It asks you to
# type the database name first, unless --yes. It refuses to run when NODE_ENV=production or
# MPESA_ENVIRONMENT=production (the app's own definition of production), unless --force-production.
#
# DATABASE_URL, NODE_ENV and MPESA_ENVIRONMENT come from the environment first, then .env in the project root (read,
# never executed), as in scripts/services.sh. pg_restore is taken from $PG_BIN if set, else the newest
# /usr/lib/postgresql/<version>/bin, else PATH. Stop the api and worker processes before restoring.
set -euo pipefail

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEFAULT_DATABASE_URL='postgres://legalpro:legalpro@127.0.0.1:55432/legalpro'
ME=db-restore.sh

log() { printf '%s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$ME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$ME" "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
usage: bash scripts/db-restore.sh <file> [--yes] [--force-production]

Restores <file> (a pg_dump --format=custom archive, e.g. from scripts/db-backup.sh) into the database in
DATABASE_URL (environment, then .env) with pg_restore --clean --if-exists --no-owner, in one transaction.

  --yes               do not ask for confirmation
  --force-production  allow a restore while NODE_ENV or MPESA_ENVIRONMENT is production

Set PG_BIN=/usr/lib/postgresql/<version>/bin to choose the pg_restore version.
EOF
}

# ---------------------------------------------------------------------------------------------- settings
# shellcheck source=lib/settings.sh
source "$PROJECT_DIR/scripts/lib/settings.sh"


# shellcheck source=lib/pg-client.sh
source "$PROJECT_DIR/scripts/lib/pg-client.sh"

# ------------------------------------------------------------------------------------------------- main

# Other sessions on the target database (the app's pools, psql...). Prints nothing when psql is missing or fails.
other_sessions() {
  local psql
  psql=$(pg_tool psql 2>/dev/null) || return 0
  "$psql" -X -q -w -At --dbname="$DB_URI" \
    -c 'SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()' 2>/dev/null || true
}

main() {
  local file='' yes=0 force_production=0 arg
  for arg in "$@"; do
    case $arg in
      -h | --help) usage; exit 0 ;;
      --yes | -y) yes=1 ;;
      --force-production) force_production=1 ;;
      -*) usage >&2; die "unknown option: $arg" ;;
      *) [[ -z $file ]] || { usage >&2; die 'give exactly one dump file'; }; file=$arg ;;
    esac
  done
  [[ -n $file ]] || { usage >&2; die 'which dump file? (e.g. backups/legalpro-20260101T000000Z.dump)'; }
  [[ -f $file && -r $file ]] || die "$file is not a readable file"

  local node_env mpesa_env
  node_env=$(setting NODE_ENV development)
  mpesa_env=$(setting MPESA_ENVIRONMENT '')
  if [[ $node_env == production || $mpesa_env == production ]]; then
    if [[ $force_production -ne 1 ]]; then
      die "refusing to restore: this is a production configuration (NODE_ENV=$node_env, MPESA_ENVIRONMENT=${mpesa_env:-unset}). If you really mean to overwrite a production database, stop the api and worker processes and pass --force-production"
    fi
    warn "NODE_ENV=$node_env, MPESA_ENVIRONMENT=${mpesa_env:-unset}: restoring into PRODUCTION (--force-production)"
  fi

  parse_database_url "$(setting DATABASE_URL "$DEFAULT_DATABASE_URL")"
  # Exported, not passed as an argument: argv is visible to every user of the machine (ps).
  [[ -z $DB_PASSWORD ]] || export PGPASSWORD=$DB_PASSWORD

  local pg_restore toc
  pg_restore=$(pg_tool pg_restore)
  toc=$("$pg_restore" --list "$file" 2>&1) || die "$file is not a pg_dump custom-format archive that $pg_restore can read: $(printf '%s' "$toc" | head -n1)"

  local dumped_db created objects
  dumped_db=$(printf '%s\n' "$toc" | sed -n 's/^;[[:space:]]*dbname: //p' | head -n1)
  created=$(printf '%s\n' "$toc" | sed -n 's/^;[[:space:]]*Archive created at //p' | head -n1)
  objects=$(printf '%s\n' "$toc" | grep -c '^[0-9]' || true)
  log "Archive:  $file ($(stat -c %s -- "$file") bytes; database ${dumped_db:-?}, created ${created:-?}; $objects entries)"
  log "Target:   database $DB_NAME on $DB_HOST:$DB_PORT as $DB_USER"
  log "Every table, index, function... in the archive is DROPPED in the target and recreated from the archive."

  local sessions
  sessions=$(other_sessions)
  if [[ -n $sessions && $sessions != 0 ]]; then
    warn "$sessions other session(s) are connected to $DB_NAME: stop the api and worker processes first (a running app keeps writing, and its open transactions block the restore)"
  fi

  if [[ $yes -ne 1 ]]; then
    [[ -t 0 ]] || die 'no terminal to confirm on: pass --yes to restore without asking'
    local answer
    read -r -p "Type the database name ($DB_NAME) to restore into it: " answer
    [[ $answer == "$DB_NAME" ]] || die 'not confirmed; nothing changed'
  fi

  log "$ME: restoring ($("$pg_restore" --version))..."
  "$pg_restore" --clean --if-exists --no-owner --single-transaction --exit-on-error --no-password \
    --dbname="$DB_URI" "$file" \
    || die 'pg_restore failed; the transaction was rolled back, so the database is as it was'
  log "$ME: restored $file into $DB_NAME."
  log "Next: node dist/src/cli/migrate.js (applies any migration newer than the dump), then start the api and worker processes."
}

main "$@"
