// Package checklist turns a runbook, and optionally the journal of a
// migration under way, into a read-only checklist: a Doc that a renderer
// prints as Markdown for a change ticket, as JSON for other programs, or that
// the terminal view in package tui browses.
//
// The package is given data only (a runbook and a view of step statuses). It
// holds no host, runs no command and writes no file: the checklist cannot
// change anything, and its tests prove it.
package checklist

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/wizard"
)

// Statuses tells where each step of a migration stands. *wizard.State
// satisfies it; nil means no migration is under way.
type Statuses interface {
	Status(stepID string) wizard.Status
}

// Options select what a checklist shows.
type Options struct {
	// Family limits the commands to one distribution family ("rhel" or
	// "debian"). Empty shows every variant, labelled.
	Family string
	// State gives each step's status. Nil shows no status.
	State Statuses
	// StateDir names where State was read from, for the header.
	StateDir string
	// Notes are extra warnings shown above the steps (for example the
	// journal's own warnings).
	Notes []string
}

// Doc is a checklist ready to render.
type Doc struct {
	Runbook string `json:"runbook"`
	Title   string `json:"title"`
	Vendor  string `json:"vendor,omitempty"`
	Summary string `json:"summary,omitempty"`
	File    string `json:"file,omitempty"`
	Hash    string `json:"hash,omitempty"`
	// Family is the family the commands were limited to, if any.
	Family string `json:"family,omitempty"`
	// StateDir is set when statuses come from a journal.
	StateDir string   `json:"state_dir,omitempty"`
	HasState bool     `json:"has_state"`
	Notes    []string `json:"notes,omitempty"`
	Phases   []Phase  `json:"phases"`
	Steps    []Step   `json:"steps"`
}

// Phase is a group of steps.
type Phase struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Help  string `json:"help,omitempty"`
	// Steps are indexes into Doc.Steps.
	Steps []int `json:"-"`
}

// Step is one numbered line of the checklist.
type Step struct {
	Number      int    `json:"number"`
	ID          string `json:"id"`
	Phase       string `json:"phase"`
	Title       string `json:"title"`
	Help        string `json:"help,omitempty"`
	Host        string `json:"host"`
	Level       string `json:"level"`
	Kind        string `json:"kind"`
	Destructive bool   `json:"destructive"`
	// Harm says, for a destructive step, what it does and where
	// (wizard.Harm): "Stops mail on the old server", "Deletes ‹dir› on
	// the new server". Empty for any other step.
	Harm        string        `json:"harm,omitempty"`
	SafeToRerun bool          `json:"safe_to_rerun"`
	Repeatable  bool          `json:"repeatable,omitempty"`
	Downtime    string        `json:"downtime,omitempty"`
	Status      wizard.Status `json:"status"`
	// Commands are the step's plan per family label ("any", "rhel",
	// "debian"): each command quoted for a shell as it will run (a comment
	// after it says on which server, what it reads and when), each piece of
	// ferry's own work as a "# " comment line (wizard.PlanAction.Line).
	Commands map[string][]string `json:"commands"`
	// Actions are the same plan as data.
	Actions      map[string][]wizard.PlanAction `json:"actions,omitempty"`
	Families     []string                       `json:"-"`
	When         string                         `json:"when,omitempty"`
	WhenText     string                         `json:"when_text,omitempty"`
	Precondition string                         `json:"precondition,omitempty"`
	Success      string                         `json:"success,omitempty"`
	Questions    []Question                     `json:"questions,omitempty"`
	Vendor       string                         `json:"vendor,omitempty"`
}

// Question is one thing a step asks the admin.
type Question struct {
	Key     string   `json:"key"`
	Prompt  string   `json:"prompt"`
	Type    string   `json:"type"`
	Default string   `json:"default,omitempty"`
	Choices []string `json:"choices,omitempty"`
	// WhenText says in words when the question is asked: "" for always,
	// "not asked with these settings", or "asked only when needed (...)"
	// when it depends on facts or answers not known yet (askedWhen).
	WhenText string `json:"when_text,omitempty"`
	// NotAsked is true when the question's condition is false with the
	// runbook's settings and what the journal knows, whatever the rest.
	NotAsked bool `json:"not_asked,omitempty"`
}

// Done reports whether the step needs nothing more, per the journal.
func (s Step) Done() bool { return s.Status.Done() }

// Statuses returns every step's status, in the runbook's order (for
// wizard.Tally).
func (d *Doc) Statuses() []wizard.Status {
	out := make([]wizard.Status, len(d.Steps))
	for i, s := range d.Steps {
		out[i] = s.Status
	}
	return out
}

// Marks returns the warning marks of a step: ⚠ for destructive steps, ⏱ for
// the start or end of the downtime window.
func (s Step) Marks() string {
	var m []string
	if s.Destructive {
		m = append(m, "⚠")
	}
	if s.Downtime != "" {
		m = append(m, "⏱")
	}
	return strings.Join(m, " ")
}

// DowntimeText says in words what a step does to the downtime window.
func (s Step) DowntimeText() string {
	switch s.Downtime {
	case wizard.DowntimeStart:
		return "downtime starts here"
	case wizard.DowntimeEnd:
		return "downtime ends here"
	case "":
		return ""
	}
	return "downtime: " + s.Downtime
}

// Families are the values Options.Family accepts.
var Families = []string{wizard.FamilyRHEL, wizard.FamilyDebian}

// ValidFamily reports whether f is empty or a known family.
func ValidFamily(f string) bool {
	return f == "" || f == wizard.FamilyRHEL || f == wizard.FamilyDebian
}

// Build makes the checklist of rb. Steps are grouped by phase in the order
// the runbook lists its phases, and numbered from 1 in that order; a step
// whose phase is not listed goes into a phase of its own at the end.
func Build(rb *wizard.Runbook, opts Options) (*Doc, error) {
	if rb == nil {
		return nil, fmt.Errorf("checklist: no runbook")
	}
	if !ValidFamily(opts.Family) {
		return nil, fmt.Errorf("checklist: unknown family %q (want %s)", opts.Family, strings.Join(Families, " or "))
	}
	d := &Doc{
		Runbook:  clean(rb.ID),
		Title:    clean(rb.Title),
		Vendor:   clean(rb.Vendor),
		Summary:  cleanText(rb.Summary),
		File:     clean(rb.File),
		Hash:     clean(rb.Hash),
		Family:   opts.Family,
		HasState: opts.State != nil,
	}
	if d.HasState {
		d.StateDir = clean(opts.StateDir)
	}
	for _, n := range opts.Notes {
		d.Notes = append(d.Notes, cleanText(n))
	}

	phaseIndex := map[string]int{}
	for _, p := range rb.Phases {
		if _, dup := phaseIndex[p.ID]; dup {
			continue
		}
		phaseIndex[p.ID] = len(d.Phases)
		d.Phases = append(d.Phases, Phase{ID: clean(p.ID), Title: clean(p.Title), Help: cleanText(p.Help)})
	}
	byPhase := make([][]*wizard.Step, len(d.Phases))
	var orphans []string
	orphanSteps := map[string][]*wizard.Step{}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		if pi, ok := phaseIndex[s.Phase]; ok {
			byPhase[pi] = append(byPhase[pi], s)
			continue
		}
		if _, seen := orphanSteps[s.Phase]; !seen {
			orphans = append(orphans, s.Phase)
		}
		orphanSteps[s.Phase] = append(orphanSteps[s.Phase], s)
	}
	for _, id := range orphans {
		d.Phases = append(d.Phases, Phase{ID: clean(id), Title: clean(id)})
		byPhase = append(byPhase, orphanSteps[id])
	}

	var answers, facts map[string]string
	if ws, ok := opts.State.(*wizard.State); ok && ws != nil {
		answers, facts = ws.Answers, ws.Facts
	}
	// The display data depends on the family only: made once for each.
	display := map[string]wizard.TemplateData{}
	for pi := range d.Phases {
		for _, s := range byPhase[pi] {
			fam := opts.Family
			if fam == "" {
				// The family of the server the step runs on, once known.
				fam = facts[s.Host+"_family"]
			}
			known := wizard.TemplateData{Params: rb.Params, Answers: answers, Facts: facts, Family: fam}
			data, ok := display[fam]
			if !ok {
				data = wizard.DisplayData(rb, fam, answers, facts)
				display[fam] = data
			}
			st := buildStep(s, data, known, opts)
			st.Number = len(d.Steps) + 1
			d.Phases[pi].Steps = append(d.Phases[pi].Steps, len(d.Steps))
			d.Steps = append(d.Steps, st)
		}
	}
	return d, nil
}

// buildStep makes the checklist line of s: data is the display data (a
// placeholder for each value not known), known holds only what is known (the
// runbook's parameters, the journal's answers and facts, the family if
// known), for deciding which questions are asked.
func buildStep(s *wizard.Step, data, known wizard.TemplateData, opts Options) Step {
	st := Step{
		ID:          clean(s.ID),
		Phase:       clean(s.Phase),
		Title:       clean(s.Title),
		Help:        cleanText(s.Help),
		Host:        clean(s.Host),
		Level:       clean(s.Level),
		Kind:        clean(s.Kind),
		Destructive: s.Destructive,
		SafeToRerun: s.SafeToRerun,
		Repeatable:  s.Repeatable,
		Downtime:    clean(s.Downtime),
		Status:      wizard.StatusPending,
		Commands:    map[string][]string{},
		When:        clean(s.When),
		WhenText:    WhenText(s.When),
		Vendor:      clean(s.Vendor),
	}
	if s.Destructive {
		st.Harm = cleanText(wizard.Harm(s, data, strings.TrimPrefix(HostText(s.Host), "on ")))
	}
	if opts.State != nil {
		if v := opts.State.Status(s.ID); v != "" {
			st.Status = v
		}
	}
	if s.Precondition != nil {
		st.Precondition = cleanText(s.Precondition.Text)
	}
	if s.Success != nil {
		st.Success = cleanText(s.Success.Text)
	}
	// The step's plan, as the executor will run it, with what is known so
	// far; a value not known yet shows as ‹name›.
	byFam, fams, err := wizard.PlanFamilies(s, data)
	if err != nil {
		st.Commands[wizard.FamilyAny] = []string{cleanText("# the plan cannot be shown: " + err.Error())}
		st.Families = []string{wizard.FamilyAny}
	}
	for _, f := range fams {
		if len(byFam[f]) == 0 {
			continue
		}
		var lines []string
		for _, a := range byFam[f] {
			lines = append(lines, cleanText(a.Line(s.Host)))
		}
		if st.Actions == nil {
			st.Actions = map[string][]wizard.PlanAction{}
		}
		st.Commands[f], st.Actions[f] = lines, byFam[f]
		st.Families = append(st.Families, f)
	}
	for _, q := range s.Ask {
		qq := Question{
			Key:     clean(q.Key),
			Prompt:  clean(q.Prompt),
			Type:    clean(q.Type),
			Default: clean(q.Default),
		}
		qq.WhenText, qq.NotAsked = askedWhen(q.When, known)
		qq.WhenText = clean(qq.WhenText)
		for _, c := range q.Choices {
			qq.Choices = append(qq.Choices, clean(c))
		}
		st.Questions = append(st.Questions, qq)
	}
	return st
}

// Words for a question's condition.
const (
	notAskedText  = "not asked with these settings"
	whenNeededPfx = "asked only when needed ("
)

var (
	reRef     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`\.(Facts|Answers|Params)\.(\w+)|\.Family\b`) })
	reLiteral = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`"((?:[^"\\]|\\.)*)"`) })
)

// askedWhen decides from a question's condition when, with what is known,
// the question is asked. Values of known are real ones (no placeholders);
// a fact, answer or family known lacks is not known yet. It returns ("",
// false) for a question always asked, (notAskedText, true) for one whose
// condition is false whatever the unknown values are, and "asked only when
// needed (...)" with the condition in words (or the values it depends on)
// otherwise. The condition is evaluated as the engine does (wizard.Render,
// asked when it renders "true"), once per combination of trial values for
// the unknowns: empty, yes, no, rhel, debian and each quoted string in the
// condition. It never returns template code.
func askedWhen(when string, known wizard.TemplateData) (string, bool) {
	if strings.TrimSpace(when) == "" {
		return "", false
	}
	type ref struct{ root, name string }
	var unknown []ref
	seen := map[ref]bool{}
	for _, m := range reRef().FindAllStringSubmatch(when, -1) {
		r := ref{m[1], m[2]}
		if r.root == "" {
			r.root = "Family"
		}
		if seen[r] {
			continue
		}
		seen[r] = true
		switch r.root {
		case "Facts":
			if _, ok := known.Facts[r.name]; ok {
				continue
			}
		case "Answers":
			if _, ok := known.Answers[r.name]; ok {
				continue
			}
		case "Family":
			if known.Family != "" && known.Family != wizard.FamilyAny {
				continue
			}
		default:
			continue
		}
		unknown = append(unknown, r)
	}
	trials := []string{"", "yes", "no", wizard.FamilyRHEL, wizard.FamilyDebian}
	for _, m := range reLiteral().FindAllStringSubmatch(when, -1) {
		if !slices.Contains(trials, m[1]) {
			trials = append(trials, m[1])
		}
	}
	combos := 1
	for range unknown {
		combos *= len(trials)
	}
	sawTrue, sawFalse, failed := false, false, combos > 4096
	idx := make([]int, len(unknown))
	for n := 0; n < combos && !failed; n++ {
		d := wizard.TemplateData{Params: known.Params, Answers: map[string]string{}, Facts: map[string]string{}, Family: known.Family}
		maps.Copy(d.Answers, known.Answers)
		maps.Copy(d.Facts, known.Facts)
		k := n
		for i, r := range unknown {
			idx[i], k = k%len(trials), k/len(trials)
			v := trials[idx[i]]
			switch r.root {
			case "Facts":
				d.Facts[r.name] = v
			case "Answers":
				d.Answers[r.name] = v
			case "Family":
				d.Family = v
			}
		}
		out, err := wizard.Render(when, d)
		if err != nil {
			failed = true
			break
		}
		if strings.TrimSpace(out) == "true" {
			sawTrue = true
		} else {
			sawFalse = true
		}
	}
	switch {
	case failed:
	case !sawTrue:
		return notAskedText, true
	case !sawFalse:
		return "", false
	}
	if w := WhenText(when); !strings.HasPrefix(w, "only when: ") {
		return whenNeededPfx + strings.TrimPrefix(w, "only ") + ")", false
	}
	var names []string
	for _, r := range unknown {
		names = append(names, subject(r.root, r.name))
	}
	if len(names) == 0 {
		return whenNeededPfx + "it depends on what ferry finds on the servers)", false
	}
	return whenNeededPfx + "it depends on " + strings.Join(names, " and ") + ", not known yet)", false
}

// Patterns of the simple conditions WhenText puts into words.
var (
	reAction  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\{\{-?\s*(.*?)\s*-?\}\}$`) })
	reEq      = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(eq|ne) \.(\w+)(?:\.(\w+))? "([^"]*)"$`) })
	reEqRev   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(eq|ne) "([^"]*)" \.(\w+)(?:\.(\w+))?$`) })
	reTruthy  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(not )?\(?truthy \.(\w+)\.(\w+)\)?$`) })
	reField   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(not )?\.(\w+)\.(\w+)$`) })
	reParenOK = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^not \((.*)\)$`) })
	reNotOr   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^not \(or (\.\w+\.\w+(?: \.\w+\.\w+)+)\)$`) })
)

// WhenText puts a simple step condition into words ("only when the answer
// ip_change is yes"). A condition too complex to translate is shown as
// written; an empty one gives "".
func WhenText(when string) string {
	w := strings.TrimSpace(clean(when))
	if w == "" {
		return ""
	}
	m := reAction().FindStringSubmatch(w)
	if m == nil || strings.Contains(m[1], "{{") {
		return "only when: " + w
	}
	expr := strings.Join(strings.Fields(m[1]), " ")
	if e := reNotOr().FindStringSubmatch(expr); e != nil {
		var names []string
		for _, f := range strings.Fields(e[1]) {
			parts := strings.Split(strings.TrimPrefix(f, "."), ".")
			names = append(names, subject(parts[0], parts[1]))
		}
		if len(names) == 2 {
			return fmt.Sprintf("only when neither %s nor %s is set", names[0], names[1])
		}
		return fmt.Sprintf("only when none of %s is set", strings.Join(names, ", "))
	}
	neg := false
	if p := reParenOK().FindStringSubmatch(expr); p != nil && !strings.ContainsAny(p[1], "()") {
		neg, expr = true, p[1]
	}
	if e := reEq().FindStringSubmatch(expr); e != nil {
		return equality(neg != (e[1] == "ne"), e[2], e[3], e[4])
	}
	if e := reEqRev().FindStringSubmatch(expr); e != nil {
		return equality(neg != (e[1] == "ne"), e[3], e[4], e[2])
	}
	if e := reTruthy().FindStringSubmatch(expr); e != nil {
		if neg != (e[1] != "") {
			return fmt.Sprintf("only when %s is not yes", subject(e[2], e[3]))
		}
		return fmt.Sprintf("only when %s is yes", subject(e[2], e[3]))
	}
	if e := reField().FindStringSubmatch(expr); e != nil {
		if neg != (e[1] != "") {
			return fmt.Sprintf("only when %s is %s", subject(e[2], e[3]), emptyWord(e[2]))
		}
		return fmt.Sprintf("only when %s is %s", subject(e[2], e[3]), setWord(e[2]))
	}
	return "only when: " + w
}

func equality(neg bool, root, name, value string) string {
	if root == "Family" && name == "" {
		if l := FamilyLabel(value); l != "" {
			if neg {
				return "not on the " + l
			}
			return "only on the " + l
		}
	}
	if value == "" {
		if neg {
			return fmt.Sprintf("only when %s is %s", subject(root, name), setWord(root))
		}
		return fmt.Sprintf("only when %s is %s", subject(root, name), emptyWord(root))
	}
	not := ""
	if neg {
		not = "not "
	}
	return fmt.Sprintf("only when %s is %s%q", subject(root, name), not, value)
}

// factWords names, in an admin's words, the facts the built-in runbooks'
// conditions test (what ferry found out or was given on the command line).
var factWords = map[string]string{
	"old_addr":        "the old server's address from --old",
	"ssh_config_port": "an SSH port for the old server from --old or root's ~/.ssh/config",
	"old_ssh_legacy":  "the old server's need for older SSH algorithms",
	"dns_cache":       "GreenArrow's dns_cache_service_run setting",
	"resolv_link":     "the link target of /etc/resolv.conf",
}

// emptyWord and setWord say that a value of root (Facts, Answers, Params)
// is empty or set: a fact is one ferry knows or not.
func emptyWord(root string) string {
	if root == "Facts" {
		return "not known"
	}
	return "empty"
}

func setWord(root string) string {
	if root == "Facts" {
		return "known"
	}
	return "set"
}

func subject(root, name string) string {
	if name == "" {
		return "the " + strings.ToLower(root)
	}
	switch root {
	case "Answers":
		return "the answer " + name
	case "Facts":
		if w := factWords[name]; w != "" {
			return w
		}
		return "the fact " + name
	case "Params":
		return "the runbook setting " + name
	}
	return "." + root + "." + name
}

// clean makes a one-line string safe to show: terminal control sequences
// and other control characters are removed, line breaks become spaces.
func clean(s string) string {
	s = cleanText(s)
	return strings.Join(strings.Fields(s), " ")
}

// cleanText is clean for multi-line text: line breaks and tabs stay.
func cleanText(s string) string {
	if printable(s) {
		return strings.TrimRight(s, "\n ")
	}
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, strings.TrimRight(s, "\n "))
}

// printable reports whether cleanText would remove nothing from s but
// trailing line breaks and spaces: s is valid UTF-8 made of printable ASCII,
// line breaks, tabs and characters from U+00A0 on, so it holds no escape
// sequence or control character for ansi.Strip or cleanText to take out.
// Most runbook text is, and skips the escape-sequence parser.
func printable(s string) bool {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || r < 0xa0 {
			return false
		}
		i += size
	}
	return true
}
