package cmd

import (
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// journalOf writes a journal that began runbook id in a new directory.
func journalOf(t *testing.T, id string) string {
	t.Helper()
	dir := t.TempDir()
	j, _, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(wizard.Event{Type: wizard.EvRunStarted, Runbook: id, Hash: "abc"}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestJournalOfAnotherRunbookIsRefused: run and checklist refuse a state
// directory whose migration runs another runbook (exit 2, naming both),
// and run changes nothing in it.
func TestJournalOfAnotherRunbookIsRefused(t *testing.T) {
	dir := journalOf(t, "greenarrow")
	before := snapshot(t, dir)
	code, _, errs := run(t, "", false, "run", "--runbook", "bluemind", "--state-dir", dir, "--headless")
	if code != ExitUsage || !strings.Contains(errs, `runs runbook "greenarrow", not "bluemind"`) {
		t.Fatalf("run: exit %d, stderr %q", code, errs)
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Errorf("run changed the state directory: %v -> %v", before, after)
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("run changed %s", p)
		}
	}
	code, _, errs = run(t, "", false, "checklist", "--runbook", "bluemind", "--state-dir", dir, "--format", "markdown")
	if code != ExitUsage || !strings.Contains(errs, `belongs to runbook "greenarrow", not "bluemind"`) {
		t.Fatalf("checklist: exit %d, stderr %q", code, errs)
	}
	// Without --runbook, the checklist takes the journal's.
	code, out, errs := run(t, "", false, "checklist", "--state-dir", dir, "--format", "markdown")
	if code != 0 || !strings.Contains(out, "`greenarrow`") {
		t.Fatalf("checklist without --runbook: exit %d, stderr %q", code, errs)
	}
}

// TestResumeOfAFileRunbookNeedsTheFile: a journal of a runbook read from a
// file cannot be resumed without that file; the refusal says so.
func TestResumeOfAFileRunbookNeedsTheFile(t *testing.T) {
	dir := journalOf(t, "custom-migration")
	code, _, errs := run(t, "", false, "run", "--state-dir", dir, "--headless")
	if code != ExitUsage || !strings.Contains(errs, `ran runbook "custom-migration" from a file`) {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
