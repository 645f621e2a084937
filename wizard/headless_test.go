package wizard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func headlessRun(t *testing.T, dir string, set *AnswerSet, seed map[string]string) ([]Event, error) {
	t.Helper()
	rb := mustParse(t, testRunbook)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: &fakeExec{fail: map[string]int{}}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out bytes.Buffer
	err = RunHeadless(context.Background(), s, set, &out)
	var evs []Event
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var ev Event
		if jerr := json.Unmarshal(sc.Bytes(), &ev); jerr != nil {
			t.Fatalf("line is not one JSON event: %q: %v", sc.Text(), jerr)
		}
		evs = append(evs, ev)
	}
	return evs, err
}

func TestHeadlessStopsAtTheFirstUncoveredStep(t *testing.T) {
	dir := t.TempDir()
	_, err := headlessRun(t, dir, &AnswerSet{Answers: map[string]string{"port": "22"}}, nil)
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || !errors.Is(err, ErrNeedsHuman) {
		t.Fatalf("err = %v, want NeedsHumanError", err)
	}
	if nh.Step != "stop" || nh.Need != NeedConfirm {
		t.Errorf("stopped at %s (%s), want the destructive step stop needing a confirmation", nh.Step, nh.Need)
	}
	st, _ := LoadState(dir)
	if st.Status("stop") == StatusOK || st.Status("hot") != StatusOK {
		t.Errorf("stop=%s hot=%s", st.Status("stop"), st.Status("hot"))
	}
}

func TestHeadlessMissingAnswer(t *testing.T) {
	_, err := headlessRun(t, t.TempDir(), &AnswerSet{}, nil)
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "ask-b" || nh.Need != NeedAnswers {
		t.Fatalf("err = %v", err)
	}
}

func TestHeadlessCompletesWithAFullAnswersFile(t *testing.T) {
	dir := t.TempDir()
	set := &AnswerSet{Confirm: []string{"stop"}, Done: []string{"manual"}, Repeat: map[string]int{"hot": 2}}
	evs, err := headlessRun(t, dir, set, map[string]string{"port": "2200"})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[len(evs)-1].Type != EvRunFinished {
		t.Fatalf("last event is not run_finished: %+v", evs[len(evs)-1])
	}
	st, _ := LoadState(dir)
	if got := len(st.Steps["hot"].Passes); got != 2 {
		t.Errorf("hot ran %d passes, want 2", got)
	}
	if st.Answers["port"] != "2200" {
		t.Errorf("seeded answer: %q", st.Answers["port"])
	}
	var actor string
	for _, ev := range st.Events {
		if ev.Type == EvConfirmed {
			actor = ev.Actor
		}
	}
	if !strings.HasPrefix(actor, "answers file") || !strings.Contains(actor, "(run by ") {
		t.Errorf("confirmed by %q", actor)
	}
}

func TestSessionLock(t *testing.T) {
	dir := t.TempDir()
	rb := mustParse(t, testRunbook)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: &fakeExec{}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: &fakeExec{}})
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("second session: %v", err)
	}
}

// TestAnswersFileReplaysARun: the answers file rebuilt from a finished run
// drives a fresh run to the end headless.
func TestAnswersFileReplaysARun(t *testing.T) {
	dir := t.TempDir()
	set := &AnswerSet{Answers: map[string]string{"port": "2222"}, Confirm: []string{"stop"}, Done: []string{"manual"}, Repeat: map[string]int{"hot": 2}}
	if _, err := headlessRun(t, dir, set, nil); err != nil {
		t.Fatal(err)
	}
	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	replay := AnswerSetFromState(st, mustParse(t, testRunbook))
	if replay.Answers["port"] != "2222" || len(replay.Confirm) != 1 || len(replay.Done) != 1 || replay.Repeat["hot"] != 2 {
		t.Fatalf("rebuilt answers file: %+v", replay)
	}
	if _, err := headlessRun(t, t.TempDir(), replay, nil); err != nil {
		t.Fatalf("replay: %v", err)
	}
}
