package e2e

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

// checkMigrated asserts what a finished GreenArrow migration leaves on the
// simulated new server.
func checkMigrated(t *testing.T, dir string) {
	t.Helper()
	s, err := sim.Setup(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.NewQueueCheck()
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Errorf("new queue: %d messages of %d expected, %d missing, %d duplicated, %d unknown, %d misnamed, %d in the wrong split dir, %d orphans",
			r.Messages, r.Expected, r.Missing, r.Duplicates, r.Unknown, len(r.Misnamed), len(r.WrongSplit), len(r.Orphans))
	}
	if r.OldPresent {
		t.Errorf("queue/old is still there on new (%d files left)", r.OldRemaining)
	}
	resolv, err := os.ReadFile(filepath.Join(s.NewRoot, "etc/resolv.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"nameserver 8.8.8.8", "nameserver 8.8.4.4", "nameserver 1.1.1.1"} {
		if !strings.Contains(string(resolv), ns+"\n") {
			t.Errorf("resolv.conf lacks %q:\n%s", ns, resolv)
		}
	}
	hosts, err := os.ReadFile(filepath.Join(s.NewRoot, "etc/hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(hosts), "oldserver") {
		t.Errorf("the oldserver line is still in /etc/hosts:\n%s", hosts)
	}
	if !strings.Contains(string(hosts), "localhost") {
		t.Errorf("/etc/hosts lost its other lines:\n%s", hosts)
	}
}

func TestDemoHeadlessRunsToTheEnd(t *testing.T) {
	dir := t.TempDir()
	out, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", "400")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errb)
	}
	evs := events(t, out)
	last := evs[len(evs)-1]
	if last.Type != wizard.EvRunFinished || last.Status != wizard.StatusOK {
		t.Fatalf("last event %+v", last)
	}
	var merged *wizard.Event
	for i := range evs {
		if evs[i].Type == wizard.EvStepFinished && evs[i].Step == "merge-queue" {
			merged = &evs[i]
		}
	}
	if merged == nil || merged.Counters == nil || merged.Counters.Done != 400 || merged.Counters.Remaining != 0 {
		t.Errorf("merge-queue counters: %+v", merged)
	}
	checkMigrated(t, dir)

	rep, errb, code := ferry(t, "report", "--state-dir", filepath.Join(dir, "state"))
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errb)
	}
	st, err := wizard.LoadState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() {
		t.Fatal("no downtime window in the journal")
	}
	// The forecast counted the parked queue before the window and names
	// the merge, which it cannot time, with that size in its headline.
	if n := st.Facts[wizard.FactForecastQueued+"merge-queue"]; n != "400" {
		t.Errorf("the parked queue was counted as %q before the forecast, want 400", n)
	}
	if b := st.Facts[wizard.FactDowntimeForecastBasis]; !strings.HasPrefix(b, "expected downtime at least ") || !strings.Contains(b, "plus the queue merge of 400 messages (never timed here); by step: ") {
		t.Errorf("the forecast's headline does not name the merge of 400 messages: %q", b)
	}
	text := string(rep)
	if !strings.Contains(strings.ToLower(text), "downtime") || !strings.Contains(text, st.DowntimeEnd.Sub(st.DowntimeStart).Round(time.Second).String()) {
		t.Errorf("report does not show the downtime window (%s):\n%s", st.DowntimeEnd.Sub(st.DowntimeStart).Round(time.Second), text)
	}

	// Running it again on a finished migration changes nothing and ends 0.
	_, errb, code = ferry(t, "demo", "greenarrow", "--headless", "--dir", dir)
	if code != 0 {
		t.Fatalf("second run exit %d: %s", code, errb)
	}
	checkMigrated(t, dir)
}

// TestDemoSurvivesKill9DuringTheQueueMerge kills ferry while the queue merge
// runs and runs the same command again: no message may be lost or merged
// twice.
func TestDemoSurvivesKill9DuringTheQueueMerge(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(ferryBin, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", "1500")
	cmd.Env = append(os.Environ(), "SIM_MERGE_DELAY=0.004")
	killed := killDemoAt(t, cmd, func(line string) bool {
		return strings.Contains(line, `"step":"merge-queue"`) && strings.Contains(line, `"type":"progress"`) && strings.Contains(line, `"unit":"messages"`) && !strings.Contains(line, `"done":0,`)
	})
	if !killed {
		t.Fatal("the run ended before the queue merge made progress")
	}
	st, err := wizard.LoadState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Status("merge-queue") != wizard.StatusInterrupted {
		t.Fatalf("merge-queue is %s after kill -9, want interrupted", st.Status("merge-queue"))
	}
	_, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", dir)
	if code != 0 {
		t.Fatalf("resumed run exit %d: %s", code, errb)
	}
	checkMigrated(t, dir)
}

// demoStateDir is the state directory of the demo command line args
// (its --dir's state).
func demoStateDir(t *testing.T, args []string) string {
	t.Helper()
	for i, a := range args {
		if a == "--dir" && i+1 < len(args) {
			return filepath.Join(args[i+1], "state")
		}
	}
	t.Fatalf("no --dir in %v", args)
	return ""
}

// runnerPID is the pid of the runner that holds the migration in stateDir
// (the lock's holder); none fails the test.
func runnerPID(t *testing.T, stateDir string) int {
	t.Helper()
	pid, held := wizard.LockHeld(stateDir)
	if !held || pid <= 0 {
		t.Fatalf("no runner holds the migration in %s", stateDir)
	}
	return pid
}

// killRunner sends SIGKILL to the runner pid and waits until it is gone
// (reaped by its parent, or by init once the killed client is gone).
func killRunner(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing the runner (pid %d): %v", pid, err)
	}
	for i := 0; syscall.Kill(pid, 0) == nil; i++ {
		if i == 600 {
			t.Fatalf("the runner (pid %d) is still there 30s after SIGKILL", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killDemoAt starts cmd, a headless demo, reads its JSON event lines from
// stdout, and sends it SIGKILL at the first line for which at returns true;
// it then waits for the process to end. It returns whether the kill was
// sent: false when the run ended before any line matched. Starting the
// command fails the test.
func killDemoAt(t *testing.T, cmd *exec.Cmd, at func(line string) bool) bool {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	var last []string
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if at(sc.Text()) {
			// A crash of ferry: the client, and the runner that runs the
			// migration (killing the client alone stops nothing).
			pid := runnerPID(t, demoStateDir(t, cmd.Args))
			_ = cmd.Process.Signal(syscall.SIGKILL)
			killRunner(t, pid)
			killed = true
			break
		}
		if last = append(last, sc.Text()); len(last) > 12 {
			last = last[1:]
		}
	}
	err = cmd.Wait()
	if !killed {
		// Say how the run ended, so a kill point that never came is
		// told apart from a run that failed first.
		t.Logf("the run ended (%v) before the kill point; its last lines:\n%s", err, strings.Join(last, "\n"))
	}
	return killed
}

// TestSecondFerryGetsExit4 holds the demo's lock with one ferry and starts
// another on the same state directory.
func TestSecondFerryGetsExit4(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	l, err := wizard.AcquireLock(state)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	_, errb, code := ferry(t, "run", "--runbook", "greenarrow", "--old", "192.0.2.10", "--state-dir", state, "--headless")
	if code != 4 {
		t.Fatalf("exit %d, want 4: %s", code, errb)
	}
	if !strings.Contains(string(errb), "pid") {
		t.Errorf("message does not name the holder: %s", errb)
	}
}
