package cmd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestObserversOffATerminalFollowTheRunner runs the headless demo (its
// runner holds the queue merge still at message 3), and meanwhile:
// ferry checklist --state-dir shows the live state the runner serves (the
// merge running), not only the journal; ferry attach with no terminal
// follows as a read-only observer in plain lines, with no JSON and no
// escapes, from the run's start to its end, exiting 0 like the demo.
func TestObserversOffATerminalFollowTheRunner(t *testing.T) {
	dir, state, pauseFile := heldDemoSetup(t)
	demo := startHeldDemo(t, dir, state, pauseFile)
	// The live checklist: the merge runs now (the journal says so too);
	// the note says the runner serves it, which only the runner knows.
	code, out, errs := run(t, "", false, "checklist", "--state-dir", state, "--format", "markdown")
	if code != 0 {
		t.Fatalf("checklist: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "live: a runner (pid ") || !strings.Contains(out, "step merge-queue is running") {
		t.Errorf("the checklist does not show the live state:\n%s", out)
	}
	// The observer, off a terminal: started while the merge is held, it
	// prints the run from its start.
	att := make(chan demoResult, 1)
	first := make(chan struct{})
	go func() {
		var out, errb bytes.Buffer
		app := newApp(BuildInfo{Version: "1.2.3"})
		app.stdin, app.stderr = strings.NewReader(""), &errb
		app.stdout = &firstWrite{w: &out, first: first}
		app.interactive = func() bool { return false }
		code := app.execute([]string{"attach", "--state-dir", state})
		att <- demoResult{code, out.String(), errb.String()}
	}()
	// It prints the run so far as soon as it is attached; then the merge
	// goes on.
	select {
	case <-first:
	case a := <-att:
		t.Fatalf("attach ended (exit %d) before printing anything: %s", a.code, a.err)
	case <-time.After(time.Minute):
		t.Fatal("attach printed nothing in a minute")
	}
	if err := os.Remove(pauseFile); err != nil {
		t.Fatal(err)
	}
	r := <-demo
	if r.code != 0 {
		t.Fatalf("the demo exited %d\nstderr:\n%s", r.code, r.err)
	}
	a := <-att
	if a.code != 0 {
		t.Fatalf("attach exited %d, want the runner's 0\nstderr:\n%s", a.code, a.err)
	}
	for _, want := range []string{"run started on ", "merge-queue: started", "run finished: done"} {
		if !strings.Contains(a.out, want) {
			t.Errorf("attach's plain lines have no %q:\n%s", want, a.out)
		}
	}
	if strings.HasPrefix(a.out, "{") || strings.Contains(a.out, "\n{") || strings.ContainsRune(a.out, 0x1b) {
		t.Errorf("attach printed JSON or an escape:\n%s", a.out)
	}
}

// firstWrite passes writes to w and closes first at the first one.
type firstWrite struct {
	w     io.Writer
	first chan struct{}
	once  sync.Once
}

func (f *firstWrite) Write(b []byte) (int, error) {
	f.once.Do(func() { close(f.first) })
	return f.w.Write(b)
}

// TestChecklistOpenedBeforeTheRunnerGoesLive: the checklist's browsable
// view follows its state directory (followChecklist, what the TUI is fed
// every second): opened where no migration has begun, it shows the
// procedure without statuses; once a runner starts there, the view gets
// the runner's live state without being reopened; when that run ends, the
// journal's.
func TestChecklistOpenedBeforeTheRunnerGoesLive(t *testing.T) {
	dir, state, pauseFile := heldDemoSetup(t)

	var errb bytes.Buffer
	app := newApp(BuildInfo{Version: "1.2.3"})
	app.stdout, app.stderr = io.Discard, &errb
	docs := make(chan *checklist.Doc, 1000)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		app.followChecklist(checklistOptions{runbook: "greenarrow", stateDir: state, stateDirSet: true}, nil, func(d *checklist.Doc) { docs <- d }, stop)
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	next := func(what string) *checklist.Doc {
		t.Helper()
		select {
		case d := <-docs:
			return d
		case <-time.After(30 * time.Second):
			t.Fatalf("no view in 30 s (%s)", what)
		}
		return nil
	}
	// No migration yet: the procedure, no statuses.
	for range 2 {
		if d := next("before the run"); d.HasState {
			t.Fatalf("statuses before any migration began: %v", d.Notes)
		}
	}

	demo := startHeldDemo(t, dir, state, pauseFile)
	// The runner holds the merge: the view, opened before it, follows it.
	for deadline := time.Now().Add(30 * time.Second); ; {
		d := next("while the runner holds the merge")
		if d.HasState && strings.Contains(strings.Join(d.Notes, "\n"), "step merge-queue is running") {
			// The step the runner runs is running, not "interrupted"
			// as the journal alone would have it.
			for _, s := range d.Steps {
				if s.ID == "merge-queue" && s.Status != wizard.StatusRunning {
					t.Errorf("merge-queue reads %s while the runner runs it", s.Status)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view never showed the runner's live state; last notes %q", d.Notes)
		}
	}
	if err := os.Remove(pauseFile); err != nil {
		t.Fatal(err)
	}
	if r := <-demo; r.code != 0 {
		t.Fatalf("the demo exited %d\nstderr:\n%s", r.code, r.err)
	}
	// The run is over: the journal's statuses, every step accounted for.
	for deadline := time.Now().Add(30 * time.Second); ; {
		d := next("after the run")
		if d.HasState && !strings.Contains(strings.Join(d.Notes, "\n"), "live: ") && strings.HasPrefix(wizard.Tally(d.Statuses()), fmt.Sprintf("%d of %d done", len(d.Steps)-countSkipped(d), len(d.Steps))) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view never showed the ended run from the journal; notes %q, tally %s", d.Notes, wizard.Tally(d.Statuses()))
		}
	}
	if strings.Contains(errb.String(), "no journal in") {
		t.Errorf("the refreshes said \"no journal\": %q", errb.String())
	}
}

// countSkipped is how many of d's steps are skipped.
func countSkipped(d *checklist.Doc) int {
	n := 0
	for _, s := range d.Statuses() {
		if s == wizard.StatusSkipped {
			n++
		}
	}
	return n
}

// demoResult is how a headless demo run through the app ended.
type demoResult struct {
	code     int
	out, err string
}

// heldDemoSetup skips the test unless it runs as root (the demo's steps
// check that), and returns a demo directory, its state directory and the
// file the simulated merge writes when it holds at message 3, with the
// merge set to hold there (SIM_MERGE_PAUSE) for startHeldDemo.
func heldDemoSetup(t *testing.T) (dir, state, pauseFile string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the demo's steps check that ferry runs as root")
	}
	dir = filepath.Join(t.TempDir(), "demo")
	state = filepath.Join(dir, "state")
	pauseFile = filepath.Join(t.TempDir(), "merge.paused")
	t.Setenv("SIM_MERGE_DELAY", "0")
	t.Setenv("SIM_MERGE_PAUSE", "3:done")
	t.Setenv("SIM_MERGE_PAUSE_FILE", pauseFile)
	return dir, state, pauseFile
}

// startHeldDemo starts the headless GreenArrow demo in dir (state dir
// state), its queue merge held at message 3 (SIM_MERGE_PAUSE, which the
// caller sets with pauseFile), and returns once the merge is held; the
// demo's end comes on the channel. Cleanup lets the merge go and kills a
// runner left behind.
func startHeldDemo(t *testing.T, dir, state, pauseFile string) <-chan demoResult {
	t.Helper()
	demo := make(chan demoResult, 1)
	go func() {
		code, out, errs := run(t, "", false, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", "20")
		demo <- demoResult{code, out, errs}
	}()
	t.Cleanup(func() {
		os.Remove(pauseFile)
		if pid, held := wizard.LockHeld(state); held && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pauseFile); err == nil {
			return demo
		}
		select {
		case r := <-demo:
			t.Fatalf("the demo ended (exit %d) before the merge was held\nstderr:\n%s", r.code, r.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the merge was never held")
		}
	}
}
