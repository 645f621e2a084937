#!/bin/sh
# Runs the rsync benchmark of the tasks package and prints how much slower
# ferry's Rsync task is than the same rsync command run bare, and than a
# plain "rsync -aH --numeric-ids".
#
# Usage: bench/rsync.sh [COUNT] [BENCHTIME]   (defaults: 3 and 2x)
set -eu
cd "$(dirname "$0")/.."
count=${1:-3}
benchtime=${2:-2x}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test -run '^$' -bench '^BenchmarkRsync$' -benchtime "$benchtime" -count "$count" ./tasks/ | tee "$out"
awk '
/^BenchmarkRsync\// {
	split($1, a, "/"); name = a[2]; sub(/-[0-9]+$/, "", name)
	sum[name] += $3; n[name]++
}
END {
	for (k in sum) mean[k] = sum[k] / n[k]
	printf "\nmean seconds per copy:"
	for (k in mean) printf "  %s %.2f", k, mean[k] / 1e9
	printf "\n"
	if (mean["bare"] > 0)  printf "ratio ferry/bare  (same argv, output parsed vs thrown away): %.3f\n", mean["ferry"] / mean["bare"]
	if (mean["plain"] > 0) printf "ratio ferry/plain (rsync -aH --numeric-ids):                  %.3f\n", mean["ferry"] / mean["plain"]
	if (mean["plain"] > 0 && mean["ferry-inc-recursive"] > 0) printf "ratio ferry-inc-recursive/plain:                              %.3f\n", mean["ferry-inc-recursive"] / mean["plain"]
}' "$out"
