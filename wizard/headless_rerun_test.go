package wizard

import (
	"errors"
	"testing"
)

// interruptedStop writes a journal in dir where everything before the
// destructive step "stop" finished and "stop" was running when ferry died.
func interruptedStop(t *testing.T, dir string) {
	t.Helper()
	rb := mustParse(t, testRunbook)
	j, _, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	for _, ev := range []Event{
		{Type: EvRunStarted, Runbook: rb.ID, Hash: rb.Hash},
		{Type: EvAnswered, Answers: map[string]string{"port": "22"}},
		{Type: EvStepStarted, Step: "check-a"}, {Type: EvStepFinished, Step: "check-a", Status: StatusOK},
		{Type: EvStepStarted, Step: "ask-b"}, {Type: EvStepFinished, Step: "ask-b", Status: StatusOK},
		{Type: EvStepStarted, Step: "hot"}, {Type: EvStepFinished, Step: "hot", Status: StatusOK},
		{Type: EvWaiting, Step: "hot", Need: NeedRepeat}, {Type: EvStepFinished, Step: "hot", Status: StatusOK},
		{Type: EvConfirmed, Step: "stop"},
		{Type: EvStepStarted, Step: "stop"},
	} {
		if _, err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
}

func TestHeadlessInterruptedDestructiveStepNeedsRerunInTheAnswers(t *testing.T) {
	dir := t.TempDir()
	interruptedStop(t, dir)
	_, err := headlessRun(t, dir, &AnswerSet{Confirm: []string{"stop"}, Done: []string{"manual"}}, nil)
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "stop" || nh.Need != NeedResume {
		t.Fatalf("without rerun_interrupted: err = %v, want a NeedsHumanError at stop needing %s", err, NeedResume)
	}
}

func TestHeadlessRerunsAnInterruptedStepTheAnswersAllow(t *testing.T) {
	dir := t.TempDir()
	interruptedStop(t, dir)
	set := &AnswerSet{Confirm: []string{"stop"}, Done: []string{"manual"}, Rerun: []string{"stop"}}
	evs, err := headlessRun(t, dir, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	if last := evs[len(evs)-1]; last.Type != EvRunFinished || last.Status != StatusOK {
		t.Fatalf("last event %s %s, want run_finished ok", last.Type, last.Status)
	}
	// The re-run asked for a new confirmation (the first one was spent on
	// the interrupted run) and ran the step to its end.
	var confirmed, started bool
	for _, ev := range evs {
		switch {
		case ev.Type == EvConfirmed && ev.Step == "stop":
			confirmed = true
		case ev.Type == EvStepStarted && ev.Step == "stop":
			started = confirmed
		}
	}
	if !started {
		t.Errorf("stop did not run again after a new confirmation")
	}
	st, _ := LoadState(dir)
	if st.Status("stop") != StatusOK {
		t.Errorf("stop is %s after the re-run, want ok", st.Status("stop"))
	}
}

func TestAnswersRerunNamesSteps(t *testing.T) {
	rb := mustParse(t, testRunbook)
	if err := (&AnswerSet{Rerun: []string{"no-such-step"}}).Validate(rb); err == nil {
		t.Errorf("a rerun_interrupted entry naming no step was accepted")
	}
}
