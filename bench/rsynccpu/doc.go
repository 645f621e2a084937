// Package rsynccpu holds a measurement, not a test: BenchmarkRsyncSSHCPU
// (in rsynccpu_test.go) copies a tree of many small files over a loopback
// SSH login to OpenSSH's sshd and compares the CPU ferry spends watching
// the transfer with the CPU rsync and ssh spend making it. bench/rsync-cpu.sh
// runs it; bench/README.md reports what it measured.
package rsynccpu
