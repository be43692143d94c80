#!/usr/bin/env bash
# Builds the benchmark binaries (release) and runs the load driver against the
# frontdesk, raw hyper and axum servers, alternately; prints Markdown tables of
# medians and ratios and keeps a copy in target/bench-results-<time>.md.
#
# usage: benches/run.sh [--criterion] [driver flags...]
#
#   --quick                      2 rounds of 2 s runs: under two minutes
#   --rounds N                   rounds (default 5); servers alternate inside each round
#   --duration S / --warmup S    closed-loop run length / unrecorded warm-up (5 / 1)
#   --scenarios LIST             hello,chat,slow,stream,sse-open (default: all)
#   --servers LIST               frontdesk,hyper,axum (default); diagnostics:
#                                frontdesk-h1, frontdesk-auto, frontdesk-auto-timer
#   --connections N              hello/chat connections (64)
#   --stream-connections N       /chat/stream connections (32)
#   --concurrency N              slow and sse-open burst size (5000)
#   --connect-parallelism N      connects in flight while a burst opens (256)
#   --delay-ms MS                DELAY_MS of /chat/slow (1000)
#   --token-ms MS                TOKEN_MS of the stream scenario (10)
#   --open-token-ms MS           TOKEN_MS of the sse-open scenario (250; --quick 150)
#   --driver-threads N           the driver's tokio workers (1)
#   --criterion                  also run the criterion micro-benchmarks (benches/extract.rs)
#
# Environment: BENCH_ROUNDS, BENCH_DURATION, BENCH_SCENARIOS, BENCH_SERVERS.
# All traffic goes to 127.0.0.1; the driver kills every server it starts, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

criterion=0
args=()
for arg in "$@"; do
    case "$arg" in
        --criterion) criterion=1 ;;
        *) args+=("$arg") ;;
    esac
done

# A 5,000-connection burst needs ~5,000 descriptors in the driver and in the server.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 20000 ]; then
    ulimit -n 20000
else
    ulimit -n "$hard"
fi

cargo build --release -p frontdesk-benches --bins
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/bench-results-$(date +%Y%m%d-%H%M%S).md"
"$target_dir/release/bench-driver" "${args[@]}" | tee "$out"
echo "results kept in $out" >&2

if [ "$criterion" = 1 ]; then
    cargo bench -p frontdesk-benches --bench extract
fi
