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

// portExec fails step ask-b while its port answer is "1" (a wrong answer
// the admin must be able to correct); everything else is fakeExec's.
type portExec struct{ fakeExec }

func (p *portExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	if s.ID == "ask-b" && env.Data.Answers["port"] == "1" {
		p.mu.Lock()
		p.ran = append(p.ran, s.ID)
		p.mu.Unlock()
		return Outcome{}, errors.New("nothing listens on port 1")
	}
	return p.fakeExec.Run(ctx, s, env)
}

// portAnswers returns the answered events of the journal in dir that
// carry the port, in order.
func portAnswers(t *testing.T, dir string) []Event {
	t.Helper()
	st := LoadStateMust(t, dir)
	var out []Event
	for _, ev := range st.Events {
		if ev.Type == EvAnswered && ev.Answers["port"] != "" {
			out = append(out, ev)
		}
	}
	return out
}

func TestRetryAfterAFailurePutsTheStepsQuestionsAgainPrefilled(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	var reasked []Event
	script := func(ev Event) (Decision, bool) {
		switch {
		case ev.Need == NeedAnswers && ev.Step == "ask-b" && len(ev.Answers) > 0:
			reasked = append(reasked, ev)
			return Decision{Action: ActAnswer, Answer: map[string]string{"port": "2222"}}, true
		case ev.Need == NeedAnswers:
			return Decision{Action: ActAnswer, Answer: map[string]string{"port": "1"}}, true
		case ev.Need == NeedFailure:
			return Decision{Action: ActRetry}, true
		}
		return defaultScript(ev)
	}
	if _, err := runEngine(t, dir, rb, &portExec{fakeExec{fail: map[string]int{}}}, script); err != nil {
		t.Fatal(err)
	}
	if len(reasked) != 1 || reasked[0].Questions[0].Default != "1" || reasked[0].Answers["port"] != "1" {
		t.Fatalf("after the failure the port question was put %d times, want once pre-filled with 1: %+v", len(reasked), reasked)
	}
	st := LoadStateMust(t, dir)
	if st.Answers["port"] != "2222" || st.Status("ask-b") != StatusOK {
		t.Fatalf("port %q, ask-b %s: want 2222 and ok", st.Answers["port"], st.Status("ask-b"))
	}
	evs := portAnswers(t, dir)
	if len(evs) != 2 || evs[0].Answers["port"] != "1" || !strings.Contains(evs[1].Message, `"1" to "2222"`) {
		t.Fatalf("journal: want the first answer kept and a second naming old and new, got %+v", evs)
	}
}

func TestResumeOfAFailedStepPutsItsQuestionsAgain(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	first := func(ev Event) (Decision, bool) {
		if ev.Need == NeedAnswers {
			return Decision{Action: ActAnswer, Answer: map[string]string{"port": "1"}}, true
		}
		return Decision{Action: ActQuit}, true
	}
	if _, err := runEngine(t, dir, rb, &portExec{fakeExec{fail: map[string]int{}}}, first); !errors.Is(err, ErrStopped) {
		t.Fatalf("first run: %v, want stopped at the failure", err)
	}
	var prefilled string
	second := func(ev Event) (Decision, bool) {
		if ev.Need == NeedAnswers {
			prefilled = ev.Questions[0].Default
			return Decision{Action: ActAnswer, Answer: map[string]string{"port": "2222"}}, true
		}
		return defaultScript(ev)
	}
	if _, err := runEngine(t, dir, rb, &portExec{fakeExec{fail: map[string]int{}}}, second); err != nil {
		t.Fatal(err)
	}
	if prefilled != "1" {
		t.Fatalf("on resume the port question was pre-filled with %q, want 1", prefilled)
	}
	if st := LoadStateMust(t, dir); st.Answers["port"] != "2222" || st.Status("ask-b") != StatusOK {
		t.Fatalf("port %q, ask-b %s", st.Answers["port"], st.Status("ask-b"))
	}
}

func headlessPortRun(t *testing.T, dir string, set *AnswerSet, seed map[string]string) ([]Event, error) {
	t.Helper()
	rb := mustParse(t, testRunbook)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: &portExec{fakeExec{fail: map[string]int{}}}, Seed: seed})
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
			t.Fatal(jerr)
		}
		evs = append(evs, ev)
	}
	return evs, err
}

func TestHeadlessRefusesToReplayTheValueThatFailed(t *testing.T) {
	dir := t.TempDir()
	set := &AnswerSet{Answers: map[string]string{"port": "1"}, Confirm: []string{"stop"}, Done: []string{"manual"}}
	var sf *StepFailedError
	if _, err := headlessPortRun(t, dir, set, nil); !errors.As(err, &sf) || sf.Step != "ask-b" {
		t.Fatalf("first run: %v, want ask-b failed", err)
	}
	_, err := headlessPortRun(t, dir, set, nil)
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "ask-b" || !strings.Contains(nh.What, "change port") {
		t.Fatalf("same value again: %v, want a NeedsHumanError naming port", err)
	}
	set.Answers["port"] = "2222"
	if _, err := headlessPortRun(t, dir, set, nil); err != nil {
		t.Fatalf("corrected value: %v", err)
	}
	st := LoadStateMust(t, dir)
	if st.Answers["port"] != "2222" || st.Status("ask-b") != StatusOK {
		t.Fatalf("port %q, ask-b %s", st.Answers["port"], st.Status("ask-b"))
	}
	if evs := portAnswers(t, dir); len(evs) != 2 || !strings.HasPrefix(evs[1].Actor, "answers file") {
		t.Fatalf("journal: %+v, want the failed answer and the correction by the answers file", evs)
	}
}

func TestAnswersFileOverridesAJournaledAnswerOfAStepNotDone(t *testing.T) {
	dir := t.TempDir()
	set := &AnswerSet{Answers: map[string]string{"port": "2222"}, Confirm: []string{"stop"}, Done: []string{"manual"}}
	evs, err := headlessPortRun(t, dir, set, map[string]string{"port": "22"})
	if err != nil {
		t.Fatal(err)
	}
	st := LoadStateMust(t, dir)
	if st.Answers["port"] != "2222" {
		t.Fatalf("port %q: the answers file's 2222 should win over the recorded 22", st.Answers["port"])
	}
	named := false
	for _, ev := range evs {
		named = named || (ev.Type == EvAnswered && strings.Contains(ev.Message, "port") && strings.Contains(ev.Message, `"22"`))
	}
	if !named {
		t.Fatal("no event names the changed key and its old value")
	}
	// Once the step that asked it is done, the answer no longer changes.
	set.Answers["port"] = "3333"
	evs, err = headlessPortRun(t, dir, set, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := LoadStateMust(t, dir); st.Answers["port"] != "2222" {
		t.Fatalf("port %q after the step was done, want 2222 kept", st.Answers["port"])
	}
	warned := false
	for _, ev := range evs {
		warned = warned || (ev.Type == EvWarning && strings.Contains(ev.Message, "port"))
	}
	if !warned {
		t.Fatal("no warning names the key the file could not change")
	}
}

// reaskText says the failure once, with no brackets around it, and offers
// to keep an answer only where one is kept: a secret is typed again.
func TestReaskText(t *testing.T) {
	why := "the password was refused by PostgreSQL on old for role bj, database bj, in a login with psql as pg_dump makes"
	pw := Question{Key: "db_password", Type: "secret"}
	port := Question{Key: "port"}
	secret := map[string]bool{"db_password": true}
	for _, c := range []struct {
		qs         []Question
		want, lack string
	}{
		{[]Question{pw}, "The step failed: " + why + ". Type it again: ferry did not keep the one that failed.", "keep it"},
		{[]Question{port}, "The step failed: cannot reach 192.0.2.1:22. Change the answer that caused it, or press enter to keep it as it is.", "type"},
		{[]Question{port, pw}, "enter keeps one as it is), and type the secret again", "keep it as"},
	} {
		w := why
		if c.qs[0].Key == "port" && len(c.qs) == 1 {
			w = "cannot reach 192.0.2.1:22."
		}
		got := reaskText(w, c.qs, secret)
		if !strings.Contains(got, c.want) || strings.Contains(got, c.lack) || strings.Contains(got, "(enter)") || strings.Contains(got, "failed (") {
			t.Errorf("reaskText(%v) = %q, want %q and no %q", c.qs, got, c.want, c.lack)
		}
	}
}
