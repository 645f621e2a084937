package wizard

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// gateRunbook has a final test and a destructive step that disarms the old
// server, which requires the test to have passed.
const gateRunbook = `
id: gate
title: Gates
vendor: none
phases:
  - id: one
    title: One
steps:
  - id: final-test
    phase: one
    title: Send the test message
    help: x
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    safe_to_rerun: true
    vendor: "1"
  - id: disarm
    phase: one
    title: Remove the licences from the old server
    help: x
    host: old
    level: auto
    kind: command
    commands:
      any: [[rm, licence]]
    destructive: true
    requires: [final-test]
    precondition:
      text: always
      kind: check-root
    vendor: "2"
`

// TestGateRefusesAfterSkippedTest: a final test that failed and was then
// skipped is not a passed one. The disarm step waits at the gate; quitting
// there leaves it unrun.
func TestGateRefusesAfterSkippedTest(t *testing.T) {
	rb := mustParse(t, gateRunbook)
	ex := &fakeExec{fail: map[string]int{"final-test": 1}}
	var gate *Event
	script := func(ev Event) (Decision, bool) {
		switch {
		case ev.Step == "final-test" && ev.Need == NeedFailure:
			return Decision{Action: ActSkip, Reason: "no time tonight"}, true
		case ev.Need == NeedGate:
			g := ev
			gate = &g
			return Decision{Action: ActQuit}, true
		}
		return defaultScript(ev)
	}
	dir := t.TempDir()
	_, err := runEngine(t, dir, rb, ex, script)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped at the gate", err)
	}
	for _, id := range ex.ran {
		if id == "disarm" {
			t.Fatal("the disarm step ran although the final test did not pass")
		}
	}
	if gate == nil || gate.Step != "disarm" || !strings.Contains(gate.Message, "Send the test message (skipped)") {
		t.Fatalf("gate event %+v does not name the skipped test", gate)
	}
	if st := LoadStateMust(t, dir); st.Status("disarm").Done() || st.Status("final-test") != StatusSkipped {
		t.Errorf("disarm %s, final-test %s", st.Status("disarm"), st.Status("final-test"))
	}
}

// TestGateOverrideNeedsReasonAndIsRecorded: an empty reason overrides
// nothing; a reason lets the step run and is in the journal, with who gave
// it, and it stands on a resume.
func TestGateOverrideNeedsReasonAndIsRecorded(t *testing.T) {
	rb := mustParse(t, gateRunbook)
	ex := &fakeExec{fail: map[string]int{"final-test": 1}}
	gates := 0
	script := func(ev Event) (Decision, bool) {
		switch {
		case ev.Step == "final-test" && ev.Need == NeedFailure:
			return Decision{Action: ActSkip, Reason: "the test address bounces"}, true
		case ev.Need == NeedGate:
			gates++
			if gates == 1 {
				return Decision{Action: ActOverride, Reason: "   ", Actor: "alice"}, true
			}
			return Decision{Action: ActOverride, Reason: "tested by hand with swaks", Actor: "alice"}, true
		}
		return defaultScript(ev)
	}
	dir := t.TempDir()
	ap, err := runEngine(t, dir, rb, ex, script)
	if err != nil {
		t.Fatal(err)
	}
	if gates != 2 {
		t.Errorf("gate asked %d times, want 2 (an empty reason refused)", gates)
	}
	if !strings.Contains(strings.Join(ex.ran, ","), "disarm") {
		t.Fatalf("disarm did not run after the override: %v", ex.ran)
	}
	var refused bool
	for _, ev := range ap.events {
		if ev.Type == EvWarning && strings.Contains(ev.Message, "needs a reason") {
			refused = true
		}
	}
	if !refused {
		t.Error("no warning for the empty reason")
	}
	st := LoadStateMust(t, dir)
	r := st.Steps["disarm"]
	if r == nil || !strings.HasPrefix(r.Override, "tested by hand with swaks") || r.Overrider != "alice" {
		t.Fatalf("override record %+v", r)
	}
	if st.Status("final-test") != StatusSkipped || st.Status("disarm") != StatusOK {
		t.Errorf("final-test %s, disarm %s", st.Status("final-test"), st.Status("disarm"))
	}
}

// TestGateRunsRequiredStepsAgain: at the gate the admin may run the
// skipped test again; when it passes now, the gated step runs with no
// override, and the journal shows the test reopened.
func TestGateRunsRequiredStepsAgain(t *testing.T) {
	rb := mustParse(t, gateRunbook)
	ex := &fakeExec{fail: map[string]int{"final-test": 1}}
	gates := 0
	script := func(ev Event) (Decision, bool) {
		switch {
		case ev.Step == "final-test" && ev.Need == NeedFailure:
			return Decision{Action: ActSkip, Reason: "later"}, true
		case ev.Need == NeedGate:
			gates++
			if gates > 1 {
				return Decision{Action: ActQuit}, true
			}
			return Decision{Action: ActRetry}, true
		}
		return defaultScript(ev)
	}
	dir := t.TempDir()
	if _, err := runEngine(t, dir, rb, ex, script); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ex.ran, ","); got != "final-test,final-test,disarm" {
		t.Errorf("ran %s", got)
	}
	st := LoadStateMust(t, dir)
	if st.Status("final-test") != StatusOK || st.Status("disarm") != StatusOK || st.Steps["disarm"].Override != "" {
		t.Errorf("final-test %s, disarm %s %+v", st.Status("final-test"), st.Status("disarm"), st.Steps["disarm"])
	}
	var reopened bool
	for _, ev := range st.Events {
		reopened = reopened || (ev.Type == EvReopened && ev.Step == "final-test")
	}
	if !reopened {
		t.Error("no reopened event for the test")
	}
}

// TestGatePassesWhenTestPassed: no gate when the required step passed.
func TestGatePassesWhenTestPassed(t *testing.T) {
	rb := mustParse(t, gateRunbook)
	ex := &fakeExec{fail: map[string]int{}}
	ap, err := runEngine(t, t.TempDir(), rb, ex, defaultScript)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range ap.waiting {
		if w.Need == NeedGate {
			t.Fatalf("gate asked although the test passed: %s", w.Message)
		}
	}
}

// TestHeadlessGateNeedsOverrideField: headless, a gate stops the run naming
// the override field; with it, the run goes on.
func TestHeadlessGateNeedsOverrideField(t *testing.T) {
	rb := mustParse(t, gateRunbook)
	for _, withOverride := range []bool{false, true} {
		set := &AnswerSet{Skip: map[string]string{"final-test": "tested by hand"}, Confirm: []string{"disarm"}}
		if withOverride {
			set.Override = map[string]string{"disarm": "tested by hand with swaks"}
		}
		if err := set.Validate(rb); err != nil {
			t.Fatal(err)
		}
		// The test fails; the file skips it (a skip applies where a step
		// waits for a person).
		ex := &fakeExec{fail: map[string]int{"final-test": 1}}
		s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: t.TempDir(), Exec: ex})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = RunHeadless(ctx, s, set, &out)
		cancel()
		s.Close()
		ran := strings.Contains(strings.Join(ex.ran, ","), "disarm")
		if !withOverride {
			var nh *NeedsHumanError
			if !errors.As(err, &nh) || nh.Step != "disarm" || nh.Need != NeedGate || !strings.Contains(nh.What, `"override"`) {
				t.Fatalf("without override: err = %v\n%s", err, out.String())
			}
			if ran {
				t.Fatal("disarm ran without an override")
			}
			continue
		}
		if err != nil || !ran {
			t.Fatalf("with override: err = %v, ran %v", err, ex.ran)
		}
	}
	bad := &AnswerSet{Override: map[string]string{"final-test": "x"}}
	if err := bad.Validate(rb); err == nil || !strings.Contains(err.Error(), "final-test") {
		t.Errorf("an override of a step with no requirement: %v", err)
	}
	empty := &AnswerSet{Override: map[string]string{"disarm": " "}}
	if err := empty.Validate(rb); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("an override with no reason: %v", err)
	}
}

// TestRequiresMustNameEarlierStep: the loader refuses a requirement on a
// later or unknown step.
func TestRequiresMustNameEarlierStep(t *testing.T) {
	src := strings.Replace(gateRunbook, "requires: [final-test]", "requires: [nowhere]", 1)
	if _, err := Parse("gate.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `"nowhere" is not an earlier step`) {
		t.Fatalf("err = %v", err)
	}
}

// TestAnswersSkipNeedsAReason: an answers file's skip without a reason is
// refused, as the screen refuses one.
func TestAnswersSkipNeedsAReason(t *testing.T) {
	rb := mustParse(t, gateRunbook)
	for _, why := range []string{"", "  "} {
		set := &AnswerSet{Skip: map[string]string{"final-test": why}}
		if err := set.Validate(rb); err == nil || !strings.Contains(err.Error(), "skip: final-test needs a reason") {
			t.Errorf("skip reason %q: %v", why, err)
		}
	}
	if err := (&AnswerSet{Skip: map[string]string{"final-test": "tested by hand"}}).Validate(rb); err != nil {
		t.Errorf("a skip with a reason: %v", err)
	}
}
