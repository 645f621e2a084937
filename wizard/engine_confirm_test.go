package wizard

import (
	"context"
	"strings"
	"testing"
)

func TestHostWordNamesTheServerActedOn(t *testing.T) {
	differ := map[string]string{"old_name": "mail-old", "new_name": "mail-new"}
	same := map[string]string{"old_name": "mail", "new_name": "mail"}
	cases := []struct {
		facts      map[string]string
		host, want string
	}{
		{differ, HostOld, "mail-old"},
		{differ, HostNew, "mail-new"},
		{same, HostOld, "old:mail"},
		{same, HostNew, "new:mail"},
		{map[string]string{"old_addr": "192.0.2.1"}, HostOld, "192.0.2.1"},
		{map[string]string{"old_addr": "192.0.2.1"}, HostNew, ""},
	}
	for _, c := range cases {
		if got := HostWord(c.facts, c.host); got != c.want {
			t.Errorf("HostWord(%v, %s) = %q, want %q", c.facts, c.host, got, c.want)
		}
	}
}

// confirmRunbook has a destructive step on each server and a destructive
// manual step.
const confirmRunbook = `
id: confirm
title: Confirmations
vendor: none
phases:
  - id: one
    title: One
steps:
  - id: names
    phase: one
    title: Learns the names
    help: x
    host: new
    level: check
    kind: check-root
    safe_to_rerun: true
    vendor: "1"
  - id: wipe-new
    phase: one
    title: Wipe on new
    help: x
    host: new
    level: auto
    kind: command
    commands:
      any: [[rm, x]]
    destructive: true
    precondition:
      text: always
      kind: check-root
    vendor: "2"
  - id: wipe-old
    phase: one
    title: Wipe on old
    help: x
    host: old
    level: auto
    kind: command
    commands:
      any: [[rm, y]]
    destructive: true
    precondition:
      text: always
      kind: check-root
    vendor: "3"
  - id: off
    phase: one
    title: Switch the old server off
    help: x
    host: old
    level: manual
    kind: manual
    destructive: true
    precondition:
      text: always
      kind: check-root
    vendor: "4"
`

// namesExec is fakeExec, with step names learning both servers' names.
type namesExec struct {
	fakeExec
	facts map[string]string
}

func (n *namesExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	out, err := n.fakeExec.Run(ctx, s, env)
	if s.ID == "names" {
		out.Facts = n.facts
	}
	return out, err
}

func TestConfirmationWordIsTheStepsServer(t *testing.T) {
	rb := mustParse(t, confirmRunbook)
	words, msgs := map[string]string{}, map[string]string{}
	var manualTries int
	script := func(ev Event) (Decision, bool) {
		switch ev.Need {
		case NeedConfirm:
			words[ev.Step], msgs[ev.Step] = ev.Word, ev.Message
			return Decision{Action: ActConfirm, Text: ev.Word}, true
		case NeedManual:
			words[ev.Step], msgs[ev.Step] = ev.Word, ev.Message
			manualTries++
			if manualTries == 1 {
				// d alone, as before: refused for a destructive step.
				return Decision{Action: ActDone}, true
			}
			return Decision{Action: ActDone, Text: ev.Word}, true
		}
		return defaultScript(ev)
	}
	dir := t.TempDir()
	ex := &namesExec{fakeExec: fakeExec{fail: map[string]int{}}, facts: map[string]string{"old_name": "mail", "new_name": "mail"}}
	if _, err := runEngine(t, dir, rb, ex, script); err != nil {
		t.Fatal(err)
	}
	if words["wipe-new"] != "new:mail" || words["wipe-old"] != "old:mail" || words["off"] != "old:mail" {
		t.Fatalf("words %v: want new:mail for the new server's step, old:mail for the old's", words)
	}
	if manualTries != 2 {
		t.Fatalf("the destructive manual step was put %d times, want 2 (a bare done refused)", manualTries)
	}
	// The question names the step's server once, with what the step does
	// (Harm) or by its title.
	for step, want := range map[string]string{
		"wipe-old": `Changes the old server (mail): type "old:mail" to go ahead`,
		"off":      `Switch the old server off: when it is done, type "old:mail"`,
	} {
		if msgs[step] != want {
			t.Errorf("step %s asks %q, want %q", step, msgs[step], want)
		}
	}
	st := LoadStateMust(t, dir)
	if !st.Confirmed["off"] || st.Status("off") != StatusOK {
		t.Fatalf("off: confirmed %v, %s", st.Confirmed["off"], st.Status("off"))
	}
	var msg string
	for _, ev := range st.Events {
		if ev.Type == EvWaiting && ev.Step == "wipe-new" && ev.Need == NeedConfirm {
			msg = ev.Message
		}
	}
	if !strings.Contains(msg, "new server") {
		t.Errorf("the confirmation %q does not say which server", msg)
	}
}

func TestHeadlessDestructiveManualStepNeedsConfirm(t *testing.T) {
	ev := Event{Type: EvWaiting, Step: "off", Need: NeedManual, Word: "old:mail"}
	if _, ok := headlessDecision(ev, &AnswerSet{Done: []string{"off"}}, 0); ok {
		t.Fatal("done alone let a destructive manual step through")
	}
	d, ok := headlessDecision(ev, &AnswerSet{Done: []string{"off"}, Confirm: []string{"off"}}, 0)
	if !ok || d.Action != ActDone || d.Text != "old:mail" {
		t.Fatalf("done and confirm: %+v %v", d, ok)
	}
}
