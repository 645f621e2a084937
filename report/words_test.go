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
