package wizard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/ferry-migrate/ferry/assets"
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
	Answers map[string]string `json:"answers,omitempty" yaml:"answers,omitempty"`
	// Confirm lists the destructive steps (by id) the file allows to run.
	Confirm []string `json:"confirm,omitempty" yaml:"confirm,omitempty"`
	// Done lists the manual steps (by id) the admin has done by hand.
	Done []string `json:"done,omitempty" yaml:"done,omitempty"`
	// Skip maps step ids to the reason they are skipped.
	Skip map[string]string `json:"skip,omitempty" yaml:"skip,omitempty"`
	// ConfirmDeletions maps step ids to the most deletions the file accepts
	// for any one directory of that step's transfers, when a transfer would
	// delete more than ferry lets through unconfirmed (the "type delete N"
	// question). A larger count still stops for a person.
	ConfirmDeletions map[string]int `json:"confirm_deletions,omitempty" yaml:"confirm_deletions,omitempty"`
	// Rerun lists the steps (by id) the file allows to run again when a
	// stopped or killed ferry left them interrupted and they are not re-run
	// without asking (destructive steps, steps not safe to re-run). A
	// destructive step runs only if Confirm lists it too.
	Rerun []string `json:"rerun_interrupted,omitempty" yaml:"rerun_interrupted,omitempty"`
	// Repeat maps repeatable step ids to how many passes to run (default 1).
	Repeat map[string]int `json:"repeat,omitempty" yaml:"repeat,omitempty"`
	// TrustHostKey is the SHA256 fingerprint of the old server's host key,
	// trusted when it is not in known_hosts yet.
	TrustHostKey string `json:"trust_host_key,omitempty" yaml:"trust_host_key,omitempty"`
	// source is the file name ParseAnswerSet read, named in Validate's
	// errors ("" for a set built in memory).
	source string
	// lines is where each entry is written in that file, for Validate's
	// errors (nil for a set built in memory).
	lines answerLines
	// ContinueChanged lets a run go on when the runbook changed since the
	// journal began.
	ContinueChanged bool `json:"continue_changed_runbook,omitempty" yaml:"continue_changed_runbook,omitempty"`
	// Override maps step ids to the reason the file gives for running the
	// step although a step it requires (Step.Requires, such as the final
	// tests before the old server is disarmed) did not pass. Without it a
	// headless run stops there (exit 3).
	Override map[string]string `json:"override,omitempty" yaml:"override,omitempty"`
	// Path is the file the set was read from ("" when it was not read from
	// a file); the journal names it as who decided.
	Path string `json:"-" yaml:"-"`
}

// ReadAnswerSet reads an answers file (see ParseAnswerSet).
func ReadAnswerSet(path string) (*AnswerSet, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("answers file: %w", err)
	}
	set, err := ParseAnswerSet(path, b)
	if set != nil {
		set.Path = path
	}
	return set, err
}

// ParseAnswerSet reads the content b of the answers file name: one JSON
// object, or the same fields as a YAML mapping (a file whose first
// character other than white space is not "{"), so that a file started
// from "ferry answers template" may keep its comments. Unknown fields
// (named with the nearest known field), values of the wrong type (named by
// their field), bad syntax and text after the object are errors naming the
// file, and the line where the syntax says it. Whether the answers suit a
// runbook is Validate's work. When values have the wrong type, every one
// is named (errors joined) and the fields that did decode are returned
// beside the error, so that a check can name what else is wrong; any
// other error returns no answers.
func ParseAnswerSet(name string, b []byte) (*AnswerSet, error) {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return nil, errNothingIn(name)
	}
	if t[0] != '{' {
		return parseAnswerSetYAML(name, b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a AnswerSet
	if err := dec.Decode(&a); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line := 1 + bytes.Count(b[:min(int(se.Offset), len(b))], []byte("\n"))
			return nil, fmt.Errorf("answers file %s:%d: %v", name, line, err)
		case errors.As(err, &te) && te.Field != "":
			return jsonFieldByField(name, b)
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			f, _ = strconv.Unquote(f)
			return nil, fmt.Errorf("answers file %s: %s", name, unknownField(f))
		}
		return nil, fmt.Errorf("answers file %s: %v", name, err)
	}
	a.source = name
	if off := dec.InputOffset(); len(bytes.TrimSpace(b[off:])) > 0 {
		// The line where the extra text begins, not where the object ends.
		off += int64(len(b[off:]) - len(bytes.TrimLeft(b[off:], " \t\r\n")))
		line := 1 + bytes.Count(b[:off], []byte("\n"))
		return nil, fmt.Errorf("answers file %s:%d: text after the answers object", name, line)
	}
	lines, repeats := jsonAnswerLines(name, b)
	a.lines = lines
	// A name written twice: the last one decoded, the set is returned
	// for a check to name the rest, and a run refuses the file.
	return &a, errors.Join(repeats...)
}

// jsonFieldByField reads the JSON answers file b (name), in which a value
// has the wrong type, one top-level field at a time, and a mapping field
// one entry at a time, so that every value of the wrong type is named,
// each with its line, and not only the first. It returns what decodes
// (for a check that goes on to name what else is wrong, as ferry answers
// check does) and the errors joined.
func jsonFieldByField(name string, b []byte) (*AnswerSet, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("answers file %s: %v", name, err)
	}
	lines, errs := jsonAnswerLines(name, b)
	a := &AnswerSet{source: name, lines: lines}
	wrong := func(line int, what string, t reflect.Type, got string) {
		errs = append(errs, fmt.Errorf("answers file %s:%d: %s: expected %s, got a JSON %s", name, line, what, kindWords(t), got))
	}
	for _, f := range AnswerSetFields() {
		v, ok := raw[f]
		if !ok {
			continue
		}
		i := answerFieldIndex(f)
		field := reflect.ValueOf(a).Elem().Field(i)
		var entries map[string]json.RawMessage
		if field.Kind() == reflect.Map && json.Unmarshal(v, &entries) == nil {
			// Entry by entry: one wrong value leaves the others checked.
			m := reflect.MakeMap(field.Type())
			for _, k := range slices.Sorted(maps.Keys(entries)) {
				if f == "answers" && isJSONNumberOrBool(entries[k]) {
					// As in YAML (ssh_port: 2222): the answer is its text.
					m.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(string(bytes.TrimSpace(entries[k]))))
					continue
				}
				ev := reflect.New(field.Type().Elem())
				var te *json.UnmarshalTypeError
				if err := json.Unmarshal(entries[k], ev.Interface()); errors.As(err, &te) {
					wrong(lines.at(f, k), repeatedWords(f, k), te.Type, te.Value)
					continue
				} else if err != nil {
					errs = append(errs, fmt.Errorf("answers file %s:%d: %s: %v", name, lines.at(f, k), repeatedWords(f, k), err))
					continue
				}
				m.SetMapIndex(reflect.ValueOf(k), ev.Elem())
			}
			if m.Len() > 0 {
				field.Set(m)
			}
			continue
		}
		var te *json.UnmarshalTypeError
		if err := json.Unmarshal(v, field.Addr().Interface()); err != nil {
			// Half-decoded, the field would be checked as if given so.
			field.SetZero()
			if errors.As(err, &te) {
				wrong(lines.at(f, ""), "field "+f, te.Type, te.Value)
			} else {
				errs = append(errs, fmt.Errorf("answers file %s: %s: %v", name, f, err))
			}
		}
	}
	if len(errs) == 0 {
		return a, nil // only numbers or true/false as answers
	}
	return a, errors.Join(errs...)
}

// errNothingIn is the error for an answers file that holds no field.
func errNothingIn(name string) error {
	return fmt.Errorf("answers file %s: the file holds no field (it is empty, or comments only): ferry answers template --runbook NAME writes one to fill in", name)
}

// isJSONNumberOrBool tells whether the JSON value v is a number, true or
// false.
func isJSONNumberOrBool(v json.RawMessage) bool {
	var x any
	if json.Unmarshal(v, &x) != nil {
		return false
	}
	switch x.(type) {
	case float64, bool:
		return true
	}
	return false
}

// parseAnswerSetYAML is ParseAnswerSet for a YAML file.
func parseAnswerSetYAML(name string, b []byte) (a *AnswerSet, err error) {
	defer func() {
		// The YAML library is not ours: whatever input makes it panic is
		// refused, not a crash.
		if r := recover(); r != nil {
			a, err = nil, fmt.Errorf("answers file %s: not a readable YAML or JSON answers file (%v)", name, r)
		}
	}()
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, yamlAnswersError(name, err, nil)
	}
	if root.Kind == 0 {
		return nil, errNothingIn(name) // comments only
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("answers file %s: an answers file is one JSON object or YAML mapping (answers, confirm, done ...)", name)
	}
	doc := root.Content[0]
	// An unknown field is named and left out, so that the rest is still
	// checked: one round of the check names every problem.
	var errs []error
	known := AnswerSetFields()
	kept := doc.Content[:0]
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k := doc.Content[i]
		if !slices.Contains(known, k.Value) {
			errs = append(errs, fmt.Errorf("answers file %s:%d: %s", name, k.Line, unknownField(k.Value)))
			continue
		}
		kept = append(kept, k, doc.Content[i+1])
	}
	doc.Content = kept
	// Every top-level field left is known, and below it are only
	// mappings and lists of plain values: decoding the tree, with the
	// repeated keys taken out, refuses nothing that decoding the text
	// with KnownFields would.
	lines, repeats := yamlAnswerLines(name, doc)
	errs = append(errs, repeats...)
	a = &AnswerSet{source: name, lines: lines}
	if err := root.Decode(a); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) || len(te.Errors) == 0 {
			return nil, yamlAnswersError(name, err, doc)
		}
		// The decoder goes on past a value of the wrong type, keeps
		// every entry and item that did decode, and lists the others:
		// each is named, and what decoded is returned for a check that
		// names the rest (a wrong answer does not hide the others).
		for _, e := range te.Errors {
			errs = append(errs, yamlAnswersError(name, errors.New(e), doc))
		}
		dropEmptyFields(a)
	}
	if len(errs) == 0 {
		return a, nil
	}
	return a, errors.Join(errs...)
}

// dropEmptyFields empties (to nil) every mapping or list field of a that
// holds nothing: what is left of a field none of whose values decoded.
func dropEmptyFields(a *AnswerSet) {
	v := reflect.ValueOf(a).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.CanSet() && (f.Kind() == reflect.Map || f.Kind() == reflect.Slice) && f.Len() == 0 {
			f.SetZero()
		}
	}
}

// answerFieldIndex is the index in AnswerSet of the answers file's
// top-level field (its JSON name, as AnswerSetFields lists them); -1 for
// none.
func answerFieldIndex(field string) int {
	t := reflect.TypeFor[AnswerSet]()
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == field && name != "" && name != "-" && t.Field(i).IsExported() {
			return i
		}
	}
	return -1
}

// answerFieldType is the Go type of the answers file's top-level field
// (its JSON name), nil for none.
func answerFieldType(field string) reflect.Type {
	if i := answerFieldIndex(field); i >= 0 {
		return reflect.TypeFor[AnswerSet]().Field(i).Type
	}
	return nil
}

// yamlFieldAt names the field of the answers mapping doc whose value is on
// line: "key ssh_port" for an answer, "field repeat.X" for an entry of
// another field, "field confirm" for a field itself; "" when none is.
func yamlFieldAt(doc *yaml.Node, line int) string {
	for i := 0; doc != nil && i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		if ft := answerFieldType(k.Value); v.Kind == yaml.MappingNode && ft != nil && ft.Kind() == reflect.Map {
			for j := 0; j+1 < len(v.Content); j += 2 {
				if v.Content[j].Line == line || v.Content[j+1].Line == line {
					if k.Value == "answers" {
						return "key " + v.Content[j].Value
					}
					return "field " + k.Value + "." + v.Content[j].Value
				}
			}
		}
		if k.Line == line || v.Line == line {
			return "field " + k.Value
		}
	}
	return ""
}

var yamlErrLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`) })

// yamlAnswersError words a YAML decoding error of the answers file name
// as the runbook loader does (yamlWords: no Go type names), with its line
// when the library gives one and the field on that line of doc, if any.
func yamlAnswersError(name string, err error, doc *yaml.Node) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlErrLine().FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		if f := yamlFieldAt(doc, line); f != "" {
			return fmt.Errorf("answers file %s:%d: %s: %s", name, line, f, yamlWords(m[2]))
		}
		return fmt.Errorf("answers file %s:%d: %s", name, line, yamlWords(m[2]))
	}
	return fmt.Errorf("answers file %s: %s", name, yamlWords(strings.TrimPrefix(msg, "yaml: ")))
}

// unknownField words a top-level field the answers file does not have,
// naming the nearest one it has.
func unknownField(f string) string {
	return fmt.Sprintf("unknown field %q (nearest known field: %s; the fields are %s)", f, Nearest(f, AnswerSetFields()), strings.Join(AnswerSetFields(), ", "))
}

// kindWords says in words what a Go type of AnswerSet holds.
func kindWords(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string (in quotes)"
	case reflect.Int:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// AnswerSetFields returns the top-level fields of an answers file, as
// written in the file (the JSON names of AnswerSet), in declaration order.
func AnswerSetFields() []string {
	t := reflect.TypeFor[AnswerSet]()
	out := make([]string, 0, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "-" || !t.Field(i).IsExported() {
			continue // not in the file (Path, source)
		}
		out = append(out, name)
	}
	return out
}

// trustKeyForm is the form of a host key's SHA256 fingerprint as ssh and
// ferry print it: "SHA256:" and 43 characters of unpadded base64.
var trustKeyForm = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`) })

// Validate checks the answers against the runbook's questions and steps,
// the same checks whether it comes from "ferry run", "ferry demo" or
// "ferry answers check": every answer key is a question of rb (else the
// error names the nearest key that is) and its value is valid for the
// question's type (ValidateAnswer); every step id listed is one of rb's
// (nearest named likewise); repeat names repeatable steps and at least one
// pass; confirm_deletions counts are 1 or more; trust_host_key has the
// SHA256 fingerprint form. Every problem found is reported, one per line
// (errors.Join), each naming its key or field.
func (a *AnswerSet) Validate(rb *Runbook) error {
	qs := map[string]Question{}
	var qkeys, ids, repeatable, gated []string
	for _, s := range rb.Steps {
		ids = append(ids, s.ID)
		if s.Repeatable {
			repeatable = append(repeatable, s.ID)
		}
		if len(s.Requires) > 0 {
			gated = append(gated, s.ID)
		}
		for _, q := range s.Ask {
			if _, ok := qs[q.Key]; !ok {
				qkeys = append(qkeys, q.Key)
			}
			qs[q.Key] = q
		}
	}
	var findings []lineError
	// bad adds a finding about the entry field.key (the field itself
	// when key is ""), with the file's line for it when known.
	bad := func(field, key, format string, args ...any) {
		findings = append(findings, lineError{a.lines.at(field, key), fmt.Errorf(a.where(field, key)+format, args...)})
	}
	for _, k := range slices.Sorted(maps.Keys(a.Answers)) {
		q, ok := qs[k]
		if !ok {
			bad("answers", k, "key %q is not a question of runbook %s %s", k, rb.ID, notHere(rb, k, qkeys, "known key", func(o *Runbook) bool {
				return slices.ContainsFunc(o.Steps, func(s Step) bool { return slices.ContainsFunc(s.Ask, func(q Question) bool { return q.Key == k }) })
			}))
			continue
		}
		if err := ValidateAnswer(q, a.Answers[k]); err != nil {
			findings = append(findings, lineError{a.lines.at("answers", k), fmt.Errorf("%s%w", a.where("answers", k), err)})
		}
	}
	step := func(field, id string) {
		if rb.Step(id) == nil {
			bad(field, id, "%s: %q is not a step of runbook %s %s", field, id, rb.ID, notHere(rb, id, ids, "step", func(o *Runbook) bool { return o.Step(id) != nil }))
		}
	}
	// A skipped step does not run: confirming it, marking it done, or
	// allowing it to run again says the opposite.
	for _, f := range []struct {
		name string
		ids  []string
	}{{"confirm", a.Confirm}, {"done", a.Done}, {"rerun_interrupted", a.Rerun}, {"override", slices.Sorted(maps.Keys(a.Override))}, {"repeat", slices.Sorted(maps.Keys(a.Repeat))}, {"confirm_deletions", slices.Sorted(maps.Keys(a.ConfirmDeletions))}} {
		for _, id := range f.ids {
			if _, skipped := a.Skip[id]; skipped {
				bad(f.name, id, "%s lists %s, which skip skips (line %d): keep one of the two", f.name, id, a.lines.at("skip", id))
			}
		}
	}
	for _, f := range []struct {
		name string
		list []string
	}{{"confirm", a.Confirm}, {"done", a.Done}, {"rerun_interrupted", a.Rerun}} {
		for _, id := range f.list {
			step(f.name, id)
		}
	}
	// done is for steps done by hand: listing an automatic step there
	// would not run it, and reads as if it had been done.
	var manual []string
	for _, s := range rb.Steps {
		if s.Level == LevelManual {
			manual = append(manual, s.ID)
		}
	}
	for _, id := range a.Done {
		if s := rb.Step(id); s != nil && s.Level != LevelManual {
			bad("done", id, "done: %q is not a manual step of runbook %s; ferry runs it (manual steps: %s)", id, rb.ID, strings.Join(manual, ", "))
		}
	}
	for _, id := range slices.Sorted(maps.Keys(a.Skip)) {
		step("skip", id)
		if strings.TrimSpace(a.Skip[id]) == "" {
			// As on the screen: a skip goes into the journal with its why.
			bad("skip", id, "skip: %s needs a reason", id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(a.Override)) {
		if s := rb.Step(id); s == nil || len(s.Requires) == 0 {
			bad("override", id, "override: %q is not a step of runbook %s that requires others to pass (those that do: %s)", id, rb.ID, strings.Join(gated, ", "))
		} else if strings.TrimSpace(a.Override[id]) == "" {
			bad("override", id, "override: %s needs a reason", id)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(a.Repeat)) {
		n := a.Repeat[id]
		if s := rb.Step(id); s == nil || !s.Repeatable {
			bad("repeat", id, "repeat: %q is not a repeatable step of runbook %s (repeatable: %s)", id, rb.ID, strings.Join(repeatable, ", "))
		} else if n < 1 {
			bad("repeat", id, "repeat: %s runs at least one pass, not %d", id, n)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(a.ConfirmDeletions)) {
		n := a.ConfirmDeletions[id]
		if rb.Step(id) == nil {
			bad("confirm_deletions", id, "confirm_deletions: %q is not a step of runbook %s (nearest step: %s)", id, rb.ID, Nearest(id, ids))
		} else if n < 1 {
			bad("confirm_deletions", id, "confirm_deletions: %s: %d is not a number of deletions (1 or more)", id, n)
		}
	}
	if a.TrustHostKey != "" && !trustKeyForm().MatchString(a.TrustHostKey) {
		bad("trust_host_key", "", "trust_host_key: expected a host key fingerprint as ssh-keygen -l prints it (SHA256: and 43 characters), got %q", a.TrustHostKey)
	}
	// In the file's order: the line to fix first comes first.
	slices.SortStableFunc(findings, func(x, y lineError) int { return x.line - y.line })
	errs := make([]error, len(findings))
	for i, f := range findings {
		errs[i] = f.err
	}
	return errors.Join(errs...)
}

// lineError is a finding of Validate and the line of the file it is
// about (0 when unknown).
type lineError struct {
	line int
	err  error
}

// notHere says, in parentheses, what w (a key or step id that rb does not
// have) may have been meant as: another built-in runbook's (in which has
// it), else the nearest of known when it is near (a few letters off, or
// the start of it), else where the list is.
func notHere(rb *Runbook, w string, known []string, what string, in func(*Runbook) bool) string {
	if strings.TrimSpace(w) == "" {
		return "(it is empty)"
	}
	for _, name := range assets.Names() {
		if name == rb.ID {
			continue
		}
		if o, err := LoadRunbook(name); err == nil && in(o) {
			return fmt.Sprintf("but of runbook %s: is --runbook right?", name)
		}
	}
	if n := Nearest(w, known); n != "" && isNear(w, n) {
		return fmt.Sprintf("(nearest %s: %s)", what, n)
	}
	return fmt.Sprintf("(ferry answers template --runbook %s lists them)", rb.ID)
}

// isNear tells whether the word n is close enough to w to be offered as
// what was meant: one begins the other (3 letters at least), or they
// differ by at most a third of w's letters (2 at least).
func isNear(w, n string) bool {
	lw, ln := strings.ToLower(w), strings.ToLower(n)
	if len(lw) >= 3 && (strings.HasPrefix(ln, lw) || strings.HasPrefix(lw, ln)) {
		return true
	}
	return editDistance(lw, ln) <= max(2, len([]rune(lw))/3)
}

// Nearest returns the word of known closest to w: one that begins with w
// (or that w begins with), else the one with the fewest single-character
// insertions, deletions and substitutions, case ignored; the first in
// known's order on a tie; "" when known is empty. Error messages use
// it to point at what was probably meant.
func Nearest(w string, known []string) string {
	best, bestD := "", 0
	lw := strings.ToLower(w)
	for i, k := range known {
		lk := strings.ToLower(k)
		d := editDistance(lw, lk)
		if lw != "" && (strings.HasPrefix(lk, lw) || strings.HasPrefix(lw, lk)) {
			d = -1 // one begins the other: "rerun" for rerun_interrupted
		}
		if i == 0 || d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
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

// SecretKeys returns the keys of rb's questions of type "secret": the
// answers Save leaves out of the file.
func SecretKeys(rb *Runbook) map[string]bool {
	secret := map[string]bool{}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			if q.Type == "secret" {
				secret[q.Key] = true
			}
		}
	}
	return secret
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

// AnswerError is an answer refused for its question's type: the key, what
// the type expects (in words, as Expected gives it), the value given, and
// the validator's own reason when it says more than "not X".
type AnswerError struct {
	Key      string
	Expected string
	Got      string
	Reason   error
}

// Error reads "key backup_dir: expected an absolute path, got "backup"",
// with the reason after it in parentheses when there is one: the words of
// an answers file, which names keys.
func (e *AnswerError) Error() string {
	return "key " + e.Key + ": " + e.Problem()
}

// Problem is Error without the key, for a screen that asks the question
// itself: "expected an absolute path, got "backup"" (and the reason).
func (e *AnswerError) Problem() string {
	msg := fmt.Sprintf("expected %s, got %q", e.Expected, e.Got)
	if e.Reason != nil {
		msg += " (" + e.Reason.Error() + ")"
	}
	return msg
}

func (e *AnswerError) Unwrap() error { return e.Reason }

// Expected says in words what an answer to q must be, by its type: "an
// absolute path", "yes or no", "one of replace, leave" ... The same words
// are in AnswerError, the schema's descriptions and docs/answers.md.
func Expected(q Question) string {
	switch q.Type {
	case "ip":
		return "an IP address (like 192.0.2.10 or 2001:db8::10)"
	case "port":
		return "a TCP port number from 1 to 65535"
	case "hostname":
		return "a host name (letters, digits, hyphens and dots)"
	case "address":
		return "an IP address or a host name"
	case "email":
		return "a plain e-mail address (like admin@example.com)"
	case "ips":
		return fmt.Sprintf("1 to %d IP addresses separated by spaces or commas", tasks.MaxNameservers)
	case "path":
		return "an absolute path"
	case "yesno":
		return "yes or no (also y, n, true, false)"
	case "choice":
		return "one of " + strings.Join(q.Choices, ", ")
	case "text":
		return "a non-empty text"
	case "secret":
		return "a non-empty secret"
	case LifelineType:
		return fmt.Sprintf("no, yes (a spare sshd on the first free port from %d), or the TCP port number for the spare sshd", tasks.LifelineFirstPort)
	}
	return "a value of type " + q.Type
}

// ValidateAnswer checks one answer against its question's type, after
// trimming white space around it. The error is an *AnswerError naming the
// key, what was expected and the value given.
func ValidateAnswer(q Question, v string) error {
	v = strings.TrimSpace(v)
	var err error
	generic := false // the validator's message says no more than Expected
	switch q.Type {
	case "ip":
		err = tasks.ValidIP(v)
	case "port":
		err = tasks.ValidPort(v)
		generic = true
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
			err, generic = errors.New("not absolute"), true
		} else if strings.ContainsAny(v, "\n\x00") {
			err = errors.New("it holds a newline or NUL byte")
		}
	case "yesno":
		switch strings.ToLower(v) {
		case "yes", "no", "y", "n", "true", "false":
		default:
			err, generic = errors.New("not yes or no"), true
		}
	case "choice":
		if !slices.Contains(q.Choices, v) {
			err, generic = errors.New("not a choice"), true
		}
	case LifelineType:
		if _, _, perr := ParseLifeline(v); perr != nil {
			err, generic = perr, true
		}
	case "text", "secret":
		if v == "" {
			err, generic = errors.New("empty"), true
		}
	}
	if err == nil {
		return nil
	}
	e := &AnswerError{Key: q.Key, Expected: Expected(q), Got: v, Reason: err}
	if q.Type == "secret" {
		e.Got = "" // never repeat a secret
	}
	if generic || v == "" || strings.HasPrefix(err.Error(), strconv.Quote(v)+" is not ") {
		e.Reason = nil
	}
	return e
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
