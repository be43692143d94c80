#!/usr/bin/env bash
# Installs the outside programs the test suite needs, only those that are
# missing; safe to run again. One function per tool, called in order at the
# bottom: to add a tool, add a function and a call.
set -euo pipefail

# Runs a command as root (directly when already root, else through sudo).
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
# Installs Debian/Ubuntu packages, running `apt-get update` once, on first need.
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt-get not found: install $* with your package manager" >&2
    return 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@"
}

# nginx: tests/proxy.rs runs it as a child process (its own config, its own
# port, no daemon) to check that SSE events go through a buffering reverse
# proxy one by one. The test does not use the package's own nginx service.
install_nginx() {
  if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then
    echo "nginx: present ($( (/usr/sbin/nginx -v 2>&1 || nginx -v 2>&1) | head -n1))"
    return 0
  fi
  echo "nginx: installing"
  apt_install nginx
}

install_nginx
