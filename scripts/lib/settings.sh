# Sourced by the project's scripts (needs PROJECT_DIR set): how a setting is found, the same way everywhere:
# the environment first, then .env in the project root (read, never executed), then the caller's default.

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
