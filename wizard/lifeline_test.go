package wizard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/testenv"
)

// lifelineRunbook has a step before, a step that can cut access (it exits
// with the answer "code"), and a step after.
const lifelineRunbook = `
id: lifeline-test
title: Lifeline test
vendor: test
phases:
  - id: p
    title: P
steps:
  - id: before
    phase: p
    title: Before
    help: A step before.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - ["true"]
    safe_to_rerun: true
    vendor: test
  - id: cut
    phase: p
    title: Cut
    help: A step that can cut the admin's access.
    host: new
    level: auto
    kind: command
    cuts_access: moving the test addresses
    ask:
      - key: code
        prompt: Exit code
        type: text
    commands:
      any:
        - ["sh", "-c", "case \"$1\" in wait) sleep 60;; *) exit \"$1\";; esac", "sh", "{{.Answers.code}}"]
    safe_to_rerun: true
    vendor: test
  - id: after
    phase: p
    title: After
    help: A step after.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - ["true"]
    safe_to_rerun: true
    vendor: test
`

func freeLifelinePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func answersAt(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// lifelineWatch decodes the headless output line by line as the engine
// writes it (synchronously, so "during a step" is during it) and checks
// whether the spare answers at the moments that matter.
type lifelineWatch struct {
	t    *testing.T
	port int
	mu   sync.Mutex
	buf  bytes.Buffer
	evs  []Event
	// answered records, per moment ("started cut", "finished cut",
	// "down"), whether the spare's port gave an SSH banner then.
	answered map[string]bool
}

func (w *lifelineWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadBytes('\n')
		if err != nil {
			w.buf.Write(line)
			break
		}
		var ev Event
		if err := json.Unmarshal(line, &ev); err != nil {
			w.t.Errorf("not a JSON event: %q", line)
			continue
		}
		w.evs = append(w.evs, ev)
		moment := ""
		switch {
		case ev.Type == EvStepStarted && ev.Step == "cut":
			moment = "started cut"
		case ev.Type == EvStepFinished && ev.Step == "cut":
			moment = "finished cut"
		case ev.Type == EvLifelineDown:
			moment = "down"
		case ev.Type == EvStepStarted && ev.Step == "after":
			moment = "started after"
		}
		if moment != "" {
			_, err := tasks.ReadSSHBanner(answersAt(w.port), time.Second)
			w.answered[moment] = err == nil
		}
	}
	return len(p), nil
}

func (w *lifelineWatch) types(step string) []EventType {
	var out []EventType
	for _, ev := range w.evs {
		if ev.Step == step && (ev.Type == EvLifelineUp || ev.Type == EvLifelineDown || ev.Type == EvStepStarted || ev.Type == EvStepFinished) {
			out = append(out, ev.Type)
		}
	}
	return out
}

// lifelineSession opens a session of lifelineRunbook in a new state
// directory, on a new server whose root holds a real sshd and a test
// sshd_config (testenv.NewSSHDRoot).
func lifelineSession(t *testing.T, dir string) (*Session, *testenv.SSHDRoot) {
	t.Helper()
	root := testenv.NewSSHDRoot(t)
	h, err := remote.NewLocal(HostNew, root.Root)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenSession(SessionOptions{Runbook: mustParse(t, lifelineRunbook), StateDir: dir, Exec: &TaskExecutor{New: h}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, root
}

func runLifelineHeadless(t *testing.T, port int, answers map[string]string) (*lifelineWatch, string, error) {
	t.Helper()
	dir := t.TempDir()
	s, _ := lifelineSession(t, dir)
	w := &lifelineWatch{t: t, port: port, answered: map[string]bool{}}
	err := RunHeadless(context.Background(), s, &AnswerSet{Answers: answers}, w)
	return w, dir, err
}

// With lifeline = a port, the spare answers on it while the step runs and
// is gone when the step has ended, before the next step starts; its pid
// file is gone too.
func TestLifelineUpDuringTheStepOnly(t *testing.T) {
	port := freeLifelinePort(t)
	w, dir, err := runLifelineHeadless(t, port, map[string]string{"code": "0", LifelineKey: strconv.Itoa(port)})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if !w.answered["started cut"] || !w.answered["finished cut"] {
		t.Errorf("the spare did not answer during the step: %v", w.answered)
	}
	if w.answered["down"] || w.answered["started after"] {
		t.Errorf("the spare still answers after the step: %v", w.answered)
	}
	want := []EventType{EvLifelineUp, EvStepStarted, EvStepFinished, EvLifelineDown}
	if got := w.types("cut"); !slices.Equal(got, want) {
		t.Errorf("events of step cut: %v, want %v", got, want)
	}
	for _, ev := range w.evs {
		if ev.Type == EvLifelineUp && !strings.Contains(ev.Message, "port "+strconv.Itoa(port)) {
			t.Errorf("lifeline_up message does not name the port: %q", ev.Message)
		}
		if (ev.Type == EvLifelineUp || ev.Type == EvLifelineDown) && ev.Step != "cut" {
			t.Errorf("%s event for step %q", ev.Type, ev.Step)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, LifelinePidFile)); !os.IsNotExist(err) {
		t.Errorf("the spare's pid file is left in the state directory (%v)", err)
	}
	st := LoadStateMust(t, dir)
	if st.Answers[LifelineKey] != strconv.Itoa(port) {
		t.Errorf("journaled answer %s = %q", LifelineKey, st.Answers[LifelineKey])
	}
}

// A failing step stops its spare too.
func TestLifelineStoppedWhenTheStepFails(t *testing.T) {
	port := freeLifelinePort(t)
	w, _, err := runLifelineHeadless(t, port, map[string]string{"code": "3", LifelineKey: strconv.Itoa(port)})
	var sf *StepFailedError
	if !errors.As(err, &sf) || sf.Step != "cut" {
		t.Fatalf("err = %v, want step cut failed", err)
	}
	if !w.answered["started cut"] {
		t.Errorf("the spare did not answer during the failing step: %v", w.answered)
	}
	if w.answered["down"] {
		t.Error("the spare still answers once it is reported down")
	}
	if _, err := tasks.ReadSSHBanner(answersAt(port), time.Second); err == nil {
		t.Error("the spare answers after the failed run returned")
	}
	want := []EventType{EvLifelineUp, EvStepStarted, EvStepFinished, EvLifelineDown}
	if got := w.types("cut"); !slices.Equal(got, want) {
		t.Errorf("events of step cut: %v, want %v", got, want)
	}
}

// A failed step that can cut access, run again headless with the same
// file (its cause fixed), is not stopped by its lifeline answer: that
// answer is not put again as a possible cause of the failure.
func TestLifelineNotAskedAgainAfterAFailure(t *testing.T) {
	dir := t.TempDir()
	port := freeLifelinePort(t)
	s, _ := lifelineSession(t, dir)
	w := &lifelineWatch{t: t, port: port, answered: map[string]bool{}}
	set := &AnswerSet{Answers: map[string]string{"code": "3", LifelineKey: strconv.Itoa(port)}}
	var sf *StepFailedError
	if err := RunHeadless(context.Background(), s, set, w); !errors.As(err, &sf) {
		t.Fatalf("first run: %v, want step cut failed", err)
	}
	s.Close()
	s2, err := OpenSession(SessionOptions{Runbook: mustParse(t, lifelineRunbook), StateDir: dir, Exec: s.Engine.exec})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	set.Answers["code"] = "0"
	w2 := &lifelineWatch{t: t, port: port, answered: map[string]bool{}}
	if err := RunHeadless(context.Background(), s2, set, w2); err != nil {
		t.Fatalf("second run with the cause fixed: %v", err)
	}
	if !w2.answered["started cut"] || w2.answered["started after"] {
		t.Errorf("the spare during and after the step run again: %v", w2.answered)
	}
	for _, ev := range w2.evs {
		if ev.Type == EvWaiting && ev.Need == NeedAnswers {
			for _, q := range ev.Questions {
				if q.Key == LifelineKey {
					t.Errorf("the lifeline answer was put again after the failure: %+v", ev)
				}
			}
		}
	}
}

// lifelineRunbook2 adds a manual step (a headless run without it in done
// stops there) and a second step that can cut access.
const lifelineRunbook2 = lifelineRunbook + `
  - id: by-hand
    phase: p
    title: By hand
    help: Done by hand.
    host: new
    level: manual
    kind: manual
    safe_to_rerun: true
    vendor: test
  - id: cut2
    phase: p
    title: Cut again
    help: Another step that can cut the admin's access.
    host: new
    level: auto
    kind: command
    cuts_access: restarting the test network
    commands:
      any:
        - ["true"]
    safe_to_rerun: true
    vendor: test
`

// An answers file given on a resume may change the lifeline answer after
// a step that asked it is done: it decides only the steps to come.
func TestLifelineChangedOnAResume(t *testing.T) {
	dir := t.TempDir()
	port := freeLifelinePort(t)
	root := testenv.NewSSHDRoot(t)
	h, err := remote.NewLocal(HostNew, root.Root)
	if err != nil {
		t.Fatal(err)
	}
	open := func() *Session {
		s, err := OpenSession(SessionOptions{Runbook: mustParse(t, lifelineRunbook2), StateDir: dir, Exec: &TaskExecutor{New: h}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	set := &AnswerSet{Answers: map[string]string{"code": "0", LifelineKey: "no"}}
	var nh *NeedsHumanError
	if err := RunHeadless(context.Background(), s, set, &lifelineWatch{t: t, port: port, answered: map[string]bool{}}); !errors.As(err, &nh) || nh.Step != "by-hand" {
		t.Fatalf("first run: %v, want a stop at by-hand", err)
	}
	s.Close()
	s2 := open()
	defer s2.Close()
	set.Answers[LifelineKey] = strconv.Itoa(port)
	set.Done = []string{"by-hand"}
	var up []string
	w := &lifelineWatch{t: t, port: port, answered: map[string]bool{}}
	if err := RunHeadless(context.Background(), s2, set, w); err != nil {
		t.Fatal(err)
	}
	for _, ev := range w.evs {
		if ev.Type == EvWarning && strings.Contains(ev.Message, "the recorded answer stays") {
			t.Errorf("the lifeline answer was refused: %s", ev.Message)
		}
		if ev.Type == EvLifelineUp {
			up = append(up, ev.Step)
		}
	}
	if len(up) != 1 || up[0] != "cut2" {
		t.Errorf("spares kept for %v, want for cut2 only (the answer changed to a port after cut ran)", up)
	}
}

// An interrupted ferry (its context cancelled while the step runs) stops
// the spare on its way out.
func TestLifelineStoppedWhenInterrupted(t *testing.T) {
	port := freeLifelinePort(t)
	s, _ := lifelineSession(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &lifelineWatch{t: t, port: port, answered: map[string]bool{}}
	tee := writerFunc(func(p []byte) (int, error) {
		n, err := w.Write(p)
		if bytes.Contains(p, []byte(`"type":"step_started","step":"cut"`)) {
			cancel()
		}
		return n, err
	})
	err := RunHeadless(ctx, s, &AnswerSet{Answers: map[string]string{"code": "wait", LifelineKey: strconv.Itoa(port)}}, tee)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !w.answered["started cut"] {
		t.Errorf("the spare did not answer during the step: %v", w.answered)
	}
	if _, err := tasks.ReadSSHBanner(answersAt(port), time.Second); err == nil {
		t.Error("the spare answers after the interrupted run returned")
	}
	if got := w.types("cut"); len(got) == 0 || got[len(got)-1] != EvLifelineDown {
		t.Errorf("events of step cut: %v, want lifeline_down last", got)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// lifeline = no: ferry says the step can cut access, starts nothing.
func TestLifelineNo(t *testing.T) {
	port := freeLifelinePort(t)
	w, _, err := runLifelineHeadless(t, port, map[string]string{"code": "0", LifelineKey: "no"})
	if err != nil {
		t.Fatal(err)
	}
	if w.answered["started cut"] {
		t.Error("something answers on the port with lifeline no")
	}
	said, actor := false, ""
	for _, ev := range w.evs {
		if ev.Type == EvAnswered && ev.Answers[LifelineKey] != "" {
			actor = ev.Actor
		}
		if ev.Type == EvLifelineUp {
			t.Errorf("a spare was started with lifeline no: %q", ev.Message)
		}
		if ev.Type == EvWarning && ev.Step == "cut" && strings.Contains(ev.Message, "Moving the test addresses can cut your SSH access") && strings.Contains(ev.Message, "no spare sshd") {
			said = true
			// Who answered, in plain words: not "as answered (lifeline: "no")".
			if want := "no spare sshd is kept: lifeline is no, as answered by " + actor; actor == "" || !strings.HasSuffix(ev.Message, want) {
				t.Errorf("the warning %q does not end %q", ev.Message, want)
			}
		}
	}
	if !said {
		t.Error("no warning says the step can cut access and no spare is kept")
	}
}

// Headless without the key stops before the step (exit 3), naming it.
func TestLifelineHeadlessNeedsTheKey(t *testing.T) {
	w, dir, err := runLifelineHeadless(t, freeLifelinePort(t), map[string]string{"code": "0"})
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "cut" || !strings.Contains(nh.What, LifelineKey) && !strings.Contains(nh.What, "can cut your SSH access") {
		t.Fatalf("err = %v, want a NeedsHumanError at cut naming the lifeline", err)
	}
	st := LoadStateMust(t, dir)
	if st.Status("cut") == StatusOK || st.Status("cut") == StatusFailed || len(w.types("cut")) != 0 {
		t.Errorf("cut is %s with events %v, want nothing run", st.Status("cut"), w.types("cut"))
	}
}

// A port in use is refused: headless, the file's same port stops the run
// naming the key; a person gives another port and the step runs with the
// spare there.
func TestLifelinePortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	bport := busy.Addr().(*net.TCPAddr).Port
	w, dir, err := runLifelineHeadless(t, bport, map[string]string{"code": "0", LifelineKey: strconv.Itoa(bport)})
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "cut" || !strings.Contains(nh.What, LifelineKey) {
		t.Fatalf("err = %v, want a NeedsHumanError at cut naming %s", err, LifelineKey)
	}
	refused := false
	for _, ev := range w.evs {
		if ev.Type == EvWarning && strings.Contains(ev.Message, "in use") {
			refused = true
		}
	}
	if !refused {
		t.Error("no warning says the port is in use")
	}
	if st := LoadStateMust(t, dir); st.Status("cut") == StatusOK || st.Status("cut") == StatusFailed || len(w.types("cut")) != 0 {
		t.Errorf("cut is %s with events %v after the refusal, want nothing run", st.Status("cut"), w.types("cut"))
	}

	// A person: the same question, put again with the reason, answered
	// with a free port.
	s, _ := lifelineSession(t, t.TempDir())
	good := freeLifelinePort(t)
	var mu sync.Mutex
	var asked []Event
	upOn := ""
	e := s.Engine
	s.SetSink(func(ev Event) {
		if ev.Type == EvLifelineUp {
			mu.Lock()
			upOn = ev.Message
			mu.Unlock()
		}
		if ev.Type != EvWaiting || ev.Need != NeedAnswers {
			return
		}
		mu.Lock()
		asked = append(asked, ev)
		mu.Unlock()
		ans := map[string]string{}
		for _, q := range ev.Questions {
			switch {
			case q.Key == "code":
				ans["code"] = "0"
			case q.Key == LifelineKey && len(ev.Answers) == 0:
				ans[LifelineKey] = strconv.Itoa(bport)
			case q.Key == LifelineKey:
				ans[LifelineKey] = strconv.Itoa(good)
			}
		}
		e.Decide(Decision{Step: ev.Step, Action: ActAnswer, Answer: ans})
	})
	if err := e.Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(asked) != 2 {
		t.Fatalf("asked %d times, want 2 (the questions, then the port again): %+v", len(asked), asked)
	}
	again := asked[1]
	if !strings.Contains(again.Message, "in use") || again.Answers[LifelineKey] != strconv.Itoa(bport) {
		t.Errorf("the question put again: message %q, failed answers %v", again.Message, again.Answers)
	}
	if !strings.Contains(asked[0].Message, "Moving the test addresses can cut your SSH access") {
		t.Errorf("the first question does not say what can cut the access: %q", asked[0].Message)
	}
	if !strings.Contains(upOn, "port "+strconv.Itoa(good)) {
		t.Errorf("lifeline_up %q, want the spare on port %d", upOn, good)
	}
	if st := e.State(); st.Answers[LifelineKey] != strconv.Itoa(good) {
		t.Errorf("answer %s = %q, want the corrected port %d", LifelineKey, st.Answers[LifelineKey], good)
	}
}

// A spare a killed ferry left running (its pid file in the state
// directory) is stopped when the next run starts, and said so.
func TestLifelineLeftoverStoppedOnTheNextRun(t *testing.T) {
	dir := t.TempDir()
	s, root := lifelineSession(t, dir)
	port := freeLifelinePort(t)
	o := tasks.LifelineOptions{Port: port, PidFile: filepath.Join(dir, LifelinePidFile)}
	argv := tasks.LifelineArgv(o, root.Config)
	cmd := exec.Command(filepath.Join(root.Root, argv[0]), argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := tasks.ReadSSHBanner(answersAt(port), time.Second)
		_, perr := os.Stat(o.PidFile)
		if err == nil && perr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leftover spare did not come up: %v %v", err, perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	w := &lifelineWatch{t: t, port: port, answered: map[string]bool{}}
	if err := RunHeadless(context.Background(), s, &AnswerSet{Answers: map[string]string{"code": "0", LifelineKey: "no"}}, w); err != nil {
		t.Fatal(err)
	}
	select {
	case <-waited:
	case <-time.After(time.Minute):
		t.Fatal("the leftover spare still runs after the next run")
	}
	said := false
	for _, ev := range w.evs {
		if ev.Type == EvLifelineDown && strings.Contains(ev.Message, "pid "+strconv.Itoa(cmd.Process.Pid)) {
			said = true
		}
	}
	if !said {
		t.Error("no lifeline_down event names the leftover's pid")
	}
}

func TestParseLifeline(t *testing.T) {
	for _, c := range []struct {
		in   string
		port int
		want bool
		bad  bool
	}{
		{"no", 0, false, false}, {" N ", 0, false, false}, {"false", 0, false, false},
		{"yes", 0, true, false}, {"y", 0, true, false}, {"2222", 2222, true, false}, {"65535", 65535, true, false},
		{"0", 0, false, true}, {"65536", 0, false, true}, {"maybe", 0, false, true}, {"", 0, false, true},
	} {
		port, want, err := ParseLifeline(c.in)
		if (err != nil) != c.bad || port != c.port || want != c.want {
			t.Errorf("ParseLifeline(%q) = %d, %v, %v; want %d, %v, bad %v", c.in, port, want, err, c.port, c.want, c.bad)
		}
		if verr := ValidateAnswer(LifelineQuestion(), c.in); (verr != nil) != c.bad {
			t.Errorf("ValidateAnswer(lifeline, %q) = %v", c.in, verr)
		}
	}
}

// The loader adds the question to a step with cuts_access, refuses
// cuts_access on the old server, and refuses the lifeline type elsewhere.
func TestLifelineLoader(t *testing.T) {
	rb := mustParse(t, lifelineRunbook)
	cut := rb.Step("cut")
	if n := len(cut.Ask); n != 2 || cut.Ask[1].Key != LifelineKey || cut.Ask[1].Type != LifelineType {
		t.Errorf("cut asks %+v, want code and then %s", cut.Ask, LifelineKey)
	}
	if len(rb.Step("before").Ask) != 0 {
		t.Error("a step without cuts_access got a question")
	}
	old := strings.Replace(lifelineRunbook, "    host: new\n    level: auto\n    kind: command\n    cuts_access", "    host: old\n    level: auto\n    kind: command\n    cuts_access", 1)
	if _, err := Parse("t.yaml", []byte(old)); err == nil || !strings.Contains(err.Error(), "cuts_access") {
		t.Errorf("cuts_access on the old server: %v", err)
	}
	stray := strings.Replace(lifelineRunbook, "        type: text\n", "        type: lifeline\n", 1)
	if _, err := Parse("t.yaml", []byte(stray)); err == nil || !strings.Contains(err.Error(), "ferry's own question") {
		t.Errorf("a lifeline-typed question of the runbook's own: %v", err)
	}
}
