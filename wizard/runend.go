package wizard

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// RunRecord is one run of a migration as its journal tells it: from a
// run_started or run_resumed event to the run_finished that ends it.
type RunRecord struct {
	// N numbers the run: 1 for the journal's first.
	N int
	// PID is the runner's process id, 0 in a journal written before ferry
	// recorded it.
	PID int
	// Command is the ferry command that resumes the migration, as the
	// runner recorded it ("" in an older journal).
	Command string
	// Started is when the run began.
	Started time.Time
	// Ended is set once a run_finished event ends the run; a run whose
	// runner died has none until the next run journals one (Lost).
	Ended   bool
	Status  Status
	Message string
}

// RunLost reports whether the journal's last run ended without journaling
// its end while no ferry holds the state directory's lock (held is
// LockHeld's answer): its runner died without a word (kill -9, a crash,
// the server going down). A run that finished, failed or was stopped
// journals its end (Engine.Run), so it is not lost.
func (st *State) RunLost(held bool) bool {
	return st != nil && st.Runs > 0 && !st.LastRun.Ended && !held
}

// Unfinished lists, in the order of ids (the runbook's steps), the steps
// the last run started and had not finished where the journal ends.
func (st *State) Unfinished(ids []string) []string {
	var out []string
	for _, id := range st.order(ids) {
		if r := st.Steps[id]; r != nil && r.running && r.inLastRun {
			out = append(out, id)
		}
	}
	return out
}

// Waits returns the first step, in the order of ids, that waits for a
// person where the journal ends, and what it waits for (one of the Need
// constants; NeedText says it in words). A repeatable step that finished
// a pass and waits for the choice of another pass or going on counts,
// though its status is done. It returns "", "" when no step waits.
func (st *State) Waits(ids []string) (step, need string) {
	for _, id := range st.order(ids) {
		r := st.Steps[id]
		if r != nil && r.Waiting != "" && (!r.Status.Done() || r.Waiting == NeedRepeat) {
			return id, r.Waiting
		}
	}
	return "", ""
}

// order is ids, or, when ids is empty, the journal's step ids sorted.
func (st *State) order(ids []string) []string {
	if len(ids) > 0 {
		return ids
	}
	out := make([]string, 0, len(st.Steps))
	for id := range st.Steps {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// LostRunText says in one sentence what became of the journal's last run
// when RunLost is true: its number, its runner's pid, the time of its last
// event (UTC) and the step under way or waiting then. ids orders the steps
// (the runbook's; nil sorts them).
func (st *State) LostRunText(ids []string) string {
	what := fmt.Sprintf("its runner (pid %d) died without a word (killed, crashed, or the server went down)", st.LastRun.PID)
	if st.LastRun.PID == 0 {
		// Written before every end was journaled: a stop by that older
		// ferry left no end either.
		what = "its runner died without a word (killed, crashed, or the server went down), or a ferry older than this one stopped it"
	}
	s := fmt.Sprintf("run %d ended without finishing: %s; its last event was at %s",
		st.LastRun.N, what, st.Updated.UTC().Format("2006-01-02 15:04:05 UTC"))
	if steps := st.Unfinished(ids); len(steps) > 0 {
		verb := "was"
		if len(steps) > 1 {
			verb = "were"
		}
		return s + ", while " + strings.Join(steps, " and ") + " " + verb + " under way"
	}
	if step, need := st.Waits(ids); step != "" {
		return s + ", while " + step + " waited for " + NeedText(need)
	}
	return s
}

// LostRunEvent is the run_finished event that records a lost run (see
// RunLost): Lost set, the dead runner's pid, status interrupted (nothing
// failed) and LostRunText(ids) as its message.
func (st *State) LostRunEvent(ids []string) Event {
	return Event{Type: EvRunFinished, Status: StatusInterrupted, Lost: true, PID: st.LastRun.PID, Actor: "ferry", Message: st.LostRunText(ids)}
}

// OnResume says what ferry does with step s, interrupted where the
// journal ends, when the migration resumes (Engine.runStep): runs it again
// when it is safe to re-run and not destructive, else asks the admin to
// check its effect first.
func OnResume(s *Step) string {
	if s != nil && s.SafeToRerun && !s.Destructive {
		return "it is safe to re-run, so ferry runs it again when the migration resumes"
	}
	return "it is not safe to re-run blindly: when the migration resumes, ferry asks you to check its effect, then retry it, mark it done or skip it"
}

// CommandStarted reports whether ev is the journal's note that a command
// began (a command event with status running, no exit): ferry journals
// each command of a step as it starts, then the step's whole list with
// the exits when the step ends (Engine.recordOutcome).
func (ev Event) CommandStarted() bool {
	return ev.Type == EvCommand && ev.Status == StatusRunning
}

// StepCommands returns the command events of events, one list per run of
// a step: a started note (CommandStarted) is left out once its step's run
// journaled the list with the exits, and kept where that run never ended
// (its runner died), so the commands a killed step had started are there.
func StepCommands(events []Event) []Event {
	var out []Event
	drop := map[int]bool{}
	pending := map[string][]int{} // step: indices in out of its run's started notes
	for _, ev := range events {
		switch {
		case ev.CommandStarted():
			pending[ev.Step] = append(pending[ev.Step], len(out))
			out = append(out, ev)
		case ev.Type == EvCommand:
			for _, i := range pending[ev.Step] {
				drop[i] = true
			}
			delete(pending, ev.Step)
			out = append(out, ev)
		case ev.Type == EvStepStarted, ev.Type == EvStepFinished:
			// A new run, or an end without a list: the notes stay.
			delete(pending, ev.Step)
		}
	}
	if len(drop) == 0 {
		return out
	}
	kept := out[:0:0]
	for i, ev := range out {
		if !drop[i] {
			kept = append(kept, ev)
		}
	}
	return kept
}
