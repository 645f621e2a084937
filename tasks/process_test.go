package tasks

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// startHeld starts argv with its stdin and stdout on pipes, waits until it
// has written its first line (so it runs under its own argv, not the test
// binary's it had before exec), and returns its pid. The program must hold
// until its stdin closes, which the test's cleanup does, then it is killed
// and reaped. It waits on the program, never on a clock: on a busy machine
// a start may take seconds, and a program that ends early fails the test
// with what it printed.
func startHeld(t *testing.T, argv ...string) int {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("%q ended before its first line (%q): %v", argv, line, err)
	}
	return cmd.Process.Pid
}

// TestRunningProgramExactArgv runs a merge-like script and three decoys that
// mention its path on their command lines (as a pager reading it, a shell
// line naming it as $0, or one naming it at its end would): only the script
// is found. pgrep -f, which ferry used before, finds all four. Every process
// has printed a line before the listing, so each runs under its own argv
// while it is read, however slow the machine.
func TestRunningProgramExactArgv(t *testing.T) {
	dir := t.TempDir()
	prog := filepath.Join(dir, "hvmail_queue_merge")
	// A script that stays a shell while it works, as a running merge does.
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho started\nread line\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	real := startHeld(t, prog, "/var/hvmail/qmail-disk/queue/old", "/var/hvmail/qmail-disk/queue")
	decoys := []int{
		startHeld(t, "sh", "-c", "echo started; read line", prog),
		// cat prints the script (its first line proves cat runs), then
		// reads its stdin, which stays open: the path is its argv[1],
		// but cat is no interpreter.
		startHeld(t, "cat", prog, "-"),
		startHeld(t, "sh", "-c", "echo started; read line; : "+prog),
	}
	h, err := remote.NewLocal("new", "/")
	if err != nil {
		t.Fatal(err)
	}
	pids, err := RunningProgram(context.Background(), h, prog)
	if err != nil {
		t.Fatal(err)
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
