package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/wizard"
)

func TestRunRefusedConfirmationClearsTheField(t *testing.T) {
	m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old",
		Need: wizard.NeedConfirm, Word: "vm"})
	typeText(m, "yesvm")
	keys(m, "enter")
	if v := m.input.Value(); v != "" {
		t.Fatalf("after a refusal the field holds %q, want it empty", v)
	}
	typeText(m, "vm")
	keys(m, "enter")
	if d := rec.all(); len(d) != 1 || d[0].Text != "vm" || d[0].Action != wizard.ActConfirm {
		t.Fatalf("decisions = %+v, want one confirm with vm", d)
	}
}

func TestRunDestructiveManualStepNeedsTheWord(t *testing.T) {
	m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvWaiting, Step: "vendor",
		Need: wizard.NeedManual, Word: "old:mail"})
	if scr := runScreen(m); !strings.Contains(scr, "type old:mail") {
		t.Errorf("the destructive manual step does not say which word to type:\n%s", scr)
	}
	// The banner says what the step does and where (wizard.Harm: a manual
	// step changes its server), and not that nothing can undo it (a stop
	// step's help says how to undo it).
	if scr := runScreen(m); !strings.Contains(scr, "⚠ Changes mail-new.example.net (new).") || strings.Contains(scr, "cannot undo") {
		t.Errorf("the destructive manual step's banner is not the truthful one:\n%s", scr)
	}
	if !m.input.Focused() {
		t.Fatal("the field asked for is not ready to take the word")
	}
	keys(m, "d")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("d alone sent %+v for a destructive manual step", d)
	}
	m.input.SetValue("")
	typeText(m, "old:ma")
	// What is typed shows (the field was once left off the screen).
	if scr := runScreen(m); !strings.Contains(scr, "old:ma") || !strings.Contains(scr, "esc: leave the input") {
		t.Errorf("the typed word is not on the screen:\n%s", scr)
	}
	keys(m, "esc")
	keys(m, "enter")
	if !m.input.Focused() {
		t.Error("enter does not open the field again")
	}
	m.input.SetValue("")
	typeText(m, "mail")
	keys(m, "enter")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("a wrong word sent %+v", d)
	}
	typeText(m, "old:mail")
	keys(m, "enter")
	d := rec.all()
	if len(d) != 1 || d[0].Action != wizard.ActDone || d[0].Text != "old:mail" || d[0].Step != "vendor" {
		t.Fatalf("decisions = %+v, want one done of vendor with old:mail", d)
	}
}

// TestRunDestructiveManualWordTakesEveryKey: at a destructive manual step
// the word is typed straight into the field the screen shows, even when
// it holds letters that are keys elsewhere (s skips, q stops, v shows the
// step, d is done): a server named "mx-sqvd1" is confirmed, not skipped
// with "qvd1" as the reason.
func TestRunDestructiveManualWordTakesEveryKey(t *testing.T) {
	for _, need := range []string{wizard.NeedManual, wizard.NeedConfirm} {
		m, rec := newTestRun(t, nil, 100, 30, wizard.Event{Type: wizard.EvWaiting, Step: "vendor",
			Need: need, Word: "mx-sqvd1.example.net"})
		typeText(m, "mx-sqvd1.example.net")
		keys(m, "enter")
		d := rec.all()
		want := wizard.ActDone
		if need == wizard.NeedConfirm {
			want = wizard.ActConfirm
		}
		if len(d) != 1 || d[0].Action != want || d[0].Text != "mx-sqvd1.example.net" {
			t.Errorf("%s: decisions = %+v, want one %s with the whole word", need, d, want)
		}
	}
}

// TestRunManualStepDoneNeedsASecondKey: at a manual step, d asks whether
// it is done and only y or enter says so; a word typed ahead (a server's
// name, with a d in it) or a stray d signs nothing off.
func TestRunManualStepDoneNeedsASecondKey(t *testing.T) {
	m, rec := newTestRun(t, nil, 100, 30, wizard.Event{Type: wizard.EvWaiting, Step: "vendor", Need: wizard.NeedManual})
	typeText(m, "mail-old.example.net")
	keys(m, "enter")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("typed-ahead keys sent %+v", d)
	}
	keys(m, "esc") // the word's "l" opened the log
	keys(m, "d", "x")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("a stray d sent %+v", d)
	}
	keys(m, "d")
	if scr := runScreen(m); !strings.Contains(scr, "Is it done? y or enter") {
		t.Errorf("d does not ask whether it is done:\n%s", scr)
	}
	keys(m, "y")
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActDone {
		t.Fatalf("decisions = %+v, want one done", d)
	}
}

// TestRunDemotedScreenOnlyWatches: when another screen takes control
// (ReadOnlyMsg), an open prompt closes and no key sends a decision.
func TestRunDemotedScreenOnlyWatches(t *testing.T) {
	m, rec := newTestRun(t, nil, 100, 30, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "vm"})
	m.Update(ReadOnlyMsg{})
	if m.input.Focused() {
		t.Error("the word's field is still open on a screen that only watches")
	}
	typeText(m, "vm")
	keys(m, "enter", "s", "d", "y")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("a demoted screen sent %+v", d)
	}
}

// After a failure the engine puts the step's questions again with the
// answers in use as defaults: enter keeps one, typing changes another.
func TestRunAnswersPutAgainArePrefilled(t *testing.T) {
	tm, ch, rec := startRunProgram(t, nil, 120, 40)
	qs := runTestRunbook().Step("ssh").Ask
	qs[0].Default, qs[1].Default = "22", "192.0.2.1"
	ch <- wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedAnswers, Questions: qs,
		Answers: map[string]string{"old_port": "22", "old_ip": "192.0.2.1"}, Message: "the step failed"}
	waitOutput(t, tm, "SSH port of the old server")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "IP address of the old server")
	tm.Type("192.0.2.10")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	d := waitDecisions(t, rec, 1)
	if d[0].Action != wizard.ActAnswer || d[0].Answer["old_port"] != "22" || d[0].Answer["old_ip"] != "192.0.2.10" {
		t.Fatalf("decision = %+v, want the port kept (22) and the address changed", d[0])
	}
}

// The step that starts the downtime shows the forecast before its word is
// typed; once the window is open it is gone.
func TestRunConfirmShowsTheDowntimeForecast(t *testing.T) {
	basis := "expected downtime about 12s plus merge, which nothing before the window can time"
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvFact, Step: "stop-old", Facts: map[string]string{wizard.FactDowntimeForecastBasis: basis}},
		wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old"})
	if scr := strings.Join(strings.Fields(runScreen(m)), " "); !strings.Contains(scr, "Expected downtime about 12s plus merge") {
		t.Errorf("no forecast at the stop's confirmation:\n%s", runScreen(m))
	}
	feed(m, wizard.Event{Type: wizard.EvDowntimeStart, Step: "stop-old", Time: runT0})
	if strings.Contains(runScreen(m), "Expected downtime") {
		t.Error("the forecast stays after the window began")
	}
}

// A step held back before it ran (a secret refused before the downtime
// opens) is not called failed; one that ran and failed is.
func TestRunFailureHeadSaysWhetherTheStepRan(t *testing.T) {
	held := wizard.Event{Type: wizard.EvWaiting, Step: "vendor", Need: wizard.NeedFailure,
		Message: "db_password was refused before the downtime. Nothing was stopped yet: retry to type it again"}
	m, _ := newTestRun(t, nil, 100, 30, held)
	if scr := runScreen(m); !strings.Contains(scr, "cannot go on") || strings.Contains(scr, "The step failed") {
		t.Errorf("a step that did not run reads as failed:\n%s", scr)
	}
	m, _ = newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvStepStarted, Step: "vendor", Pass: 1},
		wizard.Event{Type: wizard.EvStepFinished, Step: "vendor", Status: wizard.StatusFailed, Message: "boom"},
		wizard.Event{Type: wizard.EvWaiting, Step: "vendor", Need: wizard.NeedFailure, Message: "boom"})
	if scr := runScreen(m); !strings.Contains(scr, "The step failed") {
		t.Errorf("a step that ran and failed does not say so:\n%s", scr)
	}
}

// An observer of a step that starts the downtime reads what the step does,
// the forecast and the word it waits for once each, though the engine's
// message restates the harm and the forecast (it is for plain output).
func TestRunObserverSaysEachThingOnce(t *testing.T) {
	basis := "expected downtime about 12s (Stop the mail service: 2s, as it last ran)"
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvFact, Step: "stop-old", Facts: map[string]string{wizard.FactDowntimeForecastBasis: basis}})
	m.o.ReadOnly = true
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old",
		Message: "Stops mail on the old server (mail-old) (" + basis + "): type \"mail-old\" to go ahead"})
	// The step pane's words, with the wraps undone.
	scr := strings.Join(strings.Fields(ansi.Strip(strings.Join(m.paneLines(), " "))), " ")
	for _, once := range []string{"xpected downtime about 12s", "Stops mail on mail-old.example.net (old).", "to type mail-old."} {
		if n := strings.Count(scr, once); n != 1 {
			t.Errorf("the observer shows %q %d times, want once:\n%s", once, n, runScreen(m))
		}
	}
}

// A word the step's task asks for while it runs (rsync would delete more
// than the unconfirmed limit) shows the task's own words, what it would
// delete, not the step's harm (an rsync step is not destructive).
func TestRunDeletionsConfirmSaysWhatGoes(t *testing.T) {
	msg := "the copy of /var/hvmail/ would delete 1500 entries on the new server, more than the 1000 ferry lets through unconfirmed (first: a, b)"
	word := wizard.DeletionsWord(1500)
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runAt(time.Minute)},
		wizard.Event{Type: wizard.EvWaiting, Step: "hot-sync", Need: wizard.NeedConfirm, Word: word,
			Message: msg + fmt.Sprintf(": type %q to let it", word)})
	scr := strings.Join(strings.Fields(ansi.Strip(strings.Join(m.paneLines(), " "))), " ")
	if !strings.Contains(scr, "⚠ "+msg+".") || strings.Contains(scr, "to let it") || strings.Contains(scr, "Changes") {
		t.Errorf("the deletions' confirmation does not say what goes, once:\n%s", runScreen(m))
	}
	if !strings.Contains(scr, "Type delete 1500 and press enter") {
		t.Errorf("the word to type is not asked:\n%s", runScreen(m))
	}
}

// TestRunForecastScrollsUnderThePrompt: at 80x24 a forecast of ten steps
// (BlueMind's) does not push the harm banner or the word off the pane:
// both stay in view with the forecast's headline under them, pgup/pgdn
// (which the footer offers) page through its details while the field has
// the focus, without landing in it, and v shows it whole.
func TestRunForecastScrollsUnderThePrompt(t *testing.T) {
	var parts []string
	for i := 1; i <= 10; i++ {
		parts = append(parts, fmt.Sprintf("Step number %02d of the window: %d00ms, as a step like it ran", i, i))
	}
	basis := "expected downtime at least 4s for ferry's own steps, plus your own time on 3 manual steps; by step: " + strings.Join(parts, "; ")
	m, _ := newTestRun(t, nil, 80, 24,
		wizard.Event{Type: wizard.EvFact, Step: "stop-old", Facts: map[string]string{wizard.FactDowntimeForecastBasis: basis}},
		wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old"})
	seen := map[string]bool{}
	for range 12 {
		scr := runScreen(m)
		checkScreen(t, scr, 80, 24)
		flat := strings.Join(strings.Fields(scr), " ")
		for _, want := range []string{"⚠ Stops mail on mail-old.example.net (old).", "Type mail-old and press enter", "Expected downtime at least 4s for", "pgup/pgdn forecast"} {
			if !strings.Contains(flat, want) {
				t.Fatalf("%q is not in view:\n%s", want, scr)
			}
		}
		for i := 1; i <= 10; i++ {
			if strings.Contains(scr, fmt.Sprintf("Step number %02d", i)) {
				seen[fmt.Sprint(i)] = true
			}
		}
		m.Update(tea.KeyPressMsg{Code: tea.KeyPgDown})
	}
	if len(seen) != 10 {
		t.Errorf("pgdn showed %d of the 10 steps of the forecast: %v", len(seen), seen)
	}
	if v := m.input.Value(); v != "" {
		t.Errorf("the keys landed in the field: %q", v)
	}
	m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	for range 12 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyPgUp})
	}
	if scr := runScreen(m); !strings.Contains(scr, "Step number 01") {
		t.Errorf("pgup does not come back to the first step:\n%s", scr)
	}
	whole := strings.Join(m.recordLines("stop-old", 78), "\n")
	for i := 1; i <= 10; i++ {
		if !strings.Contains(whole, fmt.Sprintf("Step number %02d", i)) {
			t.Errorf("the whole step (v) lacks step %d of the forecast:\n%s", i, whole)
		}
	}
}

// TestRunShortPaneKeepsTheWholeTitle: when the pane is too short for the
// step, the lines dropped are in the middle; a title of two lines keeps
// both ("41. ⚠ Remove GreenArrow's licences from the old" was once
// followed by whatever line came next instead of "server").
func TestRunShortPaneKeepsTheWholeTitle(t *testing.T) {
	m, _ := newTestRun(t, nil, 80, 10)
	m.rb.Steps[3].Title = "Stop the mail service on the old server and keep it from starting"
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old"})
	pane := m.paneLines()
	for i := range pane {
		pane[i] = ansi.Strip(pane[i])
	}
	if !strings.HasPrefix(pane[0], "4. ⚠ Stop the mail service") || !strings.HasPrefix(pane[1], "   ") || !strings.Contains(pane[0]+pane[1], "starting") {
		t.Errorf("the title's two lines are not both at the top:\n%s", strings.Join(pane, "\n"))
	}
	if !strings.Contains(strings.Join(pane, "\n"), "Type mail-old and press enter") {
		t.Errorf("the word to type is not in view:\n%s", strings.Join(pane, "\n"))
	}
}
