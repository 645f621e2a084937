package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// groupRunbook has three steps that may run beside each other, whose
// commands are real processes meeting at a named pipe: "reader" blocks
// until a writer opens the pipe and "writer" blocks until a reader does,
// so they end only when they run at once (one after another, the first
// would wait for ever). "after" waits for "reader" (it does not name it),
// and "asks" needs an answer nobody gave yet, so it runs after the group,
// one step at a time. "last" is an ordinary step.
const groupRunbook = `
id: group
title: Steps beside each other
vendor: none
params:
  dir: %s
phases:
  - id: one
    title: One
steps:
  - id: reader
    phase: one
    title: Reads the pipe
    help: Waits for the writer.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - [sh, -c, 'read line < {{.Params.dir}}/pipe && echo "$line" > {{.Params.dir}}/read && exit %s']
    safe_to_rerun: true
    vendor: "1"
  - id: writer
    phase: one
    title: Writes the pipe
    help: Waits for the reader.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - [sh, -c, 'echo hello > {{.Params.dir}}/pipe']
    beside: [reader]
    safe_to_rerun: true
    vendor: "2"
  - id: after
    phase: one
    title: After the reader
    help: Waits for the reader, not for the writer.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - [touch, '{{.Params.dir}}/after']
    beside: [writer]
    safe_to_rerun: true
    vendor: "3"
  - id: asks
    phase: one
    title: Needs an answer
    help: Asks first.
    host: new
    level: ask
    kind: command
    ask:
      - key: word
        prompt: A word
        type: text
    commands:
      any:
        - [touch, '{{.Params.dir}}/{{.Answers.word}}']
    beside: [reader, writer, after]
    safe_to_rerun: true
    vendor: "4"
  - id: last
    phase: one
    title: The last step
    help: Runs alone.
    host: new
    level: auto
    kind: command
    commands:
      any:
        - [touch, '{{.Params.dir}}/last']
    safe_to_rerun: true
    vendor: "5"
`

func groupSetup(t *testing.T, exit string) (string, *Runbook, *TaskExecutor) {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o600); err != nil {
		t.Fatal(err)
	}
	rb := mustParse(t, strings.Replace(strings.Replace(groupRunbook, "%s", dir, 1), "%s", exit, 1))
	h, err := remote.NewLocal("new", "/")
	if err != nil {
		t.Fatal(err)
	}
	return dir, rb, &TaskExecutor{New: h}
}

// Steps that name each other in beside run at once (the pipe's two ends
// meet); a step waits for the group steps it does not name; a step that
// needs a question runs after the group, asked as usual; the journal
// holds one line per event and every step ends ok.
func TestEngineRunsBesideStepsAtOnce(t *testing.T) {
	dir, rb, ex := groupSetup(t, "0")
	state := t.TempDir()
	ap, err := runEngine(t, state, rb, ex, func(ev Event) (Decision, bool) {
		if ev.Need == NeedAnswers && ev.Step == "asks" {
			return Decision{Action: ActAnswer, Answer: map[string]string{"word": "asked"}}, true
		}
		return Decision{Action: ActQuit}, true
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"read", "after", "asked", "last"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	st, err := LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rb.Steps {
		if st.Status(s.ID) != StatusOK {
			t.Errorf("step %s is %s", s.ID, st.Status(s.ID))
		}
	}
	// Where each step started and ended in the journal.
	at := func(typ EventType, step string) int {
		return slices.IndexFunc(st.Events, func(ev Event) bool { return ev.Type == typ && ev.Step == step })
	}
	if at(EvStepStarted, "writer") > at(EvStepFinished, "reader") {
		t.Error("the writer started after the reader ended")
	}
	if at(EvStepStarted, "after") < at(EvStepFinished, "reader") {
		t.Error("after started before the reader, which it waits for, ended")
	}
	ask := slices.IndexFunc(st.Events, func(ev Event) bool { return ev.Type == EvWaiting && ev.Step == "asks" })
	for _, id := range []string{"reader", "writer", "after"} {
		if ask < at(EvStepFinished, id) {
			t.Errorf("the question of asks was put before %s ended", id)
		}
	}
	if at(EvStepStarted, "last") < at(EvStepFinished, "asks") {
		t.Error("last started before asks ended")
	}
	_ = ap
}

// A failure in the group stops it cleanly: nothing more starts (after
// waits for the failed reader and never runs), the step running beside it
// ends, and the failure is put to the admin as if the step had run alone;
// quitting there leaves the journal with the failed step and the pending
// ones.
func TestEngineGroupStopsAtAFailure(t *testing.T) {
	dir, rb, ex := groupSetup(t, "3")
	state := t.TempDir()
	var failures []string
	_, err := runEngine(t, state, rb, ex, func(ev Event) (Decision, bool) {
		if ev.Need == NeedFailure {
			failures = append(failures, ev.Step)
		}
		return Decision{Action: ActQuit}, true
	})
	var sf *StepFailedError
	if !errors.Is(err, ErrStopped) && !errors.As(err, &sf) {
		t.Fatalf("Run: %v, want the admin's stop at the failure", err)
	}
	if strings.Join(failures, ",") != "reader" {
		t.Errorf("failures put to the admin: %v, want reader", failures)
	}
	st, err := LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"reader": StatusFailed, "writer": StatusOK, "after": StatusPending, "asks": StatusPending, "last": StatusPending}
	for id, w := range want {
		if got := st.Status(id); got != w {
			t.Errorf("step %s is %s, want %s", id, got, w)
		}
	}
	for _, f := range []string{"after", "last"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("%s ran after the group stopped", f)
		}
	}
}

// The loader lets only steps that need nobody and change nothing the
// others read run beside each other.
func TestLoadRefusesBesideWithUnsafeSteps(t *testing.T) {
	base := strings.Replace(strings.Replace(groupRunbook, "%s", "/tmp", 1), "%s", "0", 1)
	for name, c := range map[string]struct{ from, to, want string }{
		"a later step": {"beside: [reader]", "beside: [after]", `"after" is not an earlier step`},
		"itself":       {"beside: [reader]", "beside: [writer]", `"writer" is not an earlier step`},
		"destructive named": {"    safe_to_rerun: true\n    vendor: \"1\"",
			"    destructive: true\n    precondition: {text: t, kind: path-present, params: {path: /}}\n    safe_to_rerun: true\n    vendor: \"1\"",
			`"reader" cannot run beside another step: it is destructive`},
		"destructive itself": {"    beside: [reader]\n    safe_to_rerun: true",
			"    beside: [reader]\n    destructive: true\n    precondition: {text: t, kind: path-present, params: {path: /}}\n    safe_to_rerun: true",
			"this step cannot run beside another step: it is destructive"},
		"repeatable": {"    beside: [reader]\n    safe_to_rerun: true", "    beside: [reader]\n    repeatable: true\n    safe_to_rerun: true",
			"it is repeatable"},
	} {
		t.Run(name, func(t *testing.T) {
			src := strings.Replace(base, c.from, c.to, 1)
			if src == base {
				t.Fatal("the case changed nothing")
			}
			_, err := Parse("test.yaml", []byte(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse: %v, want %q", err, c.want)
			}
		})
	}
	if _, err := Parse("test.yaml", []byte(base)); err != nil {
		t.Errorf("the base runbook: %v", err)
	}
}
