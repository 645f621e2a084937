package tui

import (
	"slices"
	"testing"

	"github.com/ferry-migrate/ferry/tasks"
)

// A progress that only says what happens shows that phrase, with no
// "0 done" above it; a count still shows its number.
func TestCounterLinesOfANoteAlone(t *testing.T) {
	if frac, lines := counterLines(&tasks.Progress{Note: "logging in to bj-data"}); frac >= 0 || !slices.Equal(lines, []string{"logging in to bj-data"}) {
		t.Errorf("a note alone gives %v (bar %v), want the note only and no bar", lines, frac)
	}
	if _, lines := counterLines(&tasks.Progress{Unit: "items", Done: 3, Total: 7}); len(lines) == 0 || lines[0] != "3 / 7 items" {
		t.Errorf("a count gives %v, want 3 / 7 items first", lines)
	}
}
