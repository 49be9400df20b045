# Sourced by db-backup.sh and db-restore.sh (needs a `die` function): DATABASE_URL parsing and PostgreSQL
# client programs.

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
