package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestStatusSaysTheJournalIsLost: status names the migration id, and with
// the journal deleted it says a migration began there (exit 5), not "no
// migration".
func TestStatusSaysTheJournalIsLost(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := j.EnsureHeader("greenarrow", "h"); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(wizard.Event{Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	id, _ := wizard.ReadMigrationID(dir)
	code, out, errs := run(t, "", false, "status", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "migration  "+id) || id == "" {
		t.Fatalf("status: code %d, stderr %q, output:\n%s", code, errs, out)
	}
	if err := os.Remove(filepath.Join(dir, wizard.JournalFile)); err != nil {
		t.Fatal(err)
	}
	code, _, errs = run(t, "", false, "status", "--state-dir", dir)
	if code != ExitJournalLost || !strings.Contains(errs, "is missing") || !strings.Contains(errs, id) || !strings.Contains(errs, wizard.JournalPrevFile) {
		t.Fatalf("status without the journal: code %d, stderr %q", code, errs)
	}
}
