package wizard

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"

	"al.essio.dev/pkg/shellescape"
)

// A step's plan
//
// Each step's actions are built once, by the planner of its kind (plan_*.go),
// from the step's parameters and the facts and answers known so far. That
// one list is what the checklist, the run screen and the typed confirmation
// show, and what the kind's runner carries out: a runner never builds a
// command of its own. A value not known yet (the old server's address before
// it is given, the deletion limit of an rsync pass) shows as a placeholder,
// ‹name›, until it is known; when the step runs, everything it needs is.

// PlanAction is one thing a step does on one of the two servers: a program
// with its arguments, a shell line, or work ferry does itself (a file it
// edits, a connection it opens, rows it counts through its own PostgreSQL
// connection), said in words.
type PlanAction struct {
	// Host is the server the command runs on, or whose files ferry reads or
	// writes: "old" or "new".
	Host string `json:"host"`
	// Argv is the program and its arguments exactly as they are handed to
	// the server (no shell in between).
	Argv []string `json:"argv,omitempty"`
	// Shell is a shell line of a command step's runbook, run as
	// `sh -c LINE`.
	Shell string `json:"shell,omitempty"`
	// Does says what ferry does itself, when no program runs.
	Does string `json:"does,omitempty"`
	// When says when the action happens, if not always ("only when a
	// package is missing").
	When string `json:"when,omitempty"`
	// Probe marks a read-only look whose answer decides what follows (id -u,
	// rpm -q, a dry run).
	Probe bool `json:"probe,omitempty"`
	// Input says what the command reads on its standard input, when that is
	// part of what it does.
	Input string `json:"input,omitempty"`
}

// Command returns the argv the server is handed for a command action:
// Argv, or ["sh", "-c", Shell]; nil for work ferry does itself.
func (a PlanAction) Command() []string {
	switch {
	case len(a.Argv) > 0:
		return a.Argv
	case a.Shell != "":
		return []string{"sh", "-c", a.Shell}
	}
	return nil
}

// String returns the action as a person reads it: an argv quoted for a
// POSIX shell, a shell line as it is, or the sentence.
func (a PlanAction) String() string {
	switch {
	case len(a.Argv) > 0:
		return DisplayArgv(a.Argv)
	case a.Shell != "":
		return a.Shell
	}
	return a.Does
}

// DisplayArgv returns argv as one line a person reads and bash reads back
// into the same words: each word quoted as shellescape.Quote does, except a
// word holding a control character (the newline ending an rpm --qf or
// dpkg-query -f format), which is written in ANSI-C quoting, $'…\n', so
// the line never breaks in two. It is for showing a command only; what runs
// is the argv itself.
func DisplayArgv(argv []string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		if strings.IndexFunc(w, unicode.IsControl) < 0 {
			words[i] = shellescape.Quote(w)
			continue
		}
		var b strings.Builder
		b.WriteString("$'")
		for _, r := range w {
			switch {
			case r == '\\' || r == '\'':
				b.WriteByte('\\')
				b.WriteRune(r)
			case r == '\n':
				b.WriteString(`\n`)
			case r == '\t':
				b.WriteString(`\t`)
			case r == '\r':
				b.WriteString(`\r`)
			case r < 0x80 && unicode.IsControl(r):
				fmt.Fprintf(&b, `\x%02x`, r)
			case unicode.IsControl(r):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('\'')
		words[i] = b.String()
	}
	return strings.Join(words, " ")
}

// Line renders the action for a checklist of a step that runs on stepHost:
// a command as typed, with a shell comment saying on which server it runs
// when that is not the step's, that it only looks (a probe), what it reads,
// and when it runs; ferry's own work as a comment line ("# ...").
func (a PlanAction) Line(stepHost string) string {
	if len(a.Command()) == 0 {
		l := "# " + a.Does
		if a.Host != "" && a.Host != stepHost {
			l += " (on " + a.Host + ")"
		}
		if a.When != "" {
			l += "; " + a.When
		}
		return l
	}
	var notes []string
	if a.Host != "" && a.Host != stepHost {
		notes = append(notes, "on "+a.Host)
	}
	if a.Probe {
		notes = append(notes, "a check, changes nothing")
	}
	if a.Input != "" {
		notes = append(notes, "reads "+a.Input)
	}
	if a.When != "" {
		notes = append(notes, a.When)
	}
	l := a.String()
	if len(notes) > 0 {
		l += "  # " + strings.Join(notes, "; ")
	}
	return l
}

// SplitProbes splits a step's actions for a display that puts what the step
// does before how it looks first: changes holds every action that is not a
// probe (ferry's own work included), probes the read-only looks, each in
// plan order. A step that runs no command other than probes (only looks,
// and reads of ferry's own) is not split: all its actions come back as
// changes, in plan order. The actions still run in plan order; this is for
// showing only.
func SplitProbes(acts []PlanAction) (changes, probes []PlanAction) {
	if !slices.ContainsFunc(acts, func(a PlanAction) bool { return !a.Probe && a.Command() != nil }) {
		return acts, nil
	}
	for _, a := range acts {
		if a.Probe {
			probes = append(probes, a)
		} else {
			changes = append(changes, a)
		}
	}
	return changes, probes
}

// Placeholder is how a value not known yet is shown in a plan: ‹name›.
func Placeholder(name string) string { return "‹" + name + "›" }

var placeholderRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`‹[^‹›]*›`) })

// HasPlaceholder reports whether s holds a value not known yet.
func HasPlaceholder(s string) bool { return placeholderRe().MatchString(s) }

// WordMatches reports whether got, a word that ran, is what the planned word
// plan says: equal, or equal once each placeholder of plan is replaced by
// some non-empty text.
func WordMatches(plan, got string) bool {
	if !HasPlaceholder(plan) {
		return plan == got
	}
	parts := placeholderRe().Split(plan, -1)
	var b strings.Builder
	b.WriteString("^")
	for i, p := range parts {
		if i > 0 {
			b.WriteString("(.+)")
		}
		b.WriteString(regexp.QuoteMeta(p))
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return err == nil && re.MatchString(got)
}

// ArgvMatches reports whether the argv that ran is the planned one, word by
// word (WordMatches).
func ArgvMatches(plan, got []string) bool {
	if len(plan) != len(got) {
		return false
	}
	for i := range plan {
		if !WordMatches(plan[i], got[i]) {
			return false
		}
	}
	return true
}

// planner builds a kind's actions from its resolved parameters.
type planner func(s *Step, p params, data TemplateData) ([]PlanAction, error)

// Plan returns the actions of step s: what its kind does with its
// parameters, given the answers, facts and family in data. A value data
// does not hold yet shows as a placeholder. A step of a kind that runs
// nothing (manual, record) returns a sentence saying so.
func Plan(s *Step, data TemplateData) ([]PlanAction, error) {
	return planKind(s, s.Kind, s.Params, data)
}

// PlanCheck returns the actions of a precondition or success check c of
// step s (a check runs on its step's host).
func PlanCheck(s *Step, c *Check, data TemplateData) ([]PlanAction, error) {
	if c == nil || c.Kind == "" {
		return nil, nil
	}
	return planKind(s, c.Kind, c.Params, data)
}

func planKind(s *Step, kind string, raw map[string]any, data TemplateData) ([]PlanAction, error) {
	data = withPlanDefaults(data)
	p, err := resolveParams(raw, data)
	if err != nil {
		return nil, err
	}
	pl, ok := kindPlanners[kind]
	if !ok {
		return nil, fmt.Errorf("kind %q has no planner in this version of ferry", kind)
	}
	acts, err := pl(s, p, data)
	if err != nil {
		return nil, fmt.Errorf("step %s (%s): %w", s.ID, kind, err)
	}
	return acts, nil
}

// withPlanDefaults makes sure the maps of data exist.
func withPlanDefaults(d TemplateData) TemplateData {
	if d.Answers == nil {
		d.Answers = map[string]string{}
	}
	if d.Facts == nil {
		d.Facts = map[string]string{}
	}
	return d
}

// PlanFamilies returns the actions of step s for the families its plan
// differs by: {"any": actions} when the family does not change them (or
// data names one), else {"rhel": ..., "debian": ...}. It is what a
// checklist shows before the servers' family is known.
func PlanFamilies(s *Step, data TemplateData) (map[string][]PlanAction, []string, error) {
	if data.Family != "" && data.Family != FamilyAny {
		a, err := Plan(s, data)
		return map[string][]PlanAction{data.Family: a}, []string{data.Family}, err
	}
	out := map[string][]PlanAction{}
	for _, f := range []string{FamilyRHEL, FamilyDebian} {
		d := data
		d.Family = f
		d.Facts = cloneMap(d.Facts)
		d.Facts["family"] = f
		a, err := Plan(s, d)
		if err != nil {
			return nil, nil, err
		}
		out[f] = a
	}
	if slices.EqualFunc(out[FamilyRHEL], out[FamilyDebian], actionsEqual) {
		return map[string][]PlanAction{FamilyAny: out[FamilyRHEL]}, []string{FamilyAny}, nil
	}
	return out, []string{FamilyRHEL, FamilyDebian}, nil
}

func actionsEqual(a, b PlanAction) bool {
	return a.Host == b.Host && slices.Equal(a.Argv, b.Argv) && a.Shell == b.Shell && a.Does == b.Does && a.When == b.When && a.Probe == b.Probe && a.Input == b.Input
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// DisplayData is the template data for showing plans while a migration is
// not (or not fully) under way: the runbook's parameters, the answers and
// facts known (either map may be nil), and a placeholder for every answer a
// step asks and every fact a template names that is not known yet. family
// may be empty.
func DisplayData(rb *Runbook, family string, answers, facts map[string]string) TemplateData {
	d := TemplateData{Params: rb.Params, Answers: map[string]string{}, Facts: map[string]string{}, Family: family}
	for _, s := range rb.Steps {
		for _, q := range s.Ask {
			d.Answers[q.Key] = Placeholder(q.Key)
		}
	}
	for _, name := range factsNamed(rb) {
		d.Facts[name] = Placeholder(name)
	}
	for k, v := range answers {
		d.Answers[k] = v
	}
	for k, v := range facts {
		d.Facts[k] = v
	}
	if family != "" {
		d.Facts["family"] = family
	}
	return d
}

var factRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.Facts\.([A-Za-z0-9_]+)`) })

// factsNamed lists the facts the runbook's templates read (parameters,
// commands, conditions excluded: a condition on a fact not known yet must
// read as false, not as a placeholder).
func factsNamed(rb *Runbook) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, m := range factRef().FindAllStringSubmatch(x, -1) {
				seen[m[1]] = true
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, s := range rb.Steps {
		walk(s.Params)
		for _, c := range []*Check{s.Precondition, s.Success} {
			if c != nil {
				walk(c.Params)
			}
		}
		for _, cmds := range s.Commands {
			for _, c := range cmds {
				walk(c.Shell)
				for _, w := range c.Argv {
					walk(w)
				}
			}
		}
	}
	delete(seen, "family")
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
