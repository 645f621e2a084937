package wizard_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/report"
	"github.com/ferry-migrate/ferry/wizard"
)

// passExec runs every step successfully, except the login step, which
// needs the secret "pw" to be "right" (as a database login would); it
// records the secret each login attempt saw.
type passExec struct {
	mu   sync.Mutex
	seen []string
}

func (p *passExec) Run(ctx context.Context, s *wizard.Step, env *wizard.StepEnv) (wizard.Outcome, error) {
	if s.ID == "login" {
		pw := env.Secrets["pw"]
		p.mu.Lock()
		p.seen = append(p.seen, pw)
		p.mu.Unlock()
		if pw != "right" {
			return wizard.Outcome{}, errors.New("password authentication failed")
		}
	}
	return wizard.Outcome{Message: "fine"}, nil
}

func (p *passExec) Check(ctx context.Context, s *wizard.Step, c *wizard.Check, env *wizard.StepEnv) (bool, string, error) {
	return true, "holds", nil
}

func (p *passExec) Prepare(ctx context.Context, s *wizard.Step, env *wizard.StepEnv) (map[string]string, error) {
	return nil, nil
}

const downtimeRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: login
    phase: one
    title: Log in
    help: Tries the password.
    host: old
    level: check
    kind: check-root
    ask:
      - key: pw
        prompt: Password
        type: secret
    safe_to_rerun: true
    vendor: "step 1"
  - id: stop-old
    phase: one
    title: Stop the old server by hand
    help: By hand; mail stops.
    host: old
    level: manual
    kind: manual
    downtime: start
    vendor: "step 2"
  - id: copy
    phase: one
    title: Copy
    help: Copies.
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    safe_to_rerun: true
    vendor: "step 3"
  - id: restart-new
    phase: one
    title: Restart the new server by hand
    help: By hand; mail flows again.
    host: new
    level: manual
    kind: manual
    downtime: end
    vendor: "step 4"
`

// Downtime markers on manual steps: the window opens when ferry puts the
// start step to the admin and closes when the admin confirms the end step;
// the state and the report show it closed. A retry after a refused password
// asks for it again.
func TestEngineManualDowntimeAndSecretRetry(t *testing.T) {
	rb, err := wizard.Parse("test.yaml", []byte(downtimeRunbook))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	j, past, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ex := &passExec{}
	var mu sync.Mutex
	var events []wizard.Event
	asked := 0
	var e *wizard.Engine
	sink := func(ev wizard.Event) {
		mu.Lock()
		events = append(events, ev)
		var d wizard.Decision
		switch ev.Need {
		case wizard.NeedAnswers:
			asked++
			pw := "wrong"
			if asked > 1 {
				pw = "right"
			}
			d = wizard.Decision{Action: wizard.ActAnswer, Answer: map[string]string{"pw": pw}}
		case wizard.NeedFailure:
			d = wizard.Decision{Action: wizard.ActRetry}
		case wizard.NeedManual:
			d = wizard.Decision{Action: wizard.ActDone}
		case "":
			mu.Unlock()
			return
		default:
			d = wizard.Decision{Action: wizard.ActQuit}
		}
		mu.Unlock()
		d.Step = ev.Step
		e.Decide(d)
	}
	e = wizard.NewEngine(rb, j, past, ex, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}

	if strings.Join(ex.seen, ",") != "wrong,right" || asked != 2 {
		t.Errorf("the login step saw the passwords %q after %d question(s); want wrong, then right after asking again", ex.seen, asked)
	}
	st, err := wizard.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() || st.DowntimeEnd.Before(st.DowntimeStart) {
		t.Fatalf("downtime window %v .. %v: the manual steps did not mark it", st.DowntimeStart, st.DowntimeEnd)
	}
	// The window opens before the start step's confirmation and closes
	// after the end step's.
	var order []string
	for _, ev := range st.Events {
		switch {
		case ev.Type == wizard.EvDowntimeStart, ev.Type == wizard.EvDowntimeEnd:
			order = append(order, string(ev.Type)+":"+ev.Step)
		case ev.Type == wizard.EvStepFinished && (ev.Step == "stop-old" || ev.Step == "restart-new"):
			order = append(order, "done:"+ev.Step)
		}
	}
	want := "downtime_start:stop-old,done:stop-old,done:restart-new,downtime_end:restart-new"
	if strings.Join(order, ",") != want {
		t.Errorf("events %q, want %q", strings.Join(order, ","), want)
	}
	journal, err := os.ReadFile(filepath.Join(dir, wizard.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(journal, []byte("wrong")) || bytes.Contains(journal, []byte("right")) {
		t.Error("a typed password reached the journal")
	}
	var out bytes.Buffer
	if err := report.Write(&out, st, rb, report.FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Downtime lasted") || strings.Contains(out.String(), "still open") {
		t.Errorf("the report does not show the window closed:\n%s", out.String())
	}
}

// checkExec is passExec whose checks fail a given number of times first.
type checkExec struct {
	passExec
	mu     sync.Mutex
	fails  int
	checks int
}

func (c *checkExec) Check(ctx context.Context, s *wizard.Step, ck *wizard.Check, env *wizard.StepEnv) (bool, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks++
	if c.fails > 0 {
		c.fails--
		return false, "t_flag: 900 rows on the source, 897 on the target", nil
	}
	return true, "holds", nil
}

const guardedManualRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: switch-off
    phase: one
    title: Switch the old server off
    help: By hand, once the copy is proven.
    host: old
    level: manual
    kind: manual
    destructive: true
    precondition:
      text: Every table has the same number of rows on both servers.
      kind: check-root
    vendor: "step 1"
`

// A manual step's precondition is checked before the step is put to the
// admin: while it fails the step is not offered; a retry checks again.
func TestEngineManualStepChecksItsPrecondition(t *testing.T) {
	rb, err := wizard.Parse("test.yaml", []byte(guardedManualRunbook))
	if err != nil {
		t.Fatal(err)
	}
	for _, retry := range []bool{false, true} {
		dir := t.TempDir()
		j, past, _, err := wizard.OpenJournal(dir)
		if err != nil {
			t.Fatal(err)
		}
		ex := &checkExec{fails: 1}
		var e *wizard.Engine
		var mu sync.Mutex
		var needs []string
		e = wizard.NewEngine(rb, j, past, ex, func(ev wizard.Event) {
			if ev.Type != wizard.EvWaiting {
				return
			}
			mu.Lock()
			needs = append(needs, ev.Need)
			mu.Unlock()
			d := wizard.Decision{Step: ev.Step, Action: wizard.ActDone, Text: ev.Word}
			if ev.Need == wizard.NeedFailure {
				d.Action = wizard.ActContinue
				if retry {
					d.Action = wizard.ActRetry
				}
			}
			e.Decide(d)
		})
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = e.Run(ctx)
		cancel()
		j.Close()
		st, lerr := wizard.LoadState(dir)
		if lerr != nil {
			t.Fatal(lerr)
		}
		got := strings.Join(needs, ",")
		if !retry {
			var sf *wizard.StepFailedError
			if !errors.As(err, &sf) || !strings.Contains(sf.Message, "897 on the target") || got != wizard.NeedFailure || st.Status("switch-off") == wizard.StatusOK {
				t.Errorf("a failing guard: err %v, waits %q, status %s; want the step refused before it is offered", err, got, st.Status("switch-off"))
			}
			continue
		}
		if err != nil || got != wizard.NeedFailure+","+wizard.NeedManual || ex.checks != 2 || st.Status("switch-off") != wizard.StatusOK {
			t.Errorf("a retried guard: err %v, waits %q, %d checks, status %s", err, got, ex.checks, st.Status("switch-off"))
		}
	}
}
