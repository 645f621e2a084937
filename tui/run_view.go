package tui

import (
	"bytes"
	"fmt"
	"github.com/dustin/go-humanize/english"
	"image/color"
	"slices"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// runStyles are the checklist's styles plus what the run screen adds.
// Colour only adds to the words and symbols, so the screen reads the same
// under NO_COLOR.
type runStyles struct {
	Styles
	Button   lipgloss.Style
	barColor color.Color
}

func newRunStyles(isDark bool) runStyles {
	ld := lipgloss.LightDark(isDark)
	return runStyles{
		Styles:   NewStyles(isDark),
		Button:   lipgloss.NewStyle().Reverse(true).Bold(true),
		barColor: ld(lipgloss.Color("#5B3CC4"), lipgloss.Color("#B7A6FF")),
	}
}

func darkOrLight(isDark bool) color.Color {
	if isDark {
		return color.Black
	}
	return color.White
}

// Layout: a header line, the body, a footer line. The step list takes
// about three tenths of the width, then a one-column separator and the
// step pane, whose text has a one-column left margin.
func (m *RunModel) bodyHeight() int { return max(0, m.height-2) }

func (m *RunModel) listWidth() int {
	if m.width < 60 {
		return m.width / 3
	}
	return min(max(m.width*3/10, 22), 34)
}

func (m *RunModel) contentWidth() int { return max(1, m.width-m.listWidth()-2) }

// outputRows is how many output lines the pane showed last time.
func (m *RunModel) outputRows() int { return max(1, m.outRows) }

// View draws the screen. Output lines alone redraw it at most every
// frameEvery; any other change redraws it at once.
func (m *RunModel) View() tea.View {
	if m.frame == "" || m.dirty || (m.logStale && time.Since(m.lastFrame) >= frameEvery) {
		if m.logStale {
			m.refreshLogView(false)
		}
		m.refreshRecord(false)
		m.frame = m.render()
		m.dirty, m.logStale, m.progStale = false, false, false
		m.lastFrame = time.Now()
	}
	v := tea.NewView(m.frame)
	v.AltScreen = true
	v.WindowTitle = "ferry run"
	return v
}

func (m *RunModel) render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	h := m.bodyHeight()
	lines := []string{m.header()}
	switch m.overlay {
	case overlayHelp:
		help := m.helpLines()
		if len(help) > h && h > 1 {
			m.helpScroll = min(m.helpScroll, len(help)-(h-1))
			help = append(help[m.helpScroll:m.helpScroll+h-1:m.helpScroll+h-1],
				m.styles.Dim.Render(fmt.Sprintf(" lines %d–%d of %d · ↑↓ pgup/pgdn scroll · any other key: back", m.helpScroll+1, m.helpScroll+h-1, len(help))))
		}
		lines = append(lines, fitLines(help, m.width, h)...)
	case overlayLog:
		lines = append(lines, fitLines(strings.Split(m.logView.View(), "\n"), m.width, h)...)
	case overlayRecord:
		lines = append(lines, fitLines(strings.Split(m.recordView.View(), "\n"), m.width, h)...)
	default:
		list := m.listLines()
		pane := m.paneLines()
		sep := m.styles.Separator.Render("│")
		for i := range h {
			lines = append(lines, list[i]+sep+" "+pane[i])
		}
	}
	if m.height > 1 {
		lines = append(lines, m.footer())
	}
	return strings.Join(lines, "\n")
}

func (m *RunModel) header() string {
	title := " ferry · " + orText(m.rb.Title, m.rb.ID)
	if m.overlay == overlayLog {
		title = " ferry · full log"
		if s := m.step(m.current); s != nil {
			title += " of " + itoa(m.stepIndex[s.ID]+1) + ". " + s.Title
		}
	}
	if m.overlay == overlayRecord {
		title = " ferry · the whole step"
		if s := m.step(m.recordStep); s != nil {
			title += " " + itoa(m.stepIndex[s.ID]+1) + ". " + s.Title
		}
	}
	sts := make([]wizard.Status, len(m.rb.Steps))
	for i, s := range m.rb.Steps {
		sts[i] = m.status[s.ID]
	}
	info := wizard.Tally(sts) + " "
	if i, ok := m.stepIndex[m.current]; ok && m.current != "" {
		info = fmt.Sprintf("step %d/%d · %s", i+1, len(m.rb.Steps), info)
	}
	room := m.width - ansi.StringWidth(info) - 1
	if room < 12 {
		return m.styles.Header.Render(ansi.Truncate(title, m.width, "…"))
	}
	title = ansi.Truncate(title, room, "…")
	gap := strings.Repeat(" ", max(1, m.width-ansi.StringWidth(title)-ansi.StringWidth(info)))
	return m.styles.Header.Render(title) + gap + m.styles.HeaderInfo.Render(info)
}

// clocks are the right part of the footer, fullest first, each a choice
// the footer may take when the keys leave too little room: what the screen
// is (read-only, detached, or the run ended), the downtime clock (in
// words, so it reads without colour) and the total time. The later ones
// say "detached" without "safe to close", then leave out the total, then
// the word detached; read-only and the downtime clock always stay.
func (m *RunModel) clocks() []string {
	now := m.o.Now()
	var down, total, role string
	switch {
	case !m.downStart.IsZero() && m.downEnd.IsZero():
		down = m.styles.Warn.Render("⏱ downtime " + fmtClock(now.Sub(m.downStart)))
	case !m.downStart.IsZero():
		down = "downtime was " + fmtClock(m.downEnd.Sub(m.downStart))
	}
	if !m.o.Started.IsZero() {
		total = "total " + fmtClock(now.Sub(m.o.Started))
	}
	short := ""
	switch {
	case m.closed:
		// The runner is gone: nothing is left to detach from.
		role, short = "run ended", "run ended"
	case m.o.ReadOnly:
		role, short = "read-only", "read-only"
	case m.o.Detached:
		// The runner outlives this terminal: closing it is safe.
		role, short = "detached: safe to close", "detached"
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, " · ")
	}
	last := short
	if !m.o.ReadOnly || m.closed {
		last = ""
	}
	return []string{join(role, down, total), join(short, down, total), join(short, down), join(last, down)}
}

// footerDrops are the keys the footer leaves out first when the line is
// too narrow for all of them, in that order: what the help (?) and the
// step pane also offer. The keys that answer what the run waits for stay.
var footerDrops = []string{"pgup/pgdn output", "l log", "home/end", "←→ other steps", "v step", "↑↓ scroll", "shift+tab back", "? help"}

// footer is the key bar: the keys that do something now on the left, the
// clocks on the right, on one line of the screen's width. When they do not
// fit, the right part takes its shorter forms first, then the keys in
// footerDrops go one after another; only then is the line cut.
func (m *RunModel) footer() string {
	hints := m.hints()
	rights := m.clocks()
	fits := func(left, right string) bool {
		return ansi.StringWidth(left)+1+ansi.StringWidth(right)+1 <= m.width
	}
	for drop := 0; ; drop++ {
		left := " " + strings.Join(hints, " · ")
		for _, right := range rights {
			if fits(left, right) {
				gap := strings.Repeat(" ", max(1, m.width-ansi.StringWidth(left)-ansi.StringWidth(right)-1))
				return m.styles.Footer.Render(left) + gap + right + " "
			}
		}
		if drop >= len(footerDrops) {
			break
		}
		if i := slices.Index(hints, footerDrops[drop]); i >= 0 {
			hints = slices.Delete(slices.Clone(hints), i, i+1)
		}
	}
	right := rights[len(rights)-1]
	room := m.width - ansi.StringWidth(right) - 2
	if room < 12 {
		return m.styles.Footer.Render(ansi.Truncate(" "+strings.Join(hints, " · "), m.width, "…"))
	}
	left := ansi.Truncate(" "+strings.Join(hints, " · "), room, "…")
	gap := strings.Repeat(" ", max(1, m.width-ansi.StringWidth(left)-ansi.StringWidth(right)-1))
	return m.styles.Footer.Render(left) + gap + right + " "
}

// hints are the keys that do something now.
func (m *RunModel) hints() []string {
	switch {
	case m.closed:
		return []string{"any key: leave"}
	case m.quitAsk && m.o.Detached:
		return []string{"d: detach", "y: stop the run", "n: stay"}
	case m.quitAsk:
		return []string{"y: quit", "n: stay"}
	case m.stopping:
		return []string{"stopping…", "ctrl+c: leave now"}
	case m.overlay == overlayHelp:
		return []string{"↑↓ scroll", "any other key: back"}
	case m.overlay == overlayLog:
		return []string{"↑↓ pgup/pgdn scroll", "home/end", "esc back"}
	case m.overlay == overlayRecord:
		return []string{"↑↓ pgup/pgdn scroll", "←→ other steps", "esc back"}
	case m.o.ReadOnly && m.fcRows > 0:
		return []string{"q leave", "v step", "l log", "? help", "pgup/pgdn forecast"}
	case m.o.ReadOnly:
		return []string{"q leave", "v step", "l log", "? help", "pgup/pgdn output"}
	case m.prompt == promptForm:
		return []string{"enter next", "shift+tab back", "esc: skip, view, help", "ctrl+c quit"}
	case m.prompt == promptReason:
		return []string{"enter skip", "esc back"}
	case m.prompt == promptConfirm && m.input.Focused():
		keys := []string{"enter confirm", "esc back", "? help", "↑↓ scroll"}
		if m.fcRows > 0 {
			keys = append(keys, "pgup/pgdn forecast")
		}
		return keys
	}
	more := []string{"v step", "l log", "? help"}
	if m.fcRows > 0 {
		more = append(more, "pgup/pgdn forecast")
	}
	if m.waiting == nil {
		return append([]string{"q quit"}, append(more, "pgup/pgdn output")...)
	}
	var keys []string
	switch m.waiting.Need {
	case wizard.NeedAnswers:
		keys = []string{"enter answer", "s skip"}
	case wizard.NeedConfirm:
		keys = []string{"i type", "s skip"}
	case wizard.NeedManual:
		keys = []string{"d done", "s skip"}
	case wizard.NeedFailure:
		keys = []string{"r retry", "s skip"}
		if len(m.redoOf(m.waiting.Step)) > 0 {
			keys = []string{"e redo earlier", "r retry", "s skip"}
		}
	case wizard.NeedRepeat:
		keys = []string{"r run again", "c continue"}
	case wizard.NeedResume:
		keys = []string{"r retry", "d done", "s skip"}
	case wizard.NeedChanged:
		keys = []string{"c continue"}
	case wizard.NeedGate:
		keys = []string{"r run them again", "o override", "s skip"}
	case wizard.NeedTrust:
		return []string{"y trust", "n refuse", "l log"}
	}
	return append(append(keys, "q stop"), more...)
}

func (m *RunModel) step(id string) *wizard.Step {
	if i, ok := m.stepIndex[id]; ok && id != "" {
		return &m.rb.Steps[i]
	}
	return nil
}

// listLines returns exactly bodyHeight lines of the step list, scrolled
// so that the current step stays in view.
func (m *RunModel) listLines() []string {
	w, h := m.listWidth(), m.bodyHeight()
	// The list depends on the size, the colours, the current step and
	// every step's status: drawn again only when one of them changed.
	key := m.listScratch[:0]
	key = strconv.AppendInt(key, int64(w), 10)
	key = append(key, ' ')
	key = strconv.AppendInt(key, int64(h), 10)
	key = append(key, ' ')
	key = strconv.AppendInt(key, int64(m.stylesGen), 10)
	key = append(key, ' ')
	key = append(key, m.current...)
	for _, s := range m.rb.Steps {
		key = append(key, 0)
		key = append(key, m.statusOf(s.ID)...)
	}
	if m.listCache == nil || !bytes.Equal(key, m.listKey) {
		m.listCache = m.drawList(w, h)
		m.listKey, key = key, m.listKey
	}
	m.listScratch = key
	return m.listCache
}

// drawList draws the step list listLines keeps.
func (m *RunModel) drawList(w, h int) []string {
	cur := -1
	for i, r := range m.rows {
		if r.step >= 0 && m.rb.Steps[r.step].ID == m.current {
			cur = i
		}
	}
	top := 0
	if cur >= 0 {
		top = min(max(cur-h/3, 0), max(0, len(m.rows)-h))
		switch {
		case top > 0 && m.rows[top-1].step < 0 && cur < top-1+h:
			top-- // show the phase's own title rather than "(cont.)"
		case top > 0 && m.rows[top].step >= 0 && cur >= top+h-1:
			top++ // the "(cont.)" title takes a line
		}
	}
	digits := len(itoa(len(m.rb.Steps)))
	// Each title with its ⚠, cut to what is left of the line after the
	// cursor, the mark and the number, so that no two read alike.
	titles := make([]string, len(m.rb.Steps))
	for i, s := range m.rb.Steps {
		if s.Destructive {
			titles[i] = "⚠ "
		}
		titles[i] += s.Title
	}
	titles = distinctCuts(titles, w-ansi.StringWidth(fmt.Sprintf("›· %*d ", digits, 0)))
	phaseLine := func(id string, cont bool) string {
		title := id
		if p := m.rb.Phase(id); p != nil && p.Title != "" {
			title = p.Title
		}
		if cont {
			title += " (cont.)"
		}
		t := ansi.Truncate("─ "+title+" ", w, "…")
		return m.styles.Phase.Render(t + strings.Repeat("─", max(0, w-ansi.StringWidth(t))))
	}
	out := make([]string, 0, h)
	for i := top; i < len(m.rows) && len(out) < h; i++ {
		r := m.rows[i]
		if r.step < 0 {
			out = append(out, phaseLine(r.phase, false))
			continue
		}
		if i == top && top > 0 {
			out = append(out, phaseLine(r.phase, true))
			if len(out) == h {
				break
			}
		}
		s := &m.rb.Steps[r.step]
		st := m.statusOf(s.ID)
		sym := st.Symbol()
		text := fmt.Sprintf(" %*d ", digits, r.step+1) + titles[r.step]
		if s.ID == m.current {
			line := padTo(ansi.Truncate("›"+sym+text, w, "…"), w)
			out = append(out, m.styles.Selected.Render(line))
			continue
		}
		line := padTo(ansi.Truncate(" "+sym+text, w, "…"), w)
		out = append(out, " "+m.styles.Status(st).Render(sym)+strings.TrimPrefix(line, " "+sym))
	}
	for len(out) < h {
		out = append(out, strings.Repeat(" ", w))
	}
	return out
}

// distinctCuts cuts each text to room cells with "…" at the end, as long as
// that leaves no two cut texts alike where the whole texts differ (titles
// that differ only near their end: "Copy the mail store early?" and "Copy
// the mail store early", "… (hot pass)" and "… (final pass)"); those are
// cut in the middle instead and keep their end from the word where they
// differ: "Copy the mail…early?", "Copy the…(hot pass)".
func distinctCuts(texts []string, room int) []string {
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = ansi.Truncate(t, max(1, room), "…")
	}
	if room < 8 {
		return out
	}
	// Where each text first and last differs from a text it clashes with.
	first, last := make([]int, len(texts)), make([]int, len(texts))
	for i := range texts {
		first[i], last[i] = -1, -1
		for j := range texts {
			if j == i || out[j] != out[i] || texts[j] == texts[i] {
				continue
			}
			p := 0
			for p < len(texts[i]) && p < len(texts[j]) && texts[i][p] == texts[j][p] {
				p++
			}
			if first[i] < 0 || p < first[i] {
				first[i] = p
			}
			last[i] = max(last[i], p)
		}
	}
	// wordAt is where the word holding byte p of t starts (the last word
	// when p is t's end).
	wordAt := func(t string, p int) int {
		if p < len(t) && t[p] == ' ' {
			return p + 1
		}
		return strings.LastIndexByte(t[:min(p, len(t)-1)], ' ') + 1
	}
	for i, t := range texts {
		if first[i] < 0 {
			continue
		}
		// The end from the word where it first differs when that fits,
		// else from the word where it last differs.
		ws := wordAt(t, first[i])
		if ansi.StringWidth(t[ws:]) > room-5 {
			ws = wordAt(t, last[i])
		}
		tail := t[ws:]
		headRoom := max(4, room-ansi.StringWidth(tail)-1)
		out[i] = strings.TrimRight(ansi.Truncate(t[:ws], headRoom, ""), " ") + "…" + ansi.Truncate(tail, room-headRoom-1, "…")
	}
	return out
}

func (m *RunModel) statusOf(id string) wizard.Status {
	if s, ok := m.status[id]; ok && s != "" {
		return s
	}
	return wizard.StatusPending
}

// hostLabel names the host a step runs on.
func (m *RunModel) hostLabel(host string) string {
	switch {
	case host == wizard.HostOld && m.o.OldName != "":
		return m.o.OldName
	case host == wizard.HostNew && m.o.NewName != "":
		return m.o.NewName
	}
	return strings.TrimPrefix(checklist.HostText(host), "on ")
}

// paneLines returns exactly bodyHeight lines of the step pane. The title,
// the status, the counters and the prompt always show; the commands, the
// help and the output share what is left, in that order.
func (m *RunModel) paneLines() []string {
	w, h := m.contentWidth(), m.bodyHeight()
	st := m.styles
	s := m.step(m.current)
	var top, help, cmds, fixed []string
	var warn string // the step's warning, when shown above: not again in its output
	titleRows := 1  // the lines of the step's title, kept when room is short
	section := func(dst *[]string, title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		*dst = append(*dst, "")
		if title != "" {
			*dst = append(*dst, st.Label.Render(title))
		}
		*dst = append(*dst, lines...)
	}
	if s != nil {
		title := fmt.Sprintf("%d. ", m.stepIndex[s.ID]+1)
		if s.Destructive {
			title += "⚠ "
		}
		top = wrapStyled(st.Title, title+s.Title, w, "   ")
		titleRows = len(top)
		top = append(top, field(st, "Runs on", m.hostLabel(s.Host), w)...)
		top = append(top, field(st, "Level", s.Level+" ("+checklist.LevelText(s.Level)+")", w)...)
		top = append(top, m.statusLines(s, w)...)
		if warn = m.warning[s.ID]; warn != "" && m.status[s.ID] != wizard.StatusOK {
			top = append(top, wrapStyled(st.Warn, "⚠ "+warn, w, "  ")...)
		} else {
			warn = ""
		}
		help = m.stepHelp(s, w)
		cmds = m.commandLines(s, w)
		if p := m.progress[s.ID]; p != nil {
			section(&fixed, "", m.counterBlock(p, w))
		}
		if s.Repeatable {
			section(&fixed, "", wrapAll(st.Row, passLines(m.passes[s.ID]), w, "  "))
		}
	} else {
		top = wrapStyled(st.Title, orText(m.rb.Title, "ferry"), w, "")
	}
	section(&fixed, "", m.promptLines(w))

	// The downtime forecast goes under the prompt: its headline always
	// shows, with one line of its details at least; the rest of them
	// scroll (pgup/pgdn) in what the commands and the help leave.
	var fcHead []string
	var fcDetails [][]string
	if s != nil {
		fcHead, fcDetails = m.forecastParts(s.ID, w)
	}
	if m.fcFor != m.current {
		m.fcFor, m.fcScroll = m.current, 0
	}
	fcMin := 0
	if len(fcHead) > 0 {
		// The headline and one line of the details at least: one step's
		// share on a line of its own, paged with pgup/pgdn.
		fcMin = 1 + len(fcHead) + min(len(fcDetails), 1)
	}

	// Share the room left between commands, help and output.
	avail := h - len(top) - len(fixed) - fcMin
	var out []string
	ring := m.logs[m.current]
	hasOutput := ring != nil && ring.len() > 0
	if m.cmdFor != m.current {
		m.cmdFor, m.cmdScroll = m.current, 0
	}
	m.cmdRows = 0
	if len(cmds) > 0 && avail > 2 {
		// A step waiting for its confirmation gives its commands the room
		// (the admin reads them before typing); otherwise they share it.
		most := 4
		if m.confirming(s) {
			most = max(4, avail-2-min(len(help), 2))
		}
		n := min(len(cmds), most, avail-2)
		shown := cmds[:n]
		if n < len(cmds) {
			rows := max(1, n-1)
			m.cmdScroll = min(max(m.cmdScroll, 0), len(cmds)-rows)
			m.cmdRows = rows
			all := "v: the whole step"
			if m.input.Focused() {
				all = "esc, v: the whole step"
			}
			shown = append(cmds[m.cmdScroll:m.cmdScroll+rows:m.cmdScroll+rows], st.Dim.Render(ansi.Truncate(
				fmt.Sprintf("lines %d–%d of %d · ↑↓ scroll · %s", m.cmdScroll+1, m.cmdScroll+rows, len(cmds), all), w, "…")))
		}
		section(&out, "What runs", shown)
		avail -= len(shown) + 2
	}
	helpSec := []string{}
	if len(help) > 0 && avail > 1 {
		// With output to show, the help takes at most half the room left,
		// except for a manual step, where the help is the instructions.
		limit := len(help)
		if hasOutput && (m.waiting == nil || m.waiting.Need != wizard.NeedManual) {
			limit = min(limit, max(3, (avail-1)/2))
		}
		n := min(limit, avail-1)
		shown := help[:n]
		if n < len(help) {
			const more = " … (v: all)"
			last := ansi.Truncate(ansi.Strip(help[n-1]), max(1, w-ansi.StringWidth(more)), "") + more
			shown = append(shown[:n-1:n-1], st.Row.Render(last))
		}
		section(&helpSec, "", shown)
		avail -= len(shown) + 1
	}
	var fcSec []string
	m.fcRows = 0
	if len(fcHead) > 0 {
		rows := max(0, avail) + fcMin - 1 - len(fcHead) // for the details
		section(&fcSec, "", append(fcHead[:len(fcHead):len(fcHead)], m.forecastRows(fcDetails, rows, w)...))
		avail -= len(fcSec) - fcMin
	}
	var output []string
	m.outRows = 0
	if hasOutput && avail >= 3 {
		rows := avail - 2
		m.outRows = rows
		m.outScroll = min(m.outScroll, max(0, ring.len()-rows))
		title := "Output"
		if m.outScroll > 0 {
			title += fmt.Sprintf(" (%d lines up; pgdn/end)", m.outScroll)
		} else if ring.total > int64(ring.len()) {
			title += fmt.Sprintf(" (last of %d lines; l: full log)", ring.total)
		}
		var lines []string
		for _, l := range ring.last(rows, m.outScroll) {
			if warn == "" || l != "warning: "+warn {
				lines = append(lines, st.Dim.Render(ansi.Truncate(cleanLine(l), w, "…")))
			}
		}
		section(&output, title, lines)
	}
	all := append(append(append(append(append(top, helpSec...), out...), fixed...), fcSec...), output...)
	if len(all) > h && h > 0 {
		// Too little room: keep the title (all of its lines, so that a
		// title of two lines is not cut after its first) and what is at
		// the bottom (the prompt), dropping the lines in between.
		n := min(titleRows, h-1)
		all = append(all[:n:n], all[len(all)-h+n:]...)
	}
	for len(all) < h {
		all = append(all, "")
	}
	return all
}

// stepHelp is the step's help wrapped to w columns, kept for the next
// frame of the same step, width and colours.
func (m *RunModel) stepHelp(s *wizard.Step, w int) []string {
	key := helpKey{step: s.ID, width: w, style: m.stylesGen}
	if m.helpCache == nil || m.helpFor != key {
		help := []string{}
		for _, para := range strings.Split(strings.TrimSpace(s.Help), "\n") {
			if para != "" {
				help = append(help, wrapStyled(m.styles.Row, para, w, "")...)
			}
		}
		m.helpCache, m.helpFor = help, key
	}
	return m.helpCache[:len(m.helpCache):len(m.helpCache)]
}

// downtimeReminder says, while the downtime window is open, that mail is
// down and since when: stopping then keeps it down.
func (m *RunModel) downtimeReminder(text func(lipgloss.Style, string) []string) []string {
	if m.downStart.IsZero() || !m.downEnd.IsZero() {
		return nil
	}
	return text(m.styles.Failed, "⏱ Mail is down: the downtime began "+fmtClock(m.o.Now().Sub(m.downStart))+" ago, and stopping keeps it down until the run goes on.")
}

// confirming reports whether the engine waits on step s for a typed word
// or a gate decision: the moment the admin must read what will run.
func (m *RunModel) confirming(s *wizard.Step) bool {
	if m.waiting == nil || s == nil || m.waiting.Step != s.ID {
		return false
	}
	switch m.waiting.Need {
	case wizard.NeedConfirm, wizard.NeedGate:
		return true
	case wizard.NeedManual:
		return m.waiting.Word != ""
	}
	return false
}

// statusLines say where the step stands, with the elapsed time while it
// runs.
func (m *RunModel) statusLines(s *wizard.Step, w int) []string {
	status := m.statusOf(s.ID)
	var text string
	style := m.styles.Status(status)
	switch status {
	case wizard.StatusRunning:
		text = "▶ running"
		if n := m.passNo[s.ID]; n > 1 || (s.Repeatable && n > 0) {
			text += " · pass " + itoa(n)
		}
		if t, ok := m.started[s.ID]; ok {
			text += " · " + fmtClock(m.o.Now().Sub(t)) + " elapsed"
		}
	case wizard.StatusOK:
		text = "✓ done"
		if d := m.took[s.ID]; d > 0 {
			text += " in " + fmtDuration(d)
		}
		if msg := m.message[s.ID]; msg != "" {
			text += ": " + msg
		}
	case wizard.StatusFailed:
		text = "✗ failed"
		if d := m.took[s.ID]; d > 0 {
			text += " after " + fmtDuration(d)
		}
		if msg := m.message[s.ID]; msg != "" && (m.waiting == nil || m.waiting.Need != wizard.NeedFailure) {
			text += ": " + msg
		}
	case wizard.StatusSkipped:
		text = "↷ skipped"
		if msg := m.message[s.ID]; msg != "" {
			text += ": " + msg
		}
	case wizard.StatusWaiting:
		text = "? waiting for you"
		if m.closed {
			// Nobody waits once the run is over; the next start asks again.
			text = "? was waiting for you when the run ended"
		}
	case wizard.StatusInterrupted:
		text = "! interrupted when ferry stopped"
		if m.finished != nil && m.finished.Lost {
			text = "! under way when the runner stopped: its outcome is unknown"
		}
	default:
		text = "· not started"
	}
	if m.waiting != nil && m.waiting.Step == s.ID && status != wizard.StatusWaiting {
		text += " · waiting for you"
	}
	return wrapStyled(style, text, w, "  ")
}

// checksLabel heads the read-only probes of a step that also changes
// something, shown after its changes (they run before them).
const checksLabel = "checks first:"

// commandLines are the step's plan (wizard.PlanFamilies), exactly what the
// executor will run: for the family of the host it runs on, or each family
// while that is not known; a value not known yet shows as ‹name›. A command
// starts "$ ", ferry's own work is a "# " line. What changes something is
// listed first, so the step's main command is in view; the read-only probes
// (which run before it) follow under "checks first:", each group in run
// order (wizard.SplitProbes).
func (m *RunModel) commandLines(s *wizard.Step, w int) []string {
	pl := m.plannedActions(s)
	// Kept with the plan (which goes when an answer or a fact arrives)
	// for the width and colours it was drawn for.
	if pl.lines != nil && pl.linesWidth == w && pl.linesStyle == m.stylesGen {
		return pl.lines[:len(pl.lines):len(pl.lines)]
	}
	out := m.drawCommands(s, w, pl)
	if out == nil {
		out = []string{}
	}
	pl.lines, pl.linesWidth, pl.linesStyle = out, w, m.stylesGen
	m.cmdCache[s.ID] = pl
	return out[:len(out):len(out)]
}

// drawCommands draws the lines commandLines keeps.
func (m *RunModel) drawCommands(s *wizard.Step, w int, pl stepPlan) []string {
	st := m.styles
	var out []string
	for _, f := range pl.families {
		changes, probes := wizard.SplitProbes(pl.actions[f])
		acts := append(changes[:len(changes):len(changes)], probes...)
		for i, a := range acts {
			if i == len(changes) && i > 0 {
				label := checksLabel
				if len(pl.families) > 1 {
					label = "(" + f + ") " + label
				}
				out = append(out, st.Dim.Render(label))
			}
			lead := "$ "
			if a.Command() == nil {
				lead = ""
			}
			if len(pl.families) > 1 {
				lead = "(" + f + ") " + lead
			}
			for i, l := range strings.Split(a.Line(s.Host), "\n") {
				if i > 0 {
					lead = "  "
				}
				for _, wl := range wrapWords(lead+cleanLine(l), w, "    ") {
					out = append(out, st.Code.Render(wl))
				}
			}
		}
	}
	return out
}

// stepPlan is a step's plan per family, as the run screen shows it.
type stepPlan struct {
	actions  map[string][]wizard.PlanAction
	families []string
	// lines are the plan drawn by commandLines for linesWidth columns
	// and the colours of linesStyle (stylesGen); nil until drawn.
	lines                  []string
	linesWidth, linesStyle int
}

// plannedActions plans the step with the answers and facts known so far
// (cached until an answer or a fact arrives).
func (m *RunModel) plannedActions(s *wizard.Step) stepPlan {
	if c, ok := m.cmdCache[s.ID]; ok {
		return c
	}
	data := wizard.DisplayData(m.rb, m.facts[s.Host+"_family"], m.answers, m.facts)
	byFam, fams, err := wizard.PlanFamilies(s, data)
	if err != nil {
		byFam, fams = map[string][]wizard.PlanAction{wizard.FamilyAny: {{Host: s.Host, Does: "the plan cannot be shown: " + err.Error()}}}, []string{wizard.FamilyAny}
	}
	pl := stepPlan{actions: byFam, families: fams}
	if m.cmdCache == nil {
		m.cmdCache = map[string]stepPlan{}
	}
	m.cmdCache[s.ID] = pl
	return pl
}

// counterBlock draws a progress snapshot: a bar with the percentage when
// the total is known, then the counters in words.
func (m *RunModel) counterBlock(p *tasks.Progress, w int) []string {
	frac, lines := counterLines(p)
	var out []string
	if frac >= 0 {
		bw := max(4, min(w-6, 50))
		m.bar.SetWidth(bw)
		out = append(out, m.bar.ViewAs(frac)+" "+percentText(frac))
	}
	return append(out, wrapAll(m.styles.Row, lines, w, "  ")...)
}

// promptLines show what the engine waits for and the keys that answer it,
// or the quit question, or the outcome once the run is over.
func (m *RunModel) promptLines(w int) []string {
	st := m.styles
	text := func(style lipgloss.Style, s string) []string { return wrapStyled(style, s, w, "  ") }
	var out []string
	switch {
	case m.closed:
		switch m.Outcome() {
		case "done":
			skipped := len(m.personSkips)
			if skipped == 0 && len(m.overridden) == 0 {
				out = append(out, text(st.OK, "✓ The migration is done: every step passed or did not apply here.")...)
				break
			}
			// Not "every step": say what a person left out, so that a skip
			// or an override is read before the report is.
			msg := fmt.Sprintf("The migration is done, with %s skipped by a person", english.Plural(skipped, "step", ""))
			if n := len(m.overridden); n > 0 {
				msg += fmt.Sprintf(" and %s overridden", english.Plural(n, "gate", ""))
			}
			them := "them"
			if skipped+len(m.overridden) == 1 {
				them = "it"
			}
			out = append(out, text(st.Warn, "! "+msg+": see "+them+" in the step list (↷) and in ferry report.")...)
		case "failed":
			out = append(out, text(st.Failed, "✗ The run stopped on a failure.")...)
			if m.finished.Message != "" {
				out = append(out, text(st.Failed, m.finished.Message)...)
			}
			out = append(out, text(st.Row, "Run "+m.againCommand()+" to retry from there; the journal keeps the place.")...)
		case "lost":
			// Nothing failed: the runner is gone (wizard.State.RunLost).
			out = append(out, text(st.Warn, "■ The runner stopped unexpectedly.")...)
			if m.finished.Message != "" {
				out = append(out, text(st.Row, m.finished.Message)...)
			}
			out = append(out, text(st.Row, "Run "+m.againCommand()+" to go on from there: the journal keeps the place, and a step that was under way is checked and redone as the runbook says.")...)
		default:
			out = append(out, text(st.Warn, "■ The run stopped. The journal keeps the place: run "+m.againCommand()+" to go on from here.")...)
		}
		return append(out, text(st.Dim, "Press any key to leave.")...)
	case m.quitAsk && m.o.Detached:
		out = append(out, text(st.Warn, "Leave the screen?")...)
		out = append(out, m.downtimeReminder(text)...)
		out = append(out, text(st.Row, fmt.Sprintf("The migration runs in a runner detached from this terminal (pid %d): d leaves it running (come back with ferry attach, or the same ferry command); y stops the run here, and the journal keeps the place.", m.o.RunnerPID))...)
		return append(out, text(st.Title, "d: detach · y: stop the run · n: stay")...)
	case m.quitAsk:
		out = append(out, text(st.Warn, "Quit while a step runs?")...)
		out = append(out, m.downtimeReminder(text)...)
		if s := m.step(m.running); s != nil {
			out = append(out, text(st.Row, "\""+s.Title+"\" will be interrupted. The journal keeps the place: the next ferry run resumes here and re-runs the step only if that is safe, else asks you.")...)
		} else {
			out = append(out, text(st.Row, "The journal keeps the place: the next ferry run resumes here.")...)
		}
		return append(out, text(st.Title, "y: quit · n: stay")...)
	case m.stopping:
		return text(st.Warn, "Stopping… the journal keeps the place.")
	}
	if m.notice != "" {
		out = append(out, text(st.Warn, "! "+m.notice)...)
	}
	if m.lifeline != "" {
		out = append(out, text(st.OK, "Lifeline: "+m.lifeline)...)
	}
	switch {
	case m.waiting == nil:
		if m.sent != "" && m.running == "" {
			return append(out, text(st.Dim, "Sent: "+string(m.sent)+". Waiting for ferry…")...)
		}
		return out
	}
	ev := m.waiting
	if m.o.ReadOnly {
		// An observer sees what the run waits for, not a prompt it
		// cannot answer.
		switch {
		case ev.Word != "" && (ev.Need == wizard.NeedConfirm || ev.Need == wizard.NeedManual):
			// What the controlling screen shows, once: the engine's
			// message restates the same harm and forecast in one line.
			out = append(out, m.harmLines(ev, w)...)
			what := "to type " + ev.Word
			if ev.Need == wizard.NeedManual {
				what = "to do this by hand and type " + ev.Word
			}
			out = append(out, text(st.Title, "The run waits for the admin at the controlling screen "+what+".")...)
		default:
			out = append(out, text(st.Title, "The run waits for the admin at the controlling screen:")...)
			if ev.Message != "" {
				out = append(out, text(st.Row, ev.Message)...)
			}
		}
		return append(out, text(st.Dim, "read-only: this screen watches the run and takes no decision (v: the whole step · q: leave)")...)
	}
	switch {
	case m.prompt == promptReason && m.reasonFor == wizard.ActOverride:
		out = append(out, text(st.Title, "Why may this step run although the steps it requires did not pass? A reason is required; the journal and the report keep it, with your name.")...)
		out = append(out, m.input.View())
		if m.inErr != "" {
			out = append(out, text(st.Failed, "✗ "+m.inErr)...)
		}
		return out
	case m.prompt == promptReason:
		out = append(out, text(st.Title, "Why skip this step? A reason is required; it goes into the journal.")...)
		out = append(out, m.input.View())
		if m.inErr != "" {
			out = append(out, text(st.Failed, "✗ "+m.inErr)...)
		}
		return out
	case m.prompt == promptForm && m.form != nil:
		if m.o.Note != "" {
			out = append(out, text(st.Dim, m.o.Note)...)
		}
		if ev.Message != "" {
			// Asked again after a failure: say why, and that the
			// answers shown are the ones in use; or what the question
			// is about (a step that can cut the admin's access).
			out = append(out, text(st.Warn, ev.Message)...)
		}
		if m.formSt != nil && m.formSt.err != "" {
			out = append(out, text(st.Failed, "✗ "+m.formSt.err)...)
		}
		for _, l := range strings.Split(strings.TrimRight(m.form.View(), "\n"), "\n") {
			out = append(out, ansi.Truncate(l, w, "…"))
		}
		for _, err := range m.form.Errors() {
			// Under the answer, inside the question's bar.
			out = append(out, wrapStyled(st.Failed, "┃ ✗ "+err.Error(), w, "┃   ")...)
		}
		return out
	}
	switch ev.Need {
	case wizard.NeedAnswers:
		out = append(out, text(st.Title, "This step needs answers before it runs.")...)
		out = append(out, text(st.Row, "enter: answer · s: skip the step (give a reason) · v: the whole step · q: stop here")...)
	case wizard.NeedConfirm:
		out = append(out, m.harmLines(ev, w)...)
		out = append(out, text(st.Title, "Type "+ev.Word+" and press enter to go ahead:")...)
		out = append(out, m.input.View())
		if m.inErr != "" {
			out = append(out, text(st.Failed, "✗ "+m.inErr)...)
		}
		if m.input.Focused() {
			out = append(out, text(st.Dim, "esc: leave the input (then v shows the whole step, s skips it)")...)
		} else {
			out = append(out, text(st.Dim, "enter or i: type the word · s: skip · q: stop here")...)
		}
	case wizard.NeedManual:
		if ev.Word == "" {
			if m.prompt == promptDone {
				out = append(out, text(st.Title, "Is it done? y or enter: yes, it is done by hand · any other key: not yet")...)
				break
			}
			out = append(out, text(st.Title, "Do this by hand as described above, then press d.")...)
			out = append(out, text(st.Row, "d: done (then y to say so) · s: skip (give a reason) · q: stop here")...)
			break
		}
		// A destructive step done by hand: done takes the typed word.
		out = append(out, m.harmLines(ev, w)...)
		out = append(out, text(st.Title, "Do this by hand as described above; when it is done, type "+ev.Word+" and press enter:")...)
		out = append(out, m.input.View())
		if m.inErr != "" {
			out = append(out, text(st.Failed, "✗ "+m.inErr)...)
		}
		if m.input.Focused() {
			out = append(out, text(st.Dim, "esc: leave the input (then v shows the whole step, s skips it)")...)
		} else {
			out = append(out, text(st.Dim, "d or enter: type the word · s: skip (give a reason) · q: stop here")...)
		}
	case wizard.NeedFailure:
		// A step that ran and failed says so; one held back before it
		// ran (a precondition, a secret refused before the downtime)
		// did not fail.
		head := "✗ The step cannot go on:"
		if m.statusOf(ev.Step) == wizard.StatusFailed {
			head = "✗ The step failed:"
		}
		out = append(out, text(st.Failed, head)...)
		out = append(out, text(st.Failed, orText(ev.Message, "(no message)"))...)
		if redo := m.redoOf(ev.Step); len(redo) > 0 {
			out = append(out, text(st.Row, "e: run again "+strings.Join(redo, ", then ")+", then this step · r: retry · s: skip (give a reason) · q: stop here")...)
		} else {
			out = append(out, text(st.Row, "r: retry · s: skip (give a reason) · q: stop here (the journal keeps the place)")...)
		}
	case wizard.NeedRepeat:
		out = append(out, text(st.Row, "This step can run again to catch up on what changed since the last pass.")...)
		b := []string{"run again (r)", "continue (c)"}
		for i := range b {
			if i == m.choice {
				b[i] = st.Button.Render("› " + b[i] + " ‹")
			} else {
				b[i] = "  " + b[i] + "  "
			}
		}
		out = append(out, ansi.Truncate(b[0]+"  "+b[1], w, "…"))
	case wizard.NeedResume:
		out = append(out, text(st.Warn, "! "+orText(ev.Message, "This step was interrupted."))...)
		out = append(out, text(st.Row, "r: retry · d: it finished · s: skip · q: stop here")...)
	case wizard.NeedGate:
		out = append(out, text(st.Failed, "■ Not yet: "+ev.Message)...)
		out = append(out, text(st.Row, "r: run those steps again now · o: override (give a reason) · s: skip this step (give a reason) · q: stop here")...)
	case wizard.NeedChanged:
		out = append(out, text(st.Warn, orText(ev.Message, "The runbook changed."))...)
		out = append(out, text(st.Row, "c: continue with the new runbook · q: stop here")...)
	case wizard.NeedTrust:
		out = append(out, text(st.Warn, "The old server's host key is not known yet:")...)
		out = append(out, text(st.Code, ev.Message)...)
		out = append(out, text(st.Row, "Compare it with the key shown on that server (ssh-keygen -lf on its host key).")...)
		out = append(out, text(st.Title, "y: trust it and go on · n: refuse and stop")...)
	default:
		out = append(out, text(st.Row, "ferry waits for "+wizard.NeedText(ev.Need)+". "+ev.Message)...)
	}
	return out
}

func (m *RunModel) helpLines() []string {
	sym := func(st ...wizard.Status) string {
		var parts []string
		for _, s := range st {
			parts = append(parts, fmt.Sprintf("%s %-12s", s.Symbol(), s))
		}
		return "   " + strings.TrimRight(strings.Join(parts, ""), " ")
	}
	t := m.styles.Title
	return []string{
		"",
		t.Render(" Keys"),
		"   v              the whole step: help, every command, its record;",
		"                  ←/→ there show any other step, past or to come",
		"   l              the full output of the current step (esc back)",
		"   ↑ / ↓          scroll the commands (What runs) in the pane",
		"   pgup / pgdn    scroll the output in the pane (the commands while",
		"                  there is no output); end: back to the newest",
		"                  Typing a confirmation word, ↑↓ pgup pgdn still scroll",
		"   r / s / d / c  retry, skip (a reason is asked), done, continue — when",
		"                  the step pane offers them. Retrying a failed step asks",
		"                  its answers again, filled in: change the one that was",
		"                  wrong (the journal keeps old and new, who and when)",
		"   o              at a gate: go past it, with a reason for the record",
		"   ?              this help",
		"   q / ctrl+c     quit; while a step runs ferry asks first",
		"",
		t.Render(" Marks"),
		sym(wizard.StatusPending, wizard.StatusRunning, wizard.StatusOK, wizard.StatusFailed),
		sym(wizard.StatusSkipped, wizard.StatusWaiting, wizard.StatusInterrupted),
		"   ⚠ destructive: ferry asks for a typed word first",
		"   › the current step",
		"",
		" Quitting never loses work: the journal keeps the place, and the next",
		" ferry run resumes there.",
	}
}

// field writes "Label   value", wrapped under the value.
func field(st runStyles, label, value string, w int) []string {
	if value == "" {
		return nil
	}
	lines := wrapText(fmt.Sprintf("%-8s%s", label, value), w, strings.Repeat(" ", 8))
	if len(lines[0]) >= 8 {
		lines[0] = st.Label.Render(lines[0][:8]) + lines[0][8:]
	}
	return lines
}

// wrapText word-wraps text to width w at spaces only (wrapWords: a word to
// type, a host name or a command is never broken at a hyphen), the first
// line taking the whole width; continuation lines start with lead.
func wrapText(text string, w int, lead string) []string {
	return wrapWords(text, w, lead)
}

func wrapStyled(style lipgloss.Style, text string, w int, lead string) []string {
	lines := wrapText(text, w, lead)
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return lines
}

func wrapAll(style lipgloss.Style, texts []string, w int, lead string) []string {
	var out []string
	for _, t := range texts {
		out = append(out, wrapStyled(style, t, w, lead)...)
	}
	return out
}

// wrapWords wraps text at spaces only (a command must not be broken at a
// hyphen), cutting words longer than a line; continuation lines start
// with lead.
func wrapWords(text string, w int, lead string) []string {
	var out []string
	line := ""
	room := func() int {
		if len(out) == 0 {
			return w
		}
		return max(1, w-ansi.StringWidth(lead))
	}
	flush := func() {
		if len(out) > 0 {
			line = lead + line
		}
		out = append(out, line)
		line = ""
	}
	for _, word := range strings.Split(text, " ") {
		for {
			sep := ""
			if line != "" {
				sep = " "
			}
			if ansi.StringWidth(line)+len(sep)+ansi.StringWidth(word) <= room() {
				line += sep + word
				break
			}
			if line != "" {
				flush()
				continue
			}
			// A word longer than a whole line: cut it.
			cut := ansi.Truncate(word, room(), "")
			line = cut
			word = word[len(cut):]
			flush()
			if word == "" {
				break
			}
		}
	}
	if line != "" || len(out) == 0 {
		flush()
	}
	return out
}

// fitLines cuts or pads lines to exactly h lines no wider than w.
func fitLines(lines []string, w, h int) []string {
	out := make([]string, 0, h)
	for _, l := range lines {
		if len(out) == h {
			break
		}
		out = append(out, ansi.Truncate(l, w, "…"))
	}
	for len(out) < h {
		out = append(out, "")
	}
	return out
}

func padTo(s string, w int) string {
	return s + strings.Repeat(" ", max(0, w-ansi.StringWidth(s)))
}

func orText(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// cleanLine makes an output line safe to draw: no control sequences, no
// tabs or carriage returns.
func cleanLine(s string) string {
	s = ansi.Strip(s)
	if strings.ContainsAny(s, "\t\r") {
		s = strings.ReplaceAll(s, "\t", "    ")
		if i := strings.LastIndexByte(s, '\r'); i >= 0 {
			s = s[i+1:]
		}
	}
	return s
}

// forecastParts are the downtime forecast (wizard.FactDowntimeForecastBasis,
// recorded right before the step that starts the window is put to the
// admin), wrapped to w columns, while the run waits on step id, id starts
// the window and it has not begun: its headline (what the admin books the
// outage by, and what it cannot time) and its details, one item a step,
// each item its wrapped lines.
func (m *RunModel) forecastParts(id string, w int) (headline []string, details [][]string) {
	s := m.step(id)
	basis := m.facts[wizard.FactDowntimeForecastBasis]
	if s == nil || s.Downtime != wizard.DowntimeStart || basis == "" || !m.downStart.IsZero() ||
		m.waiting == nil || m.waiting.Step != id {
		return nil, nil
	}
	head, parts := wizard.SplitForecast(basis)
	// The headline begins "expected downtime …": it says its own subject.
	headline = wrapStyled(m.styles.Title, strings.ToUpper(head[:1])+head[1:]+".", w, "  ")
	for _, p := range parts {
		details = append(details, wrapStyled(m.styles.Row, "· "+p, w, "  "))
	}
	return headline, details
}

// forecastRows fits the forecast's details into rows lines of the pane,
// whole items from the fcScroll-th on (the first one cut when it alone is
// longer), with a line saying which are shown and the keys that scroll
// them when they do not all fit, or in one or two rows the fcScroll-th
// item alone on one line ("2/6 …"); fcRows then says how many items
// showed.
func (m *RunModel) forecastRows(details [][]string, rows, w int) []string {
	var all []string
	for _, d := range details {
		all = append(all, d...)
	}
	m.fcRows = 0
	if len(all) <= rows {
		m.fcScroll = 0
		return all
	}
	m.fcScroll = min(max(m.fcScroll, 0), len(details)-1)
	if rows <= 2 {
		// Too little room for a list: one step's share on one line,
		// saying which of how many it is.
		text := strings.Join(strings.Fields(ansi.Strip(strings.Join(details[m.fcScroll], " "))), " ")
		m.fcRows = 1
		return []string{m.styles.Row.Render(ansi.Truncate(fmt.Sprintf("%d/%d %s", m.fcScroll+1, len(details), strings.TrimPrefix(text, "· ")), w, "…"))}
	}
	rows-- // the line that says where the list stands
	var out []string
	n := 0
	for _, d := range details[m.fcScroll:] {
		if len(out)+len(d) > rows {
			if n == 0 {
				out = append(out, d[:rows]...)
				n = 1
			}
			break
		}
		out = append(out, d...)
		n++
	}
	m.fcRows = n
	return append(out, m.styles.Dim.Render(ansi.Truncate(
		fmt.Sprintf("steps %d–%d of %d · pgup/pgdn scroll · v: all", m.fcScroll+1, m.fcScroll+n, len(details)), w, "…")))
}

// harmLines are what a step waiting for a typed word (ev) shows above it:
// for a destructive step about to run, what it does and where, from the
// step's data (wizard.Harm) (the downtime forecast, when it opens the
// window, has a section of its own under the prompt: forecastParts); for a
// question the step's task asks while it runs (rsync's
// deletions beyond the limit), the task's own message, which says it.
func (m *RunModel) harmLines(ev *wizard.Event, w int) []string {
	s := m.step(ev.Step)
	if s == nil {
		return nil
	}
	if ev.Message != "" && (!s.Destructive || m.statusOf(s.ID) == wizard.StatusRunning) {
		msg, _, _ := strings.Cut(ev.Message, fmt.Sprintf(": type %q", ev.Word))
		return wrapStyled(m.styles.Warn, "⚠ "+msg+".", w, "  ")
	}
	data := wizard.DisplayData(m.rb, m.facts[s.Host+"_family"], m.answers, m.facts)
	return wrapStyled(m.styles.Warn, "⚠ "+wizard.Harm(s, data, m.hostLabel(s.Host))+".", w, "  ")
}

// againCommand names what goes on with the migration after this run: the
// command that started it when known, else ferry.
func (m *RunModel) againCommand() string {
	if m.o.Again != "" {
		return m.o.Again
	}
	return "ferry again"
}
