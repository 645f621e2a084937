package wizard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
)

// windowRunbook is the BlueMind shape in small: a read-only login check
// asks the database password in the hot phase; the stop step opens the
// downtime; a dump and a manual step inside the window ask it again, a
// manual step inside asks a second secret no check can prove, a step that
// does not apply asks a third, and a step after the window a fourth.
const windowRunbook = `
id: test
title: A test procedure
vendor: none
phases:
  - id: hot
    title: Hot
  - id: cold
    title: Cold
steps:
  - id: check-login
    phase: hot
    title: The database password works
    help: Logs in.
    host: old
    level: check
    kind: pg-login
    params: {databases: bj, password_answer: pw}
    ask:
      - key: pw
        prompt: Database password
        type: secret
    safe_to_rerun: true
    success:
      text: bj logs in.
    vendor: "step 1"
  - id: hot-copy
    phase: hot
    title: Copy while running
    help: Copies.
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    safe_to_rerun: true
    vendor: "step 2"
  - id: stop-old
    phase: cold
    title: Stop the old server's services
    help: Mail stops.
    host: old
    level: auto
    kind: command
    commands:
      any: [[systemctl, stop, x]]
    destructive: true
    downtime: start
    precondition:
      text: the old server answers
      kind: path-present
      params: {path: /etc}
    vendor: "step 3"
  - id: dump
    phase: cold
    title: Dump the databases
    help: Dumps.
    host: old
    level: ask
    kind: pg-dump
    params: {databases: bj, dir: /var/backups/x, password_answer: pw}
    ask:
      - key: pw
        prompt: Database password (dump)
        type: secret
    safe_to_rerun: true
    vendor: "step 4"
  - id: unused
    phase: cold
    title: Does not apply here
    help: Never runs.
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    when: 'false'
    ask:
      - key: never
        prompt: Not needed
        type: secret
    safe_to_rerun: true
    vendor: "step 5"
  - id: hand
    phase: cold
    title: Type the repository key by hand
    help: By hand.
    host: new
    level: manual
    kind: manual
    ask:
      - key: pw
        prompt: Database password (again)
        type: secret
      - key: repo_key
        prompt: Repository key
        type: secret
    vendor: "step 6"
  - id: restart-new
    phase: cold
    title: Restart the new server
    help: Mail flows again.
    host: new
    level: manual
    kind: manual
    downtime: end
    vendor: "step 7"
  - id: after
    phase: cold
    title: After the window
    help: Uses a secret after the downtime.
    host: new
    level: ask
    kind: record
    ask:
      - key: later
        prompt: Asked after the window
        type: secret
    vendor: "step 8"
`

// windowExec passes every step; its login check (step or check of kind
// pg-login) passes only when the secret pw is "right", and it records the
// pw each step and each login test saw.
type windowExec struct {
	mu     sync.Mutex
	ran    []string
	seen   map[string]string
	logins []string
}

func (w *windowExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ran = append(w.ran, s.ID)
	if w.seen == nil {
		w.seen = map[string]string{}
	}
	w.seen[s.ID] = env.Secrets["pw"]
	if s.Kind == "pg-login" {
		w.logins = append(w.logins, env.Secrets["pw"])
		if env.Secrets["pw"] != "right" {
			return Outcome{}, errors.New("password authentication failed for user bj")
		}
	}
	return Outcome{Message: "fine"}, nil
}

func (w *windowExec) Check(ctx context.Context, s *Step, c *Check, env *StepEnv) (bool, string, error) {
	if c.Kind != "pg-login" {
		return true, "holds", nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.logins = append(w.logins, env.Secrets["pw"])
	if env.Secrets["pw"] != "right" {
		return false, "password authentication failed for user bj", nil
	}
	return true, "bj logs in to bj", nil
}

func (w *windowExec) Prepare(ctx context.Context, s *Step, env *StepEnv) (map[string]string, error) {
	return nil, nil
}

// firstRunToTheStop runs the hot phase with the right password typed, and
// stops at the next question (the repository key, asked before the
// window): the state a restarted ferry finds, secrets gone with the
// process.
func firstRunToTheStop(t *testing.T, dir string, rb *Runbook) {
	t.Helper()
	ex := &windowExec{}
	_, err := runEngine(t, dir, rb, ex, func(ev Event) (Decision, bool) {
		if ev.Need == NeedAnswers && ev.Step == "check-login" {
			return Decision{Action: ActAnswer, Answer: map[string]string{"pw": "right"}}, true
		}
		return Decision{Action: ActQuit}, true
	})
	if !errors.Is(err, ErrStopped) {
		t.Fatalf("first run: %v, want stopped at the confirmation", err)
	}
	st := LoadStateMust(t, dir)
	if st.Status("check-login") != StatusOK || st.Status("hot-copy") != StatusOK || st.Status("stop-old") == StatusOK || !st.DowntimeStart.IsZero() {
		t.Fatalf("after the first run: check-login %s, hot-copy %s, stop-old %s, downtime %v: not the state after the hot phase",
			st.Status("check-login"), st.Status("hot-copy"), st.Status("stop-old"), st.DowntimeStart)
	}
}

// After a restart, the secrets the downtime window needs are asked at
// once before the step that opens it, with the reason; a mistyped one is
// refused by the hot phase's login check before the window, and asked
// again; the steps inside the window then ask nothing and use it.
func TestRestartedRunAsksTheWindowsSecretsBeforeItOpens(t *testing.T) {
	rb := mustParse(t, windowRunbook)
	dir := t.TempDir()
	firstRunToTheStop(t, dir, rb)

	ex := &windowExec{}
	typed := 0
	ap, err := runEngine(t, dir, rb, ex, func(ev Event) (Decision, bool) {
		switch ev.Need {
		case NeedAnswers:
			ans := map[string]string{}
			for _, q := range ev.Questions {
				ans[q.Key] = "k3y"
				if q.Key == "pw" {
					typed++
					ans[q.Key] = "wrong"
					if typed > 1 {
						ans[q.Key] = "right"
					}
				}
			}
			return Decision{Action: ActAnswer, Answer: ans}, true
		case NeedFailure:
			return Decision{Action: ActRetry}, true
		}
		return defaultScript(ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	// The journal's order: questions, the refusal, the questions again,
	// then the confirmation, and only then the window.
	var order []string
	var upfront []Event
	for _, ev := range ap.events {
		switch {
		case ev.Type == EvWaiting:
			order = append(order, ev.Need+"@"+ev.Step)
			if ev.Need == NeedAnswers && ev.Step == "stop-old" {
				upfront = append(upfront, ev)
			}
		case ev.Type == EvDowntimeStart:
			order = append(order, "downtime-start")
		case ev.Type == EvStepStarted && ev.Step == "dump":
			order = append(order, "dump-runs")
		}
	}
	want := "answers@stop-old,failure@stop-old,answers@stop-old,confirm@stop-old,downtime-start,dump-runs,manual@hand,manual@restart-new,answers@after"
	if got := strings.Join(order, ","); got != want {
		t.Fatalf("waits and marks:\n got %s\nwant %s", got, want)
	}
	if len(upfront) != 2 {
		t.Fatalf("%d up-front questions, want 2", len(upfront))
	}
	var keys []string
	for _, q := range upfront[0].Questions {
		keys = append(keys, q.Key)
	}
	if strings.Join(keys, ",") != "pw,repo_key" {
		t.Errorf("asked up front %v, want pw and repo_key (not never, whose step does not apply, nor later, used after the window)", keys)
	}
	if m := upfront[0].Message; !strings.Contains(m, "needed inside the downtime window, asked before it opens") || !strings.Contains(m, "pw for dump, hand") {
		t.Errorf("the question does not say why: %q", m)
	}
	// After the refusal only the refused secret is asked again.
	if len(upfront[1].Questions) != 1 || upfront[1].Questions[0].Key != "pw" {
		t.Errorf("asked again %+v, want pw alone", upfront[1].Questions)
	}
	if got := strings.Join(ex.logins, ","); got != "wrong,right" {
		t.Errorf("login tests saw %q, want wrong then right, before the window", got)
	}
	if ex.seen["dump"] != "right" {
		t.Errorf("the dump ran with %q, want the password typed before the window", ex.seen["dump"])
	}
	st := LoadStateMust(t, dir)
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() || !st.Finished {
		t.Fatalf("downtime %v .. %v, finished %v", st.DowntimeStart, st.DowntimeEnd, st.Finished)
	}
	for _, ev := range st.Events {
		if ev.Type == EvAnswered && ev.Step == "stop-old" && !strings.Contains(ev.Message, "needed inside the downtime window") {
			t.Errorf("the answered event does not say why it came before the window: %q", ev.Message)
		}
	}
}

// On a first run the login check proved the password a moment ago: the
// step that opens the window asks nothing and tests nothing again.
func TestFirstRunPutsNoSecretAgainBeforeTheWindow(t *testing.T) {
	rb := mustParse(t, windowRunbook)
	ex := &windowExec{}
	ap, err := runEngine(t, t.TempDir(), rb, ex, func(ev Event) (Decision, bool) {
		if ev.Need == NeedAnswers {
			ans := map[string]string{}
			for _, q := range ev.Questions {
				ans[q.Key] = "right"
			}
			return Decision{Action: ActAnswer, Answer: ans}, true
		}
		return defaultScript(ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	for _, ev := range ap.waiting {
		if ev.Need == NeedAnswers {
			for _, q := range ev.Questions {
				asked = append(asked, q.Key+"@"+ev.Step)
			}
		}
	}
	if got := strings.Join(asked, ","); got != "pw@check-login,repo_key@stop-old,later@after" {
		t.Errorf("asked %s; want pw at its check only, the key no check proves before the window, later after it", got)
	}
	if len(ex.logins) != 1 {
		t.Errorf("%d logins, want the check step's one alone (it proved the password in this process)", len(ex.logins))
	}
}

// headlessWindowRun runs the window runbook headless from the answers set.
func headlessWindowRun(t *testing.T, dir string, rb *Runbook, ex Executor, set *AnswerSet) error {
	t.Helper()
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: ex})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out strings.Builder
	return RunHeadless(context.Background(), s, set, &out)
}

// Headless, after a restart: an answers file without the password stops
// the run at the step that opens the window, naming the key, before the
// window opens; one with a wrong password fails there, also before; the
// right one goes through to the end, proven once before the window.
func TestHeadlessRestartNeedsTheWindowsSecretBeforeItOpens(t *testing.T) {
	rb := mustParse(t, windowRunbook)
	dir := t.TempDir()
	firstRunToTheStop(t, dir, rb)
	set := &AnswerSet{
		Answers: map[string]string{"repo_key": "k3y", "later": "x"},
		Confirm: []string{"stop-old"},
		Done:    []string{"hand", "restart-new"},
	}
	ex := &windowExec{}
	err := headlessWindowRun(t, dir, rb, ex, set)
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "stop-old" || nh.Need != NeedAnswers || !strings.Contains(nh.Field, `"pw"`) {
		t.Fatalf("no password in the file: %v, want a NeedsHumanError at stop-old naming pw", err)
	}
	if !strings.Contains(nh.What, "before it opens") {
		t.Errorf("the error does not say the window has not opened: %q", nh.What)
	}
	st := LoadStateMust(t, dir)
	if !st.DowntimeStart.IsZero() || slices.Contains(ex.ran, "stop-old") {
		t.Fatalf("the window opened (%v) or stop-old ran (%v) before the missing secret was named", st.DowntimeStart, ex.ran)
	}

	set.Answers["pw"] = "wrong"
	err = headlessWindowRun(t, dir, rb, ex, set)
	var sf *StepFailedError
	if !errors.As(err, &sf) || sf.Step != "stop-old" || !strings.Contains(sf.Message, "pw was refused before the downtime") {
		t.Fatalf("wrong password in the file: %v, want stop-old failed naming pw", err)
	}
	if strings.Contains(sf.Message, "wrong") {
		t.Errorf("the error shows the password: %q", sf.Message)
	}
	if st := LoadStateMust(t, dir); !st.DowntimeStart.IsZero() || slices.Contains(ex.ran, "stop-old") {
		t.Fatalf("the window opened with a refused password (ran %v)", ex.ran)
	}

	set.Answers["pw"] = "right"
	ex = &windowExec{}
	if err := headlessWindowRun(t, dir, rb, ex, set); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if got := strings.Join(ex.logins, ","); got != "right" {
		t.Errorf("login tests %q, want one, with the file's password, before the window", got)
	}
	if ex.seen["dump"] != "right" {
		t.Errorf("the dump saw %q", ex.seen["dump"])
	}
	if st := LoadStateMust(t, dir); !st.Finished || st.DowntimeStart.IsZero() {
		t.Fatalf("finished %v, downtime %v", st.Finished, st.DowntimeStart)
	}
}

// The BlueMind runbook as shipped: the window its stop step opens needs
// the database password (the dump, the row-count proof, the last proof
// before the old server goes), and check-db-login is what proves it
// before the window.
func TestBlueMindWindowNeedsTheDatabasePasswordProvenByItsCheck(t *testing.T) {
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(rb, nil, nil, &windowExec{}, nil)
	var start *Step
	for i := range rb.Steps {
		if rb.Steps[i].Downtime == DowntimeStart {
			start = &rb.Steps[i]
		}
	}
	if start == nil || start.ID != "stop-services-old" {
		t.Fatalf("window opened by %v, want stop-services-old", start)
	}
	needs := e.windowSecrets(start)
	var got []string
	for _, n := range needs {
		got = append(got, n.q.Key+" for "+strings.Join(n.steps, ","))
	}
	if want := "db_password for dump-databases,verify-databases,stop-old-server"; strings.Join(got, "; ") != want {
		t.Fatalf("window secrets %q, want %q", got, want)
	}
	at, _ := e.window(start)
	if tester := e.secretTester("db_password", at); tester == nil || tester.ID != "check-db-login" {
		t.Fatalf("db_password proven by %v, want check-db-login", tester)
	}
}
