package tui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// A progress that only says what happens shows that phrase, with no
// "0 done" above it; a count still shows its number.
func TestCounterLinesOfANoteAlone(t *testing.T) {
	if frac, lines := counterLines(&tasks.Progress{Note: "logging in to bj-data"}); frac >= 0 || !slices.Equal(lines, []string{"logging in to bj-data"}) {
		t.Errorf("a note alone gives %v (bar %v), want the note only and no bar", lines, frac)
	}
	if _, lines := counterLines(&tasks.Progress{Unit: "items", Done: 3, Total: 7}); len(lines) == 0 || lines[0] != "3 / 7 items" {
		t.Errorf("a count gives %v, want 3 / 7 items first", lines)
	}
}

// One step skipped by a person: the closing words say "see it", two say
// "see them".
func TestRunClosingWordsCountTheSkips(t *testing.T) {
	for _, c := range []struct {
		skips []string
		want  string
	}{
		{[]string{"dns"}, "see it in the step list"},
		{[]string{"dns", "tell"}, "see them in the step list"},
	} {
		var evs []wizard.Event
		for _, id := range c.skips {
			evs = append(evs, wizard.Event{Type: wizard.EvSkipped, Step: id, Actor: "root", Message: "done elsewhere"})
		}
		evs = append(evs, wizard.Event{Type: wizard.EvRunFinished, Status: wizard.StatusOK, Message: "every step is done"})
		m, _ := newTestRun(t, nil, 100, 30, evs...)
		m.Update(runEventsMsg{closed: true})
		// The right pane's lines, joined: the sentence wraps.
		var right []string
		for _, l := range strings.Split(runScreen(m), "\n") {
			if _, r, ok := strings.Cut(l, "│"); ok {
				right = append(right, strings.TrimSpace(r))
			}
		}
		if s := strings.Join(right, " "); !strings.Contains(s, c.want) {
			t.Errorf("%d skips: the screen lacks %q:\n%s", len(c.skips), c.want, runScreen(m))
		}
	}
}

// An answer the form refuses says what the answer must be in the
// question's words, not the answers file's "key …", inside the question's
// bar.
func TestRunFormRefusalNamesNoKey(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 40, preflightDone()...)
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "dns", Need: wizard.NeedAnswers, Time: runAt(time.Minute),
		Questions: []wizard.Question{{Key: "test_address", Prompt: "Address for the test message", Type: "email"}}})
	typeText(m, "not-an-address")
	m.Update(keyMsg("enter"))
	scr := runScreen(m)
	// Inside the question's bar, under the answer, not below the form.
	if !strings.Contains(scr, "┃ ✗ expected a plain e-mail address") || strings.Contains(scr, "key test_address") || strings.Contains(scr, " * ") {
		t.Errorf("the refusal does not read as the question's:\n%s", scr)
	}
}

// A step's warning (here: no spare sshd, and who answered so) shows once on
// its screen: above, with ⚠, and not again in the output under it.
func TestRunStepWarningShowsOnce(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 60, preflightDone()...)
	warn := "Rewriting /etc/resolv.conf can cut your SSH access to this server; no spare sshd is kept: lifeline is no, as answered by the demo (its simulated servers)"
	feed(m,
		wizard.Event{Type: wizard.EvWarning, Step: "dns", Message: warn, Time: runAt(time.Minute)},
		wizard.Event{Type: wizard.EvOutput, Step: "dns", Message: "an output line", Time: runAt(time.Minute)},
		wizard.Event{Type: wizard.EvWaiting, Step: "dns", Need: wizard.NeedManual, Time: runAt(time.Minute)})
	scr := runScreen(m)
	if n := strings.Count(scr, "can cut your SSH access"); n != 1 || !strings.Contains(scr, "⚠ Rewriting") {
		t.Errorf("the warning shows %d times (want once, with ⚠):\n%s", n, scr)
	}
	if !strings.Contains(scr, "an output line") {
		t.Errorf("the step's other output is gone:\n%s", scr)
	}
}
