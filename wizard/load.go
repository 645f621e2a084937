package wizard

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/ferry-migrate/ferry/assets"
)

// RunbookError is a problem in a runbook file, located by line and field.
type RunbookError struct {
	File  string
	Line  int
	Field string // "steps[3].level", or "" for the whole file
	Msg   string
}

func (e *RunbookError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// UnmarshalYAML reads a command given either as a sequence (argv) or as a
// string (a shell line).
func (c *Command) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		c.Shell = n.Value
		return nil
	case yaml.SequenceNode:
		for _, w := range n.Content {
			if w.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: a command word must be a string", w.Line)
			}
			c.Argv = append(c.Argv, w.Value)
		}
		return nil
	}
	return fmt.Errorf("line %d: a command is a list of words or a shell line", n.Line)
}

// String renders the command as a person would type it.
func (c Command) String() string {
	if c.Shell != "" {
		return c.Shell
	}
	return quoteArgv(c.Argv)
}

// LoadRunbook loads a built-in runbook by name ("greenarrow") or a runbook
// file by path. A name that is neither is an error listing the built-ins.
func LoadRunbook(nameOrPath string) (*Runbook, error) {
	if data, err := assets.Runbook(nameOrPath); err == nil {
		return loadBuiltin(nameOrPath, data)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !strings.ContainsAny(nameOrPath, "/.") {
			return nil, &RunbookError{File: nameOrPath, Msg: fmt.Sprintf("no built-in runbook of that name (built-in: %s) and no such file", strings.Join(assets.Names(), ", "))}
		}
		return nil, &RunbookError{File: nameOrPath, Msg: err.Error()}
	}
	return Parse(nameOrPath, data)
}

var yamlLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`line (\d+): (.*)`) })

// Parse reads and validates a runbook. file names it in errors.
func Parse(file string, data []byte) (*Runbook, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlError(file, err)
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, &RunbookError{File: file, Line: 1, Msg: "a runbook is a YAML mapping with id, title, phases and steps"}
	}
	rb, err := decodeRunbook(data, &root)
	if err != nil {
		return nil, yamlError(file, err)
	}
	sum := sha256.Sum256(data)
	rb.File, rb.Hash = file, hex.EncodeToString(sum[:])
	doc := root.Content[0]
	if steps := mapValue(doc, "steps"); steps != nil && steps.Kind == yaml.SequenceNode {
		for i := range rb.Steps {
			if i < len(steps.Content) {
				rb.Steps[i].Line = steps.Content[i].Line
			}
		}
	}
	v := validator{file: file, doc: doc, rb: &rb}
	v.validate()
	if len(v.errs) > 0 {
		return nil, v.errs[0]
	}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		if strings.TrimSpace(s.CutsAccess) == "" || slices.ContainsFunc(s.Ask, func(q Question) bool { return q.Key == LifelineKey }) {
			continue
		}
		s.Ask = append(s.Ask, LifelineQuestion())
	}
	return &rb, nil
}

// decodeRunbook decodes the runbook in data, whose node tree root the caller
// parsed already. A runbook whose every mapping key names a field (the usual
// case, told by knownFieldsOnly) is decoded from root, so the text is parsed
// once; any other goes through the YAML decoder with known-field checking on
// the text itself, whose error (the first of its list) Parse reports, so a
// faulty runbook is reported exactly as before.
func decodeRunbook(data []byte, root *yaml.Node) (Runbook, error) {
	var rb Runbook
	if knownFieldsOnly(root, reflect.TypeFor[Runbook]()) {
		if err := root.Decode(&rb); err == nil {
			return rb, nil
		}
		rb = Runbook{}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	err := dec.Decode(&rb)
	return rb, err
}

var yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()

// yamlFields holds, for each struct type knownFieldsOnly met, the type of
// each field by the name it takes in YAML (a map[string]reflect.Type), or
// nil for a struct it does not vouch for (one with an inline field).
var yamlFields sync.Map

// fieldTypes returns the types of t's fields by the names the YAML package
// reads them under (the tag's name, else the field's name in lower case;
// "-" and unexported fields left out), or nil when t has an inline or
// embedded field.
func fieldTypes(t reflect.Type) map[string]reflect.Type {
	if v, ok := yamlFields.Load(t); ok {
		m, _ := v.(map[string]reflect.Type)
		return m
	}
	m := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "" && !strings.Contains(string(f.Tag), ":") {
			tag = string(f.Tag)
		}
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous || slices.Contains(strings.Split(opts, ","), "inline") {
			m = nil
			break
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	yamlFields.Store(t, m)
	return m
}

// knownFieldsOnly reports whether decoding n into a value of type t can
// meet no mapping key that names no field of the struct it fills: what the
// YAML decoder's known-field checking would reject. It answers false
// whenever it is not sure (an alias, a merge key, a key that is not a
// plain string, a struct with an inline field), so that the caller then
// decodes with the checking on. A node of another shape than t wants is
// left to the decoder, which reports it.
func knownFieldsOnly(n *yaml.Node, t reflect.Type) bool {
	if n == nil {
		return true
	}
	switch n.Kind {
	case yaml.AliasNode:
		return false
	case yaml.DocumentNode:
		for _, c := range n.Content {
			if !knownFieldsOnly(c, t) {
				return false
			}
		}
		return true
	}
	if t.Implements(yamlUnmarshaler) || reflect.PointerTo(t).Implements(yamlUnmarshaler) {
		return true // it reads its node itself, with no field checking
	}
	switch t.Kind() {
	case reflect.Pointer:
		return knownFieldsOnly(n, t.Elem())
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return true
		}
		for _, c := range n.Content {
			if !knownFieldsOnly(c, t.Elem()) {
				return false
			}
		}
		return true
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return true
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; k.Kind != yaml.ScalarNode || k.Value == "<<" {
				return false
			}
			if !knownFieldsOnly(n.Content[i+1], t.Elem()) {
				return false
			}
		}
		return true
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return true
		}
		fields := fieldTypes(t)
		if fields == nil {
			return false
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode || k.Value == "<<" || k.ShortTag() != "!!str" {
				return false
			}
			ft, ok := fields[k.Value]
			if !ok || !knownFieldsOnly(n.Content[i+1], ft) {
				return false
			}
		}
		return true
	}
	return true
}

func yamlError(file string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine().FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &RunbookError{File: file, Line: n, Msg: yamlWords(m[2])}
	}
	return &RunbookError{File: file, Msg: yamlWords(strings.TrimPrefix(msg, "yaml: "))}
}

var (
	yamlUnknownField = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^field (\S+) not found in type (\S+)$`) })
	yamlWrongType    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$") })
)

// yamlWords puts the YAML decoder's messages that name Go types in a
// runbook author's words: an unknown field names the part of the runbook
// it was found in, a value of the wrong kind says what was expected.
func yamlWords(msg string) string {
	if m := yamlUnknownField().FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown field %q in %s", m[1], goTypeWords(m[2]))
	}
	if m := yamlWrongType().FindStringSubmatch(msg); m != nil {
		found := map[string]string{"int": "a number", "float": "a number", "bool": "true or false", "str": "a text",
			"seq": "a list", "map": "a mapping", "null": "nothing"}[m[1]]
		if found == "" {
			found = m[1]
		}
		return fmt.Sprintf("expected %s, found %s (%s)", goTypeWords(m[3]), found, m[2])
	}
	if m := yamlWrongShape().FindStringSubmatch(msg); m != nil {
		// A list or a mapping where another shape belongs: the library
		// quotes no value then.
		found := map[string]string{"seq": "a list", "map": "a mapping"}[m[1]]
		return fmt.Sprintf("expected %s, found %s", goTypeWords(m[2]), cmp.Or(found, m[1]))
	}
	return msg
}

var yamlWrongShape = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^cannot unmarshal !!(\w+) into (.+)$`) })

// goTypeWords names a Go type of the runbook model as its author knows it.
func goTypeWords(t string) string {
	if rest, ok := strings.CutPrefix(t, "[]"); ok {
		return "a list of " + strings.TrimPrefix(goTypeWords(rest), "a ") + "s"
	}
	switch strings.TrimPrefix(t, "*") {
	case "wizard.Runbook":
		return "the runbook"
	case "wizard.Step":
		return "a step"
	case "wizard.Phase":
		return "a phase"
	case "wizard.Question":
		return "a question (ask)"
	case "wizard.Check":
		return "a check (text, kind, params)"
	case "wizard.Command":
		return "a command"
	case "bool":
		return "true or false"
	case "string":
		return "a text"
	case "int", "int64":
		return "a whole number"
	}
	if strings.HasPrefix(t, "map[") {
		return "a mapping"
	}
	return t
}

// mapValue returns the value node for key in a mapping node.
func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// mapKeyLine returns the line of key in a mapping node, or the node's line.
func mapKeyLine(m *yaml.Node, key string) int {
	if m == nil {
		return 0
	}
	if m.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == key {
				return m.Content[i].Line
			}
		}
	}
	return m.Line
}

type validator struct {
	file string
	doc  *yaml.Node
	rb   *Runbook
	errs []*RunbookError
	// sample is SampleData(rb), made on the first template checked.
	sample *TemplateData
	// names holds, for "Params" and "Answers", the keys a template may
	// read under them (knownNames), made on the first template checked.
	names map[string][]string
}

func (v *validator) fail(line int, field, format string, args ...any) {
	v.errs = append(v.errs, &RunbookError{File: v.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

var idPattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`) })

var (
	levels        = []string{LevelAuto, LevelAsk, LevelManual, LevelCheck}
	hostNames     = []string{HostOld, HostNew}
	familyKeys    = []string{FamilyAny, FamilyRHEL, FamilyDebian}
	questionTypes = []string{"ip", "port", "path", "email", "hostname", "address", "yesno", "choice", "text", "ips", "secret"}
)

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

func (v *validator) validate() {
	rb, doc := v.rb, v.doc
	if rb.ID == "" || !idPattern().MatchString(rb.ID) {
		v.fail(mapKeyLine(doc, "id"), "id", "%q is not a valid id (lower-case letters, digits and dashes)", rb.ID)
	}
	if rb.Title == "" {
		v.fail(mapKeyLine(doc, "title"), "title", "missing")
	}
	if len(rb.Phases) == 0 {
		v.fail(mapKeyLine(doc, "phases"), "phases", "a runbook needs at least one phase")
	}
	if len(rb.Steps) == 0 {
		v.fail(mapKeyLine(doc, "steps"), "steps", "a runbook needs at least one step")
	}
	phaseNodes := mapValue(doc, "phases")
	phases := map[string]bool{}
	for i, p := range rb.Phases {
		pn := seqItem(phaseNodes, i)
		field := fmt.Sprintf("phases[%d]", i)
		if !idPattern().MatchString(p.ID) {
			v.fail(mapKeyLine(pn, "id"), field+".id", "%q is not a valid id", p.ID)
		}
		if phases[p.ID] {
			v.fail(mapKeyLine(pn, "id"), field+".id", "phase %q is declared twice", p.ID)
		}
		phases[p.ID] = true
		if p.Title == "" {
			v.fail(mapKeyLine(pn, "title"), field+".title", "missing")
		}
	}
	stepNodes := mapValue(doc, "steps")
	ids := map[string]int{}
	starts, ends := 0, 0
	lastPhase := -1
	phaseIndex := map[string]int{}
	for i, p := range rb.Phases {
		phaseIndex[p.ID] = i
	}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		sn := seqItem(stepNodes, i)
		field := fmt.Sprintf("steps[%d]", i)
		if s.ID != "" {
			field = fmt.Sprintf("step %q", s.ID)
		}
		line := func(key string) int { return mapKeyLine(sn, key) }
		if !idPattern().MatchString(s.ID) {
			v.fail(line("id"), field+".id", "%q is not a valid id (lower-case letters, digits and dashes)", s.ID)
		} else if prev, dup := ids[s.ID]; dup {
			v.fail(line("id"), field+".id", "id already used by the step at line %d", prev)
		}
		ids[s.ID] = s.Line
		if !phases[s.Phase] {
			v.fail(line("phase"), field+".phase", "%q is not a declared phase", s.Phase)
		} else {
			if phaseIndex[s.Phase] < lastPhase {
				v.fail(line("phase"), field+".phase", "phase %q comes after a later phase: steps must be grouped in phase order", s.Phase)
			}
			lastPhase = phaseIndex[s.Phase]
		}
		if s.Title == "" {
			v.fail(line("title"), field+".title", "missing")
		}
		if strings.TrimSpace(s.Help) == "" {
			v.fail(line("help"), field+".help", "missing: every step explains what it does and why")
		}
		if !oneOf(s.Host, hostNames) {
			v.fail(line("host"), field+".host", "%q is not one of %s", s.Host, strings.Join(hostNames, ", "))
		}
		if !oneOf(s.Level, levels) {
			v.fail(line("level"), field+".level", "%q is not one of %s", s.Level, strings.Join(levels, ", "))
		}
		if s.Vendor == "" {
			v.fail(line("vendor"), field+".vendor", "missing: name the section of the vendor procedure")
		}
		v.checkKind(sn, "kind", "params", field, s.Kind, s.Params, false)
		cn := mapValue(sn, "commands")
		for fam, cmds := range s.Commands {
			if !oneOf(fam, familyKeys) {
				v.fail(mapKeyLine(cn, fam), field+".commands", "%q is not one of %s", fam, strings.Join(familyKeys, ", "))
			}
			for j, c := range cmds {
				if len(c.Argv) == 0 && strings.TrimSpace(c.Shell) == "" {
					v.fail(mapKeyLine(cn, fam), fmt.Sprintf("%s.commands.%s[%d]", field, fam, j), "empty command")
				}
				for _, w := range append(c.Argv, c.Shell) {
					v.checkTemplate(mapKeyLine(cn, fam), field+".commands."+fam, w)
				}
			}
		}
		if s.Kind == "command" && len(s.Commands) == 0 {
			v.fail(line("kind"), field+".commands", "a step of kind command needs commands")
		}
		if s.Kind != "command" && s.Kind != "" && len(s.Commands) > 0 {
			// What any other step runs is built from its kind and parameters
			// (its plan): a second, hand-written list could only differ.
			v.fail(line("commands"), field+".commands", "only a step of kind command lists commands; a %s step shows what it runs from its kind and parameters", s.Kind)
		}
		v.checkTemplate(line("when"), field+".when", s.When)
		v.checkTemplate(line("confirm"), field+".confirm", s.Confirm)
		an := mapValue(sn, "ask")
		keys := map[string]bool{}
		for j, q := range s.Ask {
			qn := seqItem(an, j)
			qf := fmt.Sprintf("%s.ask[%d]", field, j)
			if !idPattern().MatchString(strings.ReplaceAll(q.Key, "_", "-")) {
				v.fail(mapKeyLine(qn, "key"), qf+".key", "%q is not a valid key", q.Key)
			}
			if keys[q.Key] {
				v.fail(mapKeyLine(qn, "key"), qf+".key", "%q asked twice in one step", q.Key)
			}
			keys[q.Key] = true
			if q.Prompt == "" {
				v.fail(mapKeyLine(qn, "prompt"), qf+".prompt", "missing")
			}
			if q.Type == LifelineType {
				// The loader adds this question to a step with cuts_access;
				// a runbook written back out holds it already.
				if q.Key != LifelineKey || strings.TrimSpace(s.CutsAccess) == "" {
					v.fail(mapKeyLine(qn, "type"), qf+".type", "type %s is ferry's own question %q, for a step with cuts_access only", LifelineType, LifelineKey)
				}
			} else if q.Key == LifelineKey && strings.TrimSpace(s.CutsAccess) != "" {
				v.fail(mapKeyLine(qn, "key"), qf+".key", "%q is the question ferry adds to a step with cuts_access: use another key", q.Key)
			} else if !oneOf(q.Type, questionTypes) {
				v.fail(mapKeyLine(qn, "type"), qf+".type", "%q is not one of %s", q.Type, strings.Join(questionTypes, ", "))
			}
			if q.Type == "choice" && len(q.Choices) == 0 {
				v.fail(mapKeyLine(qn, "choices"), qf+".choices", "a choice needs choices")
			}
			v.checkTemplate(mapKeyLine(qn, "when"), qf+".when", q.When)
			v.checkTemplate(mapKeyLine(qn, "default"), qf+".default", q.Default)
		}
		if strings.TrimSpace(s.CutsAccess) != "" {
			if s.Host != HostNew {
				v.fail(line("cuts_access"), field+".cuts_access", "only a step on the new server can cut the admin's access to it (the spare sshd runs there); this one is on %q", s.Host)
			}
		}
		for _, c := range []struct {
			key string
			chk *Check
		}{{"precondition", s.Precondition}, {"success", s.Success}} {
			if c.chk == nil {
				continue
			}
			chn := mapValue(sn, c.key)
			if strings.TrimSpace(c.chk.Text) == "" {
				v.fail(mapKeyLine(chn, "text"), field+"."+c.key+".text", "missing: say in a sentence what must hold")
			}
			if c.chk.Kind != "" || len(c.chk.Params) > 0 {
				v.checkKind(chn, "kind", "params", field+"."+c.key, c.chk.Kind, c.chk.Params, true)
			}
		}
		for _, r := range s.Requires {
			// ids holds the steps seen so far: a requirement must be an
			// earlier step, or it could never have passed when this runs.
			if _, ok := ids[r]; !ok || r == s.ID {
				v.fail(line("requires"), field+".requires", "%q is not an earlier step", r)
			}
		}
		for _, r := range s.Redo {
			if _, ok := ids[r]; !ok || r == s.ID {
				v.fail(line("redo"), field+".redo", "%q is not an earlier step", r)
			}
		}
		for _, b := range s.Beside {
			// Like requires: only an earlier step, and only between steps
			// that may share the machine (engine_group.go).
			_, ok := ids[b]
			o := rb.Step(b)
			switch {
			case !ok || b == s.ID || o == nil:
				v.fail(line("beside"), field+".beside", "%q is not an earlier step", b)
			case !besideable(o):
				v.fail(line("beside"), field+".beside", "%q cannot run beside another step: %s", b, besideWhyNot(o))
			}
		}
		if len(s.Beside) > 0 && !besideable(s) {
			v.fail(line("beside"), field+".beside", "this step cannot run beside another step: %s", besideWhyNot(s))
		}
		if s.Destructive && (s.Precondition == nil || s.Precondition.Kind == "") && s.Level != LevelManual {
			v.fail(line("destructive"), field+".precondition", "a destructive step needs a precondition that ferry can check (kind and params) right before it runs")
		}
		switch s.Downtime {
		case "":
		case DowntimeStart:
			starts++
			if ends > 0 {
				v.fail(line("downtime"), field+".downtime", "the downtime starts after it ended")
			}
		case DowntimeEnd:
			ends++
			if starts == 0 {
				v.fail(line("downtime"), field+".downtime", "the downtime ends before it started")
			}
		default:
			v.fail(line("downtime"), field+".downtime", "%q is not start or end", s.Downtime)
		}
	}
	if starts > 1 || ends > 1 {
		v.fail(mapKeyLine(doc, "steps"), "steps", "the downtime window starts %d times and ends %d times: one of each at most", starts, ends)
	}
	if starts != ends {
		v.fail(mapKeyLine(doc, "steps"), "steps", "the downtime window starts %d times and ends %d times: they must pair", starts, ends)
	}
}

func seqItem(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

func (v *validator) checkKind(n *yaml.Node, kindKey, paramsKey, field, kind string, params map[string]any, mustCheck bool) {
	spec, ok := Kinds[kind]
	if !ok {
		v.fail(mapKeyLine(n, kindKey), field+"."+kindKey, "unknown kind %q (known: %s)", kind, strings.Join(KindNames(), ", "))
		return
	}
	if mustCheck && !spec.Check {
		v.fail(mapKeyLine(n, kindKey), field+"."+kindKey, "kind %q changes things; a precondition or success check must only read", kind)
	}
	allowed := map[string]bool{}
	for _, p := range append(append([]string{}, spec.Required...), spec.Optional...) {
		allowed[p] = true
	}
	pn := mapValue(n, paramsKey)
	var names []string
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if !allowed[k] {
			v.fail(mapKeyLine(pn, k), field+"."+paramsKey+"."+k, "kind %q takes no parameter %q (it takes: %s)", kind, k, strings.Join(append(append([]string{}, spec.Required...), spec.Optional...), ", "))
		}
		v.checkValueTemplates(mapKeyLine(pn, k), field+"."+paramsKey+"."+k, params[k])
		if words, ok := spec.Values[k]; ok {
			if w, _ := params[k].(string); !slices.Contains(words, w) && !strings.Contains(w, "{{") {
				v.fail(mapKeyLine(pn, k), field+"."+paramsKey+"."+k, "kind %q takes %s for %q, not %q", kind, strings.Join(words, " or "), k, fmt.Sprint(params[k]))
			}
		}
	}
	for _, r := range spec.Required {
		if _, ok := params[r]; !ok {
			v.fail(mapKeyLine(n, kindKey), field+"."+paramsKey, "kind %q needs parameter %q", kind, r)
		}
	}
}

func (v *validator) checkValueTemplates(line int, field string, val any) {
	switch x := val.(type) {
	case string:
		v.checkTemplate(line, field, x)
	case []any:
		for _, e := range x {
			v.checkValueTemplates(line, field, e)
		}
	case map[string]any:
		for _, e := range x {
			v.checkValueTemplates(line, field, e)
		}
	}
}

// checkTemplate parses and renders a template with sample data, so that a
// runbook with a template that cannot render is rejected at load time.
func (v *validator) checkTemplate(line int, field, text string) {
	if !strings.Contains(text, "{{") {
		return
	}
	if v.sample == nil {
		d := SampleData(v.rb)
		v.sample = &d
	}
	if _, err := Render(text, *v.sample); err != nil {
		v.fail(line, field, "template: %v", err)
		return
	}
	// A key missing from .Params or .Answers renders as nothing, so a
	// misspelt name would pass the render above and reach a command as an
	// empty word ("rm -rf /" from a path of "{{.Params.old_qeue}}").
	t, err := parsedTemplate(text)
	if err != nil {
		return
	}
	if v.names == nil {
		v.names = knownNames(v.rb)
	}
	for _, r := range templateRefs(t) {
		known := v.names[r.Root]
		if slices.Contains(known, r.Name) {
			continue
		}
		what := map[string]string{"Params": "a key of the runbook's params", "Answers": "the key of a question any step asks, nor an answer ferry learns by itself"}[r.Root]
		if len(known) == 0 {
			v.fail(line, field, "template reads .%s.%s, which is not %s (there are none)", r.Root, r.Name, what)
			continue
		}
		v.fail(line, field, "template reads .%s.%s, which is not %s; did you mean .%s.%s?", r.Root, r.Name, what, r.Root, Nearest(r.Name, known))
	}
}

// knownNames returns the keys templates of rb may read: under "Params" the
// keys of its params, under "Answers" the key of every question its steps
// ask, the lifeline question the loader adds to a step with cuts_access,
// and the answers the kinds its steps and checks use learn (KindSpec.Learns).
// Each list is sorted. Facts are found while ferry runs and are not listed.
func knownNames(rb *Runbook) map[string][]string {
	params := make([]string, 0, len(rb.Params))
	for k := range rb.Params {
		params = append(params, k)
	}
	answers := map[string]bool{}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			answers[q.Key] = true
		}
		if strings.TrimSpace(s.CutsAccess) != "" {
			answers[LifelineKey] = true
		}
		kinds := []string{s.Kind}
		for _, c := range []*Check{s.Precondition, s.Success} {
			if c != nil {
				kinds = append(kinds, c.Kind)
			}
		}
		for _, k := range kinds {
			for _, a := range Kinds[k].Learns {
				answers[a] = true
			}
		}
	}
	sort.Strings(params)
	keys := make([]string, 0, len(answers))
	for k := range answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return map[string][]string{"Params": params, "Answers": keys}
}
