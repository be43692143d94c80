#!/usr/bin/env bash
# Builds the benchmark binaries (release, or bench-lto with --lto) and runs
# the load driver against the frontdesk, raw hyper and axum servers, side by
# side; prints Markdown tables of medians and ratios and keeps a copy in
# target/bench-results-<profile>-<time>.md.
#
# usage: benches/run.sh [--lto] [--criterion] [driver flags...]
#
#   --lto                        build with the bench-lto profile (one codegen
#                                unit, fat LTO; all three servers alike)
#   --quick                      2 short rounds: about two minutes
#   --rounds N                   rounds (default 5)
#   --cycles N / --slice S       hello, chat: slices per server per round, and
#                                their length (30 / 0.3 s)
#   --duration S / --warmup S    stream: run length / unrecorded warm-up (5 / 1);
#                                the warm-up is also hello's and chat's first slice
#   --sustained S / --sustained-warmup S
#                                slow-sustained: recorded window / unrecorded start (6 / 3)
#   --scenarios LIST             hello,chat,slow,slow-sustained,stream,sse-open (default: all)
#   --servers LIST               frontdesk,hyper,axum (default); diagnostics:
#                                frontdesk-h1, frontdesk-http1-only, frontdesk-auto,
#                                frontdesk-auto-timer,
#                                frontdesk-base (with --baseline DIR: another build)
#   --connections N              hello/chat connections (64)
#   --stream-connections N       /chat/stream connections (32)
#   --concurrency N              slow, slow-sustained and sse-open connections (5000)
#   --connect-parallelism N      connects in flight while they open (256)
#   --delay-ms MS                DELAY_MS of /chat/slow (1000)
#   --token-ms MS                TOKEN_MS of the stream scenario (10)
#   --open-token-ms MS           TOKEN_MS of the sse-open scenario (250; --quick 150)
#   --driver-threads N           the driver's tokio workers (1)
#   --server-cpus LIST           pin the servers (taskset -c LIST)
#   --criterion                  also run the criterion micro-benchmarks (benches/extract.rs)
#
# Environment: BENCH_ROUNDS, BENCH_DURATION, BENCH_SCENARIOS, BENCH_SERVERS.
# All traffic goes to 127.0.0.1; the driver kills every server it starts, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

criterion=0
profile=release
args=()
for arg in "$@"; do
    case "$arg" in
        --criterion) criterion=1 ;;
        --lto) profile=bench-lto ;;
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

cargo build --profile "$profile" -p frontdesk-benches --bins
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/bench-results-$profile-$(date +%Y%m%d-%H%M%S).md"
"$target_dir/$profile/bench-driver" "${args[@]}" | tee "$out"
echo "results kept in $out" >&2

if [ "$criterion" = 1 ]; then
    cargo bench -p frontdesk-benches --bench extract
fi
