#!/usr/bin/env bash
# Instructions per request, counted by valgrind (callgrind), for each server
# and route of the contract: a measure that does not move with the machine's
# load, to tell a change of a few percent that timings cannot.
#
# usage: benches/instructions.sh [REQUESTS]   (default 3000)
#
# Each server runs alone in `bench-allocs` (the client in the same process
# sends keep-alive requests over 127.0.0.1). A run of REQUESTS and one of
# 3 x REQUESTS differ only by 2 x REQUESTS requests, so the difference of their
# totals, divided by that, is the instructions of one request: the server's
# user-space work (parsing, routing, handler, encoding, the runtime) plus the
# client's, which is the same for every server. Kernel work is not counted.
# Needs valgrind (`apt-get install valgrind`); takes about four minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -p frontdesk-benches --bin bench-allocs
bin=${CARGO_TARGET_DIR:-target}/release/bench-allocs
n=${1:-3000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
total() {
    valgrind --tool=callgrind --callgrind-out-file="$work/out" "$bin" "$@" >/dev/null 2>"$work/err" \
        || { cat "$work/err" >&2; exit 1; }
    sed -n 's/^summary: //p' "$work/out"
}
echo "| route | server | instructions per request | / hyper |"
echo "|---|---|---:|---:|"
# `hello fresh`: a new connection per request, closed once answered, so the
# count holds what a connection costs (accept, set-up, close) too.
for case in hello chat slow "hello fresh"; do
    read -r route mode <<<"$case"
    declare -A per=()
    for server in hyper frontdesk axum; do
        small=$(total "$n" "$server" "$route" ${mode:+"$mode"})
        large=$(total "$((3 * n))" "$server" "$route" ${mode:+"$mode"})
        per[$server]=$(( (large - small) / (2 * n) ))
    done
    for server in frontdesk hyper axum; do
        ratio=$(awk -v a="${per[$server]}" -v b="${per[hyper]}" 'BEGIN { printf "%.3f", a / b }')
        echo "| $case | $server | ${per[$server]} | $ratio |"
    done
done
