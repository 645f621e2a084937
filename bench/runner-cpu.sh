#!/bin/sh
# Measures the runner's and a client's CPU, and the client's peak RSS,
# while FILES small files stream from an OpenSSH login on loopback
# (BenchmarkRunnerClientCPU in bench/rsynccpu): this process does what the
# runner does (tasks.Rsync publishing on a real runner socket), and the
# real ferry binary follows it with `ferry attach --json` and with
# `ferry attach` (plain lines), ROUNDS rounds. Needs rsync, ssh and sshd.
# 1,000,000 files take about 4 GB under $TMPDIR and, on a shared 2-core
# machine, about 15 minutes.
#
# Usage: bench/runner-cpu.sh [FILES] [ROUNDS]   (defaults: 20000 and 1)
set -eu
cd "$(dirname "$0")/.."
FERRY_BENCH_FILES=${1:-20000} FERRY_BENCH_ROUNDS=${2:-1} \
	exec go test -run '^$' -bench '^BenchmarkRunnerClientCPU$' -benchtime 1x -count 1 -timeout 3h ./bench/rsynccpu/
