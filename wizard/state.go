package wizard

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// State is a migration as its journal tells it: where every step stands,
// what was answered, when the downtime began and ended.
type State struct {
	// Migration is the id in the journal's header ("" for a journal
	// written before headers).
	Migration string
	Runbook   string
	Hash      string
	Started   time.Time
	Updated   time.Time
	// Finished is set when the run reached its end.
	Finished bool
	Steps    map[string]*StepRecord
	Answers  map[string]string
	// AnsweredBy holds, for each key of Answers, who gave its latest
	// value (the answered event's Actor: a person, an answers file, the
	// demo); nil until an answer is folded in.
	AnsweredBy map[string]string
	Facts      map[string]string
	// Confirmed lists the steps whose destructive action was confirmed.
	Confirmed     map[string]bool
	DowntimeStart time.Time
	DowntimeEnd   time.Time
	Warnings      []string
	// Torn is the length of a torn last journal line that was ignored.
	Torn int
	// Events are the journal's events: all of them (Replay, LoadState),
	// or the last few (LoadStateTail).
	Events []Event
	// EventCount is how many events were folded into the state.
	EventCount int
	// LivePID is the pid of the ferry that holds the state directory's
	// lock while this state was read (MarkLive); 0 when none does.
	LivePID int
	// Runs counts the runs the journal records (its run_started and
	// run_resumed events); LastRun is the latest (runend.go).
	Runs    int
	LastRun RunRecord
}

// MarkLive tells the state that ferry process pid holds the lock of its
// state directory (wizard.LockHeld): a step the journal shows started in
// that process's run and not finished is running, not interrupted.
func (s *State) MarkLive(pid int) {
	s.LivePID = pid
	for _, r := range s.Steps {
		if r.Status == StatusInterrupted && r.inLastRun {
			r.Status = StatusRunning
		}
	}
}

// StepRecord is the history of one step.
type StepRecord struct {
	Status   Status
	Message  string
	Started  time.Time
	Finished time.Time
	Counters *tasks.Progress
	// Passes holds the durations of the finished runs of the step, oldest
	// first (for repeatable steps: every hot pass).
	Passes []time.Duration
	// PassCounters holds each pass's counters beside Passes (nil where a
	// pass reported none), for the downtime forecast.
	PassCounters []*tasks.Progress
	// Waiting is what the step waits for when Status is waiting.
	Waiting string
	// Override is the reason an admin gave to run the step although a step
	// it requires (Step.Requires) had not passed; "" when none was given.
	Override string
	// Overrider is who gave that reason.
	Overrider string
	// inLastRun is set on a step started after the journal's last
	// run_started or run_resumed event: if a live ferry holds the lock,
	// such a step still runs (MarkLive).
	inLastRun bool
	// running is set from the step's start to its end in the journal.
	running bool
}

// Status returns the status of a step (pending when unknown).
func (s *State) Status(id string) Status {
	if s == nil {
		return StatusPending
	}
	if r, ok := s.Steps[id]; ok {
		return r.Status
	}
	return StatusPending
}

// LoadState reads the journal of a state directory. It returns ErrNoJournal
// when there is none.
func LoadState(dir string) (*State, error) {
	sc, err := InspectJournal(dir)
	if err != nil {
		return nil, err
	}
	st := Replay(sc.Events)
	if sc.Header != nil {
		st.Migration = sc.Header.Migration
	}
	if torn := sc.Torn; torn > 0 {
		st.Torn = torn
		st.Warnings = append(st.Warnings, fmt.Sprintf("the journal's last line was torn (%d bytes, a crash while writing) and was ignored", torn))
	}
	return st, nil
}

// LoadStateTail is LoadState for a reader that needs the state and not the
// whole history (ferry status, an observer): each event is folded in as it
// is read and only the last keep events are kept in Events, so memory
// stays flat however long the journal is. EventCount counts them all.
func LoadStateTail(dir string, keep int) (*State, error) {
	st, _, err := loadStateTail(dir, keep)
	return st, err
}

// LoadStateChecked is CheckContinuity(dir, lockExisted, nil) followed by
// LoadStateTail(dir, keep), with the journal read once (what ferry status
// does): the errors are CheckContinuity's first (a *LostJournalError, or
// the reader's error for a journal it cannot read), then ErrNoJournal when
// there is no journal and nothing says there was one. Command events are
// read light, as LoadStateTail reads them.
func LoadStateChecked(dir string, lockExisted bool, keep int) (*State, error) {
	st, hdr, err := loadStateTail(dir, keep)
	if cerr := continuity(dir, lockExisted, nil, hdr, st != nil && st.EventCount > 0, err); cerr != nil {
		return nil, cerr
	}
	if err != nil {
		return nil, err
	}
	return st, nil
}

// loadStateTail is LoadStateTail, also returning the journal's header.
func loadStateTail(dir string, keep int) (*State, *JournalHeader, error) {
	path := filepath.Join(dir, JournalFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, nil, ErrNoJournal
	}
	if err != nil {
		return nil, nil, fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	st := NewState()
	// The last lines, decoded whole at the end (a command event is read
	// light while folding: it changes nothing but the times and the count).
	var ring [][]byte
	next := 0
	sc, err := scanJournal(f, path, true, func(ev Event, line []byte) {
		st.Apply(ev)
		switch {
		case keep <= 0:
		case len(ring) < keep:
			ring = append(ring, bytes.Clone(line))
		default:
			ring[next] = append(ring[next][:0], line...)
			next = (next + 1) % keep
		}
	})
	if err != nil {
		return nil, nil, withPrev(err, dir)
	}
	for _, line := range append(ring[next:len(ring):len(ring)], ring[:next]...) {
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, nil, fmt.Errorf("journal %s: %w", path, err)
		}
		st.Events = append(st.Events, ev)
	}
	if sc.Header != nil {
		st.Migration = sc.Header.Migration
	}
	if torn := sc.Torn; torn > 0 {
		st.Torn = torn
		st.Warnings = append(st.Warnings, fmt.Sprintf("the journal's last line was torn (%d bytes, a crash while writing) and was ignored", torn))
	}
	return st, sc.Header, nil
}

// Replay builds the State from journal events. A step found running at the
// end of the journal was interrupted.
func Replay(events []Event) *State {
	st := NewState()
	for _, ev := range events {
		st.Apply(ev)
	}
	st.Events = events
	return st
}

// NewState is the State of an empty journal, ready for Apply.
func NewState() *State {
	return &State{
		Steps:     map[string]*StepRecord{},
		Answers:   map[string]string{},
		Facts:     map[string]string{},
		Confirmed: map[string]bool{},
	}
}

// Apply folds one journal event into the state, as Replay does for each
// event: a step started and not (yet) finished reads as interrupted, the
// state a journal ending there stands for. It counts the event
// (EventCount) but does not keep it: Events is the caller's.
func (st *State) Apply(ev Event) {
	rec := func(id string) *StepRecord {
		r, ok := st.Steps[id]
		if !ok {
			r = &StepRecord{Status: StatusPending}
			st.Steps[id] = r
		}
		return r
	}
	st.EventCount++
	if st.Started.IsZero() {
		st.Started = ev.Time
	}
	st.Updated = ev.Time
	switch ev.Type {
	case EvRunStarted, EvRunResumed:
		st.Runbook, st.Hash = ev.Runbook, ev.Hash
		st.Finished = false
		st.Runs++
		st.LastRun = RunRecord{N: st.Runs, PID: ev.PID, Command: cmp.Or(ev.Command, st.LastRun.Command), Started: ev.Time}
		// Steps started so far belong to an earlier run.
		for _, r := range st.Steps {
			r.inLastRun = false
		}
	case EvStepStarted:
		r := rec(ev.Step)
		// Running until its end is journaled; a journal ending first
		// means the step was interrupted.
		r.Status, r.Started, r.Message, r.Waiting = StatusInterrupted, ev.Time, "", ""
		r.running = true
		r.inLastRun = true
		// A confirmation is good for one run of the step only.
		delete(st.Confirmed, ev.Step)
	case EvStepFinished:
		r := rec(ev.Step)
		// Only a finish that ends a run is a pass; a repeatable step
		// also finishes (without running) when the admin goes on.
		if ev.Status == StatusOK && r.running {
			r.Passes = append(r.Passes, ev.Duration)
			r.PassCounters = append(r.PassCounters, passCounters(ev.Counters))
		}
		r.Status, r.Finished, r.Message, r.Waiting = ev.Status, ev.Time, ev.Message, ""
		r.running = ev.Status == StatusRunning
		if r.running {
			r.Status = StatusInterrupted
		}
		if ev.Counters != nil {
			r.Counters = ev.Counters
		}
	case EvWaiting:
		r := rec(ev.Step)
		if r.Status == StatusPending {
			r.Status = StatusWaiting
		}
		r.Waiting = ev.Need
	case EvAnswered:
		for k, v := range ev.Answers {
			st.Answers[k] = v
			if st.AnsweredBy == nil {
				st.AnsweredBy = map[string]string{}
			}
			st.AnsweredBy[k] = ev.Actor
		}
	case EvConfirmed:
		st.Confirmed[ev.Step] = true
	case EvReopened:
		r := rec(ev.Step)
		r.Status, r.Message, r.Waiting, r.running = StatusPending, "", "", false
	case EvOverridden:
		r := rec(ev.Step)
		r.Override, r.Overrider = ev.Message, ev.Actor
	case EvSkipped:
		r := rec(ev.Step)
		r.Status, r.Finished, r.Message, r.Waiting, r.running = StatusSkipped, ev.Time, ev.Message, "", false
	case EvFact:
		for k, v := range ev.Facts {
			st.Facts[k] = v
		}
	case EvWarning:
		msg := ev.Message
		if ev.Step != "" {
			msg = ev.Step + ": " + msg
		}
		st.Warnings = append(st.Warnings, msg)
	case EvDowntimeStart:
		// The window opens once: a second start (a retried step in an
		// older journal) does not shorten it.
		if st.DowntimeStart.IsZero() {
			st.DowntimeStart = ev.Time
		}
	case EvDowntimeEnd:
		st.DowntimeEnd = ev.Time
	case EvRunFinished:
		st.Finished = ev.Status == StatusOK
		st.LastRun.Ended, st.LastRun.Status, st.LastRun.Message = true, ev.Status, ev.Message
	}
}

// with returns a copy of st with ev appended and folded in; st itself is
// left as it was (a front end may be reading it). The copy costs the size
// of the state, not of the journal.
func (st *State) with(ev Event) *State {
	c := *st
	c.Steps = make(map[string]*StepRecord, len(st.Steps)+1)
	for id, r := range st.Steps {
		rc := *r
		c.Steps[id] = &rc
	}
	c.Answers = maps.Clone(st.Answers)
	c.AnsweredBy = maps.Clone(st.AnsweredBy)
	c.Facts = maps.Clone(st.Facts)
	c.Confirmed = maps.Clone(st.Confirmed)
	c.Warnings = slices.Clip(st.Warnings)
	c.Events = append(st.Events, ev)
	c.Apply(ev)
	return &c
}
