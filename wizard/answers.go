package wizard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// AnswersFile is the name of the answers file ferry keeps in a state
// directory: everything answered interactively, so a rehearsal can be
// replayed with --answers.
const AnswersFile = "answers.json"

// AnswerSet is an answers file: what a headless run needs to go through
// every step without a person.
type AnswerSet struct {
	// Answers to the runbook's questions, by key.
	Answers map[string]string `json:"answers,omitempty"`
	// Confirm lists the destructive steps (by id) the file allows to run.
	Confirm []string `json:"confirm,omitempty"`
	// Done lists the manual steps (by id) the admin has done by hand.
	Done []string `json:"done,omitempty"`
	// Skip maps step ids to the reason they are skipped.
	Skip map[string]string `json:"skip,omitempty"`
	// ConfirmDeletions maps step ids to the most deletions the file accepts
	// for any one directory of that step's transfers, when a transfer would
	// delete more than ferry lets through unconfirmed (the "type delete N"
	// question). A larger count still stops for a person.
	ConfirmDeletions map[string]int `json:"confirm_deletions,omitempty"`
	// Rerun lists the steps (by id) the file allows to run again when a
	// stopped or killed ferry left them interrupted and they are not re-run
	// without asking (destructive steps, steps not safe to re-run). A
	// destructive step runs only if Confirm lists it too.
	Rerun []string `json:"rerun_interrupted,omitempty"`
	// Repeat maps repeatable step ids to how many passes to run (default 1).
	Repeat map[string]int `json:"repeat,omitempty"`
	// TrustHostKey is the SHA256 fingerprint of the old server's host key,
	// trusted when it is not in known_hosts yet.
	TrustHostKey string `json:"trust_host_key,omitempty"`
	// ContinueChanged lets a run go on when the runbook changed since the
	// journal began.
	ContinueChanged bool `json:"continue_changed_runbook,omitempty"`
	// Override maps step ids to the reason the file gives for running the
	// step although a step it requires (Step.Requires, such as the final
	// tests before the old server is disarmed) did not pass. Without it a
	// headless run stops there (exit 3).
	Override map[string]string `json:"override,omitempty"`
}

// ReadAnswerSet reads an answers file (see ParseAnswerSet).
func ReadAnswerSet(path string) (*AnswerSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("answers file: %w", err)
	}
	return ParseAnswerSet(path, b)
}

// ParseAnswerSet reads the content b of the answers file name: one JSON
// object. Unknown fields, bad JSON and text after the object are errors
// naming the file (and the line, for syntax errors).
func ParseAnswerSet(name string, b []byte) (*AnswerSet, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a AnswerSet
	if err := dec.Decode(&a); err != nil {
		var se *json.SyntaxError
		if ok := asSyntax(err, &se); ok {
			line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
			return nil, fmt.Errorf("answers file %s:%d: %v", name, line, err)
		}
		return nil, fmt.Errorf("answers file %s: %v", name, err)
	}
	if off := dec.InputOffset(); len(bytes.TrimSpace(b[off:])) > 0 {
		line := 1 + bytes.Count(b[:off], []byte("\n"))
		return nil, fmt.Errorf("answers file %s:%d: text after the answers object", name, line)
	}
	return &a, nil
}

func asSyntax(err error, target **json.SyntaxError) bool {
	se, ok := err.(*json.SyntaxError)
	if ok {
		*target = se
	}
	return ok
}

// Validate checks the answers against the runbook's questions: every key is
// asked by some step and every value is valid for its type.
func (a *AnswerSet) Validate(rb *Runbook) error {
	qs := map[string]Question{}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			qs[q.Key] = q
		}
	}
	keys := make([]string, 0, len(a.Answers))
	for k := range a.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		q, ok := qs[k]
		if !ok {
			return fmt.Errorf("answers file: %q is not a question of runbook %s", k, rb.ID)
		}
		if err := ValidateAnswer(q, a.Answers[k]); err != nil {
			return fmt.Errorf("answers file: %w", err)
		}
	}
	for _, list := range [][]string{a.Confirm, a.Done, a.Rerun} {
		for _, id := range list {
			if rb.Step(id) == nil {
				return fmt.Errorf("answers file: %q is not a step of runbook %s", id, rb.ID)
			}
		}
	}
	for id := range a.Skip {
		if rb.Step(id) == nil {
			return fmt.Errorf("answers file: %q is not a step of runbook %s", id, rb.ID)
		}
	}
	for id, why := range a.Override {
		if s := rb.Step(id); s == nil || len(s.Requires) == 0 {
			return fmt.Errorf("answers file: override: %q is not a step of runbook %s that requires others to pass", id, rb.ID)
		}
		if strings.TrimSpace(why) == "" {
			return fmt.Errorf("answers file: override: %s needs a reason", id)
		}
	}
	for id, n := range a.Repeat {
		if s := rb.Step(id); s == nil || !s.Repeatable {
			return fmt.Errorf("answers file: repeat: %q is not a repeatable step of runbook %s", id, rb.ID)
		}
		if n < 1 {
			return fmt.Errorf("answers file: repeat: %s runs at least one pass, not %d", id, n)
		}
	}
	for id, n := range a.ConfirmDeletions {
		if rb.Step(id) == nil {
			return fmt.Errorf("answers file: confirm_deletions: %q is not a step of runbook %s", id, rb.ID)
		}
		if n < 1 {
			return fmt.Errorf("answers file: confirm_deletions: %s: %d is not a number of deletions (1 or more)", id, n)
		}
	}
	return nil
}

// DeletionsWord is what the admin types to let one transfer delete n
// entries: "delete N".
func DeletionsWord(n int) string { return fmt.Sprintf("delete %d", n) }

// deletionsOf reads a DeletionsWord back: the count, and whether word is one.
func deletionsOf(word string) (int, bool) {
	var n int
	if _, err := fmt.Sscanf(word, "delete %d", &n); err != nil || DeletionsWord(n) != word {
		return 0, false
	}
	return n, true
}

// Save writes the answer set into dir atomically (mode 0600). Secrets are
// never written: keys listed in secret are left out.
func (a *AnswerSet) Save(dir string, secret map[string]bool) error {
	out := *a
	out.Answers = map[string]string{}
	for k, v := range a.Answers {
		if !secret[k] {
			out.Answers[k] = v
		}
	}
	b, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return err
	}
	return remote.WriteFileAtomic(filepath.Join(dir, AnswersFile), append(b, '\n'), 0o600)
}

// ValidateAnswer checks one answer against its question's type. The error
// names the question and the bad value.
func ValidateAnswer(q Question, v string) error {
	v = strings.TrimSpace(v)
	var err error
	switch q.Type {
	case "ip":
		err = tasks.ValidIP(v)
	case "port":
		err = tasks.ValidPort(v)
	case "hostname":
		err = tasks.ValidHostname(v)
	case "address":
		if tasks.ValidIP(v) != nil {
			err = tasks.ValidHostname(v)
		}
	case "email":
		err = tasks.ValidEmail(v)
	case "ips":
		err = tasks.ValidNameservers(SplitList(v))
	case "path":
		if !strings.HasPrefix(v, "/") {
			err = fmt.Errorf("%q is not an absolute path", v)
		} else if strings.ContainsAny(v, "\n\x00") {
			err = fmt.Errorf("%q holds a newline or NUL byte", v)
		}
	case "yesno":
		switch strings.ToLower(v) {
		case "yes", "no", "y", "n", "true", "false":
		default:
			err = fmt.Errorf("%q is not yes or no", v)
		}
	case "choice":
		ok := false
		for _, c := range q.Choices {
			ok = ok || c == v
		}
		if !ok {
			err = fmt.Errorf("%q is not one of %s", v, strings.Join(q.Choices, ", "))
		}
	case "text", "secret":
		if v == "" {
			err = fmt.Errorf("an empty answer")
		}
	}
	if err != nil {
		return fmt.Errorf("%s (%s): %w", q.Key, q.Prompt, err)
	}
	return nil
}

// SplitList splits a list answer on commas and white space.
func SplitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' })
}

// AnswerSetFromState rebuilds, from a migration's journal, the answers file
// that would replay it headless: the answers given, the destructive steps
// confirmed, the manual steps done, the steps skipped by a person and the
// passes of repeatable steps.
func AnswerSetFromState(st *State, rb *Runbook) *AnswerSet {
	set := &AnswerSet{Answers: map[string]string{}, Skip: map[string]string{}, Repeat: map[string]int{}}
	for k, v := range st.Answers {
		set.Answers[k] = v
	}
	add := func(list *[]string, id string) {
		if !contains(*list, id) {
			*list = append(*list, id)
		}
	}
	for _, ev := range st.Events {
		switch ev.Type {
		case EvConfirmed:
			add(&set.Confirm, ev.Step)
		case EvSkipped:
			if ev.Actor != "" && ev.Actor != "ferry" {
				set.Skip[ev.Step] = ev.Message
			}
		case EvStepFinished:
			if s := rb.Step(ev.Step); s != nil && s.Level == LevelManual && ev.Status == StatusOK {
				add(&set.Done, ev.Step)
			}
		}
	}
	for id, r := range st.Steps {
		if s := rb.Step(id); s != nil && s.Repeatable && len(r.Passes) > 1 {
			set.Repeat[id] = len(r.Passes)
		}
	}
	return set
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
