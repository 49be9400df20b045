#!/usr/bin/env bash
# Makes Debian's chromium available for the browser check of /docs and /admin/queues (test/e2e/ui-render.e2e-spec.ts).
# Prints nothing and exits 0 when chromium is there (or was just installed); otherwise says why on stderr and exits 1.
# Installs only when running as root (a CI container); elsewhere it tells you the command.
#   CHROMIUM_PATH       the binary to look for (default /usr/bin/chromium)
#   CHROMIUM_INSTALL_TIMEOUT  seconds allowed for apt-get (default 300)
set -u

CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
TIMEOUT="${CHROMIUM_INSTALL_TIMEOUT:-300}"

[ -x "$CHROMIUM_PATH" ] && exit 0

if [ "$(id -u)" != "0" ]; then
  echo "chromium not found at $CHROMIUM_PATH; install it with: sudo apt-get install -y chromium" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium not found at $CHROMIUM_PATH and apt-get is not available: install Chromium and set CHROMIUM_PATH" >&2
  exit 1
fi

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# A fresh container may have no package lists yet; the install itself is the step that matters.
if ! timeout "$TIMEOUT" bash -c 'export DEBIAN_FRONTEND=noninteractive; (apt-get install -y -q chromium || (apt-get update -q && apt-get install -y -q chromium))' >"$log" 2>&1; then
  echo "could not install chromium with apt-get (within ${TIMEOUT}s); last lines:" >&2
  tail -n 5 "$log" >&2
  echo "install it with: apt-get install -y chromium" >&2
  exit 1
fi
if [ ! -x "$CHROMIUM_PATH" ]; then
  echo "chromium is installed, but not at $CHROMIUM_PATH: set CHROMIUM_PATH to its binary" >&2
  exit 1
fi
exit 0
