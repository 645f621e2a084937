package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"

	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/wizard"
)

// The step record: a full-screen, scrollable view of one step with nothing
// cut — its help, every command of its plan, what guards it, its counters
// and passes, and what it ran and printed (this session's output, and the
// commands the journal recorded before). ←/→ go to the other steps, so any
// past step can be looked at while a run waits or goes on.

// openRecord shows the record of step id.
func (m *RunModel) openRecord(id string) {
	if m.step(id) == nil {
		return
	}
	m.overlay = overlayRecord
	m.recordStep = id
	m.refreshRecord(true)
}

// refreshRecord rebuilds the record's content (a new event may have
// changed it), keeping the scroll position unless top is set.
func (m *RunModel) refreshRecord(top bool) {
	if m.overlay != overlayRecord {
		return
	}
	y := m.recordView.YOffset()
	m.recordView.SetContentLines(m.recordLines(m.recordStep, max(20, m.width-2)))
	if top {
		m.recordView.GotoTop()
	} else {
		m.recordView.SetYOffset(y)
	}
}

// recordKey handles the keys of the step record.
func (m *RunModel) recordKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	switch {
	case key.Matches(msg, k.Back, k.View, k.Quit):
		m.overlay = overlayNone
	case key.Matches(msg, k.Left):
		m.moveRecord(-1)
	case key.Matches(msg, k.Right):
		m.moveRecord(1)
	default:
		return m.scrollView(&m.recordView, msg)
	}
	return nil
}

// scrollView scrolls a full-screen viewport (the log, the step record):
// home/end to the ends, the viewport's own keys otherwise.
func (m *RunModel) scrollView(v *viewport.Model, msg tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(msg, m.keys.Top):
		v.GotoTop()
	case key.Matches(msg, m.keys.Bottom):
		v.GotoBottom()
	default:
		var cmd tea.Cmd
		*v, cmd = v.Update(msg)
		return cmd
	}
	return nil
}

// moveRecord shows the record of the step by steps before (-1) or after.
func (m *RunModel) moveRecord(by int) {
	i, ok := m.stepIndex[m.recordStep]
	if !ok {
		return
	}
	j := min(max(i+by, 0), len(m.rb.Steps)-1)
	if j != i {
		m.recordStep = m.rb.Steps[j].ID
		m.refreshRecord(true)
	}
}

// recordLines is the whole record of step id, wrapped to width w.
func (m *RunModel) recordLines(id string, w int) []string {
	s := m.step(id)
	if s == nil {
		return nil
	}
	st := m.styles
	var out []string
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		out = append(out, "", st.Label.Render(title))
		out = append(out, lines...)
	}
	title := fmt.Sprintf("%d. ", m.stepIndex[s.ID]+1)
	if s.Destructive {
		title += "⚠ "
	}
	out = append(out, wrapStyled(st.Title, title+s.Title, w, "   ")...)
	out = append(out, field(st, "Id", s.ID, w)...)
	out = append(out, field(st, "Runs on", m.hostLabel(s.Host), w)...)
	out = append(out, field(st, "Level", s.Level+" ("+checklist.LevelText(s.Level)+")", w)...)
	out = append(out, m.statusLines(s, w)...)
	if o := m.overridden[s.ID]; o != "" {
		out = append(out, wrapStyled(st.Warn, "gate overridden by "+o, w, "  ")...)
	}
	var help []string
	for _, para := range strings.Split(strings.TrimSpace(s.Help), "\n") {
		if para != "" {
			help = append(help, wrapStyled(st.Row, para, w, "")...)
		}
	}
	section("What it does", help)
	if head, details := m.forecastParts(s.ID, w); len(head) > 0 {
		fc := head
		for _, d := range details {
			fc = append(fc, d...)
		}
		section("Downtime forecast", fc)
	}
	var guards []string
	if len(s.Requires) > 0 {
		var names []string
		for _, r := range s.Requires {
			name := r
			if rs := m.step(r); rs != nil {
				name = fmt.Sprintf("%d. %s (%s)", m.stepIndex[r]+1, rs.Title, m.statusOf(r))
			}
			names = append(names, name)
		}
		guards = append(guards, wrapStyled(st.Row, "Runs only after these passed: "+strings.Join(names, "; "), w, "  ")...)
	}
	if c := s.Precondition; c != nil && c.Text != "" {
		guards = append(guards, wrapStyled(st.Row, "Before: "+c.Text, w, "  ")...)
	}
	if c := s.Success; c != nil && c.Text != "" {
		guards = append(guards, wrapStyled(st.Row, "After: "+c.Text, w, "  ")...)
	}
	section("What guards it", guards)
	section("What runs", m.commandLines(s, w))
	if p := m.progress[s.ID]; p != nil {
		section("Counters", m.counterBlock(p, w))
	}
	if s.Repeatable && len(m.passes[s.ID]) > 0 {
		section("Passes", wrapAll(st.Row, passLines(m.passes[s.ID]), w, "  "))
	}
	var journal []string
	if m.o.State != nil {
		for _, ev := range wizard.StepCommands(m.o.State.Events) {
			if ev.Step != s.ID {
				continue
			}
			line := "$ " + ev.Command
			switch {
			case ev.Exit != nil:
				line += " (exit " + itoa(*ev.Exit) + ")"
			case ev.CommandStarted():
				line += " (started; its exit is unknown)"
			}
			journal = append(journal, wrapWords(cleanLine(line), w, "    ")...)
		}
	}
	section("Commands the journal recorded before this session", journal)
	var output []string
	if r := m.logs[s.ID]; r != nil {
		if r.total > int64(r.len()) {
			output = append(output, st.Dim.Render(fmt.Sprintf("(the last %d of %d lines; the journal and the report keep the commands)", r.len(), r.total)))
		}
		for _, l := range r.lines() {
			output = append(output, wrapText(cleanLine(l), w, "  ")...)
		}
	}
	if len(output) == 0 {
		output = []string{st.Dim.Render("(no output in this session)")}
	}
	section("Output and commands in this session", output)
	return out
}
