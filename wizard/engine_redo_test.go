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
