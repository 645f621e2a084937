package wizard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// failAfterFirst runs like fakeExec but fails every run of one step after
// its first: the extra passes of a repeatable step all fail.
type failAfterFirst struct {
	fakeExec
	step string
	runs int
}

func (f *failAfterFirst) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	out, err := f.fakeExec.Run(ctx, s, env)
	if s.ID == f.step {
		f.runs++
		if f.runs > 1 {
			return Outcome{}, fmt.Errorf("host key of the old server changed (pass %d)", f.runs)
		}
	}
	return out, err
}

// TestHeadlessFailingExtraPassesEnd: a headless run asked for many passes of
// a repeatable step whose extra passes fail ends failed after
// HeadlessMaxPassFailures attempts, naming the cause, instead of looping.
func TestHeadlessFailingExtraPassesEnd(t *testing.T) {
	dir := t.TempDir()
	rb := mustParse(t, testRunbook)
	x := &failAfterFirst{fakeExec: fakeExec{fail: map[string]int{}}, step: "hot"}
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: x})
	must(t, err)
	defer s.Close()
	set := &AnswerSet{Answers: map[string]string{"port": "22"}, Confirm: []string{"stop"}, Done: []string{"manual"}, Repeat: map[string]int{"hot": 1000}}
	var out bytes.Buffer
	err = RunHeadless(context.Background(), s, set, &out)
	var sf *StepFailedError
	if !errors.As(err, &sf) || sf.Step != "hot" {
		t.Fatalf("err = %v, want the step hot failed", err)
	}
	if !strings.Contains(sf.Message, "3 extra passes failed in a row") || !strings.Contains(sf.Message, "host key of the old server changed") {
		t.Errorf("the failure does not name the cause: %s", sf.Message)
	}
	if x.runs != 1+HeadlessMaxPassFailures {
		t.Errorf("hot ran %d times, want 1 good pass and %d failed ones", x.runs, HeadlessMaxPassFailures)
	}
	st, _ := LoadState(dir)
	if st.Status("stop") != StatusPending {
		t.Errorf("the run went on to stop (%s) after hot failed", st.Status("stop"))
	}
	if !strings.Contains(out.String(), `"type":"run_finished","status":"failed"`) {
		t.Errorf("no failed run_finished event on stdout")
	}
}

// TestHeadlessFailedPassCountsTowardsRepeat: with repeat 2, one good pass
// and one failed one make two passes: the run goes on, and the failed pass
// is a warning.
func TestHeadlessFailedPassCountsTowardsRepeat(t *testing.T) {
	dir := t.TempDir()
	rb := mustParse(t, testRunbook)
	x := &failAfterFirst{fakeExec: fakeExec{fail: map[string]int{}}, step: "hot"}
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: x})
	must(t, err)
	defer s.Close()
	set := &AnswerSet{Answers: map[string]string{"port": "22"}, Confirm: []string{"stop"}, Done: []string{"manual"}, Repeat: map[string]int{"hot": 2}}
	if err := RunHeadless(context.Background(), s, set, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if x.runs != 2 {
		t.Errorf("hot ran %d times, want 2 (the failed pass counts)", x.runs)
	}
}

// askingExec is fakeExec whose step check-a asks, as a running step may,
// a question the answers file answers with a reply that never settles it.
type askingExec struct{ fakeExec }

func (a *askingExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	if s.ID == "check-a" {
		for {
			d, err := env.Ask(NeedTrust, "key SHA256:abc")
			if err != nil {
				return Outcome{}, err
			}
			_ = d // the decision never satisfies this step: it asks again
		}
	}
	return a.fakeExec.Run(ctx, s, env)
}

// TestHeadlessSameQuestionAgainStops: a step that asks the same thing again
// after each headless reply stops the run for a person.
func TestHeadlessSameQuestionAgainStops(t *testing.T) {
	rb := mustParse(t, testRunbook)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: t.TempDir(), Exec: &askingExec{fakeExec{fail: map[string]int{}}}})
	must(t, err)
	defer s.Close()
	err = RunHeadless(context.Background(), s, &AnswerSet{TrustHostKey: "SHA256:abc"}, &bytes.Buffer{})
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "check-a" || !strings.Contains(nh.What, "asked 6 times") {
		t.Fatalf("err = %v, want a NeedsHumanError after 6 asks", err)
	}
}

// TestHeadlessManyConfirmedPasses: a destructive repeatable step asks its
// confirmation before every pass; passes that end well are progress, so
// eight of them run without tripping the repeated-question guard.
func TestHeadlessManyConfirmedPasses(t *testing.T) {
	src := strings.Replace(testRunbook, "    repeatable: true\n    safe_to_rerun: true\n", "    repeatable: true\n    destructive: true\n    precondition:\n      text: the old server answers\n      kind: path-present\n      params: {path: /etc}\n", 1)
	rb := mustParse(t, src)
	if !rb.Step("hot").Destructive {
		t.Fatal("the runbook change did not take")
	}
	x := &fakeExec{fail: map[string]int{}}
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: t.TempDir(), Exec: x})
	must(t, err)
	defer s.Close()
	set := &AnswerSet{Answers: map[string]string{"port": "22"}, Confirm: []string{"hot", "stop"}, Done: []string{"manual"}, Repeat: map[string]int{"hot": 8}}
	if err := RunHeadless(context.Background(), s, set, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, id := range x.ran {
		if id == "hot" {
			n++
		}
	}
	if n != 8 {
		t.Errorf("hot ran %d passes, want 8", n)
	}
}
