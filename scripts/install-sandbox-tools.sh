#!/bin/sh
# Makes sure the tools that isolate `shell` tasks are present: bubblewrap (bwrap), and prlimit and
# setpriv from util-linux. Idempotent: does nothing when they are there.
#
# As root with apt-get (Debian, Ubuntu, CI images) it installs bubblewrap quietly, running
# `apt-get update` once if the first attempt fails (fresh images have empty package lists).
# Otherwise it prints what to run. Exits 0 either way, so a test setup can always call it;
# with --require it exits 1 when bwrap is still missing afterwards.
#
# Usage: scripts/install-sandbox-tools.sh [--require] [--quiet]

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
      echo "install-sandbox-tools: unknown option $arg" >&2
      exit 2
      ;;
  esac
done

say() {
  [ "$quiet" = 1 ] || echo "install-sandbox-tools: $*"
}

have() {
  command -v "$1" >/dev/null 2>&1
}

if ! have bwrap && [ "$(id -u)" = 0 ] && have apt-get; then
  say "installing bubblewrap with apt-get"
  apt_install_quietly bubblewrap
fi

missing=0
if have bwrap; then
  say "bubblewrap present: $(bwrap --version 2>/dev/null || echo 'version unknown')"
else
  missing=1
  echo "install-sandbox-tools: bubblewrap (bwrap) is not installed; shell tasks would run without filesystem and network isolation." >&2
  if [ "$(id -u)" != 0 ]; then
    echo "  run this script as root, or install it yourself:" >&2
  else
    echo "  install it with your package manager:" >&2
  fi
  echo "  Debian/Ubuntu: apt-get install bubblewrap   Fedora/RHEL: dnf install bubblewrap   Alpine: apk add bubblewrap   Arch: pacman -S bubblewrap" >&2
fi

for tool in prlimit setpriv; do
  if ! have "$tool"; then
    echo "install-sandbox-tools: $tool (util-linux) is missing: shell tasks need it for resource limits and dropping root" >&2
  fi
done

if [ "$missing" = 1 ] && [ "$require" = 1 ]; then
  exit 1
fi
exit 0
