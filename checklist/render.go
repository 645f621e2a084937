package checklist

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ferry-migrate/ferry/wizard"
)

// Formats a checklist can be printed in. "tui" is drawn by package tui.
const (
	FormatTUI      = "tui"
	FormatMarkdown = "markdown"
	FormatJSON     = "json"
)

// FormatNames lists the formats in the order help texts show them.
var FormatNames = []string{FormatTUI, FormatMarkdown, FormatJSON}

// JSON writes the checklist as one indented JSON document.
func JSON(w io.Writer, d *Doc) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// HostText says where a step runs, in words.
func HostText(host string) string {
	switch host {
	case "old":
		return "on the old server"
	case "new":
		return "on the new server"
	case "":
		return ""
	}
	return "on " + host
}

// LevelText explains an automation level in a few words.
func LevelText(level string) string {
	switch level {
	case "auto":
		return "ferry runs it"
	case "ask":
		return "ferry asks, then runs it"
	case "manual":
		return "done by hand, then confirmed"
	case "check":
		return "read-only check"
	}
	return level
}

// FamilyLabel names a commands variant for a heading.
func FamilyLabel(f string) string {
	switch f {
	case "rhel":
		return "RHEL family"
	case "debian":
		return "Debian family"
	}
	return ""
}

// QuestionText puts one question on a line: its prompt, then the answer's
// key and type, the choices and the default.
func QuestionText(q Question) string {
	var b strings.Builder
	b.WriteString(q.Prompt)
	extra := []string{q.Key}
	if q.Type != "" {
		extra = append(extra, q.Type)
	}
	if len(q.Choices) > 0 {
		extra = append(extra, "one of "+strings.Join(q.Choices, ", "))
	}
	if q.Default != "" {
		extra = append(extra, "default "+q.Default)
	}
	fmt.Fprintf(&b, " (%s)", strings.Join(extra, "; "))
	if q.WhenText != "" {
		b.WriteString(", " + q.WhenText)
	}
	return b.String()
}

// Markdown writes the checklist for a change ticket: one section per phase,
// one checkbox per step, ticked when the journal says the step is done.
func Markdown(w io.Writer, d *Doc) error {
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p("# %s\n\n", orDefault(d.Title, d.Runbook))
	if d.Summary != "" {
		p("%s\n\n", d.Summary)
	}
	p("- Runbook: `%s`", d.Runbook)
	if d.File != "" {
		p(" (%s)", d.File)
	}
	p("\n")
	if d.Hash != "" {
		p("- SHA-256: `%s`\n", d.Hash)
	}
	if d.Vendor != "" {
		p("- Vendor procedure: %s\n", d.Vendor)
	}
	if d.Family != "" {
		p("- Commands shown for the %s only\n", FamilyLabel(d.Family))
	} else {
		p("- Commands shown for every distribution family where they differ\n")
	}
	if d.HasState {
		p("- Status from the journal in `%s`: %s\n", d.StateDir, wizard.Tally(d.Statuses()))
	}
	p("- Marks: ⚠ destructive or service-affecting, ⏱ start or end of the downtime window\n")
	for _, n := range d.Notes {
		p("\n> **Note:** %s\n", strings.ReplaceAll(n, "\n", "\n> "))
	}

	p("\n")
	for i, ph := range d.Phases {
		p("## %d. %s\n", i+1, orDefault(ph.Title, ph.ID))
		if ph.Help != "" {
			p("\n%s\n", ph.Help)
		}
		p("\n")
		for _, si := range ph.Steps {
			markdownStep(bw, d, d.Steps[si])
		}
	}
	return bw.Flush()
}

func markdownStep(w io.Writer, d *Doc, s Step) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	// A skipped step is not a done one: "[-]" keeps it apart from "[x]".
	box := " "
	switch s.Status {
	case wizard.StatusOK:
		box = "x"
	case wizard.StatusSkipped:
		box = "-"
	}
	p("- [%s] **%d. %s**", box, s.Number, s.Title)
	if m := s.Marks(); m != "" {
		p(" %s", m)
	}
	p("\\\n  %s (%s), %s · id `%s`", s.Level, LevelText(s.Level), HostText(s.Host), s.ID)
	if d.HasState {
		p(" · status: %s %s", s.Status.Symbol(), s.Status)
	}
	p("\n")
	if s.Help != "" {
		p("\n%s\n", indent(s.Help, "  "))
	}
	var items []string
	if s.WhenText != "" {
		items = append(items, "Applies "+s.WhenText)
	}
	if s.Destructive {
		items = append(items, "⚠ "+s.Harm+": ferry asks for a typed confirmation first")
	}
	if t := s.DowntimeText(); t != "" {
		items = append(items, "⏱ "+strings.ToUpper(t[:1])+t[1:])
	}
	if s.Precondition != "" {
		items = append(items, "Before: "+s.Precondition)
	}
	for _, q := range s.Questions {
		items = append(items, "Asks: "+QuestionText(q))
	}
	for _, f := range s.Families {
		label := "What runs"
		if l := FamilyLabel(f); l != "" && d.Family == "" {
			label += " (" + l + ")"
		}
		body := strings.Join(s.Commands[f], "\n")
		fence := fenceFor(body)
		items = append(items, label+":\n\n"+fence+"sh\n"+body+"\n"+fence)
	}
	if s.Success != "" {
		items = append(items, "Success: "+s.Success)
	}
	if s.Vendor != "" {
		items = append(items, "Vendor reference: "+s.Vendor)
	}
	if len(items) > 0 {
		p("\n")
	}
	for _, it := range items {
		p("  - %s\n", indentRest(it, "    "))
	}
	p("\n")
}

// fenceFor returns a code fence longer than any run of backticks in body.
func fenceFor(body string) string {
	longest, run := 0, 0
	for _, r := range body {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	return strings.Repeat("`", max(3, longest+1))
}

func indent(s, pre string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pre + l
		}
	}
	return strings.Join(lines, "\n")
}

func indentRest(s, pre string) string {
	first, rest, ok := strings.Cut(s, "\n")
	if !ok {
		return s
	}
	return first + "\n" + indent(rest, pre)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
