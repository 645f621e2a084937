package cmd

import (
	"os"
	"testing"

	"github.com/ferry-migrate/ferry/runner"
)

// TestMain lets the test binary be ferry's runner: run and demo start
// their engine in a runner process (runner.Spawn re-executes the running
// program with runner.ChildEnv set), which in the cmd tests is this
// binary, so it runs the command line it was given as ferry would.
func TestMain(m *testing.M) {
	if runner.IsChild() {
		os.Exit(newApp(BuildInfo{Version: "1.2.3", Commit: "abc123", Date: "2026-01-02"}).execute(os.Args[1:]))
	}
	os.Exit(m.Run())
}
