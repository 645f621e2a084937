package wizard_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

const skippedStopRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: stop-old
    phase: one
    title: Stop the old server
    help: Mail stops.
    host: old
    level: auto
    kind: command
    commands:
      any: [[true]]
    destructive: true
    safe_to_rerun: true
    precondition:
      text: Reachable.
      kind: check-root
    downtime: start
    vendor: "step 1"
  - id: start-new
    phase: one
    title: Start the new server
    help: Mail flows again.
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    safe_to_rerun: true
    downtime: end
    vendor: "step 2"
`

// TestSkippedStopStillOpensTheDowntime: the automatic step that stops the
// service is skipped at its confirmation ("stopped by hand"): the window is
// recorded as begun when the next step of it starts (not at the skip: the
// admin may stop the service by hand only later), so the report shows a
// downtime with both ends rather than an end without a start.
func TestSkippedStopStillOpensTheDowntime(t *testing.T) {
	st := runTestEngine(t, skippedStopRunbook, &passExec{}, func(ev wizard.Event) wizard.Decision {
		if ev.Need == wizard.NeedConfirm {
			return wizard.Decision{Action: wizard.ActSkip, Reason: "stopped by hand"}
		}
		return wizard.Decision{Action: wizard.ActQuit}
	})
	var order []string
	for _, ev := range st.Events {
		switch ev.Type {
		case wizard.EvSkipped, wizard.EvDowntimeStart, wizard.EvDowntimeEnd:
			order = append(order, string(ev.Type)+":"+ev.Step)
		}
	}
	if want := "skipped:stop-old,downtime_start:start-new,downtime_end:start-new"; strings.Join(order, ",") != want {
		t.Errorf("events %q, want %q", strings.Join(order, ","), want)
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.Before(st.DowntimeStart) {
		t.Errorf("downtime window %v .. %v", st.DowntimeStart, st.DowntimeEnd)
	}
}

// runTestEngine runs the runbook text through an engine with executor ex,
// a journal in a temporary directory, and decide answering every waiting
// event (its Step filled in here); it returns the state the journal holds
// at the end. The run must end without an error within 20 s.
func runTestEngine(t *testing.T, runbook string, ex wizard.Executor, decide func(wizard.Event) wizard.Decision) *wizard.State {
	t.Helper()
	rb, err := wizard.Parse("test.yaml", []byte(runbook))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	j, past, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var e *wizard.Engine
	sink := func(ev wizard.Event) {
		if ev.Need == "" {
			return
		}
		d := decide(ev)
		d.Step = ev.Step
		go e.Decide(d)
	}
	e = wizard.NewEngine(rb, j, past, ex, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := wizard.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
