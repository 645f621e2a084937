package tui

import (
	"testing"

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
	keys(m, "d")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("d alone sent %+v for a destructive manual step", d)
	}
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
