package tui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/wizard"
)

type statusMap map[string]wizard.Status

func (m statusMap) Status(id string) wizard.Status { return m[id] }

func testRunbook() *wizard.Runbook {
	long := strings.Repeat("The queue is merged message by message so that every file gets the name the new queue expects. ", 6)
	rb := &wizard.Runbook{
		ID: "sample", Title: "Sample mail server migration", Vendor: "Sample Vendor guide",
		Phases: []wizard.Phase{
			{ID: "preflight", Title: "Preflight", Help: "Read-only checks."},
			{ID: "sync", Title: "Hot sync"},
			{ID: "cutover", Title: "Cutover"},
		},
		Steps: []wizard.Step{
			{ID: "root", Phase: "preflight", Title: "Running as root on the new server", Host: "new", Level: "check",
				Kind: "check-root", Help: "ferry changes system files, so it must run as root.",
				Success: &wizard.Check{Text: "The effective user id is 0."}, Vendor: "Requirements"},
			{ID: "ssh", Phase: "preflight", Title: "SSH to the old server", Host: "new", Level: "check", Kind: "ssh-connect",
				Ask: []wizard.Question{{Key: "old_ip", Prompt: "Address of the old server", Type: "ip"}}},
			{ID: "ruby", Phase: "preflight", Title: "Install ruby", Host: "new", Level: "auto", Kind: "install-packages",
				Commands: map[string][]wizard.Command{
					"rhel":   {{Argv: []string{"yum", "install", "-y", "ruby"}}},
					"debian": {{Argv: []string{"apt-get", "install", "-y", "--no-install-recommends", "ruby", "wget"}}},
				}, When: `{{ eq .Facts.ruby "missing" }}`},
			{ID: "pass1", Phase: "sync", Title: "Migration script, first pass", Host: "new", Level: "auto", Kind: "command",
				Repeatable: true, SafeToRerun: true,
				Commands: map[string][]wizard.Command{"any": {{Argv: []string{"/var/hvmail/bin/hvmail_server_migration", "--no-exit-on-error", "--a-rather-long-option=/var/hvmail/some/deep/path/to/a/file"}}}}},
			{ID: "stop-old", Phase: "cutover", Title: "Stop the mail service on the old server", Host: "old", Level: "auto",
				Kind: "command", Destructive: true, Downtime: "start",
				Commands:     map[string][]wizard.Command{"any": {{Shell: "service sample stop && chkconfig sample off"}}},
				Precondition: &wizard.Check{Text: "The first pass finished without errors."},
				Help:         long, Vendor: "Migration procedure, step 15"},
			{ID: "merge", Phase: "cutover", Title: "Merge the disk queue", Host: "new", Level: "auto", Kind: "queue-merge"},
			{ID: "start-new", Phase: "cutover", Title: "Start the mail service on the new server", Host: "new", Level: "auto",
				Kind: "command", Downtime: "end"},
		},
	}
	for i := range 20 {
		rb.Steps = append(rb.Steps, wizard.Step{ID: "extra-" + string(rune('a'+i)), Phase: "cutover",
			Title: "Further step number " + string(rune('A'+i)), Host: "new", Level: "manual", Kind: "manual"})
	}
	return rb
}

func testDoc(t *testing.T, st checklist.Statuses) *checklist.Doc {
	t.Helper()
	d, err := checklist.Build(testRunbook(), checklist.Options{State: st, StateDir: "/state"})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func press(m tea.Model, keys ...string) tea.Model {
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "down":
			msg = tea.KeyPressMsg{Code: tea.KeyDown}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "pgdown":
			msg = tea.KeyPressMsg{Code: tea.KeyPgDown}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		default:
			msg = tea.KeyPressMsg{Code: rune(k[0]), Text: k}
		}
		m, _ = m.Update(msg)
	}
	return m
}

func sized(m tea.Model, w, h int) tea.Model {
	m, _ = m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	return m
}

func screen(t *testing.T, m tea.Model) string {
	t.Helper()
	out := ansi.Strip(m.View().Content)
	lines := strings.Split(out, "\n")
	if len(lines) != 24 {
		t.Errorf("screen has %d lines, want 24", len(lines))
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w > 80 {
			t.Errorf("line %d is %d columns wide: %q", i+1, w, l)
		}
	}
	return out
}

func TestChecklistViewGolden(t *testing.T) {
	st := statusMap{"root": wizard.StatusOK, "ssh": wizard.StatusOK, "ruby": wizard.StatusSkipped, "pass1": wizard.StatusFailed}
	t.Run("first", func(t *testing.T) {
		// Opened on a migration, the view selects the step it is at
		// (here the failed one), not the first.
		m := sized(NewChecklist(testDoc(t, st)), 80, 24)
		out := screen(t, m)
		if !strings.Contains(out, "›✗ ") || !strings.Contains(out, "4. Migration script, first pass") {
			t.Errorf("the migration's current step is not selected:\n%s", out)
		}
		m = press(m, "g")
		if out = screen(t, m); !strings.Contains(out, "›✓ ") || !strings.Contains(out, "1. Running as root on the new server") {
			t.Errorf("g does not select the first step:\n%s", out)
		}
		golden.RequireEqual(t, out)
	})
	t.Run("destructive", func(t *testing.T) {
		m := sized(NewChecklist(testDoc(t, st)), 80, 24)
		m = press(m, "g", "down", "down", "down", "down")
		if got := m.(Checklist).Selected(); got != "stop-old" {
			t.Fatalf("selected %q, want stop-old", got)
		}
		out := screen(t, m)
		for _, want := range []string{"⚠ Stops mail on the old server", "⏱ Downtime starts here", "more lines (tab to scroll)"} {
			if !strings.Contains(out, want) {
				t.Errorf("screen lacks %q:\n%s", want, out)
			}
		}
		golden.RequireEqual(t, out)
	})
	t.Run("detail-scrolled", func(t *testing.T) {
		m := sized(NewChecklist(testDoc(t, st)), 80, 24)
		m = press(m, "g", "down", "down", "down", "down", "tab", "pgdown", "pgdown", "pgdown")
		out := screen(t, m)
		if !strings.Contains(out, "Vendor: Migration procedure, step 15") || !strings.Contains(out, "(end;") {
			t.Errorf("detail not scrolled to its end:\n%s", out)
		}
		golden.RequireEqual(t, out)
	})
	t.Run("list-end", func(t *testing.T) {
		m := sized(NewChecklist(testDoc(t, nil)), 80, 24)
		m = press(m, "G")
		out := screen(t, m)
		if got := m.(Checklist).Selected(); got != "extra-t" {
			t.Errorf("G selected %q, want the last step", got)
		}
		if strings.Contains(out, "Status") || strings.Contains(out, "done ·") {
			t.Errorf("status shown without a journal:\n%s", out)
		}
		golden.RequireEqual(t, out)
	})
	t.Run("help", func(t *testing.T) {
		m := sized(NewChecklist(testDoc(t, nil)), 80, 24)
		m = press(m, "?")
		out := screen(t, m)
		if !strings.Contains(out, "✗ failed") || !strings.Contains(out, "cannot run or change anything") {
			t.Errorf("help screen:\n%s", out)
		}
		m = press(m, "x")
		if strings.Contains(ansi.Strip(m.View().Content), "Marks") {
			t.Error("a key did not leave the help screen")
		}
		golden.RequireEqual(t, out)
	})
}

func TestChecklistNavigationBounds(t *testing.T) {
	m := sized(NewChecklist(testDoc(t, nil)), 80, 24)
	m = press(m, "up", "k")
	if got := m.(Checklist).Selected(); got != "root" {
		t.Errorf("up at the top moved to %q", got)
	}
	m = press(m, "j", "j")
	if got := m.(Checklist).Selected(); got != "ruby" {
		t.Errorf("j j selected %q, want ruby", got)
	}
	m = press(m, "pgdown", "pgdown", "pgdown")
	if got := m.(Checklist).Selected(); got != "extra-t" {
		t.Errorf("pgdown past the end selected %q", got)
	}
	m = press(m, "g")
	if got := m.(Checklist).Selected(); got != "root" {
		t.Errorf("g selected %q", got)
	}
	// The selected row stays on screen all the way down.
	for range 20 {
		m = press(m, "down")
		c := m.(Checklist)
		if !strings.Contains(ansi.Strip(m.View().Content), "›") {
			t.Fatalf("selected row %s scrolled off screen", c.Selected())
		}
	}
}

func TestChecklistSmallAndEmpty(t *testing.T) {
	for _, size := range [][2]int{{0, 0}, {10, 3}, {40, 10}, {200, 60}} {
		m := sized(NewChecklist(testDoc(t, nil)), size[0], size[1])
		out := ansi.Strip(m.View().Content)
		for i, l := range strings.Split(out, "\n") {
			if ansi.StringWidth(l) > size[0] {
				t.Errorf("%dx%d: line %d too wide: %q", size[0], size[1], i, l)
			}
		}
		if n := strings.Count(out, "\n") + 1; size[1] > 0 && n != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], n)
		}
	}
	m := sized(NewChecklist(&checklist.Doc{Runbook: "empty"}), 80, 24)
	m = press(m, "down", "G", "tab", "down")
	if !strings.Contains(ansi.Strip(m.View().Content), "no steps") {
		t.Error("an empty runbook should say it has no steps")
	}
}

func TestChecklistLightAndNoColor(t *testing.T) {
	m := sized(NewChecklist(testDoc(t, nil)), 80, 24)
	dark := m.View().Content
	m, _ = m.Update(tea.BackgroundColorMsg{Color: colorWhite{}})
	light := m.View().Content
	if dark == light {
		t.Error("a light background should change the colours")
	}
	if ansi.Strip(dark) != ansi.Strip(light) {
		t.Error("the background must change colours only, not text")
	}
	// Without colour the selected row is still marked by text.
	if !strings.Contains(ansi.Strip(light), "›·") {
		t.Error("the selected row has no textual marker")
	}
}

type colorWhite struct{}

func (colorWhite) RGBA() (r, g, b, a uint32) { return 0xffff, 0xffff, 0xffff, 0xffff }

func TestChecklistTeatestFlow(t *testing.T) {
	st := statusMap{"root": wizard.StatusOK}
	tm := teatest.NewTestModel(t, NewChecklist(testDoc(t, st)),
		teatest.WithInitialTermSize(80, 24),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.NoTTY)))
	wait := func(s string) {
		t.Helper()
		teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(s)) },
			teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(20*time.Millisecond))
	}
	wait("Running as root on the new server")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
	tm.Send(tea.KeyPressMsg{Code: 'j', Text: "j"})
	wait("Applies only when the fact ruby")
	tm.Send(tea.KeyPressMsg{Code: 'q', Text: "q"})
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second))
	if got := fm.(Checklist).Selected(); got != "ruby" {
		t.Errorf("final selection %q, want ruby", got)
	}
}

func TestChecklistCtrlCInterrupts(t *testing.T) {
	m := sized(NewChecklist(testDoc(t, nil)), 80, 24)
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl})
	if cmd == nil {
		t.Fatal("ctrl+c returned no command")
	}
	if _, ok := cmd().(tea.InterruptMsg); !ok {
		t.Errorf("ctrl+c should interrupt")
	}
	_, cmd = m.Update(tea.KeyPressMsg{Code: 'q', Text: "q"})
	if cmd == nil {
		t.Fatal("q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Errorf("q should quit")
	}
}

// TestChecklistTakesANewerDoc: a newer build of the same checklist
// (ferry checklist following a runner) replaces the statuses and keeps
// the cursor; one of another runbook (another number of steps) is ignored.
func TestChecklistTakesANewerDoc(t *testing.T) {
	m := sized(NewChecklist(testDoc(t, statusMap{"root": wizard.StatusOK})), 80, 24)
	m = press(m, "down", "down")
	sel := m.(Checklist).Selected()
	m, _ = m.Update(ChecklistDocMsg{Doc: testDoc(t, statusMap{"root": wizard.StatusOK, "ssh": wizard.StatusOK, "pass1": wizard.StatusRunning})})
	c := m.(Checklist)
	if c.Selected() != sel {
		t.Errorf("selected %q after the newer doc, want %q", c.Selected(), sel)
	}
	got := map[string]wizard.Status{}
	for _, s := range c.doc.Steps {
		got[s.ID] = s.Status
	}
	if got["ssh"] != wizard.StatusOK || got["pass1"] != wizard.StatusRunning {
		t.Errorf("statuses after the newer doc: %v", got)
	}
	other := testDoc(t, nil)
	other.Steps = other.Steps[:3]
	m, _ = m.Update(ChecklistDocMsg{Doc: other})
	if len(m.(Checklist).doc.Steps) == 3 {
		t.Error("a doc with another number of steps replaced the view's")
	}
}

// TestChecklistFollowsTheRunUntilMoved: a newer document (what ferry
// checklist sends every second while a runner runs) moves the selection
// to the step the run is at, and its notes (the runner's sentence) show
// under the header; once the admin moves, the selection stays where they
// put it.
func TestChecklistFollowsTheRunUntilMoved(t *testing.T) {
	build := func(st statusMap, notes ...string) *checklist.Doc {
		d, err := checklist.Build(testRunbook(), checklist.Options{State: st, StateDir: "/state", Notes: notes})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	m := sized(NewChecklist(build(statusMap{})), 80, 24)
	if got := m.(Checklist).Selected(); got != "root" {
		t.Fatalf("nothing under way, yet %q selected", got)
	}
	live := "live: a runner (pid 42) runs this migration; step stop-old is running"
	m, _ = m.Update(ChecklistDocMsg{Doc: build(statusMap{"root": wizard.StatusOK, "ssh": wizard.StatusOK, "ruby": wizard.StatusOK, "pass1": wizard.StatusOK, "stop-old": wizard.StatusRunning}, live)})
	if got := m.(Checklist).Selected(); got != "stop-old" {
		t.Errorf("the selection did not follow the run: %q", got)
	}
	out := screen(t, m)
	if lines := strings.Split(out, "\n"); len(lines) < 2 || !strings.Contains(lines[1], "live: a runner (pid 42)") {
		t.Errorf("the runner's sentence is not under the header:\n%s", out)
	}
	m = press(m, "up")
	m, _ = m.Update(ChecklistDocMsg{Doc: build(statusMap{"root": wizard.StatusOK, "ssh": wizard.StatusOK, "ruby": wizard.StatusOK, "pass1": wizard.StatusOK, "stop-old": wizard.StatusOK, "merge": wizard.StatusRunning}, live)})
	if got := m.(Checklist).Selected(); got != "pass1" {
		t.Errorf("the selection moved away from the admin's choice: %q", got)
	}
}
