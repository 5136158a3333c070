#!/bin/sh
# Makes sure `promtool` (Prometheus' rule checker, in Debian's `prometheus` package) is installed,
# for test/docs/prometheus-alerts.test.ts, which checks docs/prometheus-alerts.yml with
# `promtool check rules` when it is there. Idempotent: does nothing when promtool is present.
#
# As root with apt-get it installs the package quietly without starting its service (the tests
# only run promtool). Otherwise it prints what to run. Exits 0 either way (the test then checks
# the file with its own parser only); with --require it exits 1 when promtool is still missing.
#
# Usage: scripts/install-promtool.sh [--require] [--quiet]

set -u
# Builtins only (no dirname): the script must also run with a PATH that has almost nothing.
case "$0" in */*) here="${0%/*}" ;; *) here=. ;; esac
. "$here/apt-install-quietly.sh"

require=0
quiet=0
for arg in "$@"; do
  case "$arg" in
    --require) require=1 ;;
    --quiet) quiet=1 ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-promtool: unknown option $arg" >&2
      exit 2
      ;;
  esac
done

say() {
  [ "$quiet" = 1 ] || echo "install-promtool: $*"
}

present() {
  command -v promtool >/dev/null 2>&1 || [ -x /usr/bin/promtool ]
}

if ! present && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  say "installing prometheus (for promtool) with apt-get"
  apt_install_quietly prometheus
fi

if present; then
  say "promtool present"
  exit 0
fi
echo "install-promtool: promtool missing; docs/prometheus-alerts.yml is then checked by the test's own parser only." >&2
echo "  Debian/Ubuntu: apt-get install prometheus" >&2
if [ "$require" = 1 ]; then
  exit 1
fi
exit 0
