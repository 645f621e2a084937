package wizard_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/report"
	"github.com/ferry-migrate/ferry/wizard"
)

// retryRunbook: stop opens the downtime and is retried when it fails;
// start closes it.
const retryRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: stop
    phase: one
    title: Stop the service
    help: Mail stops flowing.
    host: old
    level: auto
    kind: command
    commands:
      any: [[service, x, stop]]
    downtime: start
    safe_to_rerun: true
    vendor: "step 1"
  - id: start
    phase: one
    title: Start on new
    help: Mail flows again.
    host: new
    level: auto
    kind: command
    commands:
      any: [[service, x, start]]
    downtime: end
    safe_to_rerun: true
    vendor: "step 2"
`

// failingExec is passExec whose step stop fails its first two passes.
type failingExec struct {
	passExec
	mu    sync.Mutex
	fails int
}

func (f *failingExec) Run(ctx context.Context, s *wizard.Step, env *wizard.StepEnv) (wizard.Outcome, error) {
	f.mu.Lock()
	fail := s.ID == "stop" && f.fails < 2
	if fail {
		f.fails++
	}
	f.mu.Unlock()
	if fail {
		return wizard.Outcome{}, errors.New("the service did not stop")
	}
	return f.passExec.Run(ctx, s, env)
}

// tickClock is an engine clock that moves on ten seconds at each event, so
// that every event of a test run has its own second in the report.
type tickClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *tickClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(10 * time.Second)
	return c.t
}

// TestEngineRetriedDowntimeStepKeepsTheFirstStart: the step that opens the
// downtime (stop) fails twice and is retried, within one run and across a
// run stopped at the failure and resumed. The window opens once, before
// the first attempt: one downtime_start event, the state's start is its
// time, and the report's window runs from it to the end.
func TestEngineRetriedDowntimeStepKeepsTheFirstStart(t *testing.T) {
	rb, err := wizard.Parse("test.yaml", []byte(retryRunbook))
	if err != nil {
		t.Fatal(err)
	}
	for _, resume := range []bool{false, true} {
		name := "retry"
		if resume {
			name = "quit-then-resume"
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			clock := &tickClock{t: time.Date(2026, 8, 24, 1, 0, 0, 0, time.UTC)}
			ex := &failingExec{}
			quit := resume
			run := func() error {
				j, past, _, err := wizard.OpenJournal(dir)
				if err != nil {
					t.Fatal(err)
				}
				defer j.Close()
				var e *wizard.Engine
				e = wizard.NewEngine(rb, j, past, ex, func(ev wizard.Event) {
					if ev.Type != wizard.EvWaiting {
						return
					}
					d := wizard.Decision{Step: ev.Step, Action: wizard.ActQuit}
					switch {
					case ev.Need == wizard.NeedFailure && !quit:
						d.Action = wizard.ActRetry
					case ev.Need == wizard.NeedFailure:
						quit = false
					case ev.Need == wizard.NeedRepeat:
						d.Action = wizard.ActContinue
					}
					e.Decide(d)
				})
				wizard.SetClock(e, clock.now)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				return e.Run(ctx)
			}
			err := run()
			if resume {
				if !errors.Is(err, wizard.ErrStopped) {
					t.Fatalf("the first run ended with %v, want it stopped at the failure", err)
				}
				err = run()
			}
			if err != nil {
				t.Fatal(err)
			}
			st, err := wizard.LoadState(dir)
			if err != nil {
				t.Fatal(err)
			}
			var starts, ends, attempts []time.Time
			for _, ev := range st.Events {
				switch {
				case ev.Type == wizard.EvDowntimeStart:
					starts = append(starts, ev.Time)
				case ev.Type == wizard.EvDowntimeEnd:
					ends = append(ends, ev.Time)
				case ev.Type == wizard.EvStepStarted && ev.Step == "stop":
					attempts = append(attempts, ev.Time)
				}
			}
			if len(attempts) != 3 {
				t.Fatalf("stop ran %d times, want 3 (two failures, then a pass)", len(attempts))
			}
			if len(starts) != 1 || !starts[0].Before(attempts[0]) {
				t.Fatalf("downtime_start events at %v; want one, before the first attempt (%v)", starts, attempts[0])
			}
			if len(ends) != 1 || !ends[0].After(attempts[2]) {
				t.Fatalf("downtime_end events at %v; want one, after the last attempt of stop (%v)", ends, attempts[2])
			}
			if !st.DowntimeStart.Equal(starts[0]) || st.DowntimeEnd.IsZero() {
				t.Fatalf("the state's window %v .. %v, want it to open at %v", st.DowntimeStart, st.DowntimeEnd, starts[0])
			}
			var out bytes.Buffer
			if err := report.Write(&out, st, rb, report.FormatMarkdown); err != nil {
				t.Fatal(err)
			}
			const layout = "2006-01-02 15:04:05 UTC"
			want := "Downtime lasted " + st.DowntimeEnd.Sub(starts[0]).String() + ", from " + starts[0].Format(layout) + " to " + st.DowntimeEnd.Format(layout)
			if !strings.Contains(out.String(), want) {
				t.Fatalf("the report lacks %q:\n%s", want, out.String())
			}
		})
	}
}

// TestReplayKeepsTheFirstDowntimeStart: a journal holding two
// downtime_start events (a step retried by an older ferry) reads with the
// window opening at the first.
func TestReplayKeepsTheFirstDowntimeStart(t *testing.T) {
	t0 := time.Date(2026, 8, 24, 1, 0, 0, 0, time.UTC)
	st := wizard.Replay([]wizard.Event{
		{Seq: 1, Type: wizard.EvDowntimeStart, Step: "stop", Time: t0},
		{Seq: 2, Type: wizard.EvDowntimeStart, Step: "stop", Time: t0.Add(time.Minute)},
		{Seq: 3, Type: wizard.EvDowntimeEnd, Step: "start", Time: t0.Add(5 * time.Minute)},
	})
	if !st.DowntimeStart.Equal(t0) || !st.DowntimeEnd.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("window %v .. %v, want %v .. %v", st.DowntimeStart, st.DowntimeEnd, t0, t0.Add(5*time.Minute))
	}
}
