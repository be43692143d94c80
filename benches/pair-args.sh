# Sourced by paired.sh and layouts.sh, which take the same arguments:
#   A B [ROUNDS] [SCENARIO] [-- DRIVER-ARGS...]
# `pair_args LINES "$@"` sets a, b, rounds (default 6), scenario (default
# slow-sustained) and the array extra (the driver's arguments; for
# slow-sustained, `--sustained 20` unless given), or prints lines LINES
# (a sed range) of the calling script as its usage and exits.
pair_args() {
    local usage=$1
    shift
    [ $# -ge 2 ] || { sed -n "${usage}p" "$0" >&2; exit 2; }
    a=$1 b=$2
    shift 2
    rounds=6
    scenario=slow-sustained
    if [ $# -gt 0 ] && [ "$1" != "--" ]; then rounds=$1; shift; fi
    if [ $# -gt 0 ] && [ "$1" != "--" ]; then scenario=$1; shift; fi
    [ "${1:-}" = "--" ] && shift
    extra=("$@")
    if [ "$scenario" = slow-sustained ] && [ ${#extra[@]} -eq 0 ]; then extra=(--sustained 20); fi
}

# Raises the open-file limit to 20,000 (or the hard limit, if lower): each
# driver and each server holds 5,000 connections in the large scenarios.
raise_nofile() {
    local hard
    hard=$(ulimit -Hn)
    if [ "$hard" = unlimited ] || [ "$hard" -ge 20000 ]; then
        ulimit -n 20000
    else
        ulimit -n "$hard"
    fi
}
