#!/bin/sh
# Makes sure the local PostgreSQL that the store and cluster tests use is accepting connections
# (127.0.0.1:5432 unless PGHOST/PGPORT say otherwise). Idempotent: does nothing when it is up.
# When it is down it starts the Debian cluster (`pg_ctlcluster <version> main start`, the newest
# version under /etc/postgresql) and waits until it answers. Exits 0 when the server is ready; 1
# when it cannot be started, saying why, so `npm test` stops before dozens of tests time out.
#
# Usage: scripts/ensure-postgres.sh [--quiet]

set -u

quiet=0
for arg in "$@"; do
  case "$arg" in
    --quiet) quiet=1 ;;
    -h | --help)
      sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "ensure-postgres: unknown option $arg" >&2
      exit 2
      ;;
  esac
done

host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}

say() {
  [ "$quiet" = 1 ] || echo "ensure-postgres: $*"
}

ready() {
  pg_isready -q -h "$host" -p "$port" >/dev/null 2>&1
}

if ! command -v pg_isready >/dev/null 2>&1; then
  echo "ensure-postgres: pg_isready not found; install PostgreSQL (e.g. apt-get install postgresql) to run the PostgreSQL tests" >&2
  exit 1
fi

if ready; then
  exit 0
fi

version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n 1)
if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "ensure-postgres: PostgreSQL does not answer on $host:$port and no Debian cluster was found to start" >&2
  exit 1
fi

say "starting PostgreSQL $version (cluster main)"
# A cluster that is already starting makes this fail; waiting below settles it either way.
pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true

i=0
while [ "$i" -lt 60 ]; do
  if ready; then
    say "PostgreSQL $version is ready on $host:$port"
    exit 0
  fi
  sleep 0.5
  i=$((i + 1))
done
echo "ensure-postgres: PostgreSQL $version did not become ready on $host:$port within 30 s" >&2
exit 1
