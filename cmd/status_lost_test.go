package cmd

import (
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// journalIn writes events to a real journal in dir and closes it.
func journalIn(t *testing.T, dir string, evs ...wizard.Event) {
	t.Helper()
	j, _, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStatusAfterTheRunnerDied: with a journal whose last run has no end
// and no ferry holding the lock, status says the runner (its pid) is gone
// without finishing, when it last wrote, the step under way with an
// unknown outcome and what ferry does with it on resume, nobody waiting,
// and the command that resumes; never "waiting" beside "runner none".
func TestStatusAfterTheRunnerDied(t *testing.T) {
	dir := t.TempDir()
	journalIn(t, dir,
		wizard.Event{Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: "h", PID: 4321, Command: "ferry demo greenarrow --dir /tmp/x"},
		wizard.Event{Type: wizard.EvStepStarted, Step: "migration-first-pass", Pass: 1})
	code, out, errs := run(t, "", false, "status", "--state-dir", dir)
	if code != 0 {
		t.Fatalf("status: code %d, stderr %q", code, errs)
	}
	for _, want := range []string{
		"runner     gone: the runner (pid 4321) ended without finishing",
		"its last word was at ",
		"migration-first-pass — Migration script, first pass was under way when the runner died; its outcome is unknown: it is safe to re-run, so ferry runs it again",
		"resume     ferry demo greenarrow --dir /tmp/x",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "runner     none") {
		t.Errorf("status says runner none after a lost run:\n%s", out)
	}
}

// TestStatusWaitingForARepeatChoice: a repeatable step that finished a pass
// and waits for the choice of another pass has a waiting line while its
// runner holds the lock, and reads as nobody waiting once the run stopped.
func TestStatusWaitingForARepeatChoice(t *testing.T) {
	dir := t.TempDir()
	journalIn(t, dir,
		wizard.Event{Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: "h", PID: 1, Command: "ferry run"},
		wizard.Event{Type: wizard.EvStepStarted, Step: "migration-first-pass", Pass: 1},
		wizard.Event{Type: wizard.EvStepFinished, Step: "migration-first-pass", Status: wizard.StatusOK},
		wizard.Event{Type: wizard.EvWaiting, Step: "migration-first-pass", Need: wizard.NeedRepeat})
	lock, err := wizard.AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, out, _ := run(t, "", false, "status", "--state-dir", dir)
	if !strings.Contains(out, "waiting    migration-first-pass — Migration script, first pass waits for a decision: another pass, or go on") {
		t.Errorf("status lacks the repeat choice's waiting line:\n%s", out)
	}
	if err := lock.Release(); err != nil {
		t.Fatal(err)
	}
	journalIn(t, dir, wizard.Event{Type: wizard.EvRunFinished, Status: wizard.StatusInterrupted, Message: "stopped at the admin's request"})
	_, out, _ = run(t, "", false, "status", "--state-dir", dir)
	for _, want := range []string{"waiting    nobody: migration-first-pass", "when the run stopped", "runner     none: the last run ended: stopped at the admin's request", "resume     ferry run"} {
		if !strings.Contains(out, want) {
			t.Errorf("status after the stop lacks %q:\n%s", want, out)
		}
	}
}

// TestAttachToAFinishedMigration: attach on a migration whose run ended done
// says it is finished and points at ferry report, exits 0 as status does,
// and offers no command to resume it.
func TestAttachToAFinishedMigration(t *testing.T) {
	dir := t.TempDir()
	journalIn(t, dir,
		wizard.Event{Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: "h", PID: 4321, Command: "ferry demo greenarrow --dir /tmp/x"},
		wizard.Event{Type: wizard.EvRunFinished, Status: wizard.StatusOK, Message: "every step is done"})
	code, out, errs := run(t, "", false, "attach", "--state-dir", dir)
	if code != 0 {
		t.Fatalf("attach: code %d, stderr %q", code, errs)
	}
	if want := "the migration in " + dir + " is finished"; !strings.Contains(out, want) || !strings.Contains(out, "ferry report --state-dir "+dir) {
		t.Errorf("attach's words lack %q or the report command:\n%s", want, out)
	}
	if strings.Contains(out+errs, "resumes") {
		t.Errorf("attach offers to resume a finished migration:\n%s%s", out, errs)
	}
	code, out, _ = run(t, "", false, "status", "--state-dir", dir)
	if code != 0 || !strings.Contains(out, "runner     none: the migration is finished") {
		t.Errorf("status (code %d) does not agree:\n%s", code, out)
	}
}
