#!/usr/bin/env bash
# Installs, only when missing, the outside programs the test suite uses, each
# from its ordinary registry: Debian packages with apt-get, Node packages into
# tools/node_modules (versions pinned in tools/package.json), Python packages
# into a git-ignored .venv. Source it and call the function you need.

tools_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

apt_updated=0
ensure_apt() { # ensure_apt <command> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" -eq 0 ]; then
    apt-get update -qq || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || return 1
  command -v "$1" >/dev/null 2>&1
}

ensure_node_tools() {
  if [ -x "$tools_root/tools/node_modules/.bin/redocly" ] && [ -d "$tools_root/tools/node_modules/playwright-core" ]; then
    return 0
  fi
  ensure_apt node nodejs || return 1
  ensure_apt npm npm || return 1
  (cd "$tools_root/tools" && npm install --no-audit --no-fund --loglevel=error) || return 1
}

ensure_python_tools() {
  if [ -x "$tools_root/.venv/bin/openapi-spec-validator" ]; then
    return 0
  fi
  python3 -m venv "$tools_root/.venv" || return 1
  "$tools_root/.venv/bin/pip" install --quiet openapi-spec-validator==0.9.0 || return 1
}

ensure_chromium() {
  ensure_apt chromium chromium
}

ensure_nginx() {
  if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then
    return 0
  fi
  ensure_apt nginx nginx || [ -x /usr/sbin/nginx ]
}
