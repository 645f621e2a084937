package tui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/wizard"
)

// Checklist is the read-only checklist view: the steps of a runbook grouped
// by phase on the left, the selected step in detail on the right. It is given
// a checklist.Doc and nothing else, so nothing in it can run a step or change
// a file.
type Checklist struct {
	doc    *checklist.Doc
	keys   ChecklistKeys
	styles Styles

	width, height int
	rows          []checklistRow
	cursor        int // index into doc.Steps
	top           int // first list row on screen
	detailTop     int // first detail line on screen
	detailFocus   bool
	help          bool
	// moved is set once the admin moves the selection: until then it
	// follows the migration's current step.
	moved bool
}

// checklistRow is one line of the step list: a phase title (step < 0) or a
// step.
type checklistRow struct {
	phase, step int
}

var _ tea.Model = Checklist{}

// ChecklistDocMsg gives the checklist view a newer build of its document
// (statuses of a migration that a runner runs now, ferry checklist); a
// document with another number of steps is ignored.
type ChecklistDocMsg struct{ Doc *checklist.Doc }

// NewChecklist returns the view of d, with the migration's current step
// selected (currentStep), else the first.
func NewChecklist(d *checklist.Doc) Checklist {
	m := Checklist{doc: d, keys: DefaultChecklistKeys(), styles: NewStyles(true)}
	for pi, ph := range d.Phases {
		m.rows = append(m.rows, checklistRow{phase: pi, step: -1})
		for _, si := range ph.Steps {
			m.rows = append(m.rows, checklistRow{phase: pi, step: si})
		}
	}
	if c, ok := currentStep(d); ok {
		m.cursor = c
	}
	return m
}

// currentStep is the index of the step a migration is at in d: the first
// that runs, waits, failed or was interrupted; false when none is (no
// migration, or one that has not begun or has ended).
func currentStep(d *checklist.Doc) (int, bool) {
	for i, s := range d.Steps {
		switch s.Status {
		case wizard.StatusRunning, wizard.StatusWaiting, wizard.StatusFailed, wizard.StatusInterrupted:
			return i, true
		}
	}
	return 0, false
}

// Selected returns the id of the selected step ("" when there are none).
func (m Checklist) Selected() string {
	if m.cursor < len(m.doc.Steps) {
		return m.doc.Steps[m.cursor].ID
	}
	return ""
}

// Init asks the terminal for its background colour, to pick light or dark
// styles.
func (m Checklist) Init() tea.Cmd { return tea.RequestBackgroundColor }

// Update handles keys, the window size and the background colour.
func (m Checklist) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ChecklistDocMsg:
		// The same runbook's checklist, with newer statuses: the rows
		// and the cursor stay.
		if msg.Doc != nil && len(msg.Doc.Steps) == len(m.doc.Steps) {
			m.doc = msg.Doc
			// Until the admin moves, the selection follows the run.
			if c, ok := currentStep(m.doc); ok && !m.moved && c != m.cursor {
				m.cursor, m.detailTop = c, 0
			}
			m.scrollList()
			m.clampDetail()
		}
	case tea.WindowSizeMsg:
		m.width, m.height = max(0, msg.Width), max(0, msg.Height)
		m.scrollList()
		m.clampDetail()
	case tea.BackgroundColorMsg:
		m.styles = NewStyles(msg.IsDark())
	case tea.KeyPressMsg:
		return m.key(msg)
	}
	return m, nil
}

func (m Checklist) key(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k := m.keys
	if key.Matches(msg, k.Cancel) {
		return m, tea.Interrupt
	}
	if m.help {
		// Any key leaves the help screen; q quits from it too.
		m.help = false
		if msg.String() == "q" {
			return m, tea.Quit
		}
		return m, nil
	}
	switch {
	case key.Matches(msg, k.Quit):
		return m, tea.Quit
	case key.Matches(msg, k.Help):
		m.help = true
	case key.Matches(msg, k.Focus):
		m.detailFocus = !m.detailFocus
	case m.detailFocus:
		page := max(1, m.detailHeight()-1)
		switch {
		case key.Matches(msg, k.Up):
			m.detailTop--
		case key.Matches(msg, k.Down):
			m.detailTop++
		case key.Matches(msg, k.PageUp):
			m.detailTop -= page
		case key.Matches(msg, k.PageDown):
			m.detailTop += page
		case key.Matches(msg, k.Top):
			m.detailTop = 0
		case key.Matches(msg, k.Bottom):
			m.detailTop = len(m.detailLines())
		}
		m.clampDetail()
	default:
		page := max(1, m.bodyHeight()-2)
		switch {
		case key.Matches(msg, k.Up):
			m.move(-1)
		case key.Matches(msg, k.Down):
			m.move(1)
		case key.Matches(msg, k.PageUp):
			m.move(-page)
		case key.Matches(msg, k.PageDown):
			m.move(page)
		case key.Matches(msg, k.Top):
			m.move(-len(m.doc.Steps))
		case key.Matches(msg, k.Bottom):
			m.move(len(m.doc.Steps))
		}
	}
	return m, nil
}

// move moves the selection by n steps, within bounds, and shows the new
// step's detail from its top.
func (m *Checklist) move(n int) {
	if len(m.doc.Steps) == 0 {
		return
	}
	c := min(max(m.cursor+n, 0), len(m.doc.Steps)-1)
	if c != m.cursor {
		m.cursor = c
		m.detailTop = 0
	}
	m.moved = true
	m.scrollList()
}

// scrollList keeps the selected row on screen. When the list does not start
// with a phase title, the first screen line repeats the title of the phase
// shown below it, so a step is never seen without its phase.
func (m *Checklist) scrollList() {
	h := m.bodyHeight()
	r := m.cursorRow()
	if h <= 1 || r < 0 {
		return
	}
	room := func(top int) int {
		if m.rows[top].step >= 0 {
			return h - 1
		}
		return h
	}
	m.top = min(max(m.top, 0), len(m.rows)-1)
	if r <= m.top {
		m.top = r
		if r > 0 && m.rows[r-1].step < 0 {
			m.top = r - 1
		}
	}
	for r >= m.top+room(m.top) {
		m.top++
	}
	// Use the whole height when the screen grew.
	for m.top > 0 && len(m.rows)-(m.top-1) <= room(m.top-1) {
		m.top--
	}
}

func (m *Checklist) clampDetail() {
	m.detailTop = min(max(m.detailTop, 0), max(0, len(m.detailLines())-m.detailHeight()))
}

func (m Checklist) cursorRow() int {
	for i, r := range m.rows {
		if r.step == m.cursor {
			return i
		}
	}
	return -1
}

// Layout: one header line, the notes (noteLines), the body, one footer
// line. The list takes about two fifths of the width, a one-column
// separator, then the detail pane.
func (m Checklist) bodyHeight() int { return max(0, m.height-2-len(m.noteLines())) }

// noteLines are the document's notes (the live runner's sentence, the
// migration's warnings), one line each, cut to the width; at most two
// (when there are more, the second says how many), and none on a screen
// under ten lines high.
func (m Checklist) noteLines() []string {
	notes := m.doc.Notes
	if len(notes) == 0 || m.height < 10 || m.width <= 0 {
		return nil
	}
	line := func(n string) string {
		return m.styles.Dim.Render(ansi.Truncate(" "+n, m.width, "…"))
	}
	out := []string{line(notes[0])}
	switch {
	case len(notes) == 2:
		out = append(out, line(notes[1]))
	case len(notes) > 2:
		out = append(out, line(fmt.Sprintf("and %d more notes: ferry checklist --format markdown lists them", len(notes)-1)))
	}
	return out
}

func (m Checklist) listWidth() int {
	if m.width < 60 {
		return m.width / 2
	}
	return min(max(m.width*2/5, 24), 40)
}

func (m Checklist) detailWidth() int { return max(0, m.width-m.listWidth()-1) }

// detailHeight is the number of detail lines shown; the last body line is
// kept for the "more" marker when the text does not fit.
func (m Checklist) detailHeight() int {
	h := m.bodyHeight()
	if len(m.detailLines()) > h {
		return max(0, h-1)
	}
	return h
}

// View draws the whole screen.
func (m Checklist) View() tea.View {
	v := tea.NewView(m.render())
	v.AltScreen = true
	v.WindowTitle = "ferry checklist"
	return v
}

func (m Checklist) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	lines := append([]string{m.header()}, m.noteLines()...)
	body := m.bodyHeight()
	if m.help {
		lines = append(lines, fitLines(m.helpLines(), m.width, body)...)
	} else {
		list := m.listLines()
		detail := m.detailView()
		sep := m.styles.Separator.Render("│")
		for i := range body {
			lines = append(lines, list[i]+sep+detail[i])
		}
	}
	if m.height > 1 {
		lines = append(lines, m.footer())
	}
	return strings.Join(lines, "\n")
}

func (m Checklist) header() string {
	d := m.doc
	title := " ferry checklist · " + orText(d.Title, d.Runbook)
	info := "read-only"
	if n := len(d.Steps); n > 0 {
		info = fmt.Sprintf("step %d/%d · %s", m.cursor+1, n, info)
	}
	if d.HasState {
		info = wizard.Tally(d.Statuses()) + " · " + info
	}
	info += " "
	room := m.width - ansi.StringWidth(info) - 1
	if room < 12 {
		return m.styles.Header.Render(ansi.Truncate(title, m.width, "…"))
	}
	title = ansi.Truncate(title, room, "…")
	gap := strings.Repeat(" ", max(1, m.width-ansi.StringWidth(title)-ansi.StringWidth(info)))
	return m.styles.Header.Render(title) + gap + m.styles.HeaderInfo.Render(info)
}

func (m Checklist) footer() string {
	k := m.keys
	var hints []string
	if m.help {
		hints = []string{"any key: back", "q: quit"}
	} else if m.detailFocus {
		hints = []string{"↑↓/pgup/pgdn: scroll detail", "tab: back to list", k.Help.Help().Key + ": help", "q: quit"}
	} else {
		hints = []string{"↑↓ move", "pgup/pgdn page", "g/G first/last", "tab detail", "? help", "q quit"}
	}
	return m.styles.Footer.Render(ansi.Truncate(" "+strings.Join(hints, " · "), m.width, "…"))
}

// listLines returns exactly bodyHeight lines, each listWidth wide.
func (m Checklist) listLines() []string {
	w, h := m.listWidth(), m.bodyHeight()
	out := make([]string, 0, h)
	digits := len(fmt.Sprint(len(m.doc.Steps)))
	if m.top < len(m.rows) && m.rows[m.top].step >= 0 && h > 1 {
		// The phase title scrolled off: repeat it.
		ph := m.doc.Phases[m.rows[m.top].phase]
		title := ansi.Truncate("─ "+orText(ph.Title, ph.ID)+" (continued) ", w, "…")
		out = append(out, m.styles.Phase.Render(title+strings.Repeat("─", max(0, w-ansi.StringWidth(title)))))
	}
	for i := m.top; i < len(m.rows) && len(out) < h; i++ {
		r := m.rows[i]
		if r.step < 0 {
			ph := m.doc.Phases[r.phase]
			title := "─ " + orText(ph.Title, ph.ID) + " "
			title = ansi.Truncate(title, w, "…")
			title += strings.Repeat("─", max(0, w-ansi.StringWidth(title)))
			out = append(out, m.styles.Phase.Render(title))
			continue
		}
		s := m.doc.Steps[r.step]
		mark := " "
		if r.step == m.cursor {
			mark = "›"
		}
		text := fmt.Sprintf(" %*d ", digits, s.Number)
		if marks := s.Marks(); marks != "" {
			text += marks + " "
		}
		text += s.Title
		sym := s.Status.Symbol()
		if r.step == m.cursor {
			line := padTo(ansi.Truncate(mark+sym+text, w, "…"), w)
			if m.detailFocus {
				out = append(out, m.styles.SelectedBlur.Render(line))
			} else {
				out = append(out, m.styles.Selected.Render(line))
			}
			continue
		}
		line := padTo(ansi.Truncate(mark+sym+text, w, "…"), w)
		// Colour the symbol only; the row stays readable without it.
		out = append(out, mark+m.styles.Status(s.Status).Render(sym)+strings.TrimPrefix(line, mark+sym))
	}
	if len(m.doc.Steps) == 0 && len(out) < h {
		out = append(out, padTo(" (no steps)", w))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out
}

// detailView returns exactly bodyHeight lines of the detail pane, scrolled
// to detailTop, with a marker line when more text follows.
func (m Checklist) detailView() []string {
	w, h := m.detailWidth(), m.bodyHeight()
	all := m.detailLines()
	dh := m.detailHeight()
	out := make([]string, 0, h)
	for i := m.detailTop; i < len(all) && len(out) < dh; i++ {
		out = append(out, " "+all[i])
	}
	if len(all) > h {
		below := len(all) - m.detailTop - dh
		var marker string
		switch {
		case below > 0 && m.detailFocus:
			marker = fmt.Sprintf("↓ %d more lines (↓/pgdn)", below)
		case below > 0:
			marker = fmt.Sprintf("↓ %d more lines (tab to scroll)", below)
		default:
			marker = "(end; ↑/g to go back)"
		}
		for len(out) < h-1 {
			out = append(out, "")
		}
		out = append(out, " "+m.styles.Dim.Render(ansi.Truncate(marker, max(0, w-1), "…")))
	}
	for len(out) < h {
		out = append(out, "")
	}
	return out
}

// detailLines is the wrapped text of the selected step, one entry per
// screen line, without the one-column left margin.
func (m Checklist) detailLines() []string {
	if len(m.doc.Steps) == 0 {
		return []string{"This runbook has no steps."}
	}
	w := max(1, m.detailWidth()-1)
	st := m.styles
	s := m.doc.Steps[m.cursor]
	ph := m.doc.Phases[m.rows[m.cursorRow()].phase]

	var out []string
	add := func(style lipgloss.Style, text, lead string) {
		for _, l := range clWrap(text, w, lead) {
			out = append(out, style.Render(l))
		}
	}
	blank := func() {
		if len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
	}
	field := func(label, value string) {
		if value == "" {
			return
		}
		lines := clWrap(fmt.Sprintf("%-7s %s", label, value), w, strings.Repeat(" ", 8))
		for i, l := range lines {
			if i == 0 && len(l) > 7 {
				out = append(out, st.Label.Render(l[:7])+l[7:])
			} else {
				out = append(out, l)
			}
		}
	}

	add(st.Title, fmt.Sprintf("%d. %s", s.Number, s.Title), "   ")
	add(st.Dim, "Phase: "+orText(ph.Title, ph.ID), "")
	add(st.Dim, "Step id: "+s.ID, "")
	blank()
	field("Level", s.Level+" ("+checklist.LevelText(s.Level)+")")
	field("Host", strings.TrimPrefix(checklist.HostText(s.Host), "on "))
	if m.doc.HasState {
		field("Status", s.Status.Symbol()+" "+string(s.Status))
	}
	if s.Destructive {
		add(st.Warn, "⚠ "+s.Harm+": ferry asks for a typed confirmation first.", "  ")
	}
	if t := s.DowntimeText(); t != "" {
		add(st.Warn, "⏱ "+strings.ToUpper(t[:1])+t[1:]+".", "  ")
	}
	if s.WhenText != "" {
		add(st.Row, "Applies "+s.WhenText+".", "")
	}
	if s.Help != "" {
		blank()
		for _, para := range strings.Split(s.Help, "\n") {
			add(st.Row, para, "")
		}
	}
	section := func(title string) {
		blank()
		out = append(out, st.Label.Render(title))
	}
	if s.Precondition != "" {
		section("Before it runs")
		add(st.Row, s.Precondition, "")
	}
	for _, f := range s.Families {
		title := "What runs"
		if l := checklist.FamilyLabel(f); l != "" && m.doc.Family == "" {
			title += " (" + l + ")"
		}
		section(title)
		for _, c := range s.Commands[f] {
			for i, l := range strings.Split(c, "\n") {
				lead := "$ "
				if i > 0 || strings.HasPrefix(c, "# ") {
					// A continuation line, or ferry's own work in words.
					lead = "  "
				}
				if i == 0 && strings.HasPrefix(c, "# ") {
					lead = ""
				}
				for _, wl := range clWrap(lead+l, w, "    ") {
					out = append(out, st.Code.Render(wl))
				}
			}
		}
	}
	if len(s.Questions) > 0 {
		section("Asks")
		for _, q := range s.Questions {
			add(st.Row, "• "+checklist.QuestionText(q), "  ")
		}
	}
	if s.Success != "" {
		section("Success when")
		add(st.Row, s.Success, "")
	}
	if s.Vendor != "" {
		blank()
		add(st.Dim, "Vendor: "+s.Vendor, "")
	}
	return out
}

func (m Checklist) helpLines() []string {
	sym := func(st ...wizard.Status) string {
		var parts []string
		for _, s := range st {
			parts = append(parts, fmt.Sprintf("%s %-12s", s.Symbol(), s))
		}
		return "   " + strings.TrimRight(strings.Join(parts, ""), " ")
	}
	return []string{
		"",
		m.styles.Title.Render(" Keys"),
		"   ↑ k / ↓ j      previous / next step (in the detail pane: scroll)",
		"   pgup / pgdn    a page up / down (also b / f, space)",
		"   g / G          first / last step (home / end)",
		"   tab            switch between the step list and the detail pane",
		"   ?              this help",
		"   q / esc        quit; ctrl+c quits too",
		"",
		m.styles.Title.Render(" Marks"),
		sym(wizard.StatusPending, wizard.StatusRunning, wizard.StatusOK, wizard.StatusFailed),
		sym(wizard.StatusSkipped, wizard.StatusWaiting, wizard.StatusInterrupted),
		"   ⚠ destructive or service-affecting: ferry asks for a typed confirmation",
		"   ⏱ starts or ends the downtime window",
		"   › the selected step",
		"",
		" This view only reads: it cannot run or change anything.",
	}
}

// wrap word-wraps text to width w, breaking words longer than a line;
// continuation lines start with lead.
func clWrap(text string, w int, lead string) []string {
	lw := ansi.StringWidth(lead)
	lines := strings.Split(ansi.Wrap(text, max(1, w-lw), ""), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
		if i > 0 {
			lines[i] = lead + lines[i]
		}
	}
	return lines
}
