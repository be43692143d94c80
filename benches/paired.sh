#!/usr/bin/env bash
# Two servers measured at the same time, each by a driver of its own, so that
# whatever else the machine is doing slows both alike: the per-round ratio of
# their requests per CPU-second then moves far less than between runs taken
# one after the other (on this 2-core VM: 0.96-1.04 for a server against
# itself, against 0.7-1.3 for alternated runs).
#
# usage: benches/paired.sh A B [ROUNDS] [SCENARIO] [-- DRIVER-ARGS...]
#   A, B      SERVER or SERVER@DIR: a server of the driver (frontdesk, hyper,
#             axum, ...), served by the binaries in DIR (default: this
#             workspace's release build), e.g. frontdesk@/tmp/base
#   ROUNDS    rounds per driver (default 6)
#   SCENARIO  a driver scenario (default slow-sustained, with --sustained 20)
#
# Prints each round's requests per CPU-second for A and B, the per-round
# ratios A/B and their median. Both drivers load the machine at once, so the
# absolute figures are lower than in a run of one server; only the ratio is
# the result. The logs are left in a temporary directory (printed).
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/pair-args.sh
pair_args 2,18 "$@"

cargo build --release -p frontdesk-benches --bins
target=${CARGO_TARGET_DIR:-target}/release
driver=$target/bench-driver
raise_nofile

logs=$(mktemp -d)
pids=()
stop() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop EXIT INT TERM
start() { # SPEC LOG
    local server=${1%%@*} dir=$target
    [ "$1" != "$server" ] && dir=${1#*@}
    "$driver" --bin-dir "$dir" --servers "$server" --scenarios "$scenario" \
        --rounds "$rounds" "${extra[@]}" >"$2" 2>&1 &
    pids+=($!)
}
start "$a" "$logs/a.log"
start "$b" "$logs/b.log"
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
pids=()
if [ $status != 0 ]; then
    echo "a driver failed; logs in $logs" >&2
    tail -5 "$logs/a.log" "$logs/b.log" >&2
    exit 1
fi
per_round() { grep -o 'req per CPU-s per round: [^[]*\[[^]]*\]' "$1" | head -1 | sed 's/.*\[//; s/\]//; s/,/ /g'; }
ra=$(per_round "$logs/a.log")
rb=$(per_round "$logs/b.log")
awk -v a="$ra" -v b="$rb" -v na="$a" -v nb="$b" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    line = ""
    for (i = 1; i <= n; i++) { r[i] = x[i] / y[i]; line = line sprintf("%s%.3f", i > 1 ? ", " : "", r[i]) }
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
    median = n % 2 ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
    printf "req per CPU-s, %s: %s\n", na, a
    printf "req per CPU-s, %s: %s\n", nb, b
    printf "%s / %s round by round: [%s] -> median %.3f\n", na, nb, line, median
}'
echo "logs: $logs"
