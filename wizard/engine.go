package wizard

import (
	"context"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize/english"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// Errors the engine returns from Run.
var (
	// ErrStopped: the admin chose to stop; the journal keeps the place.
	ErrStopped = errors.New("stopped at the admin's request; run ferry again to go on from here")
	// ErrNeedsHuman: a headless run reached a step the answers file does not
	// cover.
	ErrNeedsHuman = errors.New("a step needs a person")
)

// StepFailedError says which step failed and why.
type StepFailedError struct {
	Step    string
	Message string
}

func (e *StepFailedError) Error() string { return fmt.Sprintf("step %s failed: %s", e.Step, e.Message) }

// Executor carries out steps. The engine decides when; the executor does.
type Executor interface {
	// Run carries out the step's task.
	Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error)
	// Check tests a precondition or success check: ok, and why (a sentence
	// naming what was compared).
	Check(ctx context.Context, s *Step, c *Check, env *StepEnv) (ok bool, reason string, err error)
	// Prepare runs before the step's questions are asked: it learns the
	// facts the questions depend on (is the DNS cache on?) and shows what a
	// manual step needs to show (through env.Report, never journaled).
	Prepare(ctx context.Context, s *Step, env *StepEnv) (facts map[string]string, err error)
}

// StepEnv is what a step sees while it runs.
type StepEnv struct {
	Data   TemplateData
	Report tasks.Reporter
	Pass   int
	// Secrets holds secret answers (never journaled).
	Secrets map[string]string
	// Ask lets a running step ask a question the runbook could not declare
	// in advance (trusting an unknown host key). It blocks until a decision.
	Ask func(need, message string) (Decision, error)
	// Confirm asks for a typed confirmation while the step runs (a transfer
	// that would delete more than the unconfirmed limit): message says what
	// would happen, word is what must be typed. It reports whether word was
	// typed, and who decided.
	Confirm func(message, word string) (ok bool, actor string, err error)
	// Started journals that the step begins a command (host is the host's
	// name, command the command line as the outcome will record it), so
	// that a step whose runner dies leaves its commands in the journal. It
	// is safe for concurrent use; nil does nothing (CommandStarted).
	Started func(host, command string)
}

// CommandStarted calls env.Started when env and it are set.
func (env *StepEnv) CommandStarted(host, command string) {
	if env != nil && env.Started != nil {
		env.Started(host, command)
	}
}

// Outcome is what a step produced.
type Outcome struct {
	Message  string
	Counters *tasks.Progress
	Facts    map[string]string
	Warnings []string
	Commands []CommandRecord
	// Answers learnt by the step itself (the SSH port the connection used),
	// recorded as answers so later questions about them are not asked.
	Answers map[string]string
	// NotApplicable: the step found it has nothing to do (e.g. the SSH
	// port is 22, so no ssh config block is needed). It ends skipped.
	NotApplicable bool
}

// CommandRecord is one command a step ran.
type CommandRecord struct {
	Host    string
	Command string
	Exit    int
}

// Engine walks a runbook's steps in order, records every transition in the
// journal, and waits for Decisions where a person is needed. Front ends see
// it only through Events (the sink) and Decide.
type Engine struct {
	rb    *Runbook
	j     *Journal
	exec  Executor
	sink  func(Event)
	state *State
	// now stamps events; nil means the wall clock (tests set a clock).
	now func() time.Time

	decisions chan Decision
	secrets   map[string]string
	secretKey map[string]bool
	// tested holds the secret keys whose value in secrets a read-only
	// check proved in this process (engine_secrets.go).
	tested map[string]bool
	// red masks secret values (secret answers, secret-stream lines) in
	// every journaled event.
	red Redactor
	// Actor names who decides: Who(os.Getenv) by default, or the answers
	// file in a headless run (AnswersFileActor).
	Actor string
	// ProgressInterval is how often progress is passed on (default 100ms).
	ProgressInterval time.Duration
	// OnAnswers is called after answers are recorded (to save answers.json).
	OnAnswers func(map[string]string)
	// MaxPassFailures bounds the extra passes of a repeatable step that may
	// fail one after another: when that many fail in a row the step fails
	// (a *StepFailedError naming the last cause). Zero means no bound, for a
	// person who decides after each pass; a headless run sets
	// HeadlessMaxPassFailures.
	MaxPassFailures int
	// Resume is the ferry command that resumes this migration ("ferry demo
	// greenarrow --dir /tmp/x"), journaled with the run's start so that
	// ferry status can name it once the runner is gone; "" when not known.
	Resume string
	mu     sync.Mutex
	// emitMu serializes journaled events: a task's goroutines may journal
	// a command's start (StepEnv.Started) or ask (StepEnv.Confirm) at once.
	emitMu sync.Mutex
}

// NewEngine makes an engine for rb writing to j, whose past events are
// given (from OpenJournal). sink receives every event; journaled events come
// in order from the engine's goroutine, output and progress events from the
// running task's goroutines, so sink must be safe for concurrent use and must
// not block for long.
func NewEngine(rb *Runbook, j *Journal, past []Event, exec Executor, sink func(Event)) *Engine {
	e := &Engine{
		rb: rb, j: j, exec: exec, sink: sink,
		state:     Replay(past),
		decisions: make(chan Decision, 16),
		secrets:   map[string]string{},
		secretKey: map[string]bool{},
		tested:    map[string]bool{},
		Actor:     Who(os.Getenv),
	}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			if q.Type == "secret" {
				e.secretKey[q.Key] = true
			}
		}
	}
	return e
}

// State returns the engine's view of the migration so far.
func (e *Engine) State() *State { return e.state }

// Decide passes a decision to the engine. It does not block while the
// engine is waiting; decisions for steps not waiting are ignored.
func (e *Engine) Decide(d Decision) {
	select {
	case e.decisions <- d:
	default:
	}
}

// SetSecret provides a secret answer (from a prompt or an answers file).
// A value set anew counts as untested until a check proves it.
func (e *Engine) SetSecret(key, value string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets[key] = value
	delete(e.tested, key)
	e.red.Add(value)
}

// emit journals (when the type says so) and passes an event on.
func (e *Engine) emit(ev Event) error {
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
		if e.now != nil {
			ev.Time = e.now().UTC()
		}
	}
	if ev.Type.Journaled() {
		e.emitMu.Lock()
		e.redact(&ev)
		var err error
		ev, err = e.j.Append(ev)
		if err == nil {
			e.state = e.state.with(ev)
		}
		e.emitMu.Unlock()
		if err != nil {
			return err
		}
	}
	if e.sink != nil {
		e.sink(ev)
	}
	return nil
}

// redact masks known secret values in the text fields of a journaled event,
// so that neither the journal nor the report built from it holds them.
func (e *Engine) redact(ev *Event) {
	ev.Message = e.red.String(ev.Message)
	ev.Command = e.red.String(ev.Command)
	for _, m := range []map[string]string{ev.Answers, ev.Facts} {
		for k, v := range m {
			m[k] = e.red.String(v)
		}
	}
}

// Run walks the runbook from where the journal left off until the end, a
// stop, or a failure the admin does not retry.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.start(ctx); err != nil {
		return err
	}
	if err := e.sweepLifeline(ctx); err != nil {
		return err
	}
	for i := 0; i < len(e.rb.Steps); i++ {
		s := &e.rb.Steps[i]
		var err error
		if g := e.groupAt(i); g != nil {
			// Steps that may run beside each other (engine_group.go).
			err = e.runGroup(ctx, g)
			i += len(g) - 1
		} else {
			err = e.runStep(ctx, s)
		}
		if err != nil {
			// Every end is journaled, so that a run without one reads as
			// a runner that died (State.RunLost).
			if !errors.Is(err, ErrStopped) && !errors.Is(err, ErrNeedsHuman) && !errors.Is(err, context.Canceled) {
				_ = e.emit(Event{Type: EvRunFinished, Status: StatusFailed, Message: err.Error()})
			} else {
				_ = e.emit(Event{Type: EvRunFinished, Status: StatusInterrupted, Message: stopWords(err)})
			}
			return err
		}
	}
	return e.emit(Event{Type: EvRunFinished, Status: StatusOK, Message: "every step is done"})
}

func (e *Engine) start(ctx context.Context) error {
	st := e.state
	pid := os.Getpid()
	if st.Runbook == "" {
		return e.emit(Event{Type: EvRunStarted, Runbook: e.rb.ID, Hash: e.rb.Hash, Message: e.rb.Title, PID: pid, Command: e.Resume})
	}
	if st.Runbook != e.rb.ID {
		return fmt.Errorf("this state directory holds a %s migration, not %s: use another --state-dir", st.Runbook, e.rb.ID)
	}
	// This engine holds the lock: a last run without its end lost its
	// runner. That is journaled first, so the run history shows it.
	if st.RunLost(false) {
		if err := e.emit(st.LostRunEvent(e.rb.StepIDs())); err != nil {
			return err
		}
	}
	if st.Hash != e.rb.Hash {
		msg := fmt.Sprintf("runbook %s (%s) changed since this migration began (journal has %.12s, now %.12s)", e.rb.ID, e.rb.File, st.Hash, e.rb.Hash)
		if err := e.emit(Event{Type: EvRunbookChanged, Message: msg}); err != nil {
			return err
		}
		d, err := e.wait(ctx, Event{Type: EvWaiting, Need: NeedChanged, Message: msg + ". Go on with the new runbook?"})
		if err != nil {
			return err
		}
		if d.Action != ActContinue {
			return ErrStopped
		}
	}
	return e.emit(Event{Type: EvRunResumed, Runbook: e.rb.ID, Hash: e.rb.Hash, Message: "resuming from the journal", PID: pid, Command: e.Resume})
}

// stopWords says why a run stopped without failing (err is ErrStopped, a
// *NeedsHumanError or a cancelled context), for its run_finished event.
func stopWords(err error) string {
	if errors.Is(err, context.Canceled) {
		return "ferry was told to stop (interrupt or TERM)"
	}
	return err.Error()
}

// wait emits a waiting event and blocks for a decision about that step.
func (e *Engine) wait(ctx context.Context, ev Event) (Decision, error) {
	if err := e.emit(ev); err != nil {
		return Decision{}, err
	}
	for {
		select {
		case <-ctx.Done():
			return Decision{}, ctx.Err()
		case d := <-e.decisions:
			if d.Step != "" && d.Step != ev.Step {
				continue
			}
			if d.Action == ActQuit {
				return d, ErrStopped
			}
			if d.Actor == "" {
				d.Actor = e.Actor
			}
			return d, nil
		}
	}
}

func (e *Engine) data(s *Step) TemplateData {
	answers := map[string]string{}
	for k, v := range e.state.Answers {
		if !e.secretKey[k] {
			answers[k] = v
		}
	}
	facts := map[string]string{}
	for k, v := range e.state.Facts {
		facts[k] = v
	}
	fam := facts[s.Host+"_family"]
	facts["family"] = fam
	return TemplateData{Params: e.rb.Params, Answers: answers, Facts: facts, Family: fam}
}

// forecast records the downtime forecast (ForecastDowntime) as facts when
// step s starts the downtime and the window has not begun, and returns it
// in words for the question put to the admin; "" otherwise.
func (e *Engine) forecast(s *Step) (string, error) {
	if s.Downtime != DowntimeStart || !e.state.DowntimeStart.IsZero() {
		return "", nil
	}
	f := ForecastDowntime(e.rb, e.state, e.stepApplies)
	sentence := f.Sentence()
	err := e.emit(Event{Type: EvFact, Step: s.ID, Facts: map[string]string{
		FactDowntimeForecast:      strconv.FormatFloat(f.Total.Seconds(), 'f', 1, 64),
		FactDowntimeForecastBasis: sentence,
	}})
	return sentence, err
}

// manualPrecondition checks a manual step's precondition, when it names a
// check kind, until it holds: a failure waits for the admin, who may retry
// (the step's secrets are asked again), skip the step or stop.
func (e *Engine) manualPrecondition(ctx context.Context, s *Step) error {
	c := s.Precondition
	if c == nil || c.Kind == "" {
		return nil
	}
	for {
		ok, reason, err := e.exec.Check(ctx, s, c, e.env(s, 0, tasks.Discard, ctx))
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ok && err == nil {
			return nil
		}
		msg := fmt.Sprintf("precondition does not hold: %s (%s)", c.Text, reason)
		if err != nil {
			msg = fmt.Sprintf("precondition could not be checked: %v", err)
		}
		sf := &StepFailedError{Step: s.ID, Message: msg}
		d, werr := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedFailure, Message: msg})
		if werr != nil {
			if errors.Is(werr, ErrNeedsHuman) {
				return sf
			}
			return werr
		}
		switch d.Action {
		case ActRetry:
			if err := e.reask(ctx, s, msg); err != nil {
				return err
			}
			if e.state.Status(s.ID) == StatusSkipped {
				return nil
			}
		case ActRedo:
			// What the precondition wants is an earlier step's work (the
			// old server stopped): run that step again, then check again.
			if err := e.redo(ctx, s, d, msg); err != nil {
				return err
			}
		case ActSkip:
			return e.skip(s, d.Reason, d.Actor)
		default:
			return sf
		}
	}
}

// redo runs again, in order, the earlier steps whose work step s proves or
// needs (Step.Redo), after s failed with why: each is journaled as
// reopened, with who asked and why, and runs as it did the first time (a
// destructive one asks for its word again). The caller then tries s again.
func (e *Engine) redo(ctx context.Context, s *Step, d Decision, why string) error {
	if len(s.Redo) == 0 {
		return e.emit(Event{Type: EvWarning, Step: s.ID, Message: "this step names no earlier step to run again; trying it again"})
	}
	for _, id := range s.Redo {
		r := e.rb.Step(id)
		if r == nil {
			continue
		}
		if err := e.emit(Event{Type: EvReopened, Step: id, Phase: r.Phase, Actor: d.Actor,
			Message: "run again before " + s.ID + ", which failed: " + why}); err != nil {
			return err
		}
		if err := e.runStep(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// reaskText is what the question put again after a failure says: the
// failure (why, the step's message), then what the admin can do with the
// questions qs. An answer may be kept as it is (enter); a secret (its key
// set in secret) was dropped when the step failed, so it is typed again.
func reaskText(why string, qs []Question, secret map[string]bool) string {
	var open, hidden int
	for _, q := range qs {
		if secret[q.Key] {
			hidden++
		} else {
			open++
		}
	}
	msg := "The step failed: " + strings.TrimRight(strings.TrimSpace(why), ".") + "."
	switch {
	case hidden > 0 && open > 0:
		msg += " Change the answer that caused it (enter keeps one as it is), and type the secret again: ferry did not keep the one that failed."
	case hidden > 0:
		msg += " Type it again: ferry did not keep the one that failed."
	default:
		msg += " Change the answer that caused it, or press enter to keep it as it is."
	}
	return msg
}

// reask puts step s's own questions to the admin again after the step
// failed (why says how), each pre-filled with the answer in use (the
// question's Default); secret ones are asked afresh and never pre-filled.
// The waiting event's Answers hold the values that failed (secrets left
// out), so a headless run can tell a corrected value from the same one. A
// changed answer is journaled as a new answered event whose message names
// the old value and the new one; the earlier event stays for the record.
func (e *Engine) reask(ctx context.Context, s *Step, why string) error {
	qs, err := e.applicable(s)
	// The spare sshd is no cause of a failure: its answer is not put
	// again (lifeline.go puts it again when the spare cannot start).
	qs = slices.DeleteFunc(qs, func(q Question) bool { return q.Key == LifelineKey })
	if err != nil || len(qs) == 0 {
		return err
	}
	failed := map[string]string{}
	for i, q := range qs {
		if e.secretKey[q.Key] {
			qs[i].Default = ""
			continue
		}
		if v, ok := e.state.Answers[q.Key]; ok {
			qs[i].Default = v
			failed[q.Key] = v
		}
	}
	e.mu.Lock()
	for _, q := range qs {
		if e.secretKey[q.Key] {
			delete(e.secrets, q.Key)
		}
	}
	e.mu.Unlock()
	msg := reaskText(why, qs, e.secretKey)
	for {
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedAnswers, Questions: qs, Answers: failed, Message: msg})
		if err != nil {
			return err
		}
		if d.Action == ActSkip {
			return e.skip(s, d.Reason, d.Actor)
		}
		var bad, changes []string
		public := map[string]string{}
		for _, q := range qs {
			v, ok := d.Answer[q.Key]
			if !ok || (strings.TrimSpace(v) == "" && q.Default != "") {
				v, ok = q.Default, q.Default != ""
			}
			if !ok {
				bad = append(bad, q.Key+" ("+q.Prompt+"): no answer")
				continue
			}
			if err := ValidateAnswer(q, v); err != nil {
				bad = append(bad, err.Error())
				continue
			}
			v = strings.TrimSpace(v)
			switch {
			case e.secretKey[q.Key]:
				e.SetSecret(q.Key, v)
				public[q.Key] = "(secret, not recorded)"
				changes = append(changes, q.Key+" typed again")
			case v != failed[q.Key]:
				public[q.Key] = v
				changes = append(changes, fmt.Sprintf("%s changed from %q to %q", q.Key, failed[q.Key], v))
			}
		}
		if len(bad) > 0 {
			for _, b := range bad {
				if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "answer refused: " + b}); err != nil {
					return err
				}
			}
			continue
		}
		if len(public) == 0 {
			return nil
		}
		if err := e.emit(Event{Type: EvAnswered, Step: s.ID, Answers: public, Actor: d.Actor, Message: "after a failure: " + strings.Join(changes, "; ")}); err != nil {
			return err
		}
		if e.OnAnswers != nil {
			e.OnAnswers(e.state.Answers)
		}
		return nil
	}
}

// applicable returns a copy of step s's questions that apply here (their
// when, if any, renders true).
func (e *Engine) applicable(s *Step) ([]Question, error) {
	data := e.data(s)
	var qs []Question
	for _, q := range s.Ask {
		if q.When != "" {
			w, err := Render(q.When, data)
			if err != nil {
				return nil, fmt.Errorf("step %s: question %s: %w", s.ID, q.Key, err)
			}
			if strings.TrimSpace(w) != "true" {
				continue
			}
		}
		qs = append(qs, q)
	}
	return qs, nil
}

// confirmedHow says how a confirmation was given: typed by a person, or
// allowed by the answers file's confirm list (nobody typed anything).
func confirmedHow(actor, word string) string {
	if strings.HasPrefix(actor, "answers file") {
		return "allowed by the answers file's confirm list (the word was " + word + ")"
	}
	return "typed " + word
}

// Unmet returns, for each step s requires (Step.Requires) that has not
// passed, its title and status in words ("Check the configuration
// (skipped)"), in the runbook's order; nil when every one passed. Only
// status ok counts: a skipped or failed test is not a passed one.
func (e *Engine) Unmet(s *Step) []string {
	var out []string
	for _, id := range e.unmetIDs(s) {
		title := id
		if r := e.rb.Step(id); r != nil {
			title = r.Title
		}
		out = append(out, fmt.Sprintf("%s (%s)", title, e.state.Status(id)))
	}
	return out
}

func (e *Engine) unmetIDs(s *Step) []string {
	var out []string
	for _, id := range s.Requires {
		if e.state.Status(id) != StatusOK {
			out = append(out, id)
		}
	}
	return out
}

// gate holds step s until every step it requires has passed, or the admin
// goes past with a typed reason (ActOverride, journaled as an overridden
// event that the report shows), skips s, or stops. It reads the journal's
// statuses right before the step, on a first run and on a resume alike;
// an override already in the journal for s stands.
func (e *Engine) gate(ctx context.Context, s *Step) error {
	for {
		unmet := e.Unmet(s)
		if len(unmet) == 0 {
			return nil
		}
		if r := e.state.Steps[s.ID]; r != nil && r.Override != "" {
			return nil
		}
		msg := fmt.Sprintf("this step runs only after these steps passed, and they have not: %s. Run them again now, or override with a reason that goes into the journal and the report", strings.Join(unmet, "; "))
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedGate, Message: msg})
		if err != nil {
			if errors.Is(err, ErrNeedsHuman) {
				return &StepFailedError{Step: s.ID, Message: msg}
			}
			return err
		}
		switch d.Action {
		case ActOverride:
			reason := strings.TrimSpace(d.Reason)
			if reason == "" {
				if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "an override needs a reason; nothing was overridden"}); err != nil {
					return err
				}
				continue
			}
			return e.emit(Event{Type: EvOverridden, Step: s.ID, Phase: s.Phase, Actor: d.Actor,
				Message: reason + " (went past: " + strings.Join(unmet, "; ") + ")"})
		case ActRetry:
			// Run the required steps again, in order, before this one.
			for _, id := range e.unmetIDs(s) {
				r := e.rb.Step(id)
				if r == nil {
					continue
				}
				if err := e.emit(Event{Type: EvReopened, Step: id, Phase: r.Phase, Actor: d.Actor,
					Message: "run again before " + s.ID + " (asked at its gate)"}); err != nil {
					return err
				}
				if err := e.runStep(ctx, r); err != nil {
					return err
				}
			}
		case ActSkip:
			return e.skip(s, d.Reason, d.Actor)
		default:
			return &StepFailedError{Step: s.ID, Message: msg}
		}
	}
}

func (e *Engine) skip(s *Step, reason, actor string) error {
	return e.emit(Event{Type: EvSkipped, Step: s.ID, Phase: s.Phase, Message: reason, Actor: actor})
}

func (e *Engine) runStep(ctx context.Context, s *Step) error {
	rec := e.state.Steps[s.ID]
	status := e.state.Status(s.ID)
	if status.Done() && !(s.Repeatable && rec != nil && rec.Waiting == NeedRepeat) {
		return nil
	}
	if s.When != "" {
		w, err := Render(s.When, e.data(s))
		if err != nil {
			return fmt.Errorf("step %s: when: %w", s.ID, err)
		}
		if strings.TrimSpace(w) != "true" {
			return e.skip(s, "does not apply here", "ferry")
		}
	}
	if err := e.gate(ctx, s); err != nil {
		return err
	}
	if e.state.Status(s.ID) == StatusSkipped {
		return nil
	}
	// The secrets the downtime window will need are asked, and tested,
	// before the step that opens it (engine_secrets.go).
	if err := e.askBeforeWindow(ctx, s); err != nil {
		return err
	}
	if e.state.Status(s.ID) == StatusSkipped {
		return nil
	}
	if status == StatusFailed && (!s.SafeToRerun || s.Destructive) {
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedFailure,
			Message: "this step failed before: " + rec.Message})
		if err != nil {
			return err
		}
		switch d.Action {
		case ActSkip:
			return e.skip(s, d.Reason, d.Actor)
		case ActRetry:
		default:
			return &StepFailedError{Step: s.ID, Message: rec.Message}
		}
	}
	if status == StatusFailed {
		// Ferry stopped after the step failed: its answers may be the
		// cause, so they are put again (pre-filled) before it runs again.
		if err := e.reask(ctx, s, rec.Message); err != nil {
			return err
		}
		if e.state.Status(s.ID) == StatusSkipped {
			return nil
		}
	}
	if status == StatusInterrupted {
		if s.SafeToRerun && !s.Destructive {
			if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "was interrupted; it is safe to re-run, so it runs again"}); err != nil {
				return err
			}
		} else {
			d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedResume,
				Message: "this step was interrupted and is not safe to re-run blindly: check its effect, then retry it, mark it done, or skip it"})
			if err != nil {
				return err
			}
			switch d.Action {
			case ActDone:
				return e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Status: StatusOK, Message: "marked done by " + d.Actor + " after an interruption", Actor: d.Actor})
			case ActSkip:
				return e.skip(s, d.Reason, d.Actor)
			}
		}
	}
	if rec != nil && rec.Waiting == NeedRepeat && status.Done() {
		// A repeatable step that finished but whose repeat question was not
		// answered before ferry stopped: ask again.
		return e.afterRepeatable(ctx, s)
	}
	if err := e.prepare(ctx, s); err != nil {
		return err
	}
	if err := e.ask(ctx, s); err != nil {
		return err
	}
	if e.state.Status(s.ID) == StatusSkipped {
		return nil
	}
	// A step that can cut the admin's access keeps a spare sshd, as
	// answered, until it ends, however it ends (lifeline.go).
	stopLifeline, err := e.lifeline(ctx, s)
	if err != nil {
		return err
	}
	defer stopLifeline()
	if e.state.Status(s.ID) == StatusSkipped {
		return nil
	}
	if s.Level == LevelManual {
		// What guards a manual step (the row counts before the old server
		// is switched off) is checked before it is put to the admin, on a
		// first run and on a resume alike.
		if err := e.manualPrecondition(ctx, s); err != nil {
			return err
		}
		if e.state.Status(s.ID) == StatusSkipped {
			return nil
		}
		// A manual step's downtime begins when ferry puts it to the admin
		// (the service may go down any moment from then) and ends when the
		// admin confirms it done.
		forecast, err := e.forecast(s)
		if err != nil {
			return err
		}
		if err := e.markDowntime(s, DowntimeStart); err != nil {
			return err
		}
		msg := s.Title
		if forecast != "" {
			msg += " (" + forecast + ")"
		}
		word := ""
		if s.Destructive {
			// A destructive step done by hand is confirmed like any other:
			// the admin types the word naming the server.
			word = e.confirmWord(s)
			// The server once: a title that names it ("Switch the old
			// server off") is not followed by "on the old server".
			if !strings.Contains(s.Title, "the "+s.Host+" server") {
				msg += ", on " + e.serverWords(s)
			}
			msg = fmt.Sprintf("%s: when it is done, type %q", msg, word)
		}
		var d Decision
		for {
			d, err = e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedManual, Word: word, Message: msg})
			if err != nil {
				return err
			}
			if d.Action == ActSkip {
				return e.skip(s, d.Reason, d.Actor)
			}
			if word == "" || (d.Action == ActDone && wordTyped(d.Text, word)) {
				break
			}
			if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: fmt.Sprintf("confirmation refused: %q is not %q", d.Text, word)}); err != nil {
				return err
			}
		}
		if word != "" {
			if err := e.emit(Event{Type: EvConfirmed, Step: s.ID, Actor: d.Actor, Message: confirmedHow(d.Actor, word)}); err != nil {
				return err
			}
		}
		if err := e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Status: StatusOK, Message: "done by hand, confirmed by " + d.Actor, Actor: d.Actor}); err != nil {
			return err
		}
		return e.markDowntime(s, DowntimeEnd)
	}
	return e.attempts(ctx, s, false, nil)
}

// attempts runs step s until an attempt succeeds, then asks whether to
// repeat a repeatable step. After a failure it waits for the admin: retry
// (the step's questions are put again first), skip or stop. When tried is
// true the first attempt was already made, elsewhere (beside other steps,
// engine_group.go), and ended with err.
func (e *Engine) attempts(ctx context.Context, s *Step, tried bool, err error) error {
	for {
		if !tried {
			err = e.attempt(ctx, s)
		}
		tried = false
		if err == nil {
			break
		}
		var sf *StepFailedError
		if !errors.As(err, &sf) {
			return err
		}
		d, werr := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedFailure, Message: sf.Message})
		if werr != nil {
			if errors.Is(werr, ErrNeedsHuman) {
				return sf
			}
			return werr
		}
		switch d.Action {
		case ActRetry:
			// An answer given for this step (a mistyped directory, a
			// refused password) is a likely cause: put the step's questions
			// again, pre-filled, rather than retry with the same ones.
			if err := e.reask(ctx, s, sf.Message); err != nil {
				return err
			}
			if e.state.Status(s.ID) == StatusSkipped {
				return nil
			}
			continue
		case ActRedo:
			if err := e.redo(ctx, s, d, sf.Message); err != nil {
				return err
			}
			continue
		case ActSkip:
			return e.skip(s, d.Reason, d.Actor)
		default:
			return sf
		}
	}
	if s.Repeatable {
		return e.afterRepeatable(ctx, s)
	}
	return nil
}

func (e *Engine) afterRepeatable(ctx context.Context, s *Step) error {
	failures, failed := 0, 0
	for {
		passes := e.state.Steps[s.ID].Passes
		// Pass counts the passes tried, failed ones included, so that an
		// answers file's repeat count bounds them.
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedRepeat, Pass: len(passes) + failed, Message: PassSummary(passes) + RepeatAdvice(PassSamples(e.state, s.ID))})
		if err != nil {
			return err
		}
		if d.Action != ActRepeat {
			return e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Status: StatusOK, Message: english.Plural(len(passes), "pass", "passes") + "; going on", Duration: lastOr(passes)})
		}
		if err := e.attempt(ctx, s); err != nil {
			var sf *StepFailedError
			if errors.As(err, &sf) {
				failures++
				failed++
				if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "extra pass failed: " + sf.Message}); err != nil {
					return err
				}
				if e.MaxPassFailures > 0 && failures >= e.MaxPassFailures {
					return &StepFailedError{Step: s.ID, Message: fmt.Sprintf("%d extra passes failed in a row, so ferry stops trying; the last one: %s", failures, sf.Message)}
				}
				continue
			}
			return err
		}
		failures = 0
	}
}

func lastOr(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	return d[len(d)-1]
}

// PassSummary describes the passes of a repeatable step and what they
// predict for the next one.
func PassSummary(passes []time.Duration) string {
	if len(passes) == 0 {
		return "no pass yet"
	}
	parts := make([]string, len(passes))
	for i, p := range passes {
		parts[i] = fmt.Sprintf("#%d %s", i+1, p.Round(time.Second))
	}
	return fmt.Sprintf("passes: %s; the next pass should take about %s", strings.Join(parts, ", "), PredictNext(passes).Round(time.Second))
}

// PredictNext estimates the next pass of a repeatable transfer: each pass
// moves only what changed since the previous one, so the last pass is the
// best guess, and a shrinking series is expected to shrink again by the
// same ratio (never below a tenth of the last pass).
func PredictNext(passes []time.Duration) time.Duration {
	n := len(passes)
	if n == 0 {
		return 0
	}
	last := passes[n-1]
	if n == 1 || passes[n-2] == 0 || last >= passes[n-2] {
		return last
	}
	next := time.Duration(float64(last) * float64(last) / float64(passes[n-2]))
	if next < last/10 {
		next = last / 10
	}
	return next
}

// prepare lets the executor learn what the step's questions depend on.
func (e *Engine) prepare(ctx context.Context, s *Step) error {
	return e.prepareOn(ctx, s, direct)
}

// prepareOn is prepare with the environment read and the events emitted
// through do (see attemptOn).
func (e *Engine) prepareOn(ctx context.Context, s *Step, do func(func())) error {
	rep := newReporter(e, s.ID, e.ProgressInterval)
	var env *StepEnv
	do(func() { env = e.envOn(s, 0, rep, ctx, do) })
	facts, err := e.exec.Prepare(ctx, s, env)
	rep.stop()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		do(func() {
			err = e.emit(Event{Type: EvWarning, Step: s.ID, Message: "could not prepare the step: " + err.Error()})
		})
		return err
	}
	if len(facts) > 0 {
		do(func() { err = e.emit(Event{Type: EvFact, Step: s.ID, Facts: facts}) })
	}
	return err
}

// ask gathers the answers the step needs that are not known yet.
func (e *Engine) ask(ctx context.Context, s *Step) error {
	data := e.data(s)
	var missing []Question
	for _, q := range s.Ask {
		if q.When != "" {
			w, err := Render(q.When, data)
			if err != nil {
				return fmt.Errorf("step %s: question %s: %w", s.ID, q.Key, err)
			}
			if strings.TrimSpace(w) != "true" {
				continue
			}
		}
		if e.known(q.Key) {
			continue
		}
		missing = append(missing, q)
	}
	msg := ""
	for _, q := range missing {
		if q.Key == LifelineKey && s.CutsAccess != "" {
			msg = cutsWords(s) + ": ferry can keep a spare sshd on another port until the step ends"
		}
	}
	return e.put(ctx, s, missing, msg, "")
}

// put asks the questions missing, on behalf of step s, until each has a
// valid answer or the admin skips s (journaled as skipped). msg, when not
// empty, says why they are asked; note, when not empty, becomes the
// message of the answered event. Secret answers are kept in memory only
// (SetSecret); the others are journaled.
func (e *Engine) put(ctx context.Context, s *Step, missing []Question, msg, note string) error {
	for len(missing) > 0 {
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedAnswers, Questions: missing, Message: msg})
		if err != nil {
			return err
		}
		if d.Action == ActSkip {
			return e.skip(s, d.Reason, d.Actor)
		}
		var bad []string
		public := map[string]string{}
		var still []Question
		for _, q := range missing {
			v, ok := d.Answer[q.Key]
			if !ok {
				still = append(still, q)
				continue
			}
			if err := ValidateAnswer(q, v); err != nil {
				bad = append(bad, err.Error())
				still = append(still, q)
				continue
			}
			v = strings.TrimSpace(v)
			if e.secretKey[q.Key] {
				e.SetSecret(q.Key, v)
				public[q.Key] = "(secret, not recorded)"
			} else {
				public[q.Key] = v
			}
		}
		if len(public) > 0 {
			if err := e.emit(Event{Type: EvAnswered, Step: s.ID, Answers: public, Actor: d.Actor, Message: note}); err != nil {
				return err
			}
			if e.OnAnswers != nil {
				e.OnAnswers(e.state.Answers)
			}
		}
		for _, b := range bad {
			if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "answer refused: " + b}); err != nil {
				return err
			}
		}
		missing = still
	}
	return nil
}

func (e *Engine) known(key string) bool {
	if e.secretKey[key] {
		e.mu.Lock()
		defer e.mu.Unlock()
		_, ok := e.secrets[key]
		return ok
	}
	_, ok := e.state.Answers[key]
	return ok
}

// serverWords says in words which server step s acts on: "the new server
// (NAME)".
func (e *Engine) serverWords(s *Step) string {
	name := e.state.Facts["new_name"]
	if s.Host == HostOld {
		name = firstNonEmpty(e.state.Facts["old_name"], e.state.Facts["old_addr"])
	}
	w := "the " + s.Host + " server"
	if name != "" {
		w += " (" + name + ")"
	}
	return w
}

func (e *Engine) env(s *Step, pass int, rep tasks.Reporter, ctx context.Context) *StepEnv {
	return e.envOn(s, pass, rep, ctx, direct)
}

// direct runs f at once, on the calling goroutine: the engine's own, when
// steps run one after another.
func direct(f func()) { f() }

// envOn is env for a step whose task runs on another goroutine than the
// engine's (a step run beside others, engine_group.go): its questions are
// put to the admin through do, which runs them on the engine's goroutine.
func (e *Engine) envOn(s *Step, pass int, rep tasks.Reporter, ctx context.Context, do func(func())) *StepEnv {
	e.mu.Lock()
	secrets := map[string]string{}
	for k, v := range e.secrets {
		secrets[k] = v
	}
	e.mu.Unlock()
	return &StepEnv{
		Data: e.data(s), Report: rep, Pass: pass, Secrets: secrets,
		Ask: func(need, message string) (d Decision, err error) {
			do(func() {
				d, err = e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: need, Message: message})
			})
			return d, err
		},
		Confirm: func(message, word string) (bool, string, error) {
			var d Decision
			var err error
			do(func() {
				d, err = e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedConfirm, Word: word, Message: message})
			})
			if err != nil {
				return false, "", err
			}
			return d.Action == ActConfirm && wordTyped(d.Text, word), d.Actor, nil
		},
		Started: func(host, command string) {
			// A task's goroutines may start commands at once (emit
			// serializes them).
			do(func() {
				_ = e.emit(Event{Type: EvCommand, Step: s.ID, Host: host, Command: command, Status: StatusRunning})
			})
		},
	}
}

// attempt runs a step once: precondition, confirmation, task, success check.
func (e *Engine) attempt(ctx context.Context, s *Step) error {
	return e.attemptOn(ctx, s, direct)
}

// attemptOn is attempt with every touch of the journal, the state and the
// admin made through do: direct on the engine's goroutine, or handed to it
// by a step that runs beside others (engine_group.go), whose checks and
// task run on their own goroutine.
func (e *Engine) attemptOn(ctx context.Context, s *Step, do func(func())) error {
	check := func(c *Check, what string) error { return e.checkOn(ctx, s, c, what, do) }
	if err := check(s.Precondition, "precondition"); err != nil {
		return err
	}
	var err error
	skipped := false
	// On the engine's goroutine, the re-check included.
	do(func() {
		skipped, err = e.confirmStep(ctx, s, func(c *Check, what string) error { return e.checkOn(ctx, s, c, what, direct) })
	})
	if err != nil || skipped {
		return err
	}
	var env *StepEnv
	rep := newReporter(e, s.ID, e.ProgressInterval)
	// pass numbers this run of the step, on its start and on its finish,
	// so that a reader of the events pairs them (a repeatable step also
	// finishes once more, with no pass, when the admin goes on).
	pass := 1
	do(func() {
		if r := e.state.Steps[s.ID]; r != nil {
			pass = len(r.Passes) + 1
		}
		if err = e.markDowntime(s, DowntimeStart); err != nil {
			return
		}
		if err = e.emit(Event{Type: EvStepStarted, Step: s.ID, Phase: s.Phase, Pass: pass, Message: s.Title}); err != nil {
			return
		}
		env = e.envOn(s, pass, rep, ctx, do)
	})
	if err != nil {
		rep.stop()
		return err
	}
	start := time.Now()
	out, err := e.exec.Run(ctx, s, env)
	last := rep.stop()
	dur := time.Since(start)
	var jerr error
	do(func() { jerr = e.recordOutcome(s, out) })
	if jerr != nil {
		return jerr
	}
	counters := out.Counters
	if counters == nil && last != nil && last.Counts() {
		// The last progress the task gave, unless it was a note alone.
		counters = last
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, ErrStopped) || errors.Is(err, ErrNeedsHuman) {
			return err
		}
		msg := err.Error()
		do(func() {
			_ = e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Pass: pass, Status: StatusFailed, Message: msg, Counters: counters, Duration: dur})
		})
		return &StepFailedError{Step: s.ID, Message: msg}
	}
	if out.NotApplicable {
		do(func() {
			err = e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Pass: pass, Status: StatusSkipped, Message: out.Message, Duration: dur})
		})
		return err
	}
	if isOwnCheck(s, s.Success) {
		// The step's run was this very check, a moment ago (the row-count
		// proof): counting again would only lengthen the downtime.
	} else if err := check(s.Success, "success check"); err != nil {
		var sf *StepFailedError
		errors.As(err, &sf)
		do(func() {
			_ = e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Pass: pass, Status: StatusFailed, Message: sf.Message, Counters: counters, Duration: dur})
		})
		return err
	}
	do(func() {
		if err = e.emit(Event{Type: EvStepFinished, Step: s.ID, Phase: s.Phase, Pass: pass, Status: StatusOK, Message: out.Message, Counters: counters, Duration: dur}); err != nil {
			return
		}
		e.markTested(s)
		if s.Downtime == DowntimeEnd && e.state.DowntimeEnd.IsZero() {
			err = e.emit(Event{Type: EvDowntimeEnd, Step: s.ID, Message: "downtime ends"})
		}
	})
	return err
}

// isOwnCheck reports whether check c is what step s itself runs: the same
// kind with the same parameters (a check-level step whose success check
// restates it). Such a check is not run again right after the step.
func isOwnCheck(s *Step, c *Check) bool {
	return c != nil && c.Kind != "" && c.Kind == s.Kind && reflect.DeepEqual(c.Params, s.Params)
}

// checkOn runs check c (a precondition or success check, named what) of
// step s; its environment is read through do. A failed or unreadable check
// is a *StepFailedError.
func (e *Engine) checkOn(ctx context.Context, s *Step, c *Check, what string, do func(func())) error {
	if c == nil || c.Kind == "" {
		return nil
	}
	var env *StepEnv
	do(func() { env = e.envOn(s, 0, tasks.Discard, ctx, do) })
	ok, reason, err := e.exec.Check(ctx, s, c, env)
	if err != nil {
		return &StepFailedError{Step: s.ID, Message: fmt.Sprintf("%s could not be checked: %v", what, err)}
	}
	if !ok {
		return &StepFailedError{Step: s.ID, Message: fmt.Sprintf("%s does not hold: %s (%s)", what, c.Text, reason)}
	}
	return nil
}

// confirmStep records the downtime forecast when s starts the window and,
// for a destructive step not yet confirmed, asks for the typed word and
// checks the precondition again right before the action (check). A skip
// given instead of the word is journaled, and skipped is then true.
func (e *Engine) confirmStep(ctx context.Context, s *Step, check func(*Check, string) error) (skipped bool, err error) {
	forecast, err := e.forecast(s)
	if err != nil {
		return false, err
	}
	if !s.Destructive || e.state.Confirmed[s.ID] {
		return false, nil
	}
	word := e.confirmWord(s)
	// What the step does and where, from its data (Harm); the step's
	// title is the event's step, and often names the server already.
	msg := Harm(s, e.data(s), e.serverWords(s))
	if forecast != "" {
		msg += " (" + forecast + ")"
	}
	msg += fmt.Sprintf(": type %q to go ahead", word)
	for {
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedConfirm, Word: word,
			Message: msg})
		if err != nil {
			return false, err
		}
		if d.Action == ActSkip {
			return true, e.skip(s, d.Reason, d.Actor)
		}
		if d.Action == ActConfirm && wordTyped(d.Text, word) {
			if err := e.emit(Event{Type: EvConfirmed, Step: s.ID, Actor: d.Actor, Message: confirmedHow(d.Actor, word)}); err != nil {
				return false, err
			}
			break
		}
		if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: fmt.Sprintf("confirmation refused: %q is not %q", d.Text, word)}); err != nil {
			return false, err
		}
	}
	// Re-check right before the action: time may have passed.
	return false, check(s.Precondition, "precondition (checked again)")
}

// recordOutcome journals what a step's task reported: the commands it ran,
// its warnings, the facts it learnt, and answers it learnt that were not
// known yet.
func (e *Engine) recordOutcome(s *Step, out Outcome) error {
	for _, c := range out.Commands {
		exit := c.Exit
		if err := e.emit(Event{Type: EvCommand, Step: s.ID, Host: c.Host, Command: c.Command, Exit: &exit}); err != nil {
			return err
		}
	}
	for _, w := range out.Warnings {
		if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: w}); err != nil {
			return err
		}
	}
	if len(out.Facts) > 0 {
		if err := e.emit(Event{Type: EvFact, Step: s.ID, Facts: out.Facts}); err != nil {
			return err
		}
	}
	if len(out.Answers) > 0 {
		learnt := map[string]string{}
		for k, v := range out.Answers {
			if _, known := e.state.Answers[k]; !known {
				learnt[k] = v
			}
		}
		if len(learnt) > 0 {
			return e.emit(Event{Type: EvAnswered, Step: s.ID, Answers: learnt, Actor: "ferry"})
		}
	}
	return nil
}

// stepReporter turns a task's reports into events: every line at once (the
// front end throttles its drawing), progress at most once per interval.
type stepReporter struct {
	e    *Engine
	step string
	mu   sync.Mutex
	last *tasks.Progress
	sent *tasks.Progress
	done chan struct{}
	wg   sync.WaitGroup
}

func newReporter(e *Engine, step string, every time.Duration) *stepReporter {
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	r := &stepReporter{e: e, step: step, done: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.done:
				r.flush()
				return
			case <-t.C:
				r.flush()
			}
		}
	}()
	return r
}

func (r *stepReporter) flush() {
	r.mu.Lock()
	p := r.last
	changed := p != nil && p != r.sent
	r.sent = p
	r.mu.Unlock()
	if changed && r.e.sink != nil {
		cp := *p
		r.e.sink(Event{Type: EvProgress, Time: time.Now().UTC(), Step: r.step, Progress: &cp})
	}
}

func (r *stepReporter) Line(stream, text string) {
	if stream == StreamSecret {
		r.e.red.Add(text)
	}
	if r.e.sink != nil {
		r.e.sink(Event{Type: EvOutput, Time: time.Now().UTC(), Step: r.step, Stream: stream, Message: text})
	}
}

func (r *stepReporter) Progress(p tasks.Progress) {
	r.mu.Lock()
	r.last = &p
	r.mu.Unlock()
}

// stop ends the ticker after one last flush and returns the last snapshot.
func (r *stepReporter) stop() *tasks.Progress {
	close(r.done)
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}
