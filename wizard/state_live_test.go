package wizard

import (
	"testing"
	"time"
)

// TestMarkLiveTellsRunningFromInterrupted: with a live ferry holding the
// lock, the step its run started is running; a step cut off in an earlier
// run stays interrupted.
func TestMarkLiveTellsRunningFromInterrupted(t *testing.T) {
	t0 := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	evs := []Event{
		{Seq: 1, Time: t0, Type: EvRunStarted, Runbook: "x"},
		{Seq: 2, Time: t0.Add(time.Second), Type: EvStepStarted, Step: "cut-off"},
		{Seq: 3, Time: t0.Add(time.Minute), Type: EvRunResumed, Runbook: "x"},
		{Seq: 4, Time: t0.Add(2 * time.Minute), Type: EvStepStarted, Step: "now"},
	}
	st := Replay(evs)
	if st.Status("cut-off") != StatusInterrupted || st.Status("now") != StatusInterrupted {
		t.Fatalf("from the journal alone: %s, %s; want both interrupted", st.Status("cut-off"), st.Status("now"))
	}
	st.MarkLive(4242)
	if st.Status("cut-off") != StatusInterrupted || st.Status("now") != StatusRunning || st.LivePID != 4242 {
		t.Fatalf("with a live ferry: cut-off %s, now %s, pid %d", st.Status("cut-off"), st.Status("now"), st.LivePID)
	}
}
