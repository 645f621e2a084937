package report

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
)

// writeMarkdown renders the doc as GitHub-flavoured Markdown: headings and
// tables, every cell escaped so that journal text cannot break a table or
// turn into markup.
func writeMarkdown(w io.Writer, d *doc) error {
	b := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(b, format, args...) }
	table := func(head []string, rows [][]string) {
		p("| %s |\n", strings.Join(head, " | "))
		p("|%s\n", strings.Repeat("---|", len(head)))
		for _, r := range rows {
			p("| %s |\n", strings.Join(r, " | "))
		}
		p("\n")
	}
	none := func(rows int) bool {
		if rows == 0 {
			p("None.\n\n")
			return true
		}
		return false
	}

	p("# Migration report: %s\n\n", text(d.Title))
	hash := code(d.Hash)
	if d.HashNote != "" {
		hash += " (" + text(d.HashNote) + ")"
	}
	finished := "**" + text(d.Outcome) + "**"
	table([]string{"Item", "Value"}, [][]string{
		{"Runbook", text(d.Title) + " (" + code(d.RunbookID) + ")"},
		{"Runbook hash", hash},
		{"Began", text(d.Began)},
		{"Last changed", text(d.Changed)},
		{"Finished", finished},
		{"Old server", text(d.Old.Describe())},
		{"New server", text(d.New.Describe())},
	})
	p("All times are UTC.\n\n")

	// The downtime window, first and prominent.
	p("## Downtime window\n\n")
	p("> **%s**\n\n", text(d.Downtime.Summary))
	if d.Downtime.State != "none" {
		start, end := text(d.Downtime.Start), text(d.Downtime.End)
		if d.Downtime.StartStep != "" {
			start += " (" + text(d.Downtime.StartStep) + ")"
		}
		if d.Downtime.EndStep != "" {
			end += " (" + text(d.Downtime.EndStep) + ")"
		}
		if d.Downtime.State == "open" {
			end = "**" + end + "**"
		}
		rows := [][]string{
			{"Start", start},
			{"End", end},
			{"Duration", "**" + text(d.Downtime.Duration) + "**"},
		}
		if d.Downtime.Forecast != "" {
			rows = append(rows, []string{"Forecast", text(d.Downtime.Forecast)})
		}
		table([]string{"Downtime", "When"}, rows)
		if len(d.Downtime.Spent) > 0 {
			p("Steps run during the downtime:\n\n")
			var rows [][]string
			for _, s := range d.Downtime.Spent {
				rows = append(rows, []string{text(s.Key), text(s.Value)})
			}
			table([]string{"Step", "Took"}, rows)
		}
	}

	p("## Timeline\n\n")
	var rows [][]string
	for _, s := range d.Steps {
		step := code(s.ID)
		if s.Title != "" {
			step = text(s.Title) + "<br>" + step
		}
		if s.Journal {
			step += "<br>(not in the runbook; found in the journal)"
		}
		rows = append(rows, []string{fmt.Sprint(s.N), text(s.Phase), step, s.Symbol + " " + text(s.Status),
			text(s.Started), text(s.Ended), text(s.Took), text(s.Passes), text(s.Message)})
	}
	if !none(len(rows)) {
		table([]string{"#", "Phase", "Step", "Status", "Started", "Ended", "Took", "Passes", "Message"}, rows)
	}

	if len(d.Repeated) > 0 {
		p("## Passes of repeatable steps\n\n")
		for _, g := range d.Repeated {
			p("### %s\n\n", text(g.Title))
			p("Prediction for the next pass: %s.\n\n", text(g.Prediction))
			rows = rows[:0]
			for _, r := range g.Runs {
				rows = append(rows, []string{fmt.Sprint(r.N), text(r.Started), text(r.Ended), text(r.Took), text(r.Status), text(r.Counters)})
			}
			table([]string{"Pass", "Started", "Ended", "Took", "Status", "Counters"}, rows)
		}
	}

	p("## Decisions\n\n")
	p("### Confirmations of destructive steps\n\n")
	rows = rows[:0]
	for _, c := range d.Confirms {
		rows = append(rows, []string{text(c.Time), text(c.Step), text(c.Actor), text(c.Typed)})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Step", "Who", "What was typed"}, rows)
	}
	p("### Skipped steps\n\n")
	rows = rows[:0]
	for _, s := range d.Skips {
		rows = append(rows, []string{text(s.Time), text(s.Step), text(s.Actor), text(s.Reason)})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Step", "Who", "Reason"}, rows)
	}
	p("### Gates overridden\n\n")
	rows = rows[:0]
	for _, s := range d.Overrides {
		rows = append(rows, []string{text(s.Time), text(s.Step), text(s.Actor), text(s.Reason)})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Step", "Who", "Reason"}, rows)
	}
	p("### Answers given\n\n")
	rows = rows[:0]
	for _, a := range d.Answers {
		rows = append(rows, []string{text(a.Time), text(a.Step), text(a.Actor), code(a.Key), text(a.Value)})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Step", "Who", "Question", "Answer as recorded"}, rows)
	}
	p("### Steps done by hand or marked done\n\n")
	rows = rows[:0]
	for _, m := range d.Manual {
		rows = append(rows, []string{text(m.Time), text(m.Step), text(m.Actor), text(m.Message)})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Step", "Who", "Message"}, rows)
	}

	p("## Counters\n\n")
	rows = rows[:0]
	for _, c := range d.Counters {
		rows = append(rows, []string{text(c.Step), text(c.Unit), text(c.Amount)})
	}
	if !none(len(rows)) {
		table([]string{"Step", "Unit", "Counted (last run)"}, rows)
	}

	p("## Warnings\n\n")
	if !none(len(d.Warnings)) {
		for _, w := range d.Warnings {
			p("- %s\n", text(w))
		}
		p("\n")
	}

	p("## Commands run\n\n")
	rows = rows[:0]
	for _, c := range d.Commands {
		exit := text(c.Exit)
		if c.Failed {
			exit = "**" + exit + "**"
		}
		rows = append(rows, []string{text(c.Time), text(c.Step), text(c.Host), code(c.Command), exit})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Step", "Host", "Command", "Exit"}, rows)
	}

	p("## Totals\n\n")
	rows = rows[:0]
	for _, t := range d.Totals {
		rows = append(rows, []string{text(t.Key), text(t.Value)})
	}
	table([]string{"Total", "Value"}, rows)

	p("## Facts learnt\n\n")
	rows = rows[:0]
	for _, f := range d.Facts {
		rows = append(rows, []string{code(f.Key), text(f.Value)})
	}
	if !none(len(rows)) {
		table([]string{"Fact", "Value"}, rows)
	}

	p("## Run history\n\n")
	rows = rows[:0]
	for _, h := range d.History {
		rows = append(rows, []string{text(h.Time), text(h.What), text(h.Message)})
	}
	if !none(len(rows)) {
		table([]string{"Time", "Event", "Details"}, rows)
	}
	return b.Flush()
}

// entity matches what Markdown would read as an HTML character reference.
var entity = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`&(#?[A-Za-z0-9]+;)`) })

// mdSpecial are the characters that would start markup or end a table cell.
var mdSpecial = strings.NewReplacer(`\`, `\\`, `|`, `\|`, `<`, `\<`, `>`, `\>`, "`", "\\`", `*`, `\*`, `[`, `\[`, `]`, `\]`)

// text escapes plain text for a Markdown table cell or list item: markup
// characters are backslash-escaped and line breaks become <br>.
func text(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	s = mdSpecial.Replace(s)
	s = entity().ReplaceAllString(s, `\&$1`)
	return strings.ReplaceAll(s, "\n", "<br>")
}

// code renders s as inline code that survives a table cell: the fence is
// longer than any run of backticks inside, pipes are escaped (GitHub's table
// parser unescapes them inside code too) and each line is its own span.
func code(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l == "" {
			continue
		}
		longest, run := 0, 0
		for _, r := range l {
			if r == '`' {
				run++
				longest = max(longest, run)
			} else {
				run = 0
			}
		}
		fence := strings.Repeat("`", longest+1)
		if strings.HasPrefix(l, "`") || strings.HasSuffix(l, "`") {
			l = " " + l + " "
		}
		lines[i] = fence + strings.ReplaceAll(l, "|", `\|`) + fence
	}
	return strings.Join(lines, "<br>")
}
