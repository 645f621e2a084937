package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChooseFrontEnd: the run screen only on a terminal that can draw it;
// JSON whenever asked for; plain lines otherwise (piped, TERM=dumb).
func TestChooseFrontEnd(t *testing.T) {
	for _, c := range []struct {
		terminal bool
		term     string
		jsonOut  bool
		want     frontEnd
	}{
		{true, "xterm-256color", false, frontTUI},
		{true, "", false, frontTUI},
		{true, "dumb", false, frontPlain},
		{false, "xterm-256color", false, frontPlain},
		{false, "dumb", false, frontPlain},
		{false, "", false, frontPlain},
		{true, "xterm-256color", true, frontJSON},
		{true, "dumb", true, frontJSON},
		{false, "xterm", true, frontJSON},
	} {
		if got := chooseFrontEnd(c.terminal, c.term, c.jsonOut); got != c.want {
			t.Errorf("terminal %v, TERM %q, json %v: %d, want %d", c.terminal, c.term, c.jsonOut, got, c.want)
		}
	}
}

// TestRunPlainOffATerminalStopsNamingTheKey: ferry run with neither a
// terminal nor --json prints plain lines (no JSON), runs its first step,
// and stops with exit 3 at the first question, saying on stderr what to
// put in an answers file; TERM=dumb on a terminal does the same.
func TestRunPlainOffATerminalStopsNamingTheKey(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ferry run's first step checks that it runs as root")
	}
	for _, c := range []struct {
		name        string
		interactive bool
		term        string
	}{{"piped", false, "xterm"}, {"dumb terminal", true, "dumb"}} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("TERM", c.term)
			state := filepath.Join(t.TempDir(), "state")
			code, out, errs := run(t, "", c.interactive, "run", "--runbook", "greenarrow", "--state-dir", state)
			if code != ExitNeedsHuman {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitNeedsHuman, out, errs)
			}
			for _, want := range []string{"step ssh-old needs a person", `put "answers": {"old_addr": "..."`, "--answers FILE"} {
				if !strings.Contains(errs, want) {
					t.Errorf("stderr does not say %q: %s", want, errs)
				}
			}
			if strings.Contains(out, "\n{") || strings.HasPrefix(out, "{") || strings.ContainsRune(out, 0x1b) {
				t.Errorf("stdout holds JSON or an escape:\n%s", out)
			}
			for _, want := range []string{"run started on ", "check-root: done", "ssh-old: waits for answers to its questions: old_addr (",
				`ssh-old: warning: the run stops here (exit 3): step ssh-old needs a person (answers): `} {
				if !strings.Contains(out, want) {
					t.Errorf("stdout has no %q:\n%s", want, out)
				}
			}
		})
	}
}
