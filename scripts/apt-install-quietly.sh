# Sourced by the install-*.sh scripts (POSIX sh): installs Debian packages for the tests, quietly.
#
# apt_install_quietly PACKAGE...: as root with apt-get, installs the packages without recommends,
# running `apt-get update` once if the first attempt fails (fresh images have empty package
# lists). Their system services are kept from starting (the tests start their own servers, on
# loopback ports): a policy-rc.d that refuses, only for this install, and only when the machine
# has none of its own. Says nothing; the caller checks what is there afterwards.

apt_install_quietly() {
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
    trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT INT TERM
  fi
  if ! apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1
  fi
  if [ "$own_policy" = 1 ]; then
    rm -f "$policy"
    own_policy=0
  fi
}
