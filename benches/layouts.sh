#!/usr/bin/env bash
# Two servers measured in pairs (paired.sh) at several code layouts, so that a
# ratio says what holds across layouts rather than one build's luck.
#
# Where the linker puts each function moves a server's requests per
# CPU-second by a few percent on this machine: two builds of the same raw
# hyper source measure 0.97 of each other. Each layout here is a build whose
# code after the binary's own is moved by SHIFT bytes (`text_shift!` in
# src/layout.rs; the source is unchanged), and both servers of a pair are
# built with the same SHIFT.
#
# usage: benches/layouts.sh A B [ROUNDS] [SCENARIO] [-- DRIVER-ARGS...]
#   A, B      servers of the driver (frontdesk, hyper, axum, frontdesk-h1, ...)
#   ROUNDS    rounds per layout (default 6)
#   SCENARIO  a driver scenario (default slow-sustained, with --sustained 20)
#   SHIFTS    (environment) the offsets, in bytes (default "0 1040 2080 3120":
#             every residue of 16-byte function alignment within a cache line,
#             each on a different page offset)
#   B_SHIFTS  (environment) B's offsets, pair by pair with SHIFTS, when they
#             should differ: `B_SHIFTS="1040 0" benches/layouts.sh hyper hyper`
#             measures one layout of raw hyper against another
#
# `hello` and `chat` are measured the way run.sh measures them: both servers
# in one driver, loaded in alternated slices (two drivers at once saturate the
# two cores and give rounds of 0.76-1.19); so is any scenario with
# MODE=alternated (each round runs the servers in turn, as run.sh does for the
# 5,000-connection scenarios). B_SHIFTS must then equal SHIFTS.
#
# Prints each layout's rounds and median, then the median of every round and
# the median of the layouts' medians. Builds are kept in a temporary directory
# (printed); the workspace's own binaries are rebuilt without a shift by the
# next plain build.
set -euo pipefail
cd "$(dirname "$0")/.."
. benches/pair-args.sh
pair_args 2,32 "$@"
raise_nofile
read -r -a shifts <<<"${SHIFTS:-0 1040 2080 3120}"
read -r -a b_shifts <<<"${B_SHIFTS:-${shifts[*]}}"
[ ${#b_shifts[@]} -eq ${#shifts[@]} ] || { echo "B_SHIFTS needs one offset per SHIFTS offset" >&2; exit 2; }

target=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d)
echo "builds in $work"
for s in $(printf '%s\n' "${shifts[@]}" "${b_shifts[@]}" | sort -un); do
    BENCH_TEXT_SHIFT=$s cargo build --release -p frontdesk-benches --bins
    mkdir -p "$work/$s"
    cp "$target"/bench-server "$target"/bench-hyper "$target"/bench-axum "$work/$s/"
    last=$s
done

# The median of the numbers given, to three decimals.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {printf "%.3f\n", NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
all=()
medians=()
for i in "${!shifts[@]}"; do
    sa=${shifts[$i]} sb=${b_shifts[$i]}
    echo "== layout $((i + 1)) of ${#shifts[@]}: $a at +$sa, $b at +$sb"
    if [ "$scenario" = hello ] || [ "$scenario" = chat ] || [ "${MODE:-}" = alternated ]; then
        [ "$sa" = "$sb" ] || { echo "one driver alternates both servers: B_SHIFTS must equal SHIFTS" >&2; exit 2; }
        if ! out=$("$target/bench-driver" --bin-dir "$work/$sa" --servers "$a,$b" --scenarios "$scenario" \
            --rounds "$rounds" "${extra[@]}" 2>&1); then
            echo "$out" >&2
            exit 1
        fi
        line=$(echo "$out" | grep "req per CPU-s, $a/$b round by round:")
        echo "$line"
    else
        # paired.sh builds first: with the shift of the last build, a no-op.
        if ! out=$(BENCH_TEXT_SHIFT=$last benches/paired.sh "$a@$work/$sa" "$b@$work/$sb" "$rounds" "$scenario" -- "${extra[@]}" 2>&1); then
            echo "$out" >&2
            exit 1
        fi
        echo "$out" | grep -Ev '^ *(Compiling|Finished) '
        line=$(echo "$out" | grep 'round by round:')
    fi
    list=$(echo "$line" | sed 's/.*\[\(.*\)\].*/\1/')
    IFS=', ' read -r -a r <<<"$list"
    medians+=("$(median "${r[@]}")")
    all+=("${r[@]}")
done

echo "== $a / $b across ${#shifts[@]} layouts (SHIFTS: ${shifts[*]}; B_SHIFTS: ${b_shifts[*]})"
echo "layout medians: ${medians[*]} -> median $(median "${medians[@]}")"
echo "all ${#all[@]} rounds: median $(median "${all[@]}")"
