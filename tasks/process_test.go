package tasks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// startProc starts argv and stops it when the test ends.
func startProc(t *testing.T, argv ...string) int {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// TestRunningProgramExactArgv runs a merge-like script and three decoys that
// mention its path on their command lines (as an admin's pager, a shell line
// or a tail would): only the script is found. pgrep -f, which ferry used
// before, finds all four.
func TestRunningProgramExactArgv(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "hvmail_queue_merge")
	// A script that stays a shell while it works, as a running merge does.
	if err := os.WriteFile(prog, []byte("#!/bin/sh\nsleep 30\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	real := startProc(t, prog, "/var/hvmail/qmail-disk/queue/old", "/var/hvmail/qmail-disk/queue")
	decoys := []int{
		startProc(t, "sh", "-c", "sleep 30", prog),
		startProc(t, "sleep", "30", "--", prog),
		startProc(t, "sh", "-c", "sleep 30; : "+prog),
	}
	h, err := remote.NewLocal("new", "/")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, err = RunningProgram(context.Background(), h, prog)
		if err != nil {
			t.Fatal(err)
		}
		if len(pids) > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !slices.Contains(pids, real) {
		t.Fatalf("RunningProgram(%s) = %v: the running script (pid %d) was not found", prog, pids, real)
	}
	for _, d := range decoys {
		if slices.Contains(pids, d) {
			t.Errorf("RunningProgram(%s) = %v includes pid %d, which only mentions the path", prog, pids, d)
		}
	}
	if len(pids) != 1 {
		t.Errorf("RunningProgram(%s) = %v, want exactly [%d]", prog, pids, real)
	}
}

func TestRunningProgramNone(t *testing.T) {
	h, err := remote.NewLocal("new", "/")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := RunningProgram(context.Background(), h, filepath.Join(t.TempDir(), "not-running"))
	if err != nil || len(pids) != 0 {
		t.Fatalf("RunningProgram of a program nobody runs = %v, %v; want none, nil", pids, err)
	}
}

func TestMatchProcesses(t *testing.T) {
	const p = "/var/hvmail/libexec/hvmail_queue_merge"
	listing := "10\t" + p + "\x1f/q/old\x1f/q\x1f\n" +
		"11\t/bin/sh\x1f" + p + "\x1f/q/old\x1f\n" +
		"12\tless\x1f" + p + "\x1f\n" +
		"13\t/usr/bin/perl\x1f" + p + "\x1f\n" +
		"14\tvim\x1f" + p + ".bak\x1f\n" +
		"garbage line\n" +
		"15\t/usr/bin/python3\x1f-c\x1f" + p + "\x1f\n"
	got := matchProcesses(listing, p)
	if want := []int{10, 11, 13}; !slices.Equal(got, want) {
		t.Fatalf("matchProcesses = %v, want %v", got, want)
	}
}
