package tui

import (
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestRunRedoKey: a failed step that proves an earlier one (Step.Redo)
// offers e, naming the step it runs again, and e sends ActRedo; a failed
// step without one ignores e and does not offer it.
func TestRunRedoKey(t *testing.T) {
	fail := wizard.Event{Type: wizard.EvWaiting, Step: "final-sync", Need: wizard.NeedFailure, Message: "rows differ"}

	m, rec := newTestRun(t, nil, 100, 30, fail)
	if strings.Contains(runScreen(m), "e: run again") {
		t.Error("e is offered for a step that names nothing to run again")
	}
	keys(m, "e")
	if d := rec.all(); len(d) != 0 {
		t.Errorf("e sent %+v for a step without Redo", d)
	}

	m, rec = newTestRun(t, nil, 100, 30)
	m.rb.Step("final-sync").Redo = []string{"hot-sync"}
	feed(m, fail)
	if scr := runScreen(m); !strings.Contains(scr, "e: run again Copy the mail") {
		t.Errorf("the failure does not offer e naming the hot pass:\n%s", scr)
	}
	keys(m, "e")
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActRedo || d[0].Step != "final-sync" {
		t.Errorf("decisions %+v, want one redo of final-sync", d)
	}
}
