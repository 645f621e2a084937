package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ferry-migrate/ferry/wizard"
)

// manyCommandsRun is the test runbook with a destructive step of twenty
// commands: more than an 80x24 pane holds.
func manyCommandsRun(t *testing.T) (*RunModel, *runRecorder) {
	t.Helper()
	rb := runTestRunbook()
	var cmds []wizard.Command
	for i := 1; i <= 20; i++ {
		cmds = append(cmds, wizard.Command{Argv: []string{"rm", "-f", fmt.Sprintf("/var/hvmail/queue/mess/%d/old-%02d", i, i)}})
	}
	rb.Steps[3].Commands = map[string][]wizard.Command{"any": cmds}
	rec := &runRecorder{}
	m := NewRun(RunOptions{
		Runbook: rb, Decide: rec.decide,
		OldName: "mail-old.example.net (old)", NewName: "mail-new.example.net (new)",
		Started: runAt(90 * time.Minute), Now: func() time.Time { return runT0 },
	})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	evs := preflightDone()
	evs = append(evs, finished("hot-sync", runAt(20*time.Minute), 12*time.Minute)...)
	evs = append(evs, outputLines("hot-sync", 3)...)
	feed(m, append(evs, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old"})...)
	return m, rec
}

func checkScreen(t *testing.T, out string, w, h int) {
	t.Helper()
	if n := strings.Count(out, "\n") + 1; n != h {
		t.Errorf("screen has %d lines, want %d", n, h)
	}
	for i, l := range strings.Split(out, "\n") {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, lw, w, l)
		}
	}
}

// TestRunConfirmScrollsEveryCommandBeforeTyping: at 80x24 the twenty
// commands of a destructive step can all be read in the pane before the
// word is typed: the arrow and page keys scroll them while the field has
// the focus, and neither they nor ? land in the field.
func TestRunConfirmScrollsEveryCommandBeforeTyping(t *testing.T) {
	m, rec := manyCommandsRun(t)
	first := runScreen(m)
	if !strings.Contains(first, "old-01") || strings.Contains(first, "old-20") {
		t.Fatalf("the first screen should show the first command and not the last:\n%s", first)
	}
	if !m.input.Focused() {
		t.Fatal("the field does not have the focus")
	}
	seen := map[string]bool{}
	for range 30 {
		for i := 1; i <= 20; i++ {
			if strings.Contains(runScreen(m), fmt.Sprintf("old-%02d", i)) {
				seen[fmt.Sprintf("%02d", i)] = true
			}
		}
		m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	}
	if len(seen) != 20 {
		t.Fatalf("scrolling showed %d of the 20 commands: %v", len(seen), seen)
	}
	typeText(m, "?")
	if m.overlay != overlayHelp {
		t.Fatal("? did not open the help while typing")
	}
	keys(m, "esc") // any key leaves the help
	m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	m.Update(tea.KeyPressMsg{Code: tea.KeyPgDown})
	for range 30 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	}
	typeText(m, "mail-ol")
	if got := m.input.Value(); got != "mail-ol" {
		t.Fatalf("the field holds %q, want only the typed word", got)
	}
	out := runScreen(m)
	checkScreen(t, out, 80, 24)
	if !strings.Contains(out, "old-20") || !strings.Contains(out, "of 20") {
		t.Errorf("scrolled to the end, the last command is not in view:\n%s", out)
	}
	golden.RequireEqual(t, []byte(out))
	typeText(m, "d")
	keys(m, "enter")
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActConfirm || d[0].Text != "mail-old" {
		t.Fatalf("decisions %+v", d)
	}
}

// TestRunRecordOfAPastStep: v opens the whole current step; ← goes back to
// a finished step, whose record shows its help, its plan and what it
// printed; esc returns to the run.
func TestRunRecordOfAPastStep(t *testing.T) {
	m, _ := manyCommandsRun(t)
	// The field has the focus and v is a letter a name may hold: esc
	// first.
	keys(m, "esc", "v")
	if m.overlay != overlayRecord || m.recordStep != "stop-old" {
		t.Fatalf("v opened overlay %d on %q", m.overlay, m.recordStep)
	}
	whole := strings.Join(m.recordLines("stop-old", 78), "\n")
	for i := 1; i <= 20; i++ {
		if !strings.Contains(whole, fmt.Sprintf("old-%02d", i)) {
			t.Fatalf("the record lacks command %d:\n%s", i, whole)
		}
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyLeft})
	if m.recordStep != "hot-sync" {
		t.Fatalf("← showed %q, want hot-sync", m.recordStep)
	}
	out := runScreen(m)
	checkScreen(t, out, 80, 24)
	for _, want := range []string{"ferry · the whole step 3.", "3. Copy the mail store (hot pass)", "✓ done", "What it does", "What runs", "rsync", "var/hvmail/queue/mess/"} {
		if !strings.Contains(out, want) {
			t.Errorf("the record of the hot pass lacks %q:\n%s", want, out)
		}
	}
	golden.RequireEqual(t, []byte(out))
	keys(m, "esc")
	if m.overlay != overlayNone || m.current != "stop-old" {
		t.Fatalf("esc left overlay %d, current %q", m.overlay, m.current)
	}
}

// TestRunGateOffersRerunOverrideSkip: a gated step says what did not pass
// and takes r (run them again), o with a reason (override), s (skip).
func TestRunGateOffersRerunOverrideSkip(t *testing.T) {
	gate := wizard.Event{Type: wizard.EvWaiting, Step: "vendor", Need: wizard.NeedGate,
		Message: "this step runs only after these steps passed, and they have not: DNS resolvers (skipped)"}
	m, rec := newTestRun(t, nil, 80, 24, gate)
	out := runScreen(m)
	if !strings.Contains(out, "DNS resolvers (skipped)") || !strings.Contains(out, "o: override") {
		t.Fatalf("the gate is not explained:\n%s", out)
	}
	keys(m, "o", "enter")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("an override without a reason was sent: %+v", d)
	}
	typeText(m, "tested by hand")
	keys(m, "enter")
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActOverride || d[0].Reason != "tested by hand" {
		t.Fatalf("decisions %+v", d)
	}
	m, rec = newTestRun(t, nil, 80, 24, gate)
	keys(m, "r")
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActRetry {
		t.Fatalf("r sent %+v", d)
	}
}

// TestRunNoteShowsWithQuestions: the note (the demo's answers) is on the
// screen while a question is asked.
func TestRunNoteShowsWithQuestions(t *testing.T) {
	rec := &runRecorder{}
	m := NewRun(RunOptions{Runbook: runTestRunbook(), Decide: rec.decide, Note: "Demo: the answers for the questions: port 2222",
		Now: func() time.Time { return runT0 }})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedAnswers, Questions: runTestRunbook().Step("ssh").Ask})
	if out := runScreen(m); !strings.Contains(out, "Demo: the answers for the questions: port 2222") {
		t.Fatalf("the note is not on the screen:\n%s", out)
	}
}

// TestFormThemeOptionsReadable: the choices not selected are drawn in the
// terminal's own colour in light and dark themes alike (huh's Charm theme
// greys them out of sight).
func TestFormThemeOptionsReadable(t *testing.T) {
	for _, dark := range []bool{true, false} {
		th := formTheme(dark)
		for name, fg := range map[string]any{
			"option": th.Focused.Option.GetForeground(), "unselected": th.Focused.UnselectedOption.GetForeground(),
			"blurred unselected": th.Blurred.UnselectedOption.GetForeground(), "button": th.Focused.BlurredButton.GetForeground(),
		} {
			if _, none := fg.(lipgloss.NoColor); !none {
				t.Errorf("dark=%v: %s drawn in %v, want the terminal's own colour", dark, name, fg)
			}
		}
	}
}

// TestRunChangeWrongAnswerAfterFailure (teatest, 80x24): the step failed
// with a wrong address; r retries and the question comes back with the
// answer in use filled in; the admin clears it and types the right one,
// which is what is sent. The screen with the corrected answer is golden.
func TestRunChangeWrongAnswerAfterFailure(t *testing.T) {
	tm, ch, rec := startRunProgram(t, nil, 80, 24)
	ch <- wizard.Event{Type: wizard.EvStepStarted, Step: "ssh", Pass: 1, Time: runAt(time.Minute)}
	ch <- wizard.Event{Type: wizard.EvStepFinished, Step: "ssh", Status: wizard.StatusFailed, Time: runAt(50 * time.Second),
		Duration: 10 * time.Second, Message: "cannot reach 192.0.2.1:22: connection refused"}
	ch <- wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedFailure, Message: "cannot reach 192.0.2.1:22: connection refused"}
	waitOutput(t, tm, "r: retry")
	tm.Send(tea.KeyPressMsg{Code: 'r', Text: "r"})
	if d := waitDecisions(t, rec, 1); d[0].Action != wizard.ActRetry {
		t.Fatalf("r sent %+v", d[0])
	}
	qs := runTestRunbook().Step("ssh").Ask
	qs[0].Default, qs[1].Default = "22", "192.0.2.1"
	ch <- wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedAnswers, Questions: qs,
		Answers: map[string]string{"old_port": "22", "old_ip": "192.0.2.1"},
		Message: "the step failed (cannot reach 192.0.2.1:22): change an answer that caused it, or keep it (enter)"}
	waitOutput(t, tm, "SSH port of the old server")
	// The port was wrong: clear the filled-in 22, type 2222.
	tm.Send(tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl})
	tm.Type("2222")
	// The renderer writes only what changed, so "2222" may never appear
	// whole in the output stream: the keys and the quit are handled in
	// order, and the final model is read instead.
	tm.Quit()
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(*RunModel)
	out := runScreen(fm)
	checkScreen(t, out, 80, 24)
	if !strings.Contains(out, "2222") || !strings.Contains(out, "✗ failed") {
		t.Errorf("the corrected answer or the failure is not on the screen:\n%s", out)
	}
	golden.RequireEqual(t, []byte(out))
	fm.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
}

// TestRunSkipAStepThatAsks: a step waiting for answers can be skipped: esc
// leaves the form, s asks the reason and sends the skip; enter comes back
// to the form.
func TestRunSkipAStepThatAsks(t *testing.T) {
	tm, ch, rec := startRunProgram(t, nil, 80, 24)
	ch <- wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedAnswers, Questions: runTestRunbook().Step("ssh").Ask}
	waitOutput(t, tm, "SSH port of the old server")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	waitOutput(t, tm, "s: skip the step")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "esc: skip, view, help")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEscape})
	tm.Send(tea.KeyPressMsg{Code: 's', Text: "s"})
	waitOutput(t, tm, "Why skip this step?")
	tm.Type("checked by hand")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	d := waitDecisions(t, rec, 1)
	if d[0].Action != wizard.ActSkip || d[0].Reason != "checked by hand" || d[0].Step != "ssh" {
		t.Fatalf("decision %+v, want the skip of ssh with the reason", d[0])
	}
}
