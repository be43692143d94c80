#!/usr/bin/env bash
# Opens the example service's /docs page in headless Chromium (Debian's) with
# playwright-core: every operation listed, a chat request sent, a stream watched
# live. Starts and stops the example service itself; saves target/docs-page.png.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
ensure_chromium
ensure_apt curl curl
ensure_node_tools
cargo build -q -p chat
target_dir=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
ECHO_TOKEN_MS=100 RUST_LOG=warn "$target_dir/debug/chat" --host 127.0.0.1 --port "$port" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
up=0
for _ in $(seq 1 200); do
  if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
[ "$up" -eq 1 ] || { echo "the example service did not come up on port $port"; exit 1; }
mkdir -p target
BASE_URL="http://127.0.0.1:$port" SCREENSHOT=target/docs-page.png node --test tools/docs-page.test.mjs
