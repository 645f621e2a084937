#!/bin/sh
# Measures ferry's CPU against rsync's and ssh's while FILES small files
# stream from an OpenSSH login on loopback (BenchmarkRsyncSSHCPU in
# bench/rsynccpu): headless, TUI and bare, ROUNDS interleaved rounds.
# Needs rsync, ssh and sshd. A 300,000-file run takes about half an hour
# on a shared 2-core machine and about 3 GB of disk under $TMPDIR.
#
# The trees go under $TMPDIR. When it is not set and FILES is at most
# 50,000, they go on the tmpfs /dev/shm: on a disk, rsync's own time
# varies several-fold between identical copies, which hides ferry's share
# of the wall time (bench/README.md).
#
# Usage: bench/rsync-cpu.sh [FILES] [ROUNDS]   (defaults: 20000 and 3)
set -eu
cd "$(dirname "$0")/.."
files=${1:-20000}
if [ -z "${TMPDIR:-}" ] && [ "$files" -le 50000 ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
	TMPDIR=/dev/shm
	export TMPDIR
fi
echo "trees under ${TMPDIR:-/tmp}" >&2
FERRY_BENCH_FILES=$files FERRY_BENCH_ROUNDS=${2:-3} \
	exec go test -run '^$' -bench '^BenchmarkRsyncSSHCPU$' -benchtime 1x -count 1 -timeout 3h ./bench/rsynccpu/
