package wizard

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

const testRunbook = `
id: test
title: A test procedure
vendor: none
params:
  greeting: hello
phases:
  - id: one
    title: First
  - id: two
    title: Second
steps:
  - id: check-a
    phase: one
    title: A check
    help: Checks a thing.
    host: new
    level: check
    kind: check-root
    safe_to_rerun: true
    vendor: "step 1"
  - id: ask-b
    phase: one
    title: Asks a port
    help: Asks.
    host: new
    level: ask
    kind: record
    ask:
      - key: port
        prompt: SSH port
        type: port
    safe_to_rerun: true
    vendor: "step 2"
  - id: hot
    phase: one
    title: Hot pass
    help: Copies while running.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - [echo, "{{.Params.greeting}}", "{{.Answers.port}}"]
    repeatable: true
    safe_to_rerun: true
    vendor: "step 3"
  - id: stop
    phase: two
    title: Stop the service
    help: Stops it; mail stops flowing.
    host: old
    level: auto
    kind: command
    commands:
      any: [[service, x, stop]]
    destructive: true
    downtime: start
    precondition:
      text: the old server answers
      kind: path-present
      params: {path: /etc}
    vendor: "step 4"
  - id: manual
    phase: two
    title: Move the IPs
    help: By hand.
    host: new
    level: manual
    kind: manual
    vendor: "step 5"
  - id: start
    phase: two
    title: Start on new
    help: Starts it.
    host: new
    level: auto
    kind: command
    commands:
      any: [[service, x, start]]
    downtime: end
    safe_to_rerun: true
    vendor: "step 6"
`

// fakeExec records what ran and fails steps on demand. It is the engine's
// collaborator, not the thing under test.
type fakeExec struct {
	mu     sync.Mutex
	ran    []string
	fail   map[string]int // step id -> failures left
	block  map[string]chan struct{}
	checks int
}

func (f *fakeExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	f.mu.Lock()
	f.ran = append(f.ran, s.ID)
	n := f.fail[s.ID]
	if n > 0 {
		f.fail[s.ID] = n - 1
	}
	ch := f.block[s.ID]
	f.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return Outcome{}, ctx.Err()
		}
	}
	env.Report.Line("stdout", "working on "+s.ID)
	env.Report.Progress(tasks.Progress{Unit: "files", Done: 5, Total: 5})
	if n > 0 {
		return Outcome{}, fmt.Errorf("boom in %s", s.ID)
	}
	var cmds []CommandRecord
	for _, c := range s.CommandsFor(env.Data.Family) {
		var words []string
		for _, w := range c.Argv {
			r, _ := Render(w, env.Data)
			words = append(words, r)
		}
		cmds = append(cmds, CommandRecord{Host: s.Host, Command: strings.Join(words, " "), Exit: 0})
	}
	facts := map[string]string(nil)
	if s.ID == "check-a" {
		facts = map[string]string{"old_name": "mail-old", "new_family": "rhel"}
	}
	return Outcome{Message: "fine", Commands: cmds, Facts: facts}, nil
}

func (f *fakeExec) Prepare(ctx context.Context, s *Step, env *StepEnv) (map[string]string, error) {
	return nil, nil
}

func (f *fakeExec) Check(ctx context.Context, s *Step, c *Check, env *StepEnv) (bool, string, error) {
	f.mu.Lock()
	f.checks++
	f.mu.Unlock()
	return true, "it holds", nil
}

// autoPilot answers every waiting event like a scripted admin.
type autoPilot struct {
	mu      sync.Mutex
	e       *Engine
	events  []Event
	script  func(ev Event) (Decision, bool)
	waiting []Event
}

func (a *autoPilot) sink(ev Event) {
	a.mu.Lock()
	a.events = append(a.events, ev)
	a.mu.Unlock()
	if ev.Type != EvWaiting {
		return
	}
	a.mu.Lock()
	a.waiting = append(a.waiting, ev)
	a.mu.Unlock()
	if d, ok := a.script(ev); ok {
		d.Step = ev.Step
		a.e.Decide(d)
	}
}

func defaultScript(ev Event) (Decision, bool) {
	switch ev.Need {
	case NeedAnswers:
		return Decision{Action: ActAnswer, Answer: map[string]string{"port": "2222"}}, true
	case NeedConfirm:
		return Decision{Action: ActConfirm, Text: ev.Word}, true
	case NeedManual:
		return Decision{Action: ActDone}, true
	case NeedRepeat:
		return Decision{Action: ActContinue}, true
	}
	return Decision{Action: ActQuit}, true
}

func mustParse(t *testing.T, src string) *Runbook {
	t.Helper()
	rb, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return rb
}

func runEngine(t *testing.T, dir string, rb *Runbook, ex Executor, script func(Event) (Decision, bool)) (*autoPilot, error) {
	t.Helper()
	j, past, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	ap := &autoPilot{script: script}
	e := NewEngine(rb, j, past, ex, ap.sink)
	ap.e = e
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return ap, e.Run(ctx)
}

func TestEngineRunsEveryStepInOrder(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	ex := &fakeExec{fail: map[string]int{}}
	ap, err := runEngine(t, dir, rb, ex, defaultScript)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"check-a", "ask-b", "hot", "stop", "start"}
	if strings.Join(ex.ran, ",") != strings.Join(want, ",") {
		t.Fatalf("ran %v, want %v", ex.ran, want)
	}
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rb.Steps {
		if st.Status(s.ID) != StatusOK {
			t.Errorf("step %s is %s, want ok", s.ID, st.Status(s.ID))
		}
	}
	if st.Answers["port"] != "2222" {
		t.Errorf("answer port = %q", st.Answers["port"])
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() || st.DowntimeEnd.Before(st.DowntimeStart) {
		t.Errorf("downtime window %v .. %v", st.DowntimeStart, st.DowntimeEnd)
	}
	if !st.Finished {
		t.Error("run not marked finished")
	}
	// The template in the hot pass's command rendered with params and answers.
	var sawCmd bool
	for _, ev := range st.Events {
		if ev.Type == EvCommand && ev.Command == "echo hello 2222" {
			sawCmd = true
		}
	}
	if !sawCmd {
		t.Error("no command event with the rendered template")
	}
	// The destructive step asked for the old server's name learnt as a fact.
	var word string
	for _, w := range ap.waiting {
		if w.Need == NeedConfirm {
			word = w.Word
		}
	}
	if word != "mail-old" {
		t.Errorf("confirmation word %q, want mail-old", word)
	}
	// Precondition checked twice for the destructive step (before asking and
	// right before running).
	if ex.checks != 2 {
		t.Errorf("precondition checks = %d, want 2", ex.checks)
	}
}

func TestEngineRefusesWrongConfirmation(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	ex := &fakeExec{fail: map[string]int{}}
	tries := 0
	script := func(ev Event) (Decision, bool) {
		if ev.Need == NeedConfirm {
			tries++
			if tries == 1 {
				return Decision{Action: ActConfirm, Text: "yes"}, true
			}
			return Decision{Action: ActQuit}, true
		}
		return defaultScript(ev)
	}
	_, err := runEngine(t, dir, rb, ex, script)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v, want ErrStopped", err)
	}
	for _, id := range ex.ran {
		if id == "stop" {
			t.Fatal("destructive step ran without the right word")
		}
	}
}

func TestEngineFailureRetrySkip(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	ex := &fakeExec{fail: map[string]int{"check-a": 1, "start": 5}}
	script := func(ev Event) (Decision, bool) {
		if ev.Need == NeedFailure {
			if ev.Step == "check-a" {
				return Decision{Action: ActRetry}, true
			}
			return Decision{Action: ActSkip, Reason: "started by hand"}, true
		}
		return defaultScript(ev)
	}
	if _, err := runEngine(t, dir, rb, ex, script); err != nil {
		t.Fatal(err)
	}
	st, _ := LoadState(dir)
	if st.Status("check-a") != StatusOK {
		t.Errorf("check-a %s after retry", st.Status("check-a"))
	}
	if st.Status("start") != StatusSkipped || st.Steps["start"].Message != "started by hand" {
		t.Errorf("start: %s %q", st.Status("start"), st.Steps["start"].Message)
	}
}

func TestEngineResumeAfterCrash(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	// First run: the hot pass blocks, and the run is cut off (as by kill -9:
	// the journal shows the step running).
	block := make(chan struct{})
	ex := &fakeExec{fail: map[string]int{}, block: map[string]chan struct{}{"hot": block}}
	j, past, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ap := &autoPilot{script: defaultScript}
	e := NewEngine(rb, j, past, ex, ap.sink)
	ap.e = e
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- e.Run(ctx) }()
	deadline := time.Now().Add(time.Minute)
	// Read from the file, a step that is running reads as interrupted: the
	// journal alone cannot tell a live run from a dead one (the lock can).
	for LoadStateMust(t, dir).Status("hot") != StatusInterrupted {
		if time.Now().After(deadline) {
			t.Fatal("hot pass never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Simulate the crash: no more journal writes from this engine.
	j.Close()
	cancel()
	<-done
	st := LoadStateMust(t, dir)
	if st.Status("hot") != StatusInterrupted {
		t.Fatalf("hot is %s, want interrupted", st.Status("hot"))
	}
	// Second run: finished steps stay finished, the answer is not asked
	// again, the interrupted (safe) step runs again.
	ex2 := &fakeExec{fail: map[string]int{}}
	ap2, err := runEngine(t, dir, rb, ex2, defaultScript)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ex2.ran, ","); got != "hot,stop,start" {
		t.Errorf("second run ran %s", got)
	}
	for _, w := range ap2.waiting {
		if w.Need == NeedAnswers {
			t.Error("asked again for an answer the journal has")
		}
	}
}

func LoadStateMust(t *testing.T, dir string) *State {
	t.Helper()
	st, err := LoadState(dir)
	if err != nil && !errors.Is(err, ErrNoJournal) {
		t.Fatal(err)
	}
	if st == nil {
		return &State{Steps: map[string]*StepRecord{}}
	}
	return st
}

func TestEngineInterruptedDestructiveStepAsks(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	// A journal where everything up to "stop" finished and "stop" was
	// running when ferry died.
	for _, ev := range []Event{
		{Type: EvRunStarted, Runbook: rb.ID, Hash: rb.Hash},
		{Type: EvAnswered, Answers: map[string]string{"port": "22"}},
		{Type: EvStepStarted, Step: "check-a"}, {Type: EvStepFinished, Step: "check-a", Status: StatusOK},
		{Type: EvStepStarted, Step: "ask-b"}, {Type: EvStepFinished, Step: "ask-b", Status: StatusOK},
		{Type: EvStepStarted, Step: "hot"}, {Type: EvStepFinished, Step: "hot", Status: StatusOK},
		{Type: EvConfirmed, Step: "stop"},
		{Type: EvStepStarted, Step: "stop"},
	} {
		if _, err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	j.Close()
	ex := &fakeExec{fail: map[string]int{}}
	var needs []string
	script := func(ev Event) (Decision, bool) {
		needs = append(needs, ev.Need)
		if ev.Need == NeedResume {
			return Decision{Action: ActRetry}, true
		}
		return defaultScript(ev)
	}
	if _, err := runEngine(t, dir, rb, ex, script); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(needs, ",")
	// hot asks whether to repeat (its repeat question was never answered),
	// then stop asks about the interruption and for a fresh confirmation.
	if !strings.Contains(got, NeedResume+","+NeedConfirm) {
		t.Errorf("waits = %s, want a resume question then a new confirmation", got)
	}
}

func TestEngineChangedRunbookIsNamed(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	if _, err := runEngine(t, dir, rb, &fakeExec{fail: map[string]int{}}, defaultScript); err != nil {
		t.Fatal(err)
	}
	rb2 := mustParse(t, strings.Replace(testRunbook, "greeting: hello", "greeting: bonjour", 1))
	var msg string
	script := func(ev Event) (Decision, bool) {
		if ev.Need == NeedChanged {
			msg = ev.Message
			return Decision{Action: ActQuit}, true
		}
		return defaultScript(ev)
	}
	_, err := runEngine(t, dir, rb2, &fakeExec{fail: map[string]int{}}, script)
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(msg, "test.yaml") || !strings.Contains(msg, "changed") {
		t.Errorf("message %q does not name the changed runbook", msg)
	}
}

func TestPredictNext(t *testing.T) {
	s := time.Second
	for _, c := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{[]time.Duration{100 * s}, 100 * s},
		{[]time.Duration{100 * s, 50 * s}, 25 * s},
		{[]time.Duration{100 * s, 120 * s}, 120 * s},
		{[]time.Duration{100 * s, 5 * s}, s / 2}, // 0.25s, clamped at a tenth of the last pass
	} {
		if got := PredictNext(c.in); got != c.want {
			t.Errorf("PredictNext(%v) = %v, want %v", c.in, PredictNext(c.in), c.want)
		}
	}
}

// TestEngineStepFinishedCarriesItsPass: each run of a repeatable step
// finishes with the pass number it started with, so that a reader of the
// events pairs them; the step's last finish, when the admin goes on, has
// none (it ran nothing).
func TestEngineStepFinishedCarriesItsPass(t *testing.T) {
	rb := mustParse(t, testRunbook)
	repeats := 0
	script := func(ev Event) (Decision, bool) {
		if ev.Need == NeedRepeat && repeats < 1 {
			repeats++
			return Decision{Action: ActRepeat}, true
		}
		return defaultScript(ev)
	}
	ap, err := runEngine(t, t.TempDir(), rb, &fakeExec{fail: map[string]int{}}, script)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range ap.events {
		if ev.Step == "hot" && (ev.Type == EvStepStarted || ev.Type == EvStepFinished) {
			got = append(got, fmt.Sprintf("%s:%d", ev.Type, ev.Pass))
		}
	}
	want := "step_started:1,step_finished:1,step_started:2,step_finished:2,step_finished:0"
	if strings.Join(got, ",") != want {
		t.Errorf("hot's events %s, want %s", strings.Join(got, ","), want)
	}
}
