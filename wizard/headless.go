package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// NeedsHumanError says which step a headless run stopped at and what it
// needed that the answers file does not give.
// Field, when not empty, is what to put in an answers file to go past
// that step unattended, worded for the admin (see AnswersFileField).
type NeedsHumanError struct {
	Step  string
	Need  string
	What  string
	Field string
}

func (e *NeedsHumanError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("step %s needs a person (%s): %s; nobody here can be asked: %s, give that file with --answers FILE, or run ferry on a terminal", e.Step, e.Need, e.What, e.Field)
	}
	return fmt.Sprintf("step %s needs a person (%s): %s; add it to the answers file or run ferry interactively", e.Step, e.Need, e.What)
}

// Is makes errors.Is(err, ErrNeedsHuman) true.
func (e *NeedsHumanError) Is(target error) bool { return target == ErrNeedsHuman }

// HeadlessMaxPassFailures is how many extra passes of a repeatable step may
// fail in a row in a headless run before the step fails (exit 1): nobody is
// there to decide, so the run must not try again without end.
const HeadlessMaxPassFailures = 3

// headlessMaxAsks is how often one step may wait for the same need in a
// headless run, with no pass of it ending well in between, before the run
// stops for a person.
const headlessMaxAsks = 5

// RunHeadless runs the session with no terminal: every event is written to
// w as one JSON line (JSONPrinter), and waiting steps are answered from set.
// The run stops with a *NeedsHumanError at the first step the set does not
// cover. It is RunUnattended with the JSON printer.
func RunHeadless(ctx context.Context, s *Session, set *AnswerSet, w io.Writer) error {
	return RunUnattended(ctx, s, set, JSONPrinter(w))
}

// JSONPrinter returns a sink for RunUnattended that writes every event to w
// as one JSON line (the headless output). Write errors are ignored: the
// journal, not the output, is the record. Any text of the event is written
// as JSON escapes it, so no raw escape byte reaches w.
func JSONPrinter(w io.Writer) func(Event) {
	return func(ev Event) {
		if b, err := json.Marshal(ev); err == nil {
			_, _ = w.Write(append(b, '\n'))
		}
	}
}

// RunUnattended runs the session with nobody to ask, whatever the output:
// every event goes to print (JSONPrinter, PlainPrinter), one call at a
// time and in order, with its secrets masked: a line of the secret stream
// is replaced by a note, and every secret value known so far (secret
// answers, those lines) is masked in every field (Redactor.Event). Waiting
// steps are answered from set (nil: an empty set); the run stops with a
// *NeedsHumanError, whose Field says what the answers file lacks, at the
// first step the set does not cover. Other errors are the engine's, a
// *StepFailedError's message masked too.
func RunUnattended(ctx context.Context, s *Session, set *AnswerSet, print func(Event)) error {
	if set == nil {
		set = &AnswerSet{}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var need *NeedsHumanError
	// Secrets never reach w: lines of the secret stream are replaced by a
	// note, and every secret value (answers, those lines) is masked in
	// every event and in the error returned.
	e := s.Engine
	red := &e.red
	e.Actor = AnswersFileActor(set.Path, Who(os.Getenv))
	e.MaxPassFailures = HeadlessMaxPassFailures
	for k, v := range set.Answers {
		for _, st := range e.rb.Steps {
			for _, q := range st.Ask {
				if q.Key == k && q.Type == "secret" {
					e.SetSecret(k, v)
				}
			}
		}
	}
	passes := map[string]int{}
	asked := map[string]int{}
	s.SetSink(func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		if ev.Type == EvOutput && ev.Stream == StreamSecret {
			red.Add(ev.Message)
			ev.Message = "(a secret line, shown on ferry's own screen only, never in this output)"
		}
		print(red.Event(ev))
		if ev.Type == EvStepFinished && ev.Status == StatusOK {
			passes[ev.Step]++
			// Progress: a question asked again after this (the confirmation
			// of each pass of a repeatable step) is not a loop.
			for _, n := range []string{NeedAnswers, NeedConfirm, NeedManual, NeedTrust, NeedResume, NeedFailure, NeedChanged} {
				delete(asked, ev.Step+"\x00"+n)
			}
		}
		if ev.Type != EvWaiting {
			return
		}
		// The same question coming back means the file's answer did not
		// settle it (a refused answer): asking again cannot help.
		asked[ev.Step+"\x00"+ev.Need]++
		if key := sameFailedAnswer(ev, set); key != "" {
			if need == nil {
				need = &NeedsHumanError{Step: ev.Step, Need: ev.Need, What: red.String(fmt.Sprintf(
					"the step failed with %s = %q and the answers file gives the same value: change %s in the answers file", key, ev.Answers[key], key))}
			}
			cancel()
			return
		}
		d, ok := headlessDecision(ev, set, passes[ev.Step])
		field := AnswersFileField(ev, set)
		if n := asked[ev.Step+"\x00"+ev.Need]; ok && ev.Need != NeedRepeat && n > headlessMaxAsks {
			ok = false
			ev.Message = fmt.Sprintf("asked %d times; the answers file's reply did not settle it (see the warnings above)", n)
			// The file has the field already: naming it again would not help.
			field = ""
		}
		if !ok {
			if ev.Need == NeedGate {
				ev.Message += fmt.Sprintf(`; unattended, only "override": {%q: "the reason"} in the answers file goes past it`, ev.Step)
			}
			if need == nil {
				need = &NeedsHumanError{Step: ev.Step, Need: ev.Need, What: red.String(firstNonEmpty(ev.Message, questionKeys(ev.Questions))),
					Field: red.String(field)}
			}
			cancel()
			return
		}
		d.Step = ev.Step
		d.Actor = e.Actor
		e.Decide(d)
	})
	// After the sink is set, so the changes show in the output.
	err := e.overrideAnswers(set)
	if err == nil {
		err = e.Run(ctx)
	}
	mu.Lock()
	defer mu.Unlock()
	if need != nil {
		return need
	}
	var sf *StepFailedError
	if errors.As(err, &sf) {
		sf.Message = red.String(sf.Message)
	}
	return err
}

func questionKeys(qs []Question) string {
	keys := make([]string, len(qs))
	for i, q := range qs {
		keys[i] = q.Key + " (" + q.Prompt + ")"
	}
	return "answers for " + strings.Join(keys, ", ")
}

// headlessDecision answers a waiting event from an answers file.
func headlessDecision(ev Event, set *AnswerSet, passes int) (Decision, bool) {
	if r, ok := set.Skip[ev.Step]; ok && ev.Need != NeedRepeat && ev.Need != NeedChanged {
		return Decision{Action: ActSkip, Reason: r}, true
	}
	switch ev.Need {
	case NeedAnswers:
		ans := map[string]string{}
		for _, q := range ev.Questions {
			v, ok := set.Answers[q.Key]
			if !ok {
				// Asked again after a failure: the answer in use stands
				// when the file does not give one.
				v, ok = ev.Answers[q.Key]
			}
			if !ok {
				return Decision{}, false
			}
			ans[q.Key] = v
		}
		return Decision{Action: ActAnswer, Answer: ans}, true
	case NeedConfirm:
		// Deletions beyond the unconfirmed limit have their own field: the
		// confirm list (which lets a destructive step run) does not cover them.
		if n, ok := deletionsOf(ev.Word); ok {
			if limit, ok := set.ConfirmDeletions[ev.Step]; ok && n <= limit {
				return Decision{Action: ActConfirm, Text: ev.Word}, true
			}
			return Decision{}, false
		}
		if slices.Contains(set.Confirm, ev.Step) {
			return Decision{Action: ActConfirm, Text: ev.Word}, true
		}
	case NeedManual:
		// A destructive manual step needs the confirm list too.
		if slices.Contains(set.Done, ev.Step) && (ev.Word == "" || slices.Contains(set.Confirm, ev.Step)) {
			return Decision{Action: ActDone, Text: ev.Word}, true
		}
	case NeedRepeat:
		// ev.Pass counts failed passes too: a pass that fails is a pass.
		if max(passes, ev.Pass) < set.Repeat[ev.Step] {
			return Decision{Action: ActRepeat}, true
		}
		return Decision{Action: ActContinue}, true
	case NeedResume:
		if slices.Contains(set.Rerun, ev.Step) {
			return Decision{Action: ActRetry}, true
		}
	case NeedFailure:
		// A failure ends a headless run: the journal keeps the place.
		return Decision{Action: ActContinue}, true
	case NeedChanged:
		if set.ContinueChanged {
			return Decision{Action: ActContinue}, true
		}
	case NeedTrust:
		if set.TrustHostKey != "" && strings.Contains(ev.Message, set.TrustHostKey) {
			return Decision{Action: ActTrust}, true
		}
	case NeedGate:
		if r := strings.TrimSpace(set.Override[ev.Step]); r != "" {
			return Decision{Action: ActOverride, Reason: r}, true
		}
	}
	return Decision{}, false
}

// AnswersFileField says what to put in an answers file so that an
// unattended run goes past the waiting event ev, in words for the admin
// naming the file's field and the step id (JSON, which a YAML answers file
// accepts as well): the missing keys under "answers" (with their prompts,
// those set or ev.Answers already give left out), "confirm",
// "confirm_deletions", "done", "rerun_interrupted", "override",
// "trust_host_key" or "continue_changed_runbook". It returns "" for a need
// an unattended run always decides itself (repeat, failure) or does not
// know.
func AnswersFileField(ev Event, set *AnswerSet) string {
	if set == nil {
		set = &AnswerSet{}
	}
	put := func(field string) string { return "put " + field + " in an answers file" }
	list := func(field string) string {
		return put(fmt.Sprintf("%q: [%q]", field, ev.Step)) + fmt.Sprintf(" (or add %q to its %q list)", ev.Step, field)
	}
	switch ev.Need {
	case NeedAnswers:
		var pairs, about []string
		for _, q := range ev.Questions {
			if _, ok := set.Answers[q.Key]; ok {
				continue
			}
			if _, ok := ev.Answers[q.Key]; ok {
				continue
			}
			pairs = append(pairs, fmt.Sprintf("%q: %q", q.Key, "..."))
			about = append(about, q.Key+": "+Expected(q))
		}
		if len(pairs) == 0 {
			return ""
		}
		return put(`"answers": {`+strings.Join(pairs, ", ")+`}`) + " (" + strings.Join(about, "; ") + ")"
	case NeedConfirm:
		if n, ok := deletionsOf(ev.Word); ok {
			return put(fmt.Sprintf("%q: {%q: %d}", "confirm_deletions", ev.Step, n)) + ", once you have checked those deletions are meant"
		}
		return list("confirm")
	case NeedManual:
		s := list("done") + ", once the step is done by hand"
		if ev.Word != "" {
			s += fmt.Sprintf(`, and %q in its "confirm" list: the step is destructive`, ev.Step)
		}
		return s
	case NeedResume:
		return list("rerun_interrupted") + ", once you have checked what the interrupted run did"
	case NeedChanged:
		return put(`"continue_changed_runbook": true`) + ", once you have read what changed"
	case NeedTrust:
		fp := "SHA256:..."
		if m := fingerprintRE().FindString(ev.Message); m != "" {
			fp = m
		}
		return put(fmt.Sprintf("%q: %q", "trust_host_key", fp)) + ", once you have checked it is the old server's key"
	case NeedGate:
		return put(fmt.Sprintf("%q: {%q: %q}", "override", ev.Step, "the reason"))
	}
	return ""
}

// fingerprintRE finds an OpenSSH SHA256 host key fingerprint in a text.
var fingerprintRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`SHA256:[A-Za-z0-9+/]+=*`) })

// sameFailedAnswer returns the key of a question put again after its step
// failed (a waiting event whose Answers hold the values that failed) for
// which the answers file gives that same value: replaying it could only
// fail the same way. "" when there is none.
func sameFailedAnswer(ev Event, set *AnswerSet) string {
	if ev.Type != EvWaiting || ev.Need != NeedAnswers || len(ev.Answers) == 0 {
		return ""
	}
	for _, q := range ev.Questions {
		v, ok := set.Answers[q.Key]
		if old, failed := ev.Answers[q.Key]; ok && failed && strings.TrimSpace(v) == old {
			return q.Key
		}
	}
	return ""
}

// overrideAnswers lets an answers file given on a resume change answers the
// journal has already: a value that differs from the journaled one replaces
// it (a new answered event by "answers file" naming the key, the old value
// and the new) when no step asking that key is done or failed (a failed
// step's questions are put again when it runs again, where the file's
// value is used). A done step's answers are never changed: a warning names
// the key instead. Secret answers are not journaled and need no override.
func (e *Engine) overrideAnswers(set *AnswerSet) error {
	keys := make([]string, 0, len(set.Answers))
	for k := range set.Answers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := strings.TrimSpace(set.Answers[k])
		old, known := e.state.Answers[k]
		if !known || old == v || e.secretKey[k] {
			continue
		}
		blocked := ""
		for _, s := range e.rb.Steps {
			if k == LifelineKey {
				// Whether to keep a spare sshd decides nothing a done
				// step did: the file's value holds for the steps to come.
				break
			}
			for _, q := range s.Ask {
				if q.Key != k {
					continue
				}
				if st := e.state.Status(s.ID); st.Done() || st == StatusFailed {
					blocked = s.ID
				}
			}
		}
		if blocked != "" {
			if e.state.Status(blocked) == StatusFailed {
				continue
			}
			if err := e.emit(Event{Type: EvWarning, Step: blocked, Message: fmt.Sprintf("the answers file gives %s = %q, but step %s used %q and is done: the recorded answer stays", k, v, blocked, old)}); err != nil {
				return err
			}
			continue
		}
		if err := e.emit(Event{Type: EvAnswered, Answers: map[string]string{k: v}, Actor: e.Actor,
			Message: fmt.Sprintf("the answers file changes %s from %q to %q", k, old, v)}); err != nil {
			return err
		}
		if e.OnAnswers != nil {
			e.OnAnswers(e.state.Answers)
		}
	}
	return nil
}
