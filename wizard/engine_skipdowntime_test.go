package wizard_test

import (
	"context"
	"strings"
	"sync"
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
// recorded as begun right after the skip, so the report shows a downtime
// with both ends rather than an end without a start.
func TestSkippedStopStillOpensTheDowntime(t *testing.T) {
	rb, err := wizard.Parse("test.yaml", []byte(skippedStopRunbook))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	j, past, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var mu sync.Mutex
	var e *wizard.Engine
	sink := func(ev wizard.Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Need {
		case "":
		case wizard.NeedConfirm:
			go e.Decide(wizard.Decision{Step: ev.Step, Action: wizard.ActSkip, Reason: "stopped by hand"})
		default:
			go e.Decide(wizard.Decision{Step: ev.Step, Action: wizard.ActQuit})
		}
	}
	e = wizard.NewEngine(rb, j, past, &passExec{}, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := wizard.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, ev := range st.Events {
		switch ev.Type {
		case wizard.EvSkipped, wizard.EvDowntimeStart, wizard.EvDowntimeEnd:
			order = append(order, string(ev.Type)+":"+ev.Step)
		}
	}
	if want := "skipped:stop-old,downtime_start:stop-old,downtime_end:start-new"; strings.Join(order, ",") != want {
		t.Errorf("events %q, want %q", strings.Join(order, ","), want)
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.Before(st.DowntimeStart) {
		t.Errorf("downtime window %v .. %v", st.DowntimeStart, st.DowntimeEnd)
	}
}
