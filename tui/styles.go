package tui

import (
	"charm.land/lipgloss/v2"
	"github.com/ferry-migrate/ferry/wizard"
)

// Styles are the lipgloss styles of the checklist view. Colour only adds to
// what the text already says: every status has a symbol, the selected row is
// marked with "›" and reversed, so the view reads the same under NO_COLOR.
type Styles struct {
	Header     lipgloss.Style
	HeaderInfo lipgloss.Style
	Footer     lipgloss.Style
	Phase      lipgloss.Style
	Row        lipgloss.Style
	Selected   lipgloss.Style
	// SelectedBlur marks the selected row while the detail pane has focus.
	SelectedBlur lipgloss.Style
	Separator    lipgloss.Style
	Title        lipgloss.Style
	Label        lipgloss.Style
	Dim          lipgloss.Style
	Code         lipgloss.Style
	Warn         lipgloss.Style
	OK           lipgloss.Style
	Failed       lipgloss.Style
	Active       lipgloss.Style
}

// NewStyles returns the styles for a dark or a light terminal background.
func NewStyles(isDark bool) Styles {
	ld := lipgloss.LightDark(isDark)
	accent := ld(lipgloss.Color("#5B3CC4"), lipgloss.Color("#B7A6FF"))
	dim := ld(lipgloss.Color("#5F5F5F"), lipgloss.Color("#A0A0A0"))
	warn := ld(lipgloss.Color("#A14A00"), lipgloss.Color("#FFC247"))
	ok := ld(lipgloss.Color("#1A7F37"), lipgloss.Color("#5FD38D"))
	bad := ld(lipgloss.Color("#B42318"), lipgloss.Color("#FF7A70"))
	code := ld(lipgloss.Color("#0B5394"), lipgloss.Color("#8CC8FF"))
	return Styles{
		Header:       lipgloss.NewStyle().Bold(true).Foreground(accent),
		HeaderInfo:   lipgloss.NewStyle().Foreground(dim),
		Footer:       lipgloss.NewStyle().Foreground(dim),
		Phase:        lipgloss.NewStyle().Bold(true).Foreground(accent),
		Row:          lipgloss.NewStyle(),
		Selected:     lipgloss.NewStyle().Reverse(true).Bold(true),
		SelectedBlur: lipgloss.NewStyle().Bold(true).Underline(true),
		Separator:    lipgloss.NewStyle().Foreground(dim),
		Title:        lipgloss.NewStyle().Bold(true),
		Label:        lipgloss.NewStyle().Bold(true).Foreground(accent),
		Dim:          lipgloss.NewStyle().Foreground(dim),
		Code:         lipgloss.NewStyle().Foreground(code),
		Warn:         lipgloss.NewStyle().Bold(true).Foreground(warn),
		OK:           lipgloss.NewStyle().Foreground(ok),
		Failed:       lipgloss.NewStyle().Bold(true).Foreground(bad),
		Active:       lipgloss.NewStyle().Bold(true).Foreground(accent),
	}
}

// Status is the style of a status symbol: the symbol carries the meaning,
// the colour only repeats it.
func (st Styles) Status(s wizard.Status) lipgloss.Style {
	switch s {
	case wizard.StatusOK, wizard.StatusSkipped:
		return st.OK
	case wizard.StatusFailed, wizard.StatusInterrupted:
		return st.Failed
	case wizard.StatusRunning, wizard.StatusWaiting:
		return st.Active
	}
	return st.Dim
}
