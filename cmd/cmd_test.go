package cmd

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/tui"
	"github.com/ferry-migrate/ferry/wizard"
)

// run executes ferry with args and returns the exit code, stdout and stderr.
func run(t *testing.T, stdin string, interactive bool, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{Version: "1.2.3", Commit: "abc123", Date: "2026-01-02"})
	a.stdin, a.stdout, a.stderr = strings.NewReader(stdin), &out, &errb
	a.interactive = func() bool { return interactive }
	code := a.execute(args)
	return code, out.String(), errb.String()
}

func TestExitCode(t *testing.T) {
	cases := []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&wizard.StepFailedError{Step: "x", Message: "no"}, 1},
		{fmt.Errorf("wrapped: %w", &wizard.RunbookError{File: "f", Line: 3, Msg: "bad"}), 2},
		{usage(errors.New("bad flag")), 2},
		{fmt.Errorf("headless: %w", wizard.ErrNeedsHuman), 3},
		{&wizard.LockedError{PID: 42, Path: "/x/lock"}, 4},
		{tea.ErrInterrupted, 130},
		{fmt.Errorf("step: %w", context.Canceled), 130},
		{wizard.ErrStopped, 130},
	}
	for _, c := range cases {
		if got := ExitCode(c.err); got != c.want {
			t.Errorf("ExitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestCommandNotBuiltYet(t *testing.T) {
	// A command whose code has not landed says so and exits 2, with nothing
	// on stdout.
	var out, errb bytes.Buffer
	a := newApp(BuildInfo{})
	a.stdout, a.stderr = &out, &errb
	root := a.root()
	root.AddCommand(&cobra.Command{Use: "future", RunE: a.action(a.notBuilt)})
	root.SetArgs([]string{"future"})
	code := a.finish(root.ExecuteC())
	if code != 2 || out.String() != "" || errb.String() != "ferry future: not built yet\n" {
		t.Errorf("code %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestUsageErrors(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"unknown command": {[]string{"frobnicate"}, `unknown command "frobnicate"`},
		"unknown flag":    {[]string{"checklist", "--nope"}, "unknown flag: --nope"},
		"extra argument":  {[]string{"version", "x"}, "unknown command"},
		"bad format":      {[]string{"checklist", "--runbook", "greenarrow", "--format", "pdf"}, `unknown --format "pdf"`},
		"bad family":      {[]string{"checklist", "--runbook", "greenarrow", "--family", "suse"}, `unknown --family "suse"`},
		"unknown runbook": {[]string{"checklist", "--runbook", "exchange", "--state-dir", ""}, "exchange"},
		"tui without tty": {[]string{"checklist", "--runbook", "greenarrow", "--format", "tui"}, "needs a terminal"},
		"no runbook":      {[]string{"checklist", "--state-dir", ""}, "which runbook?"},
		"empty --old":     {[]string{"run", "--runbook", "greenarrow", "--old", "", "--state-dir", ""}, "--old is empty"},
	}
	for name, c := range cases {
		code, out, errs := run(t, "", false, c.args...)
		if code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("%s: code %d, stderr %q (want %q), stdout %q", name, code, errs, c.want, out)
		}
	}
}

func TestBadRunbookFileNamesFileAndLine(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(f, []byte("id: x\ntitle: X\nphases:\n  - id: p\n    title: P\nsteps:\n  - id: s\n    phase: p\n    title: S\n    host: moon\n    level: auto\n    kind: manual\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := run(t, "", false, "checklist", "--runbook", f, "--state-dir", "")
	if code != 2 || !strings.Contains(errs, f+":") {
		t.Errorf("code %d, stderr %q: want exit 2 and an error naming %s and a line", code, errs, f)
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := run(t, "", false, "version")
	if code != 0 || !strings.HasPrefix(out, "ferry 1.2.3 abc123 built 2026-01-02\ngo1.") {
		t.Errorf("code %d, output %q", code, out)
	}
	code, out, _ = run(t, "", false, "--version")
	if code != 0 || out != "ferry 1.2.3 abc123 built 2026-01-02\n" {
		t.Errorf("--version: code %d, output %q", code, out)
	}
}

func TestChecklistBuiltins(t *testing.T) {
	for _, rb := range []string{"greenarrow", "bluemind"} {
		// Not a terminal: markdown by default.
		code, out, errs := run(t, "", false, "checklist", "--runbook", rb, "--state-dir", t.TempDir())
		if code != 0 || !strings.HasPrefix(out, "# ") || !strings.Contains(out, "- [ ] **1. ") {
			t.Errorf("%s markdown: code %d, stderr %q, output starts %.200q", rb, code, errs, out)
		}
		if !strings.Contains(errs, "no journal in") {
			t.Errorf("%s: an explicit state dir without a journal should be noted, stderr %q", rb, errs)
		}
		code, out, _ = run(t, "", false, "checklist", "--runbook", rb, "--format", "json", "--family", "debian", "--state-dir", "")
		var doc struct {
			Runbook string
			Steps   []struct {
				ID       string
				Commands map[string][]string
			}
		}
		if err := json.Unmarshal([]byte(out), &doc); code != 0 || err != nil {
			t.Fatalf("%s json: code %d, %v", rb, code, err)
		}
		if doc.Runbook != rb || len(doc.Steps) < 10 {
			t.Errorf("%s json: runbook %q with %d steps", rb, doc.Runbook, len(doc.Steps))
		}
		for _, s := range doc.Steps {
			for f := range s.Commands {
				if f != "debian" {
					t.Errorf("%s step %s: --family debian shows %s commands", rb, s.ID, f)
				}
			}
		}
	}
}

// snapshot records every file under dir: mode, size, modification time and
// content hash.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum := ""
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum = fmt.Sprintf("%x", sha256.Sum256(b))
		}
		out[p] = fmt.Sprintf("%v %d %d %s", info.Mode(), info.Size(), info.ModTime().UnixNano(), sum)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestChecklistIsReadOnly runs the checklist in all three formats against a
// state directory holding a real journal (with a torn last line, which a
// writer would cut off) and a lock, and proves that nothing in the directory
// was created, removed or modified.
func TestChecklistIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	j, _, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	first, second := rb.Steps[0].ID, rb.Steps[1].ID
	for _, ev := range []wizard.Event{
		{Type: wizard.EvRunStarted, Runbook: rb.ID, Hash: rb.Hash},
		{Type: wizard.EvStepStarted, Step: first},
		{Type: wizard.EvStepFinished, Step: first, Status: wizard.StatusOK},
		{Type: wizard.EvStepStarted, Step: second},
		{Type: wizard.EvStepFinished, Step: second, Status: wizard.StatusFailed, Message: "no key"},
	} {
		if _, err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	lock, err := wizard.AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	jf, err := os.OpenFile(filepath.Join(dir, wizard.JournalFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jf.WriteString(`{"seq":6,"type":"step_sta`); err != nil {
		t.Fatal(err)
	}
	jf.Close()
	// Make any rewrite visible in the modification times.
	old := time.Now().Add(-time.Hour)
	_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, _ error) error { return os.Chtimes(p, old, old) })
	before := snapshot(t, dir)

	code, out, errs := run(t, "", false, "checklist", "--runbook", "greenarrow", "--format", "markdown", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "- [x] **1. ") || !strings.Contains(out, "status: ✗ failed") {
		t.Errorf("markdown: code %d, stderr %q, output:\n%.1500s", code, errs, out)
	}
	if !strings.Contains(out, "torn") {
		t.Errorf("the journal's warning about its torn line is not shown")
	}
	// Without --runbook the journal names it.
	code, out, errs = run(t, "", false, "checklist", "--format", "json", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, `"status": "ok"`) || !strings.Contains(out, `"runbook": "greenarrow"`) {
		t.Errorf("json: code %d, stderr %q, output %.500s", code, errs, out)
	}
	// The real TUI path, fed keys through stdin.
	code, _, errs = run(t, "jjGkq", true, "checklist", "--runbook", "greenarrow", "--state-dir", dir)
	if code != 0 {
		t.Errorf("tui: code %d, stderr %q", code, errs)
	}
	// And the view at a real size, through teatest.
	a := newApp(BuildInfo{})
	doc, err := a.loadChecklist(checklistOptions{runbook: "greenarrow", stateDir: dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tm := teatest.NewTestModel(t, tui.NewChecklist(doc), teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.NoTTY)))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("✗")) },
		teatest.WithDuration(10*time.Second))
	for _, k := range "jjjG?xgq" {
		tm.Send(tea.KeyPressMsg{Code: k, Text: string(k)})
	}
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	after := snapshot(t, dir)
	for p, v := range before {
		if after[p] != v {
			t.Errorf("%s changed: %s -> %s", p, v, after[p])
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s was created", p)
		}
	}
}

// TestStartOverOnRunAndDemo: the way forward the lost-journal refusal names
// (--start-over) is a flag of both commands that can meet it.
func TestStartOverOnRunAndDemo(t *testing.T) {
	for _, c := range []string{"run", "demo"} {
		code, out, errOut := run(t, "", false, c, "--help")
		if code != 0 || !strings.Contains(out+errOut, "--start-over") {
			t.Errorf("ferry %s --help: exit %d, no --start-over in:\n%s%s", c, code, out, errOut)
		}
	}
}
