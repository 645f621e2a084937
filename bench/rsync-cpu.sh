#!/bin/sh
# Measures ferry's CPU against rsync's and ssh's while FILES small files
# stream from an OpenSSH login on loopback (BenchmarkRsyncSSHCPU in
# bench/rsynccpu): headless, TUI and bare, ROUNDS interleaved rounds.
# Needs rsync, ssh and sshd. A 300,000-file run takes about half an hour
# on a shared 2-core machine and about 3 GB of disk under $TMPDIR.
#
# Usage: bench/rsync-cpu.sh [FILES] [ROUNDS]   (defaults: 20000 and 3)
set -eu
cd "$(dirname "$0")/.."
FERRY_BENCH_FILES=${1:-20000} FERRY_BENCH_ROUNDS=${2:-3} \
	exec go test -run '^$' -bench '^BenchmarkRsyncSSHCPU$' -benchtime 1x -count 1 -timeout 3h ./bench/rsynccpu/
