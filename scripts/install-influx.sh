#!/bin/sh
# Makes sure the servers that the InfluxDB sink's end-to-end tests write to are installed:
# InfluxDB 1.x (`influxd`, Debian's `influxdb`) and VictoriaMetrics (`victoria-metrics`, which
# accepts InfluxDB's /api/v2/write). Idempotent: does nothing when both are there.
#
# As root with apt-get (Debian, CI images) it installs them quietly, running `apt-get update`
# once if the first attempt fails (fresh images have empty package lists), without starting
# their system services: the tests start their own, on loopback ports, in temporary directories.
# Otherwise it prints what to run. Exits 0 either way; with --require it exits 1 when one is
# still missing afterwards.
#
# Usage: scripts/install-influx.sh [--require] [--quiet]

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
      sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-influx: unknown option $arg" >&2
      exit 2
      ;;
  esac
done

say() {
  [ "$quiet" = 1 ] || echo "install-influx: $*"
}

have() {
  command -v "$1" >/dev/null 2>&1
}

# Debian puts both binaries in /usr/bin; look there too when PATH is narrow.
present() {
  have "$1" || [ -x "/usr/bin/$1" ]
}

missing_packages() {
  out=""
  present influxd || out="$out influxdb"
  present victoria-metrics || out="$out victoria-metrics"
  echo "$out"
}

packages=$(missing_packages)
if [ -n "$packages" ] && [ "$(id -u)" = 0 ] && have apt-get; then
  say "installing$packages with apt-get"
  # shellcheck disable=SC2086 # the list is words
  apt_install_quietly $packages
fi

packages=$(missing_packages)
if [ -z "$packages" ]; then
  say "influxd and victoria-metrics present"
  exit 0
fi
echo "install-influx: missing$packages; the InfluxDB sink's end-to-end tests need them." >&2
if [ "$(id -u)" != 0 ]; then
  echo "  run this script as root, or install them yourself:" >&2
else
  echo "  install them with your package manager:" >&2
fi
echo "  Debian/Ubuntu: apt-get install influxdb victoria-metrics" >&2
if [ "$require" = 1 ]; then
  exit 1
fi
exit 0
