package tui

import (
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// Two steps running beside each other (the engine's beside groups): when
// the one shown as running ends, the other is shown as running, and it is
// the step a quit names; when both ended, none is.
func TestRunTwoStepsBesideEachOther(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvStepStarted, Step: "root", Pass: 1, Time: runAt(time.Minute)},
		wizard.Event{Type: wizard.EvStepStarted, Step: "ssh", Pass: 1, Time: runAt(time.Minute)},
		wizard.Event{Type: wizard.EvStepFinished, Step: "ssh", Status: wizard.StatusOK, Time: runAt(50 * time.Second), Duration: time.Second})
	if m.running != "root" {
		t.Errorf("running %q after ssh ended, want root (still running)", m.running)
	}
	if m.status["root"] != wizard.StatusRunning || m.status["ssh"] != wizard.StatusOK {
		t.Errorf("statuses root %s, ssh %s", m.status["root"], m.status["ssh"])
	}
	feed(m, wizard.Event{Type: wizard.EvStepFinished, Step: "root", Status: wizard.StatusOK, Time: runAt(40 * time.Second), Duration: time.Second})
	if m.running != "" {
		t.Errorf("running %q after both ended", m.running)
	}
}
