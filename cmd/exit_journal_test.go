package cmd

import (
	"fmt"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestExitCodesOfJournalTrouble: a journal lost while an earlier migration
// shows exits 5; a damaged journal is bad input, exit 2; wrapped or not.
func TestExitCodesOfJournalTrouble(t *testing.T) {
	for err, want := range map[error]int{
		&wizard.LostJournalError{Dir: "/s", Problem: "missing"}:                      ExitJournalLost,
		fmt.Errorf("opening: %w", &wizard.LostJournalError{Dir: "/s"}):               ExitJournalLost,
		&wizard.JournalError{Path: "/s/journal.jsonl", Line: 3, Problem: "x"}:        ExitUsage,
		fmt.Errorf("x: %w", &wizard.JournalError{Path: "/s/journal.jsonl", Line: 3}): ExitUsage,
	} {
		if got := ExitCode(err); got != want {
			t.Errorf("ExitCode(%v) = %d, want %d", err, got, want)
		}
	}
}
