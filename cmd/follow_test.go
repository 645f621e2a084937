package cmd

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestObserversOffATerminalFollowTheRunner runs the headless demo (its
// runner holds the queue merge still at message 3), and meanwhile:
// ferry checklist --state-dir shows the live state the runner serves (the
// merge running), not only the journal; ferry attach with no terminal
// follows as a read-only observer in plain lines, with no JSON and no
// escapes, from the run's start to its end, exiting 0 like the demo.
func TestObserversOffATerminalFollowTheRunner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the demo's steps check that ferry runs as root")
	}
	dir := filepath.Join(t.TempDir(), "demo")
	state := filepath.Join(dir, "state")
	pauseFile := filepath.Join(t.TempDir(), "merge.paused")
	t.Setenv("SIM_MERGE_DELAY", "0")
	t.Setenv("SIM_MERGE_PAUSE", "3:done")
	t.Setenv("SIM_MERGE_PAUSE_FILE", pauseFile)
	type result struct {
		code     int
		out, err string
	}
	demo := make(chan result, 1)
	go func() {
		code, out, errs := run(t, "", false, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", "20")
		demo <- result{code, out, errs}
	}()
	t.Cleanup(func() {
		os.Remove(pauseFile)
		if pid, held := wizard.LockHeld(state); held && pid != os.Getpid() {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pauseFile); err == nil {
			break
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
	att := make(chan result, 1)
	first := make(chan struct{})
	go func() {
		var out, errb bytes.Buffer
		app := newApp(BuildInfo{Version: "1.2.3"})
		app.stdin, app.stderr = strings.NewReader(""), &errb
		app.stdout = &firstWrite{w: &out, first: first}
		app.interactive = func() bool { return false }
		code := app.execute([]string{"attach", "--state-dir", state})
		att <- result{code, out.String(), errb.String()}
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
