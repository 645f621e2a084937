#!/bin/sh
# Runs the rsync benchmark of the tasks package ROUNDS times (each round runs
# every variant, so a change of machine load hits all of them alike) and
# prints how ferry's Rsync task compares with the same rsync command run
# bare and with a plain "rsync -aH --numeric-ids".
#
# Usage: bench/rsync.sh [ROUNDS] [BENCHTIME]   (defaults: 3 and 2x)
# Extra go flags can come through GOFLAGS.
set -eu
cd "$(dirname "$0")/.."
rounds=${1:-3}
benchtime=${2:-2x}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=0
while [ "$i" -lt "$rounds" ]; do
	i=$((i + 1))
	echo "round $i of $rounds" >&2
	go test -run '^$' -bench '^BenchmarkRsync$' -benchtime "$benchtime" -count 1 ./tasks/ | tee -a "$out" | grep '^BenchmarkRsync/' >&2
done
awk '
/^BenchmarkRsync\// {
	split($1, a, "/"); name = a[2]; sub(/-[0-9]+$/, "", name)
	v[name, ++n[name]] = $3
}
function median(name,   k, m, i, j, t, x) {
	m = n[name]
	for (i = 1; i <= m; i++) x[i] = v[name, i]
	for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
	return (m % 2) ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2
}
END {
	printf "\nmedian seconds per fresh copy:"
	for (k in n) { med[k] = median(k); printf "  %s %.2f", k, med[k] / 1e9 }
	printf "\n"
	if (med["bare"] > 0)  printf "ratio ferry/bare  (same rsync argv; output parsed and reported vs thrown away): %.3f\n", med["ferry"] / med["bare"]
	if (med["plain"] > 0) printf "ratio ferry/plain (rsync -aH --numeric-ids, incremental recursion):            %.3f\n", med["ferry"] / med["plain"]
	if (med["plain"] > 0 && med["ferry-inc-recursive"] > 0) printf "ratio ferry-inc-recursive/plain:                                                %.3f\n", med["ferry-inc-recursive"] / med["plain"]
}' "$out"
