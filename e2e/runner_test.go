package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestRunnerOutlivesTheTerminal plays the GreenArrow demo in tmux, and
// while the queue merge runs kills the terminal (tmux's server: the client
// gets the hangup a dropped SSH session sends). The detached runner goes
// on: a read-only observer attached meanwhile sees the merge finish with no
// terminal at all, and its attempt to decide is refused by the runner and
// logged; the same command in a new terminal attaches to the runner, shows
// where it stands, and the run is finished from there, every message merged
// once.
func TestRunnerOutlivesTheTerminal(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo")
	state := filepath.Join(demo, "state")
	exitFile := filepath.Join(dir, "exit")
	command := fmt.Sprintf("SIM_MERGE_DELAY=0.01 %s demo greenarrow --dir %s --messages 600; echo $? > %s; sleep 300", ferryBin, demo, exitFile)
	s := startTmux(t, 100, 30, command)
	killRunnerAtEnd(t, state)

	acted := map[string]time.Time{}
	act := func(key string, k ...string) {
		if at, ok := acted[key]; ok && time.Since(at) < 4*time.Second {
			return
		}
		acted[key] = time.Now()
		s.keys(k...)
	}
	// Play until the merge has merged some messages.
	var scr string
	deadline := time.Now().Add(4 * time.Minute)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("the merge never showed; last screen:\n%s", scr)
		}
		time.Sleep(300 * time.Millisecond)
		scr = s.screen()
		if m := mergeLine.FindStringSubmatch(scr); m != nil && m[2] != "0" {
			break
		}
		step := "?"
		if m := stepHeader.FindStringSubmatch(scr); m != nil {
			step = m[1]
		}
		if !answerDemo(scr, step, act) && strings.Contains(scr, "r: retry") {
			t.Fatalf("a step failed:\n%s", scr)
		}
	}
	// "detached: safe to close", shortened to "detached" when the key
	// hints need the room.
	if !strings.Contains(scr, "detached") {
		t.Errorf("the footer does not say the runner is detached:\n%s", scr)
	}
	// The terminal goes away.
	s.tmux("kill-server")
	pid, held := wizard.LockHeld(state)
	if !held {
		t.Fatal("no runner holds the migration after the terminal went away")
	}

	// A read-only observer: sees the merge end with no terminal, and
	// cannot decide.
	obs, err := runner.Dial(filepath.Join(state, runner.SocketFile), runner.Hello{Role: runner.RoleObserve, Who: "the test's observer"})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	if obs.Welcome.PID != pid || obs.Welcome.Role != runner.RoleObserve {
		t.Errorf("welcome %+v, want the runner pid %d and the observer's role", obs.Welcome, pid)
	}
	var mu sync.Mutex
	var seen []runner.Message
	go func() {
		_, _ = obs.Stream(func(m runner.Message) { mu.Lock(); seen = append(seen, m); mu.Unlock() })
	}()
	waitSeen := func(what string, ok func(runner.Message) bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, m := range seen {
				if ok(m) {
					mu.Unlock()
					return
				}
			}
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("the observer never saw %s", what)
	}
	waitSeen("the merge finish", func(m runner.Message) bool {
		return m.Event != nil && m.Event.Type == wizard.EvStepFinished && m.Event.Step == "merge-queue" && m.Event.Status == wizard.StatusOK
	})
	// The runner waits at the next question, for a person.
	waitSeen("the runner waiting", func(m runner.Message) bool {
		return m.Event != nil && m.Event.Type == wizard.EvWaiting && m.Event.Step != "merge-queue"
	})
	if err := obs.Decide(wizard.Decision{Action: wizard.ActQuit}); err != nil {
		t.Fatal(err)
	}
	waitSeen("the refusal", func(m runner.Message) bool { return strings.Contains(m.Notice, "read-only") })
	b, _ := os.ReadFile(filepath.Join(state, runner.LogFile))
	if !strings.Contains(string(b), "refused a decision from a read-only client (the test's observer): quit") {
		t.Errorf("the runner's log does not record the refused decision:\n%s", b)
	}
	if _, still := wizard.LockHeld(state); !still {
		t.Fatal("the observer's quit stopped the runner")
	}

	// A new terminal, the same command: it attaches and finishes the run.
	s = startTmux(t, 100, 30, command)
	deadline = time.Now().Add(4 * time.Minute)
	attached := false
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		scr = s.screen()
		attached = attached || strings.Contains(scr, "detached")
		if strings.Contains(scr, "The migration is done") {
			s.keys("q")
			for range 50 {
				if b, err := os.ReadFile(exitFile); err == nil {
					if code := strings.TrimSpace(string(b)); code != "0" {
						t.Fatalf("the attached demo exited %s; last screen:\n%s", code, scr)
					}
					if !attached {
						t.Error("the second terminal never showed the runner's screen")
					}
					checkMigrated(t, demo)
					if st, err := wizard.LoadState(state); err != nil || st.Steps["merge-queue"].Status != wizard.StatusOK {
						t.Errorf("merge-queue: %v %+v", err, st.Steps["merge-queue"])
					}
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Fatalf("ferry did not exit after the last key; screen:\n%s", s.screen())
		}
		step := "?"
		if m := stepHeader.FindStringSubmatch(scr); m != nil {
			step = m[1]
		}
		if !answerDemo(scr, step, act) && strings.Contains(scr, "r: retry") {
			t.Fatalf("a step failed:\n%s", scr)
		}
	}
	t.Fatalf("the attached run did not finish; last screen:\n%s", scr)
}

// TestHeadlessClientKilledTheRunGoesOn kills (SIGKILL) the headless
// demo's own process while the queue merge runs: only the client goes;
// the runner it started holds the migration still and finishes the merge
// and the run without a resume. The same command run again follows that
// runner (or finds the run done) and exits 0; the journal holds one run,
// the merge started once and finished ok, every message merged once.
func TestHeadlessClientKilledTheRunGoesOn(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	state := filepath.Join(dir, "state")
	r := startDemo(t, dir, "SIM_MERGE_DELAY=0.05")
	killRunnerAtEnd(t, state)
	r.until("the queue merge's progress", func(ev wizard.Event) bool {
		return ev.Step == "merge-queue" && ev.Type == wizard.EvProgress && ev.Progress != nil && ev.Progress.Done > 0
	})
	pid := runnerPID(t, state)
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait()
	if p, held := wizard.LockHeld(state); !held || p != pid {
		t.Fatalf("after the client's kill the lock is held %v by pid %d, want the runner %d", held, p, pid)
	}
	out, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", dir)
	if code != 0 {
		t.Fatalf("the same command again: exit %d\n%s", code, errb)
	}
	evs := events(t, out)
	if last := evs[len(evs)-1]; last.Type != wizard.EvRunFinished || last.Status != wizard.StatusOK {
		t.Errorf("its last event is %s %s, want run_finished ok", last.Type, last.Status)
	}
	st, err := wizard.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	runs, merges := 0, 0
	for _, ev := range st.Events {
		switch {
		case ev.Type == wizard.EvRunStarted || ev.Type == wizard.EvRunResumed:
			runs++
		case ev.Type == wizard.EvStepStarted && ev.Step == "merge-queue":
			merges++
		}
	}
	if runs != 1 || merges != 1 || st.Status("merge-queue") != wizard.StatusOK {
		t.Errorf("journal: %d runs, merge-queue started %d times and %s; want one run, one merge, ok", runs, merges, st.Status("merge-queue"))
	}
	checkMigrated(t, dir)
}

// TestHeadlessClientSIGTERMStopsTheStep sends SIGTERM (as a service
// manager or a timeout would) to the headless demo's own process during
// the queue merge: unlike a kill or a hangup, it still stops the
// migration, through the runner: the client exits 130 once the runner has
// stopped the step and ended, and the journal leaves the merge unfinished
// (a run of the same command takes it up).
func TestHeadlessClientSIGTERMStopsTheStep(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	state := filepath.Join(dir, "state")
	r := startDemo(t, dir, "SIM_MERGE_DELAY=0.05")
	killRunnerAtEnd(t, state)
	r.until("the queue merge's progress", func(ev wizard.Event) bool {
		return ev.Step == "merge-queue" && ev.Type == wizard.EvProgress && ev.Progress != nil && ev.Progress.Done > 0
	})
	pid := runnerPID(t, state)
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for r.events.Scan() {
		}
	}()
	_ = r.cmd.Wait()
	if code := r.cmd.ProcessState.ExitCode(); code != 130 {
		t.Fatalf("the client exited %d after SIGTERM, want 130\nstderr:\n%s", code, r.stderr)
	}
	if !strings.Contains(r.stderr.String(), "stopped at the admin's request") {
		t.Errorf("stderr does not say the run was stopped:\n%s", r.stderr)
	}
	if syscall.Kill(pid, 0) == nil {
		t.Errorf("the runner (pid %d) still runs after the client's SIGTERM", pid)
	}
	st, err := wizard.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Status("merge-queue"); got == wizard.StatusOK {
		t.Errorf("merge-queue is %s after SIGTERM, want it unfinished", got)
	}
}

// TestFollowerSIGTERMLeavesTheRun: a second headless run of the same
// command follows the runner the first started; SIGTERM to that follower
// (as a retrying automation tool or timeout(1) sends it) ends the follower
// alone: the runner goes on and the first run finishes with exit 0.
func TestFollowerSIGTERMLeavesTheRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	state := filepath.Join(dir, "state")
	first := startDemo(t, dir, "SIM_MERGE_DELAY=0.05")
	killRunnerAtEnd(t, state)
	first.until("the queue merge's progress", func(ev wizard.Event) bool {
		return ev.Step == "merge-queue" && ev.Type == wizard.EvProgress && ev.Progress != nil && ev.Progress.Done > 0
	})
	pid := runnerPID(t, state)
	follower := startDemo(t, dir)
	follower.until("an event of the merge", func(ev wizard.Event) bool { return ev.Step == "merge-queue" })
	if err := follower.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() {
		for follower.events.Scan() {
		}
	}()
	_ = follower.cmd.Wait()
	if code := follower.cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(follower.stderr.String(), "the migration goes on in the runner") {
		t.Errorf("the follower exited %d after SIGTERM, want 130 saying the run goes on\nstderr:\n%s", code, follower.stderr)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the runner (pid %d) is gone after a follower's SIGTERM: %v", pid, err)
	}
	first.until("the end of the run", func(ev wizard.Event) bool { return ev.Type == wizard.EvRunFinished })
	go func() {
		for first.events.Scan() {
		}
	}()
	_ = first.cmd.Wait()
	if code := first.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("the first run exited %d, want 0\nstderr:\n%s", code, first.stderr)
	}
}
