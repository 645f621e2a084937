package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/testenv"
	"github.com/ferry-migrate/ferry/wizard"
)

// bulkFiles is how many extra files the old server's /var/hvmail holds in
// the SSH login test, so that the hot pass's rsync lasts long enough to
// drop the session in the middle of it.
const bulkFiles = 40000

// TestSSHLoginDroppedTheMigrationGoesOn logs in to this machine over real
// SSH (OpenSSH's sshd from testenv, ssh -tt from a tmux terminal) and runs
// the GreenArrow demo there with plain output (TERM=dumb, so the runner
// answers from the demo's answers: nobody has to be at the screen). The
// session is dropped twice: its sshd session process killed while rsync
// copies a tree of tens of thousands of files (the hot pass), and, after a
// second login has reattached with the same command, its ssh client
// killed while the queue merge is held at a message. Each time the ferry
// of that login goes (its hangup), the runner goes on; a read-only
// observer attached in between sees the hot pass and the merge finish
// with no login at all, and its decision is refused and logged; a third
// login and the same command show the migration finished; every message
// merged once.
func TestSSHLoginDroppedTheMigrationGoesOn(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the demo's steps check that ferry runs as root")
	}
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("SKIPPED: tmux is not installed (apt-get install tmux)")
	}
	// It takes the throwaway user key for root.
	sshd := testenv.StartSSHD(t, testenv.SSHDOptions{})
	work := t.TempDir()
	dir := filepath.Join(work, "demo")
	state := filepath.Join(dir, "state")
	s, err := sim.Setup(dir, sim.Options{Messages: 300})
	if err != nil {
		t.Fatal(err)
	}
	// The large tree, under /var/hvmail (which the hot pass copies).
	bulk := filepath.Join(s.OldRoot, "var/hvmail/bulk")
	for i := range bulkFiles {
		d := filepath.Join(bulk, fmt.Sprintf("%03d", i%400))
		if i < 400 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%05d", i)), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	killRunnerAtEnd(t, state)
	pauseFile := filepath.Join(work, "merge.paused")
	t.Cleanup(func() { os.Remove(pauseFile) })
	// What the login runs: the same command each time.
	remote := fmt.Sprintf("cd / && TERM=dumb SIM_MERGE_DELAY=0.01 SIM_MERGE_PAUSE=5:done SIM_MERGE_PAUSE_FILE=%s %s demo greenarrow --dir %s; echo exit $?; sleep 600",
		pauseFile, ferryBin, dir)
	login := func(n int) *tmuxSession {
		ssh := append([]string{"ssh", "-tt"}, sshd.SSHArgs()...)
		ssh = append(ssh, "root@127.0.0.1", shellQuote(remote))
		s := &tmuxSession{t: t, socket: fmt.Sprintf("ferry-e2e-ssh-%d-%d", os.Getpid(), n), name: "login"}
		// The local shell stays when ssh goes, so the screen says how.
		s.tmux("new-session", "-d", "-s", s.name, "-x", "200", "-y", "50", strings.Join(ssh, " ")+"; echo ssh ended $?; sleep 600")
		t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
		return s
	}

	// Login 1: until rsync has copied part of the large tree.
	first := login(1)
	newBulk := filepath.Join(s.NewRoot, "var/hvmail/bulk")
	waitUntil(t, "rsync part-way through the large tree", 6*time.Minute, func() string { return first.screen() }, func() bool {
		n := filesUnder(newBulk)
		return n > 0 && n < bulkFiles
	})
	client := ferryClient(t, dir)
	runnerPid := runnerPID(t, state)
	// The drop: the login's sshd session process goes.
	for _, p := range sshdSessionOf(t, client) {
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "the first login's ferry to go", time.Minute, first.screen, func() bool { return syscall.Kill(client, 0) != nil })
	if n := filesUnder(newBulk); n >= bulkFiles {
		t.Logf("rsync had copied the whole tree by the time the session was gone (%d files)", n)
	}
	if p, held := wizard.LockHeld(state); !held || p != runnerPid {
		t.Fatalf("after the dropped session the migration is held %v by pid %d, want the runner %d", held, p, runnerPid)
	}

	// An observer, with no login at all.
	obs, err := runner.Dial(filepath.Join(state, runner.SocketFile), runner.Hello{Role: runner.RoleObserve, Who: "the test's observer"})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close()
	var mu sync.Mutex
	var seen []runner.Message
	obsEnd := make(chan *runner.End, 1)
	go func() {
		end, _ := obs.Stream(func(m runner.Message) { mu.Lock(); seen = append(seen, m); mu.Unlock() })
		obsEnd <- end
	}()
	saw := func(ok func(runner.Message) bool) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range seen {
			if ok(m) {
				return true
			}
		}
		return false
	}
	finished := func(step string) func(runner.Message) bool {
		return func(m runner.Message) bool {
			return m.Event != nil && m.Event.Type == wizard.EvStepFinished && m.Event.Step == step && m.Event.Status == wizard.StatusOK
		}
	}
	waitUntil(t, "the observer to see the hot pass finish", 6*time.Minute, first.screen, func() bool { return saw(finished("migration-first-pass")) })
	if n := filesUnder(newBulk); n != bulkFiles {
		t.Errorf("after the hot pass the new server holds %d of the %d files of the large tree", n, bulkFiles)
	}
	if err := obs.Decide(wizard.Decision{Step: "merge-queue", Action: wizard.ActQuit}); err != nil {
		t.Fatal(err)
	}

	// Login 2: the same command follows the runner; the merge is held at
	// message 5, and its live counters show.
	second := login(2)
	waitUntil(t, "the merge to be held", 6*time.Minute, second.screen, func() bool { _, err := os.Stat(pauseFile); return err == nil })
	waitUntil(t, "the second login to show the merge's counters", time.Minute, second.screen, func() bool {
		return strings.Contains(second.screen(), "merge-queue: so far: ")
	})
	scr := second.tmux("capture-pane", "-p", "-S", "-", "-t", second.name)
	if !strings.Contains(scr, "already runs this migration") {
		t.Errorf("the second login did not follow the runner:\n%s", scr)
	}
	client = ferryClient(t, dir)
	// The drop: the login's ssh client goes.
	if err := syscall.Kill(paneSSH(t, second), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the second login's ferry to go", time.Minute, second.screen, func() bool { return syscall.Kill(client, 0) != nil })
	if err := os.Remove(pauseFile); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the observer to see the merge finish", 6*time.Minute, func() string { return "" }, func() bool { return saw(finished("merge-queue")) })
	var end *runner.End
	select {
	case end = <-obsEnd:
	case <-time.After(6 * time.Minute):
		t.Fatal("the observer never saw the run end")
	}
	if end == nil || end.Code != 0 {
		t.Fatalf("the observer saw the run end %+v, want exit 0", end)
	}
	if !saw(func(m runner.Message) bool {
		return m.Event != nil && m.Event.Step == "merge-queue" && m.Event.Type == wizard.EvProgress && m.Event.Progress != nil && m.Event.Progress.Done > 0
	}) {
		t.Error("the observer saw no live counter of the merge")
	}
	if !saw(func(m runner.Message) bool { return strings.Contains(m.Notice, "read-only") }) {
		t.Error("the observer's decision was not refused")
	}
	log, _ := os.ReadFile(filepath.Join(state, runner.LogFile))
	if !strings.Contains(string(log), "refused a decision from a read-only client (the test's observer): quit") {
		t.Errorf("the runner's log does not record the refused decision:\n%s", log)
	}

	// Login 3: the same command shows the migration finished.
	third := login(3)
	waitUntil(t, "the third login's ferry to end", 3*time.Minute, third.screen, func() bool { return strings.Contains(third.screen(), "exit ") })
	scr = third.screen()
	if !strings.Contains(scr, "exit 0") || !strings.Contains(scr, "every step is done") {
		t.Errorf("the third login does not show the migration finished:\n%s", scr)
	}
	st, err := wizard.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	// One run from the first login to the end: no resume before the run
	// finished (the third login's runner resumes a finished migration),
	// the merge started once, both long steps ok.
	merges := 0
	for _, ev := range st.Events {
		if ev.Type == wizard.EvRunFinished {
			break
		}
		switch {
		case ev.Type == wizard.EvRunResumed:
			t.Errorf("the run was resumed at %s before it finished", ev.Time)
		case ev.Type == wizard.EvStepStarted && ev.Step == "merge-queue":
			merges++
		}
	}
	if merges != 1 {
		t.Errorf("merge-queue started %d times, want once", merges)
	}
	for _, step := range []string{"migration-first-pass", "merge-queue"} {
		if got := st.Status(step); got != wizard.StatusOK {
			t.Errorf("%s is %s", step, got)
		}
	}
	checkMigrated(t, dir)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// waitUntil polls ok until it holds, at most timeout; it then fails the
// test with what, and the screen.
func waitUntil(t *testing.T, what string, timeout time.Duration, screen func() string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; the screen:\n%s", timeout, what, screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// filesUnder counts the regular files under dir (0 when it is missing).
func filesUnder(dir string) int {
	n := 0
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n++
		}
		return nil
	})
	return n
}

// proc is what /proc says of one process.
type proc struct {
	pid, ppid int
	comm      string
	args      []string
	env       string
}

func readProc(pid int) (proc, bool) {
	p := proc{pid: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, false
	}
	// pid (comm) state ppid ...
	i, j := strings.IndexByte(string(stat), '('), strings.LastIndexByte(string(stat), ')')
	if i < 0 || j < i {
		return p, false
	}
	p.comm = string(stat[i+1 : j])
	fields := strings.Fields(string(stat[j+1:]))
	if len(fields) < 2 {
		return p, false
	}
	p.ppid, _ = strconv.Atoi(fields[1])
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	p.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	p.env = string(env)
	return p, true
}

// ferryClient waits for the ferry client (not the runner) that runs the
// demo in dir, started by a login, and returns its pid.
func ferryClient(t *testing.T, dir string) int {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			p, ok := readProc(pid)
			if !ok || len(p.args) < 2 || p.args[0] != ferryBin || !strings.Contains(strings.Join(p.args, " "), dir) {
				continue
			}
			if !strings.Contains(p.env, runner.ChildEnv+"=1") {
				return pid
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no ferry client runs the demo in %s", dir)
	return 0
}

// sshdSessionOf returns the sshd processes of the login that pid runs in:
// its ancestors named sshd* up to, not including, the listening sshd
// (started with -D).
func sshdSessionOf(t *testing.T, pid int) []int {
	t.Helper()
	var out []int
	for p, ok := readProc(pid); ok && p.pid > 1; p, ok = readProc(p.ppid) {
		if !strings.HasPrefix(p.comm, "sshd") {
			continue
		}
		// sshd sets its title ("sshd: /usr/sbin/sshd -D ... [listener]"),
		// one string in place of its arguments.
		if strings.Contains(strings.Join(p.args, " "), " -D ") {
			break
		}
		out = append(out, p.pid)
	}
	if len(out) == 0 {
		t.Fatalf("ferry (pid %d) runs in no sshd session", pid)
	}
	return out
}

// paneSSH returns the pid of the ssh client in the tmux session's pane.
func paneSSH(t *testing.T, s *tmuxSession) int {
	t.Helper()
	pane, err := strconv.Atoi(strings.TrimSpace(s.tmux("list-panes", "-t", s.name, "-F", "#{pane_pid}")))
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := readProc(pane); ok && p.comm == "ssh" {
		return pane
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if p, ok := readProc(pid); ok && p.ppid == pane && p.comm == "ssh" {
			return pid
		}
	}
	t.Fatalf("no ssh client in the tmux pane (pid %d)", pane)
	return 0
}
