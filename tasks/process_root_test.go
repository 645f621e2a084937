package tasks

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// TestRunningProgramOnASimulatedRoot: on a host whose root is a directory,
// the program is the one at the mapped path; a process running the bare
// runbook path belongs to the machine (or another test), not to that host.
// The runbook path is unique to this test, so that no other test on the
// machine can take its processes for their own.
func TestRunningProgramOnASimulatedRoot(t *testing.T) {
	root := t.TempDir()
	prog := "/var/ferry-test-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "/merge"
	mapped := filepath.Join(root, prog)
	if err := os.MkdirAll(filepath.Dir(mapped), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mapped, []byte("#!/bin/sh\necho started\nread line\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	inRoot := startHeld(t, mapped, "/q/old", "/q")
	// The bare path as argv[0] (bash's exec -a), running nothing of the
	// root; its line comes after the exec, so it runs under that argv.
	bare := startHeld(t, "bash", "-c", "exec -a "+prog+" sh -c 'echo started; read line'")
	h, err := remote.NewLocal("new", root)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := RunningProgram(context.Background(), h, prog)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(pids, inRoot) {
		t.Fatalf("RunningProgram = %v: the root's process %d was not found", pids, inRoot)
	}
	if slices.Contains(pids, bare) || len(pids) != 1 {
		t.Fatalf("RunningProgram = %v: want only the root's process %d, not the bare path's %d", pids, inRoot, bare)
	}
}
