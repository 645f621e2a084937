package wizard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// AnswerKey is one key of a runbook's answers file: its question (as the
// first step that asks it words it) and the steps that ask it, in runbook
// order.
type AnswerKey struct {
	Question
	// Steps are the ids of the steps that may ask the key.
	Steps []string
	// Whens are the conditions of the question in each step of Steps (a
	// template as in the runbook; "" when that step always asks it).
	Whens []string
	// Always is true when at least one of Steps asks it with no condition
	// (a step that does not apply, Step.When, still asks nothing).
	Always bool
	// NotAsked are the steps whose condition on the key depends on the
	// runbook's own settings only (.Params) and is false with them: they
	// never ask it. A key with no Steps is never asked with these settings
	// (an answer to it is still accepted).
	NotAsked []string
}

// Secret reports whether the key's answer is a secret: never journaled,
// never written to the answers.json ferry keeps, masked in every output.
func (k AnswerKey) Secret() bool { return k.Type == "secret" }

// AnswerKeys returns every question key of rb once, in the order the
// runbook first asks them.
func AnswerKeys(rb *Runbook) []AnswerKey {
	var out []AnswerKey
	at := map[string]int{}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			i, ok := at[q.Key]
			if !ok {
				i = len(out)
				at[q.Key] = i
				out = append(out, AnswerKey{Question: q})
			}
			k := &out[i]
			if k.Default == "" {
				k.Default = q.Default
			}
			when := q.When
			if v, fixed := paramsOnly(rb, when); fixed {
				if !v {
					k.NotAsked = append(k.NotAsked, s.ID)
					continue
				}
				when = ""
			}
			k.Steps = append(k.Steps, s.ID)
			k.Whens = append(k.Whens, when)
			k.Always = k.Always || when == ""
		}
	}
	return out
}

// paramsOnly evaluates a condition that reads nothing but the runbook's
// settings (.Params): its value, and true. A condition that reads answers,
// facts or the family (or does not render) gives false, false.
func paramsOnly(rb *Runbook, when string) (value, fixed bool) {
	if when == "" || strings.Contains(when, ".Answers") || strings.Contains(when, ".Facts") || strings.Contains(when, ".Family") {
		return false, false
	}
	out, err := Render(when, TemplateData{Params: rb.Params})
	if err != nil {
		return false, false
	}
	return strings.TrimSpace(out) == "true", true
}

// Descriptions of the answers file's top-level fields, by JSON name. The
// schema, the template and docs/answers.md word them alike; a test checks
// that every field of AnswerSet has one.
var fieldHelp = map[string]string{
	"answers":                  "Answers to the runbook's questions, by key. Every value is a string.",
	"confirm":                  "Ids of the destructive steps the file lets run: ferry types their confirmation word itself. A destructive step not listed stops a headless run (exit 3).",
	"done":                     "Ids of the manual steps the admin has done by hand. A destructive manual step must be in confirm too.",
	"skip":                     "Steps to skip, by id, with the reason recorded in the journal.",
	"confirm_deletions":        "For a step whose transfer would delete more entries on the new server than ferry lets through unconfirmed: the most deletions accepted for any one directory of that step. A larger count still stops for a person.",
	"rerun_interrupted":        "Ids of steps a stopped or killed ferry left interrupted that may run again without a person (steps not safe to re-run, destructive steps). A destructive step runs again only if confirm lists it too.",
	"repeat":                   "How many passes a repeatable step (a hot copy) runs, by id; 1 when not given.",
	"trust_host_key":           "The SHA256 fingerprint of the old server's SSH host key, trusted when it is not in known_hosts yet (as ssh-keygen -lf prints it: SHA256: and 43 characters).",
	"continue_changed_runbook": "true lets a resumed run go on when the runbook changed since the journal began.",
	"override":                 "For a step that requires earlier steps to have passed (the final tests before the old server is disarmed ...), the reason, journaled and shown in the report, for running it although one of them did not pass. Without it a headless run stops there (exit 3).",
}

// FieldHelp returns the description of the answers file's top-level field
// name (a JSON name of AnswerSet), or "" for an unknown field.
func FieldHelp(name string) string { return fieldHelp[name] }

// Patterns of the schema for each question type. They check the shape a
// value must have; ValidateAnswer (which "ferry answers check" runs) is
// the authority and checks more (ranges, no repeated resolver ...).
// JSON Schema patterns are ECMA-262 expressions, unanchored: hence ^ and $.
var typePattern = map[string]string{
	"ip":       `^\s*[0-9A-Fa-f:.]*[0-9A-Fa-f][0-9A-Fa-f:.]*\s*$`,
	"port":     `^\s*([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\s*$`,
	"hostname": `^\s*[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\s*$`,
	"address":  `^\s*[0-9A-Za-z:.-]*[0-9A-Za-z][0-9A-Za-z:.-]*\s*$`,
	"email":    `^\s*[^\s@<>-][^\s@<>]*@[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\s*$`,
	"ips":      `^[\s,]*[0-9A-Fa-f:.]+([\s,]+[0-9A-Fa-f:.]+){0,2}[\s,]*$`,
	"path":     `^\s*/`,
	"yesno":    `^\s*([Yy]([Ee][Ss])?|[Nn][Oo]?|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])\s*$`,
	"lifeline": `^\s*([Yy]([Ee][Ss])?|[Nn][Oo]?|[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\s*$`,
	"text":     `\S`,
	"secret":   `\S`,
}

// answerSchema returns the JSON Schema of one answer to the question of k.
func answerSchema(k AnswerKey) map[string]any {
	s := map[string]any{
		"type":        "string",
		"title":       k.Prompt,
		"description": strings.TrimSpace(Expected(k.Question) + ". " + strings.TrimSpace(k.Help) + " Asked by: " + strings.Join(k.Steps, ", ") + "."),
	}
	if k.Type == "choice" {
		s["enum"] = k.Choices
	} else if p, ok := typePattern[k.Type]; ok {
		s["pattern"] = p
	}
	if k.Default != "" {
		s["default"] = k.Default
	}
	if k.Secret() {
		s["writeOnly"] = true
	}
	return s
}

// stepIDs returns the ids of rb's steps for which keep is true, in
// runbook order.
func stepIDs(rb *Runbook, keep func(*Step) bool) []string {
	out := []string{}
	for i := range rb.Steps {
		if keep(&rb.Steps[i]) {
			out = append(out, rb.Steps[i].ID)
		}
	}
	return out
}

// SchemaID is the $id of the answers schema of the runbook id ("" for the
// schema that takes a file for any built-in runbook).
func SchemaID(id string) string {
	if id == "" {
		return "urn:ferry:answers"
	}
	return "urn:ferry:answers:" + id
}

// AnswersSchema returns a JSON Schema (draft 2020-12) of an answers file
// for rb, built from the runbook: every question key with its type's
// shape, default and description; step ids limited to rb's (repeatable
// steps for repeat); no field or key that ferry would refuse as unknown.
// It describes the JSON form (every answer a string), which is also the
// data model of a YAML answers file whose values are quoted; a field left
// empty (null, as a YAML key with every entry commented out) is allowed,
// as ferry reads it as absent. ferry's own
// check (Validate) stays the authority: it also checks what a schema
// cannot say (port ranges, a resolver listed twice ...).
func AnswersSchema(rb *Runbook) map[string]any {
	keys := AnswerKeys(rb)
	answers := map[string]any{}
	for _, k := range keys {
		answers[k.Key] = answerSchema(k)
	}
	all := stepIDs(rb, func(*Step) bool { return true })
	stepList := func(field string, ids []string) map[string]any {
		return map[string]any{"type": []string{"array", "null"}, "description": fieldHelp[field], "items": map[string]any{"enum": ids}}
	}
	stepMap := func(field string, ids []string, value map[string]any) map[string]any {
		return map[string]any{"type": []string{"object", "null"}, "description": fieldHelp[field],
			"propertyNames": map[string]any{"enum": ids}, "additionalProperties": value}
	}
	props := map[string]any{
		"answers": map[string]any{"type": []string{"object", "null"}, "description": fieldHelp["answers"],
			"properties": answers, "additionalProperties": false},
		"confirm":           stepList("confirm", all),
		"done":              stepList("done", stepIDs(rb, func(s *Step) bool { return s.Level == LevelManual })),
		"rerun_interrupted": stepList("rerun_interrupted", all),
		"skip":              stepMap("skip", all, map[string]any{"type": "string"}),
		"confirm_deletions": stepMap("confirm_deletions", all, map[string]any{"type": "integer", "minimum": 1}),
		"repeat":            stepMap("repeat", stepIDs(rb, func(s *Step) bool { return s.Repeatable }), map[string]any{"type": "integer", "minimum": 1}),
		"trust_host_key": map[string]any{"type": "string", "description": fieldHelp["trust_host_key"],
			"pattern": trustKeyForm().String()},
		"continue_changed_runbook": map[string]any{"type": "boolean", "description": fieldHelp["continue_changed_runbook"]},
		"override": stepMap("override", stepIDs(rb, func(s *Step) bool { return len(s.Requires) > 0 }),
			map[string]any{"type": "string", "pattern": `\S`}),
	}
	return map[string]any{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  SchemaID(rb.ID),
		"title":                "ferry answers file for runbook " + rb.ID,
		"description":          "What a headless ferry run (ferry run --headless --answers FILE) needs to go through the " + rb.Title + " procedure without a person. Check a file with: ferry answers check --runbook " + rb.ID + " FILE",
		"type":                 "object",
		"properties":           props,
		"additionalProperties": false,
	}
}

// AnswersSchemaAny returns a JSON Schema (draft 2020-12) that accepts an
// answers file valid for at least one of rbs: an answers file does not say
// which runbook it is for, so the per-runbook schemas (AnswersSchema) are
// kept whole under $defs and joined with anyOf.
func AnswersSchemaAny(rbs []*Runbook) map[string]any {
	defs := map[string]any{}
	var refs []any
	var ids []string
	for _, rb := range rbs {
		s := AnswersSchema(rb)
		delete(s, "$schema")
		defs[rb.ID] = s
		refs = append(refs, map[string]any{"$ref": "#/$defs/" + rb.ID})
		ids = append(ids, rb.ID)
	}
	return map[string]any{
		"$schema":     "https://json-schema.org/draft/2020-12/schema",
		"$id":         SchemaID(""),
		"title":       "ferry answers file (any built-in runbook)",
		"description": "An answers file valid for one of the runbooks " + strings.Join(ids, ", ") + "; each runbook's own schema is under $defs (ferry answers schema --runbook NAME prints it alone).",
		"anyOf":       refs,
		"$defs":       defs,
	}
}

// MarshalSchema renders a schema as indented JSON ending in a newline,
// with keys sorted (encoding/json sorts map keys), so the output is the
// same from run to run.
func MarshalSchema(s map[string]any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(s); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

var templateCode = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\{\{.*?\}\}`) })

// yamlQuote returns s as a double-quoted YAML scalar (JSON string syntax is
// valid YAML).
func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// comment writes text as YAML comment lines of at most about 76 columns,
// each starting with indent and "# ".
func comment(b *bytes.Buffer, indent, text string) {
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(indent)+2+len(line)+1+len(w) > 78 {
			fmt.Fprintf(b, "%s# %s\n", indent, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		fmt.Fprintf(b, "%s# %s\n", indent, line)
	}
}

// learnt tells whether a step of rb finds the answer key out by itself
// (its kind's KindSpec.Learns).
func learnt(rb *Runbook, key string) bool {
	for _, s := range rb.Steps {
		if slices.Contains(Kinds[s.Kind].Learns, key) {
			return true
		}
	}
	return false
}

// AnswersTemplate returns a commented YAML answers file for rb to start
// from (ParseAnswerSet reads YAML as well as JSON). Each question key has
// its prompt, what it expects, whether it is secret and which steps ask it
// when in comments; a key every run is asked has a line to fill in (its
// default, or "" which Validate refuses until it is filled in); a key
// asked only under some condition, or one a step learns from the servers
// (Kinds' Learns), is a commented-out line. The steps to
// confirm, mark done, run again or repeat are listed commented out: a
// headless run goes past a destructive step only where the admin
// uncommented it. whenText puts a step condition into words (nil: the
// template as written).
func AnswersTemplate(rb *Runbook, whenText func(string) string) []byte {
	if whenText == nil {
		whenText = func(w string) string { return "only when " + w }
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# ferry answers file for runbook %s: %s.\n", rb.ID, rb.Title)
	comment(&b, "", "Fill in the empty values, uncomment what applies, then check it with: ferry answers check --runbook "+rb.ID+" FILE. Run it with: ferry run --runbook "+rb.ID+" --old OLD-SERVER --headless --answers FILE. The file may stay YAML (as here) or be JSON with the same fields; the schema: ferry answers schema --runbook "+rb.ID+". Keep it mode 0600 when it holds a secret.")
	b.WriteString("\nanswers:\n")
	for _, k := range AnswerKeys(rb) {
		b.WriteString("\n")
		comment(&b, "  ", k.Key+": "+k.Prompt)
		what := "Expected: " + Expected(k.Question) + "."
		if k.Secret() {
			what += " Secret: ferry never writes it to its journal, its output or the answers.json it keeps."
		}
		comment(&b, "  ", what)
		if len(k.Steps) > 0 {
			comment(&b, "  ", "Asked by "+AskedBy(k, whenText)+".")
		}
		if len(k.NotAsked) > 0 {
			comment(&b, "  ", "Never asked with this runbook's settings: "+strings.Join(k.NotAsked, ", ")+" ask it only when those settings differ.")
		}
		if note := keyNote[k.Key]; note != "" {
			comment(&b, "  ", note)
		}
		line := k.Key + ": " + yamlQuote(k.Default)
		// A key a step learns from the servers (the port ssh reached
		// the old server on) is left out: a value in the file would
		// replace what ferry finds.
		if !k.Always || learnt(rb, k.Key) {
			fmt.Fprintf(&b, "  # %s\n", line)
		} else {
			fmt.Fprintf(&b, "  %s\n", line)
		}
	}
	list := func(field string, keep func(*Step) bool, why func(*Step) string) {
		b.WriteString("\n")
		comment(&b, "", field+": "+fieldHelp[field])
		fmt.Fprintf(&b, "%s:\n", field)
		for i := range rb.Steps {
			s := &rb.Steps[i]
			if keep(s) {
				fmt.Fprintf(&b, "  # - %s   # %s%s\n", s.ID, s.Title, why(s))
			}
		}
	}
	destructive := func(s *Step) string {
		if s.Destructive {
			return " (destructive)"
		}
		return ""
	}
	list("confirm", func(s *Step) bool { return s.Destructive }, func(*Step) string { return "" })
	list("done", func(s *Step) bool { return s.Level == LevelManual }, destructive)
	list("rerun_interrupted", func(s *Step) bool { return s.Destructive || !s.SafeToRerun }, destructive)
	b.WriteString("\n")
	comment(&b, "", "repeat: "+fieldHelp["repeat"])
	b.WriteString("repeat:\n")
	for _, s := range rb.Steps {
		if s.Repeatable {
			fmt.Fprintf(&b, "  # %s: 2   # %s\n", s.ID, s.Title)
		}
	}
	b.WriteString("\n")
	comment(&b, "", "override: "+fieldHelp["override"])
	b.WriteString("override:\n")
	for _, s := range rb.Steps {
		if len(s.Requires) > 0 {
			fmt.Fprintf(&b, "  # %s: \"why it may run although %s did not all pass\"\n", s.ID, strings.Join(s.Requires, ", "))
		}
	}
	b.WriteString("\n")
	comment(&b, "", "skip: "+fieldHelp["skip"])
	b.WriteString("skip:\n  # STEP-ID: \"why it is skipped\"\n")
	b.WriteString("\n")
	comment(&b, "", "confirm_deletions: "+fieldHelp["confirm_deletions"])
	b.WriteString("confirm_deletions:\n  # STEP-ID: 100\n")
	b.WriteString("\n")
	comment(&b, "", "trust_host_key: "+fieldHelp["trust_host_key"])
	b.WriteString("# trust_host_key: \"SHA256:...\"\n")
	b.WriteString("\n")
	comment(&b, "", "continue_changed_runbook: "+fieldHelp["continue_changed_runbook"])
	b.WriteString("# continue_changed_runbook: false\n")
	return b.Bytes()
}

// AskedBy says which steps ask the key k and when: "ssh-old (only when
// ...), ssh-config". whenText puts a condition into words; what it leaves
// as template code is shown as "(a condition)".
func AskedBy(k AnswerKey, whenText func(string) string) string {
	parts := make([]string, len(k.Steps))
	for i, id := range k.Steps {
		parts[i] = id
		if w := k.Whens[i]; w != "" {
			parts[i] += " (" + templateCode().ReplaceAllString(whenText(w), "(a condition)") + ")"
		}
	}
	return strings.Join(parts, ", ")
}

// keyNote holds what an admin should know about a key beyond its question,
// for the template and docs/answers.md.
var keyNote = map[string]string{
	"old_addr": "Given by --old on the command line; put it here only when ferry run is started without --old.",
	"ssh_port": "Leave it out when --old gives the port (HOST:PORT) or root's ~/.ssh/config has one: the file's value would replace it.",
}

// KeyNote returns the extra advice the template and the documentation give
// for the question key, or "".
func KeyNote(key string) string { return keyNote[key] }
