#!/bin/sh
# Makes sure Debian's Chromium is present for the dashboard's browser tests (playwright-core
# drives /usr/bin/chromium; no browser is ever downloaded). Idempotent: does nothing when it is
# there. As root with apt-get it installs the `chromium` package quietly, running
# `apt-get update` once if the first attempt fails; otherwise it prints what to run.
# The browser tests fail with the same advice when it is still missing.
#
# Usage: scripts/install-browser.sh [--quiet]

set -u
# Builtins only (no dirname): the script must also run with a PATH that has almost nothing.
case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac
. "$here/apt-install-quietly.sh"

quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1

say() {
  [ "$quiet" = 1 ] || echo "install-browser: $*"
}

if [ -x /usr/bin/chromium ]; then
  say "chromium present: $(/usr/bin/chromium --version 2>/dev/null || echo 'version unknown')"
  exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: installing Debian's chromium with apt-get (once; about a minute)"
  apt_install_quietly chromium fonts-dejavu-core
fi

if [ -x /usr/bin/chromium ]; then
  say "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"
else
  echo "install-browser: /usr/bin/chromium is missing; the dashboard's browser tests need it." >&2
  echo "  Debian/Ubuntu (as root): apt-get install chromium" >&2
fi
exit 0
