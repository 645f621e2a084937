package wizard_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// redoExec counts runs per step; the proof fails until the restore has
// run twice (the first restore was said done by hand and was not).
type redoExec struct {
	passExec
	mu   sync.Mutex
	runs map[string]int
}

func (r *redoExec) Run(ctx context.Context, s *wizard.Step, env *wizard.StepEnv) (wizard.Outcome, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.runs[s.ID]++
	if s.ID == "verify" && r.runs["restore"] < 2 {
		return wizard.Outcome{}, &wizard.StepFailedError{Step: s.ID, Message: "t_flag: 900 rows on the source, 0 on the target"}
	}
	return wizard.Outcome{Message: "fine"}, nil
}

const redoRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: restore
    phase: one
    title: Restore
    help: Restores.
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    safe_to_rerun: true
    vendor: "step 1"
  - id: verify
    phase: one
    title: Row counts
    help: Proves the restore.
    host: new
    level: check
    kind: check-root
    redo: [restore]
    safe_to_rerun: true
    vendor: "step 2"
`

// TestRedoRunsTheProvenStepAgain: a proof that fails (row counts after a
// restore that was not really done) offers to run the step it proves
// again: the restore runs a second time, journaled as reopened with who
// asked, then the proof passes; the run ends done.
func TestRedoRunsTheProvenStepAgain(t *testing.T) {
	ex := &redoExec{runs: map[string]int{}}
	st := runTestEngine(t, redoRunbook, ex, func(ev wizard.Event) wizard.Decision {
		if ev.Need == wizard.NeedFailure {
			return wizard.Decision{Action: wizard.ActRedo, Actor: "alice"}
		}
		return wizard.Decision{Action: wizard.ActQuit}
	})
	if ex.runs["restore"] != 2 || ex.runs["verify"] != 2 {
		t.Errorf("runs %v, want the restore and the proof twice each", ex.runs)
	}
	found := false
	for _, ev := range st.Events {
		if ev.Type == wizard.EvReopened && ev.Step == "restore" {
			found = ev.Actor == "alice" && strings.Contains(ev.Message, "run again before verify") && strings.Contains(ev.Message, "0 on the target")
		}
	}
	if !found {
		t.Error("no reopened event for the restore naming who, and the failure it answers")
	}
	if st.Status("verify") != wizard.StatusOK || st.Status("restore") != wizard.StatusOK {
		t.Errorf("statuses: restore %s, verify %s", st.Status("restore"), st.Status("verify"))
	}
}

// TestRedoMustNameAnEarlierStep: the loader refuses a redo naming a later
// step or an unknown one.
func TestRedoMustNameAnEarlierStep(t *testing.T) {
	bad := strings.Replace(strings.Replace(redoRunbook, "    redo: [restore]\n", "", 1), "    vendor: \"step 1\"\n", "    vendor: \"step 1\"\n    redo: [verify]\n", 1)
	_, err := wizard.Parse("test.yaml", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), `step "restore".redo: "verify" is not an earlier step`) {
		t.Errorf("error %v, want the later step named", err)
	}
}

// preconditionExec: the final pass's precondition (the old server
// stopped) holds only once the stop has run after being skipped.
type preconditionExec struct {
	redoExec
}

func (p *preconditionExec) Check(ctx context.Context, s *wizard.Step, c *wizard.Check, env *wizard.StepEnv) (bool, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s.ID == "final" && p.runs["stop"] == 0 {
		return false, "hvmail-qmail-send is still up", nil
	}
	return true, "holds", nil
}

const redoPreconditionRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: stop
    phase: one
    title: Stop the old server
    help: Stops it.
    host: old
    level: auto
    kind: command
    commands:
      any: [[true]]
    destructive: true
    precondition:
      text: Reachable.
      kind: check-root
    safe_to_rerun: true
    vendor: "step 1"
  - id: final
    phase: one
    title: Final pass
    help: Copies.
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    redo: [stop]
    precondition:
      text: The old server is stopped.
      kind: check-root
    safe_to_rerun: true
    vendor: "step 2"
`

// TestRedoAfterAFailedPrecondition: the stop was skipped, so the final
// pass's precondition fails; e runs the skipped stop (reopened) and the
// pass then goes ahead.
func TestRedoAfterAFailedPrecondition(t *testing.T) {
	ex := &preconditionExec{redoExec{runs: map[string]int{}}}
	skipped := false
	st := runTestEngine(t, redoPreconditionRunbook, ex, func(ev wizard.Event) wizard.Decision {
		if ev.Step == "stop" && !skipped {
			skipped = true
			return wizard.Decision{Action: wizard.ActSkip, Reason: "stopped by hand"}
		}
		if ev.Need == wizard.NeedConfirm {
			return wizard.Decision{Action: wizard.ActConfirm, Text: ev.Word}
		}
		if ev.Need == wizard.NeedFailure {
			return wizard.Decision{Action: wizard.ActRedo}
		}
		return wizard.Decision{Action: wizard.ActQuit}
	})
	if ex.runs["stop"] != 1 || ex.runs["final"] != 1 {
		t.Errorf("runs %v, want the stop (after its skip) and the pass once each", ex.runs)
	}
	if !skipped || st.Status("stop") != wizard.StatusOK || st.Status("final") != wizard.StatusOK {
		t.Errorf("skipped %v; statuses: stop %s, final %s", skipped, st.Status("stop"), st.Status("final"))
	}
	reopened := 0
	for _, ev := range st.Events {
		if ev.Type == wizard.EvReopened && ev.Step == "stop" && strings.Contains(ev.Message, "hvmail-qmail-send is still up") {
			reopened++
		}
	}
	if reopened != 1 {
		t.Errorf("%d reopened events for the stop naming why, want 1", reopened)
	}
}
