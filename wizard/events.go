package wizard

import (
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// EventType names what happened.
type EventType string

// Event types. Those marked "journal" are written to the journal; the others
// (output lines and progress snapshots) only go to the front ends.
const (
	EvRunStarted     EventType = "run_started"     // journal: Runbook, Hash, PID and Command of the runner (since the runner journals them)
	EvRunResumed     EventType = "run_resumed"     // journal: Runbook, Hash, Message when the runbook changed, PID and Command as run_started
	EvStepStarted    EventType = "step_started"    // journal: Step, Pass
	EvStepFinished   EventType = "step_finished"   // journal: Step, Status, Message, Counters, Duration
	EvWaiting        EventType = "waiting"         // journal: Step, Need, Questions/Word
	EvAnswered       EventType = "answered"        // journal: Step, Answers (secrets masked), Actor
	EvConfirmed      EventType = "confirmed"       // journal: Step, Actor, Message (what was typed)
	EvSkipped        EventType = "skipped"         // journal: Step, Message (the reason), Actor
	EvCommand        EventType = "command"         // journal: Step, Host, Command, Exit
	EvFact           EventType = "fact"            // journal: Facts learnt (old_name, families ...)
	EvWarning        EventType = "warning"         // journal: Step, Message
	EvDowntimeStart  EventType = "downtime_start"  // journal: Step
	EvDowntimeEnd    EventType = "downtime_end"    // journal: Step
	EvRunFinished    EventType = "run_finished"    // journal: Status, Message; Lost and PID for a run whose runner died (journaled by the next run)
	EvOutput         EventType = "output"          // front ends only: Step, Stream, Message (one line)
	EvProgress       EventType = "progress"        // front ends only: Step, Progress
	EvRunbookChanged EventType = "runbook_changed" // journal: Message naming the change
	EvOverridden     EventType = "overridden"      // journal: Step, Message (the reason), Actor: a gate (Step.Requires) overridden
	EvReopened       EventType = "reopened"        // journal: Step, Message, Actor: a skipped or failed step put back to pending, to run again
	EvLifelineUp     EventType = "lifeline_up"     // journal: Step, Host, Message: a spare sshd answers (port, pid) until the step ends
	EvLifelineDown   EventType = "lifeline_down"   // journal: Step, Host, Message: the spare sshd was stopped
)

// Needs: what a waiting step needs from a human.
const (
	NeedAnswers = "answers" // Questions lists what to ask
	NeedConfirm = "confirm" // Word is what must be typed
	NeedManual  = "manual"  // the admin does the step by hand, then says done
	NeedFailure = "failure" // the step failed: retry, skip or quit
	NeedRepeat  = "repeat"  // a repeatable step finished: run it again or continue
	NeedResume  = "resume"  // an interrupted step that is not safe to re-run
	NeedChanged = "changed" // the runbook changed since the journal began
	NeedTrust   = "trust"   // an unknown host key: Message holds the fingerprint
	NeedGate    = "gate"    // a step it requires has not passed: override with a reason, skip or quit
)

// Event is one thing the engine reports. It marshals to one JSON line.
type Event struct {
	Seq   int64     `json:"seq"`
	Time  time.Time `json:"time"`
	Type  EventType `json:"type"`
	Step  string    `json:"step,omitempty"`
	Pass  int       `json:"pass,omitempty"`
	Phase string    `json:"phase,omitempty"`

	Status  Status `json:"status,omitempty"`
	Message string `json:"message,omitempty"`
	Stream  string `json:"stream,omitempty"`

	Runbook string `json:"runbook,omitempty"`
	Hash    string `json:"hash,omitempty"`

	Need      string            `json:"need,omitempty"`
	Questions []Question        `json:"questions,omitempty"`
	Word      string            `json:"word,omitempty"`
	Answers   map[string]string `json:"answers,omitempty"`
	Actor     string            `json:"actor,omitempty"`
	Facts     map[string]string `json:"facts,omitempty"`

	Host string `json:"host,omitempty"`
	// Command is the command line of a command event, or, on run_started
	// and run_resumed, the ferry command that resumes the migration.
	Command string `json:"command,omitempty"`
	Exit    *int   `json:"exit,omitempty"`

	// PID is the runner's process id: on run_started and run_resumed the
	// runner that journals them; on a lost run's run_finished, the runner
	// that died. 0 in journals written before ferry recorded it.
	PID int `json:"pid,omitempty"`
	// Lost marks a run_finished that says a run ended without finishing:
	// its runner died without journaling its end (kill -9, a crash, the
	// server going down). The next run journals it when it starts, and a
	// client that loses its runner makes one up for its screen.
	Lost bool `json:"lost,omitempty"`

	Progress *tasks.Progress `json:"progress,omitempty"`
	Counters *tasks.Progress `json:"counters,omitempty"`
	Duration time.Duration   `json:"duration,omitempty"`
}

// Journaled reports whether events of this type go to the journal.
func (t EventType) Journaled() bool { return t != EvOutput && t != EvProgress }

// Decision is what a front end (a person, or an answers file) sends back to
// the engine about a waiting step.
type Decision struct {
	Step   string            `json:"step"`
	Action Action            `json:"action"`
	Answer map[string]string `json:"answers,omitempty"`
	Text   string            `json:"text,omitempty"`   // the word typed to confirm
	Reason string            `json:"reason,omitempty"` // why a step was skipped
	Actor  string            `json:"actor,omitempty"`  // who decided
}

// Action is the kind of a Decision.
type Action string

// Actions.
const (
	ActAnswer   Action = "answer"   // Answer holds the answers
	ActConfirm  Action = "confirm"  // Text holds the typed word
	ActDone     Action = "done"     // a manual step was done by hand
	ActSkip     Action = "skip"     // Reason says why
	ActRetry    Action = "retry"    // run a failed or interrupted step again
	ActRepeat   Action = "repeat"   // run a repeatable step once more
	ActContinue Action = "continue" // go on (after a repeatable step, a changed runbook)
	ActTrust    Action = "trust"    // trust the unknown host key shown
	ActQuit     Action = "quit"     // stop here; the journal keeps the place
	ActOverride Action = "override" // go past a gate (NeedGate); Reason says why
	ActRedo     Action = "redo"     // after a failure: run the step's Redo steps again, then the step
)

// NeedText says in words what a waiting step needs.
func NeedText(need string) string {
	switch need {
	case NeedAnswers:
		return "answers to its questions"
	case NeedConfirm:
		return "a typed confirmation"
	case NeedManual:
		return "the admin to do it by hand and say so"
	case NeedFailure:
		return "a decision after its failure: retry or skip"
	case NeedRepeat:
		return "a decision: another pass, or go on"
	case NeedResume:
		return "a decision about its interrupted run"
	case NeedChanged:
		return "a decision about the changed runbook"
	case NeedTrust:
		return "trust in the old server's host key"
	case NeedGate:
		return "an override with a reason: a step it requires has not passed"
	}
	return need
}
