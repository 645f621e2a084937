package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// killMessages is the size of the old queue in the kill tests: enough for
// the merge to report progress several times, small enough for CI.
const killMessages = 150

// noMergeDelay makes the merge go as fast as the stand-in can where the
// kill is elsewhere.
const noMergeDelay = "SIM_MERGE_DELAY=0"

// demoRun is one headless `ferry demo` started in the background, its
// events read as they come.
type demoRun struct {
	t      *testing.T
	dir    string
	cmd    *exec.Cmd
	events *bufio.Scanner
	stderr *bytes.Buffer
	seen   []wizard.Event
}

// startDemo starts `ferry demo greenarrow --headless --dir dir` with extra
// environment variables env ("SIM_MERGE_DELAY=0.01").
func startDemo(t *testing.T, dir string, env ...string) *demoRun {
	t.Helper()
	cmd := exec.Command(ferryBin, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", strconv.Itoa(killMessages))
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	// A program left running by a killed ferry must not hold up Wait.
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	r := &demoRun{t: t, dir: dir, cmd: cmd, events: sc, stderr: &errb}
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			_ = r.cmd.Wait()
		}
	})
	return r
}

// until reads events until match accepts one and returns it; it fails the
// test when the run's output ends first.
func (r *demoRun) until(what string, match func(ev wizard.Event) bool) wizard.Event {
	r.t.Helper()
	for r.events.Scan() {
		var ev wizard.Event
		if err := json.Unmarshal(r.events.Bytes(), &ev); err != nil {
			r.t.Fatalf("stdout line is not a JSON event: %q", r.events.Text())
		}
		r.seen = append(r.seen, ev)
		if match(ev) {
			return ev
		}
	}
	err := r.cmd.Wait()
	r.t.Fatalf("the demo ended (%v) before %s\nlast events:\n%s\nstderr:\n%s", err, what, r.tail(8), r.stderr)
	return wizard.Event{}
}

// tail renders the last n events read.
func (r *demoRun) tail(n int) string {
	var b strings.Builder
	for _, ev := range r.seen[max(0, len(r.seen)-n):] {
		fmt.Fprintf(&b, "  %s %s %s %s\n", ev.Type, ev.Step, ev.Status, ev.Message)
	}
	return b.String()
}

// kill sends SIGKILL to ferry, the client and its runner (a crash), and
// waits for both to be gone.
func (r *demoRun) kill() {
	r.t.Helper()
	pid := runnerPID(r.t, filepath.Join(r.dir, "state"))
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		r.t.Fatal(err)
	}
	killRunner(r.t, pid)
	err := r.cmd.Wait()
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		r.t.Fatalf("the demo was not killed by SIGKILL: %v (it ended by itself first)\nstderr:\n%s", err, r.stderr)
	}
}

// killPoint is a moment inside a long step of the GreenArrow runbook, told
// from the headless event stream.
type killPoint struct {
	step string
	// env slows the simulator where the step would be over too soon.
	env []string
	// at accepts the event after which ferry is killed.
	at func(ev wizard.Event) bool
	// name is the subtest's name when it is not the step's id.
	name string
	// hold, when set, replaces at: the step's rm holds at this point
	// (holdScript) and the kill lands there.
	hold string
	// copyHold, when set, replaces at: that copy of the disk queue (1 for
	// the first) holds (holdQueueCopy) and the kill lands there.
	copyHold int
}

// inStep is true for an event that shows the step running: output or
// progress of its command, or (for a step that prints nothing) its start.
func inStep(step string, kinds ...wizard.EventType) func(ev wizard.Event) bool {
	return func(ev wizard.Event) bool {
		if ev.Step != step {
			return false
		}
		for _, k := range kinds {
			if ev.Type == k {
				return true
			}
		}
		return false
	}
}

// copyingQueue is true for the line the migration script prints as it
// starts copying the disk queue (sim/standins/hvmail_server_migration.sh).
func copyingQueue(step string) func(ev wizard.Event) bool {
	return func(ev wizard.Event) bool {
		return ev.Step == step && ev.Type == wizard.EvOutput && strings.HasPrefix(ev.Message, "Copying the disk queue")
	}
}

// The long steps of assets/greenarrow.yaml, in the order they run.
var killPoints = []killPoint{
	// The hot pass: the vendor's migration script has begun to copy the
	// disk queue from the old server with rsync over the system ssh (the
	// Host oldserver block).
	{step: "migration-first-pass", env: []string{noMergeDelay}, at: copyingQueue("migration-first-pass")},
	// The final pass, after the old server was stopped: its copy of the
	// disk queue (the third, after two hot passes) holds itself
	// (holdQueueCopy) and the kill lands there; an event read after the
	// step's output came too late once the run was a runner's (the pass
	// was over when the kill landed).
	{step: "migration-final-pass", env: []string{noMergeDelay}, copyHold: 3},
	// The merge, once it has merged some messages and not all.
	{step: "merge-queue", env: []string{"SIM_MERGE_DELAY=0.01"}, at: func(ev wizard.Event) bool {
		return ev.Step == "merge-queue" && ev.Type == wizard.EvProgress && ev.Progress != nil &&
			ev.Progress.Unit == "messages" && ev.Progress.Done > 0 && ev.Progress.Done < ev.Progress.Total
	}},
	// The deletion of the parked queue. rm -rf prints nothing and may be
	// done before a kill that follows the step's start lands, so the rm
	// the step runs holds itself (holdRemoval) at a chosen point, and ferry
	// and that rm are killed there, as a power cut would: before rm has
	// removed anything; part-way, with queue/old/mess gone and the rest
	// not; and with queue/old gone before ferry recorded the step's end.
	{step: "remove-old-queue", env: []string{noMergeDelay}, hold: "before"},
	{step: "remove-old-queue", name: "remove-old-queue-part-way", env: []string{noMergeDelay}, hold: "mess"},
	{step: "remove-old-queue", name: "remove-old-queue-removed-unrecorded", env: []string{noMergeDelay}, hold: "all"},
}

// holdScript is an rm put first on the simulated new server's PATH (its
// /usr/local/bin, see remote.SimEnv) by holdRemoval. Any rm but that of
// the parked queue (an argument ending in qmail-disk/queue/old) is the real
// /bin/rm at once. That one does the removal HOLD asks for ("before":
// nothing; "mess": queue/old/mess; "all": the whole of it, with the real
// rm and the step's own arguments), writes its pid to the file HOLDFILE
// and stops itself (SIGSTOP), so that the test kills ferry while the rm
// the step runs holds at that point, however slow the machine.
const holdScript = `#!/bin/sh
target=
for a in "$@"; do target=$a; done
case "$target" in
*/qmail-disk/queue/old) ;;
*) exec /bin/rm "$@" ;;
esac
case HOLD in
mess) /bin/rm -rf --one-file-system "$target/mess" || exit 1 ;;
all) /bin/rm "$@" || exit 1 ;;
esac
echo $$ > HOLDFILE.tmp && mv HOLDFILE.tmp HOLDFILE
kill -STOP $$
exec /bin/rm "$@"
`

// copyHoldScript is an rsync put first on the simulated new server's PATH
// by holdQueueCopy: any rsync but the migration script's copy of the disk
// queue (a destination ending in qmail-disk/queue/old/) is the real one at
// once. That copy is counted in COUNTFILE; the Nth writes its pid to
// HOLDFILE and stops itself (SIGSTOP) before it copies, so that the test
// kills ferry while the step's copy holds there, however slow the machine.
const copyHoldScript = `#!/bin/sh
target=
for a in "$@"; do target=$a; done
case "$target" in
*/qmail-disk/queue/old/) ;;
*) exec REALRSYNC "$@" ;;
esac
n=$(( $(cat COUNTFILE 2>/dev/null || echo 0) + 1 ))
echo $n > COUNTFILE
if [ $n -eq NTH ]; then
	echo $$ > HOLDFILE.tmp && mv HOLDFILE.tmp HOLDFILE
	kill -STOP $$
fi
exec REALRSYNC "$@"
`

// holdQueueCopy puts copyHoldScript, holding the nth copy of the disk
// queue, in the simulated new server of the demo in dir, and returns the
// file it will write its pid to and a func that takes it away again.
func holdQueueCopy(t *testing.T, dir string, nth int) (holdFile string, remove func()) {
	t.Helper()
	real, err := exec.LookPath("rsync")
	if err != nil {
		t.Fatal(err)
	}
	holdFile = filepath.Join(t.TempDir(), "rsync.held")
	bin := filepath.Join(dir, "new/usr/local/bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := strings.NewReplacer("REALRSYNC", real, "COUNTFILE", holdFile+".count", "HOLDFILE", holdFile, "NTH", strconv.Itoa(nth)).Replace(copyHoldScript)
	rs := filepath.Join(bin, "rsync")
	if err := os.WriteFile(rs, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return holdFile, func() {
		if err := os.Remove(rs); err != nil {
			t.Fatal(err)
		}
	}
}

// holdRemoval puts holdScript, for the point hold, in the simulated new
// server of the demo in dir, and returns the file it will write its pid to
// and a func that takes it away again (before the run after the kill).
func holdRemoval(t *testing.T, dir, hold string) (holdFile string, remove func()) {
	t.Helper()
	holdFile = filepath.Join(t.TempDir(), "rm.held")
	bin := filepath.Join(dir, "new/usr/local/bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := strings.NewReplacer("HOLDFILE", holdFile, "HOLD", hold).Replace(holdScript)
	rm := filepath.Join(bin, "rm")
	if err := os.WriteFile(rm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return holdFile, func() {
		if err := os.Remove(rm); err != nil {
			t.Fatal(err)
		}
	}
}

// killAtHold reads (and drops) the run's events until the held rm has
// written holdFile, then kills ferry and that rm with SIGKILL and waits for
// both to be gone. It fails the test when the run ends first.
func (r *demoRun) killAtHold(holdFile string) {
	r.t.Helper()
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		for r.events.Scan() {
		}
	}()
	var held []byte
	for held == nil {
		if b, err := os.ReadFile(holdFile); err == nil {
			held = b
			break
		}
		select {
		case <-ended:
			err := r.cmd.Wait()
			r.t.Fatalf("the demo ended (%v) before the removal of the parked queue held\nstderr:\n%s", err, r.stderr)
		case <-time.After(50 * time.Millisecond):
		}
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(held)))
	if err != nil {
		r.t.Fatalf("hold file %q: %v", held, err)
	}
	// A crash of ferry (its client and its runner) and of the rm at
	// once: the runner is frozen first, so that it records nothing of the
	// rm's death, and killed last (the stopped rm, orphaned by the
	// runner's death, would get SIGCONT from the kernel and go on).
	runnerPid := runnerPID(r.t, filepath.Join(r.dir, "state"))
	if err := syscall.Kill(runnerPid, syscall.SIGSTOP); err != nil {
		r.t.Fatal(err)
	}
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		r.t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		r.t.Fatalf("killing the held rm (pid %d): %v", pid, err)
	}
	killRunner(r.t, runnerPid)
	<-ended
	_ = r.cmd.Wait()
	if ws, ok := r.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		r.t.Fatalf("the demo was not killed by SIGKILL: %v\nstderr:\n%s", r.cmd.ProcessState, r.stderr)
	}
	waitGone(r.t, pid)
}

// TestDemoKilledInEachLongStepFinishes kills the headless demo with SIGKILL
// inside each long step in turn (a new simulator each time), checks from
// the journal that the kill landed inside the step, and runs the same
// command again: it must end with exit 0 and every message of the old
// queue must be in the new queue exactly once.
func TestDemoKilledInEachLongStepFinishes(t *testing.T) {
	for _, kp := range killPoints {
		name := kp.name
		if name == "" {
			name = kp.step
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "demo")
			r := startDemo(t, dir, kp.env...)
			var at string
			switch {
			case kp.hold != "":
				// The first event comes once the simulated servers exist.
				r.until("the run's first event", func(wizard.Event) bool { return true })
				holdFile, unhold := holdRemoval(t, dir, kp.hold)
				r.killAtHold(holdFile)
				unhold()
				at = "its rm held at point " + kp.hold
			case kp.copyHold > 0:
				r.until("the run's first event", func(wizard.Event) bool { return true })
				holdFile, unhold := holdQueueCopy(t, dir, kp.copyHold)
				r.killAtHold(holdFile)
				unhold()
				at = fmt.Sprintf("its copy %d of the disk queue held", kp.copyHold)
			default:
				ev := r.until("a kill point inside "+kp.step, kp.at)
				r.kill()
				at = string(ev.Type)
			}
			st, err := wizard.LoadState(filepath.Join(dir, "state"))
			if err != nil {
				t.Fatal(err)
			}
			if got := st.Status(kp.step); got != wizard.StatusInterrupted {
				t.Fatalf("killed after %s of %s, the journal says %s, want interrupted (the kill landed outside the step)", at, kp.step, got)
			}
			left := parkedQueue(dir)
			t.Logf("killed after %s of %s; %s", at, kp.step, left)
			if want := map[string]string{
				"before": "queue/old/mess holds 0 messages",
				"mess":   "queue/old is there, its mess directory gone",
				"all":    "queue/old is gone",
			}[kp.hold]; want != "" && left != want {
				t.Fatalf("the removal held at %s left %q, want %q", kp.hold, left, want)
			}
			out, errb, code := ferryEnv(t, []string{noMergeDelay}, "demo", "greenarrow", "--headless", "--dir", dir)
			if code != 0 {
				evs := events(t, out)
				var last []string
				for _, e := range evs[max(0, len(evs)-8):] {
					last = append(last, fmt.Sprintf("  %s %s %s %s", e.Type, e.Step, e.Status, e.Message))
				}
				t.Fatalf("the run after a kill inside %s ended with exit %d\nlast events:\n%s\nstderr:\n%s", kp.step, code, strings.Join(last, "\n"), errb)
			}
			evs := events(t, out)
			if last := evs[len(evs)-1]; last.Type != wizard.EvRunFinished || last.Status != wizard.StatusOK {
				t.Errorf("the resumed run's last event is %s %s, want run_finished ok", last.Type, last.Status)
			}
			checkMigrated(t, dir)
			if kp.step == "merge-queue" {
				// The counts add up across the attempts: the whole queue,
				// not only what the resumed attempt merged.
				st, err := wizard.LoadState(filepath.Join(dir, "state"))
				if err != nil {
					t.Fatal(err)
				}
				r := st.Steps["merge-queue"]
				if c := r.Counters; c == nil || c.Done != killMessages || c.Total != killMessages || !strings.Contains(r.Message, "in all") {
					t.Errorf("merge-queue after a resume: counters %+v, message %q; want %d of %d in all", c, r.Message, killMessages, killMessages)
				}
			}
		})
	}
}

// TestSecondDemoFollowsTheRunner starts a second headless `ferry demo` on
// the directory of a running one: it starts no second migration but
// follows the runner of the first (which holds the lock), printing the
// same events from the start of the run, and both exit 0 when the run
// ends, the migration done once.
func TestSecondDemoFollowsTheRunner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	first := startDemo(t, dir, "SIM_MERGE_DELAY=0.01")
	first.until("the queue merge's progress", func(ev wizard.Event) bool {
		return ev.Step == "merge-queue" && ev.Type == wizard.EvProgress
	})
	state := filepath.Join(dir, "state")
	pid := runnerPID(t, state)
	if pid == first.cmd.Process.Pid {
		t.Fatalf("the first demo (pid %d) holds the lock itself: no runner", pid)
	}
	out, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", dir)
	if code != 0 {
		t.Errorf("the second demo exited %d, want 0\nstderr:\n%s", code, errb)
	}
	if want := fmt.Sprintf("a runner (pid %d) already runs this migration", pid); !strings.Contains(string(errb), want) {
		t.Errorf("the second demo does not say it follows the runner (%s):\n%s", want, errb)
	}
	second := events(t, out)
	started := 0
	for _, ev := range second {
		if ev.Type == wizard.EvRunStarted || ev.Type == wizard.EvRunResumed {
			started++
		}
	}
	if started != 1 || len(second) == 0 || second[len(second)-1].Type != wizard.EvRunFinished || second[len(second)-1].Status != wizard.StatusOK {
		t.Errorf("the second demo printed %d run starts and ends with %+v; want the run from its one start to run_finished ok", started, second[len(second)-1:])
	}
	first.until("the end of the first run", func(ev wizard.Event) bool { return ev.Type == wizard.EvRunFinished })
	if err := first.cmd.Wait(); err != nil {
		t.Fatalf("the first demo: %v\nlast events:\n%s\nstderr:\n%s", err, first.tail(8), first.stderr)
	}
	if last := first.seen[len(first.seen)-1]; last.Status != wizard.StatusOK {
		t.Fatalf("the first demo finished %s: %s", last.Status, last.Message)
	}
	checkMigrated(t, dir)
}

// parkedQueue tells what is left of the new server's parked queue
// (queue/old), for the log: where a kill landed in the removal.
func parkedQueue(dir string) string {
	old := filepath.Join(dir, "new/var/hvmail/qmail-disk/queue/old")
	if _, err := os.Stat(old); err != nil {
		return "queue/old is gone"
	}
	n := 0
	_ = filepath.Walk(filepath.Join(old, "mess"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(old, "mess")); err != nil {
		return "queue/old is there, its mess directory gone"
	}
	return fmt.Sprintf("queue/old/mess holds %d messages", n)
}

// ferryEnv runs the binary with extra environment variables and returns
// stdout, stderr and the exit code.
func ferryEnv(t *testing.T, env []string, args ...string) (stdout, stderr []byte, code int) {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("ferry %v: %v", args, err)
	}
	return o.Bytes(), e.Bytes(), code
}

// snapshotFiles maps every regular file of the simulator directory dir
// that the running demo does not change itself (its files at the top, the
// keys and known_hosts under sim/) to its size, modification time and
// SHA-256. The two servers' trees and the journal are left out: the demo
// that holds the lock writes to them all along.
func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() && (rel == "old" || rel == "new" || rel == "state") {
			return filepath.SkipDir
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		out[rel] = fmt.Sprintf("%d %d %x", fi.Size(), fi.ModTime().UnixNano(), sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no simulator files in %s", dir)
	}
	return out
}
