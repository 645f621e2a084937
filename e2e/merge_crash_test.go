package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

// pauseAt is the message at which the merge stand-in stops in
// TestDemoMergeCrashMidMessage: some messages merged before it, more after.
const pauseAt = 40

// TestDemoMergeCrashMidMessage crashes the queue merge in the middle of a
// message: the merge stand-in (sim/standins/hvmail_queue_merge.sh) stops
// at message pauseAt at one of its three points (body copied but not yet
// in the live queue; body in the live queue, envelope not written; all
// written, the old files not yet removed) and says so in a file; ferry and
// the merge program are then both killed with SIGKILL, as a power cut
// would. The test checks the leftovers (the merge log, the parked
// message, the half-merged one), runs the same command again, and checks
// the live queue message by message: every original body exactly once,
// each with its own sender and recipients, nothing left in pid/ or
// queue/old.
func TestDemoMergeCrashMidMessage(t *testing.T) {
	for _, point := range []string{"tmp", "body", "done"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "demo")
			pauseFile := filepath.Join(t.TempDir(), "merge.paused")
			r := startDemo(t, dir, noMergeDelay, fmt.Sprintf("SIM_MERGE_PAUSE=%d:%s", pauseAt, point), "SIM_MERGE_PAUSE_FILE="+pauseFile)
			// ferry's events are read (and dropped) so that it never
			// blocks on its output; ended closes when its stdout does.
			ended := make(chan struct{})
			go func() {
				defer close(ended)
				for r.events.Scan() {
				}
			}()
			var paused []byte
			for paused == nil {
				if b, err := os.ReadFile(pauseFile); err == nil {
					paused = b
					break
				}
				select {
				case <-ended:
					_ = r.cmd.Wait()
					t.Fatalf("the demo ended before the merge reached message %d\nstderr:\n%s", pauseAt, r.stderr)
				case <-time.After(50 * time.Millisecond):
				}
			}
			var pid int
			var oldID, newID, at string
			if _, err := fmt.Sscan(string(paused), &pid, &oldID, &newID, &at); err != nil || at != point {
				t.Fatalf("pause file %q: %v", paused, err)
			}
			// The power cut: ferry (its client and its runner), then the
			// merge program.
			runnerPid := runnerPID(t, filepath.Join(dir, "state"))
			if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killRunner(t, runnerPid)
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatalf("killing the merge program (pid %d): %v", pid, err)
			}
			<-ended
			_ = r.cmd.Wait()
			if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("ferry was not killed: %v", r.cmd.ProcessState)
			}
			waitGone(t, pid)

			st, err := wizard.LoadState(filepath.Join(dir, "state"))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Status("merge-queue"); got != wizard.StatusInterrupted {
				t.Fatalf("after the crash the journal says merge-queue is %s, want interrupted", got)
			}
			live := filepath.Join(dir, "new"+sim.QueueDir)
			checkCrashLeftovers(t, live, oldID, newID, point)

			out, errb, code := ferryEnv(t, []string{noMergeDelay}, "demo", "greenarrow", "--headless", "--dir", dir)
			if code != 0 {
				t.Fatalf("the run after the crash ended with exit %d\nstderr:\n%s", code, errb)
			}
			evs := events(t, out)
			if last := evs[len(evs)-1]; last.Type != wizard.EvRunFinished || last.Status != wizard.StatusOK {
				t.Errorf("the resumed run's last event is %s %s, want run_finished ok", last.Type, last.Status)
			}
			checkMigrated(t, dir)
			checkEnvelopes(t, live)
			if left, _ := filepath.Glob(filepath.Join(live, "pid", "merge.*")); len(left) > 0 {
				t.Errorf("the merge left %v in pid/", left)
			}
		})
	}
}

// waitGone waits until process pid no longer exists (the killed merge
// program, reaped by init once ferry is gone).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i == 600 {
			t.Fatalf("the merge program (pid %d) is still there 30s after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkCrashLeftovers checks the queues as the crash left them at point:
// the merge log's last line is the paused message's, its old body and
// envelope are still parked, and the new copy is where the point says.
func checkCrashLeftovers(t *testing.T, live, oldID, newID, point string) {
	t.Helper()
	parked := filepath.Join(live, "old")
	b, err := os.ReadFile(filepath.Join(parked, "merge.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	state := "start"
	if point == "done" {
		state = "done"
	}
	if want := oldID + " " + newID + " " + state; lines[len(lines)-1] != want {
		t.Fatalf("the merge log ends with %q, want %q", lines[len(lines)-1], want)
	}
	if n := strings.Count(string(b), " done\n"); n != pauseAt-1 && point != "done" || point == "done" && n != pauseAt {
		t.Errorf("%d messages logged done at the crash; the pause was at message %d (%s)", n, pauseAt, point)
	}
	oldBody, err := filepath.Glob(filepath.Join(parked, "mess", "*", oldID))
	if err != nil || len(oldBody) != 1 {
		t.Fatalf("the paused message %s is not parked any more: %v %v", oldID, oldBody, err)
	}
	body, err := os.ReadFile(oldBody[0])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseUint(newID, 10, 64)
	sub := strconv.FormatUint(n%sim.Split, 10)
	newBody := filepath.Join(live, "mess", sub, newID)
	tmp := filepath.Join(live, "pid", "merge."+oldID)
	switch point {
	case "tmp":
		if got, err := os.ReadFile(tmp); err != nil || !bytes.Equal(got, body) || exists(newBody) {
			t.Fatalf("crash at tmp: pid/merge.%s (%v) should hold the body, and %s should not exist yet", oldID, err, newBody)
		}
	case "body", "done":
		if got, err := os.ReadFile(newBody); err != nil || !bytes.Equal(got, body) {
			t.Fatalf("crash at %s: the body should be in the live queue as %s: %v", point, newBody, err)
		}
		envelope := exists(filepath.Join(live, "info", sub, newID)) || exists(filepath.Join(live, "todo", newID))
		if envelope != (point == "done") {
			t.Fatalf("crash at %s: the new message's envelope written: %v", point, envelope)
		}
	}
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

var (
	returnPath = regexp.MustCompile(`(?m)^Return-Path: <([^>]*)>$`)
	toLine     = regexp.MustCompile(`(?m)^To: (.*)$`)
)

// checkEnvelopes checks each message of the live queue q against its own
// body (the simulator writes the sender as Return-Path and the recipients
// as To): its sender in info/ (or in its todo/intd envelope), and exactly
// its recipients in remote/ and local/ (or in the todo envelope), so that
// no message went out with another's envelope.
func checkEnvelopes(t *testing.T, q string) {
	t.Helper()
	bodies, err := filepath.Glob(filepath.Join(q, "mess", "*", "*"))
	if err != nil || len(bodies) == 0 {
		t.Fatalf("no message in the live queue: %v", err)
	}
	for _, p := range bodies {
		id, sub := filepath.Base(p), filepath.Base(filepath.Dir(p))
		body, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rp, to := returnPath.FindSubmatch(body), toLine.FindSubmatch(body)
		if rp == nil || to == nil {
			t.Errorf("message %s: no Return-Path or To in its body", id)
			continue
		}
		sender := string(rp[1])
		want := strings.Split(string(to[1]), ", ")
		slices.Sort(want)
		var got []string
		if env, err := os.ReadFile(filepath.Join(q, "todo", id)); err == nil {
			// Not preprocessed: u, p, F sender, T recipients.
			fields := strings.Split(strings.TrimRight(string(env), "\x00"), "\x00")
			if !slices.Contains(fields, "F"+sender) {
				t.Errorf("message %s: its todo envelope %q lacks sender %s", id, env, sender)
			}
			for _, f := range fields {
				if strings.HasPrefix(f, "T") {
					got = append(got, f[1:])
				}
			}
		} else {
			info, err := os.ReadFile(filepath.Join(q, "info", sub, id))
			if err != nil || string(info) != "F"+sender+"\x00" {
				t.Errorf("message %s: info %q (%v), want sender %s", id, info, err, sender)
			}
			for _, kind := range []string{"remote", "local"} {
				b, err := os.ReadFile(filepath.Join(q, kind, sub, id))
				if err != nil {
					continue
				}
				for _, r := range strings.Split(strings.TrimRight(string(b), "\x00"), "\x00") {
					if len(r) < 2 || r[0] != 'T' && r[0] != 'D' {
						t.Errorf("message %s: %s entry %q", id, kind, r)
						continue
					}
					got = append(got, strings.Replace(r[1:], "@"+sim.OldHostname+"-", "@", 1))
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("message %s: recipients %q, its body says %q", id, got, want)
		}
	}
}
