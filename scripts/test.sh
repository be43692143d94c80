#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs the outside programs the tests
# need (nginx, Chromium, Node and Python tools) when they are missing, then runs
# formatting and lint checks, every Rust test (unit, integration, doc, UI), the
# OpenAPI validators and the browser test of the docs page. Prints a summary.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TERM_COLOR=never
log=$(mktemp -d)/test.log
failures=()

step() { echo; echo "=== $*"; }

step "installing test dependencies (only what is missing)"
source scripts/tools.sh
ensure_nginx || failures+=("install nginx")
if [ -f scripts/install-test-deps.sh ]; then
  bash scripts/install-test-deps.sh || failures+=("install-test-deps")
fi

step "cargo fmt --check"
cargo fmt --all --check || failures+=("fmt")

step "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings || failures+=("clippy")

step "cargo doc (broken links and missing docs are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet || failures+=("doc")

step "cargo test (unit, integration, doc, UI)"
cargo test --workspace --no-fail-fast 2>&1 | tee "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || failures+=("cargo test")

if [ -x scripts/check-openapi.sh ]; then
  step "OpenAPI validators on the example's document"
  bash scripts/check-openapi.sh || failures+=("openapi validators")
fi

if [ -x scripts/browser-test.sh ]; then
  step "docs page in a real browser"
  bash scripts/browser-test.sh || failures+=("browser test")
fi

passed=$(grep -Eo '^test result: [A-Za-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}')
echo
echo "=== summary"
if [ ${#failures[@]} -gt 0 ]; then
  echo "failed steps: ${failures[*]}"
fi
echo "tests: $passed passed, $failed failed"
[ ${#failures[@]} -eq 0 ]
