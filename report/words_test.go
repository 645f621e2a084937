package report

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// A login check refused once, then passed: the timeline keeps the refusal
// and its reason beside the ok, and a progress note alone ("logging in to
// bj-data") is no counter.
func TestRefusedThenOKKeepsTheRefusal(t *testing.T) {
	refused := "the password was refused by PostgreSQL on old for role bj, database bj-data, in a login with psql as pg_dump makes"
	evs := []wizard.Event{
		{Time: at(0, 0), Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: testRunbook().Hash},
		{Time: at(0, 1), Type: wizard.EvStepStarted, Step: "db-password", Pass: 1},
		{Time: at(0, 2), Type: wizard.EvStepFinished, Step: "db-password", Status: wizard.StatusFailed, Message: refused,
			Duration: 200 * time.Millisecond, Counters: &tasks.Progress{Note: "logging in to bj-data"}},
		{Time: at(0, 30), Type: wizard.EvStepStarted, Step: "db-password", Pass: 1},
		{Time: at(0, 31), Type: wizard.EvStepFinished, Step: "db-password", Status: wizard.StatusOK, Message: "bj logs in to bj and bj-data on the old server",
			Duration: 170 * time.Millisecond, Counters: &tasks.Progress{Note: "logging in to bj-data"}},
	}
	out := render(t, load(t, evs, false), testRunbook(), "markdown")
	mustContain(t, out, "| 370ms in 2 runs, 1 failed |  | bj logs in to bj and bj-data on the old server; run 1 failed: "+refused+" |")
	if strings.Contains(out, "0 done") || strings.Contains(out, "| unknown |") {
		t.Errorf("a progress note reads as a counter:\n%s", out)
	}
}

// The runs in the downtime window are listed in the timeline's order, each
// with its number there, even when a later step started first (steps run
// beside each other).
func TestDowntimeRunsInTimelineOrder(t *testing.T) {
	hash := testRunbook().Hash
	evs := []wizard.Event{
		{Time: at(0, 0), Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: hash},
		{Time: at(1, 0), Type: wizard.EvDowntimeStart, Step: "stop-old"},
		{Time: at(1, 0), Type: wizard.EvStepStarted, Step: "stop-old", Pass: 1},
		{Time: at(1, 1), Type: wizard.EvStepFinished, Step: "stop-old", Status: wizard.StatusOK, Duration: time.Second},
		{Time: at(1, 2), Type: wizard.EvStepStarted, Step: "restore", Pass: 1},
		{Time: at(1, 3), Type: wizard.EvStepStarted, Step: "merge-queue", Pass: 1},
		{Time: at(1, 4), Type: wizard.EvStepFinished, Step: "merge-queue", Status: wizard.StatusOK, Duration: time.Second},
		{Time: at(1, 5), Type: wizard.EvStepFinished, Step: "restore", Status: wizard.StatusOK, Duration: 3 * time.Second},
	}
	out := render(t, load(t, evs, false), testRunbook(), "markdown")
	i, j := strings.Index(out, "| 8. Merge disk queue (merge-queue) |"), strings.Index(out, "| 9. Restore databases (restore) |")
	if i < 0 || j < 0 || i > j {
		t.Errorf("the downtime list is not in the timeline's order (merge-queue at %d, restore at %d):\n%s", i, j, out)
	}
}

// An exit the step accepts (its ok_exit) is no failure in the commands'
// list: not in bold, and said to be accepted.
func TestAcceptedExitIsNoFailure(t *testing.T) {
	rb := testRunbook()
	rb.Step("same-platform").Params = map[string]any{"ok_exit": []any{0, 1}}
	evs := []wizard.Event{
		{Time: at(0, 0), Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: rb.Hash},
		{Time: at(0, 1), Type: wizard.EvStepStarted, Step: "same-platform", Pass: 1},
		{Time: at(0, 2), Type: wizard.EvCommand, Step: "same-platform", Host: "new", Command: "grep DNS= /etc/sysconfig/network", Exit: exit(1)},
		{Time: at(0, 2), Type: wizard.EvCommand, Step: "same-platform", Host: "new", Command: "false", Exit: exit(2)},
		{Time: at(0, 2), Type: wizard.EvStepFinished, Step: "same-platform", Status: wizard.StatusOK, Duration: time.Second},
	}
	out := render(t, load(t, evs, false), rb, "markdown")
	mustContain(t, out, "`grep DNS= /etc/sysconfig/network` | 1 (the step accepts it) |", "`false` | **2** |")
	if strings.Contains(out, "**1**") {
		t.Errorf("an accepted exit reads as a failure:\n%s", out)
	}
}
