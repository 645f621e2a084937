package sim

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// sameTree compares two trees (content, symlink targets, mtimes of regular
// files) and returns the differences; skip holds relative paths left out.
func sameTree(t *testing.T, a, b string, skip ...string) []string {
	t.Helper()
	var diffs []string
	err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		for _, s := range skip {
			if rel == s {
				return filepath.SkipDir
			}
		}
		other := filepath.Join(b, rel)
		fa, _ := os.Lstat(p)
		fb, err := os.Lstat(other)
		if err != nil {
			diffs = append(diffs, rel+": missing")
			return nil
		}
		switch {
		case fa.Mode().Type() != fb.Mode().Type():
			diffs = append(diffs, rel+": type differs")
		case fa.Mode()&fs.ModeSymlink != 0:
			ta, _ := os.Readlink(p)
			tb, _ := os.Readlink(other)
			if ta != tb {
				diffs = append(diffs, rel+": link target differs")
			}
		case fa.Mode().IsRegular():
			ca, _ := os.ReadFile(p)
			cb, _ := os.ReadFile(other)
			// rsync's quick check compares whole seconds: files that
			// differ below the second are left as they are.
			if !bytes.Equal(ca, cb) || fa.ModTime().Unix() != fb.ModTime().Unix() {
				diffs = append(diffs, rel+": content or mtime differs")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return diffs
}

func TestServerMigrationEndToEnd(t *testing.T) {
	t.Parallel()
	needPrograms(t, "ssh", "rsync")
	s := newSim(t, Options{Messages: 40})
	srv := startSSH(t, s)
	installEngine(t, s)

	// Without the oldserver entry the script cannot know where to go.
	r := run(t, s.NewRoot, nil, nil, "/var/hvmail/libexec/hvmail_server_migration", "--no-exit-on-error")
	if r.code == 0 || r.lastLine() == "No errors were detected." || !strings.Contains(r.stdout, "oldserver") {
		t.Fatalf("migration without an oldserver entry: exit %d, output:\n%s", r.code, r.stdout)
	}

	pointAtOldServer(t, s, srv)
	r = run(t, s.NewRoot, nil, nil, "/var/hvmail/libexec/hvmail_server_migration", "--no-exit-on-error")
	if r.code != 0 || r.lastLine() != "No errors were detected." {
		t.Fatalf("migration: exit %d, last line %q\nstdout:\n%s\nstderr:\n%s", r.code, r.lastLine(), r.stdout, r.stderr)
	}
	if d := sameTree(t, s.OldRoot+"/var/hvmail", s.NewRoot+"/var/hvmail", "qmail-disk/queue"); len(d) > 0 {
		t.Errorf("new /var/hvmail differs from old: %v", d)
	}
	// The live queue of the new server stays empty; the old one is parked.
	newMess, _ := CountFiles(s.NewRoot + QueueDir + "/mess")
	parked, _ := CountFiles(s.NewRoot + QueueDir + "/old/mess")
	if newMess != 0 || parked != 40 {
		t.Errorf("after the migration: %d files under queue/mess, %d under queue/old/mess; want 0 and 40", newMess, parked)
	}
	if d := sameTree(t, s.OldRoot+QueueDir, s.NewRoot+QueueDir+"/old"); len(d) > 0 {
		t.Errorf("parked queue differs from old's queue: %v", d)
	}
	if rep, err := s.NewQueueCheck(); err != nil || !rep.OldPresent || rep.OldRemaining != 40 {
		t.Errorf("NewQueueCheck after the migration: %s, %v", rep, err)
	}

	// A second pass (the cold one) works too; so does the default mode.
	r = run(t, s.NewRoot, nil, nil, "/var/hvmail/libexec/hvmail_server_migration")
	if r.code != 0 || r.lastLine() != "No errors were detected." {
		t.Fatalf("second pass: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// Merge the parked queue as the procedure does, through the real find.
	mergeAll(t, s)
	rep, err := s.NewQueueCheck()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.OldRemaining != 0 {
		t.Errorf("after the merge: %s", rep)
	}
	// Once a merge has started, the migration script will not park the old
	// queue again (that would merge it twice).
	r = run(t, s.NewRoot, nil, nil, "/var/hvmail/libexec/hvmail_server_migration", "--no-exit-on-error")
	if r.code == 0 || r.lastLine() == "No errors were detected." {
		t.Errorf("migration after a merge started: exit %d\n%s", r.code, r.stdout)
	}
	if rep, _ := s.NewQueueCheck(); !rep.OK() {
		t.Errorf("the queue after a late migration pass: %s", rep)
	}
}

// mergeAll runs the procedure's merge command line on the new root.
func mergeAll(t *testing.T, s *Sim) runResult {
	t.Helper()
	return mustRun(t, s.NewRoot, nil, "sh", "-c",
		`find "$FERRY_ROOT/var/hvmail/qmail-disk/queue/old/mess" -type f | hvmail_queue_merge /var/hvmail/qmail-disk/queue/old /var/hvmail/qmail-disk/queue`)
}

// parkQueue puts a copy of the old queue in the new root's queue/old, as
// the migration script does, without going through SSH.
func parkQueue(t *testing.T, s *Sim) {
	t.Helper()
	installEngine(t, s)
	out, err := exec.Command("cp", "-a", s.OldRoot+QueueDir, s.NewRoot+QueueDir+"/old").CombinedOutput()
	if err != nil {
		t.Fatalf("cp -a of the queue: %v: %s", err, out)
	}
	rep, err := s.NewQueueCheck()
	if err != nil || rep.Messages != 0 || rep.OldRemaining != s.Options.Messages {
		t.Fatalf("parked queue: %s, %v", rep, err)
	}
}

// mergeLog reads queue/old/merge.log as old id -> new id for finished
// messages.
func mergeLog(t *testing.T, s *Sim) map[string]string {
	t.Helper()
	f, err := os.Open(s.NewRoot + QueueDir + "/old/merge.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[2] == "done" {
			out[f[0]] = f[1]
		}
	}
	return out
}

func TestQueueMergeRenumbersEveryMessageOnce(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 120})
	parkQueue(t, s)
	r := mergeAll(t, s)
	if !strings.Contains(r.stdout, "120 messages merged") {
		t.Errorf("merge output: %s", r.stdout)
	}
	rep, err := s.NewQueueCheck()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Messages != 120 || rep.OldRemaining != 0 {
		t.Fatalf("after the merge: %s", rep)
	}
	// Every old file of every message went.
	for _, d := range []string{"info", "remote", "local", "todo", "intd", "bounce"} {
		if n, _ := CountFiles(s.NewRoot + QueueDir + "/old/" + d); n != 0 {
			t.Errorf("queue/old/%s still holds %d files", d, n)
		}
	}
	// Envelopes moved to the new numbers with their times (birth time in
	// info, next retry in remote) and content.
	ids := mergeLog(t, s)
	if len(ids) != 120 {
		t.Fatalf("merge.log finishes %d messages, want 120", len(ids))
	}
	checked, todo := 0, 0
	for o, n := range ids {
		on, _ := strconv.ParseUint(o, 10, 64)
		nn, _ := strconv.ParseUint(n, 10, 64)
		for _, k := range []string{"info", "remote", "local"} {
			src := s.OldRoot + QueueDir + "/" + k + "/" + strconv.FormatUint(on%Split, 10) + "/" + o
			dst := s.NewRoot + QueueDir + "/" + k + "/" + strconv.FormatUint(nn%Split, 10) + "/" + n
			fs, err := os.Stat(src)
			if err != nil {
				continue
			}
			fd, err := os.Stat(dst)
			if err != nil {
				t.Errorf("%s of message %s did not arrive as %s", k, o, dst)
				continue
			}
			a, _ := os.ReadFile(src)
			b, _ := os.ReadFile(dst)
			if !bytes.Equal(a, b) || !fs.ModTime().Equal(fd.ModTime()) {
				t.Errorf("%s of message %s -> %s: content or mtime changed", k, o, n)
			}
			checked++
		}
		if _, err := os.Stat(s.OldRoot + QueueDir + "/todo/" + o); err == nil {
			todo++
			a, _ := os.Stat(s.NewRoot + QueueDir + "/todo/" + n)
			b, _ := os.Stat(s.NewRoot + QueueDir + "/intd/" + n)
			if a == nil || b == nil || !os.SameFile(a, b) {
				t.Errorf("todo/%s of old %s: todo and intd are not one file", n, o)
			}
		}
	}
	if checked < 200 || todo == 0 {
		t.Errorf("checked %d envelope files and %d todo messages; the test tree is too thin", checked, todo)
	}
	// A second run on an empty list changes nothing.
	mergeAll(t, s)
	if rep2, _ := s.NewQueueCheck(); rep2.String() != rep.String() {
		t.Errorf("a second merge changed the queue: %s", rep2)
	}
}

func TestQueueMergeRefusesWhileTheMTARuns(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 5})
	parkQueue(t, s)
	mustRun(t, s.NewRoot, nil, "hvmail_init", "start")
	r := run(t, s.NewRoot, nil, nil, "sh", "-c",
		`find "$FERRY_ROOT/var/hvmail/qmail-disk/queue/old/mess" -type f | hvmail_queue_merge /var/hvmail/qmail-disk/queue/old /var/hvmail/qmail-disk/queue`)
	if r.code == 0 {
		t.Errorf("merge with the MTA running succeeded")
	}
	if rep, _ := s.NewQueueCheck(); rep.Messages != 0 || rep.OldRemaining != 5 {
		t.Errorf("a refused merge changed the queue: %s", rep)
	}
}

// TestQueueMergeSurvivesKills kills the merge (SIGKILL, whole process
// group) several times, each at a message and a point inside it that the
// merge stand-in holds (SIM_MERGE_PAUSE: body copied, body under mess, all
// written but the old files), re-runs it on what remains, and checks every
// message arrived exactly once. The merge holds until it is killed, so
// each kill lands where it was meant to, however busy the machine.
func TestQueueMergeSurvivesKills(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 120})
	parkQueue(t, s)
	points := []string{"tmp", "body", "done"}
	for round := 0; round < 6; round++ {
		// A round-dependent message and point, so the kills land on
		// varied steps.
		at := fmt.Sprintf("%d:%s", 3+2*round+round%2, points[round%3])
		pauseFile := filepath.Join(t.TempDir(), "merge.paused")
		cmd := exec.Command("sh", "-c",
			`find "$FERRY_ROOT/var/hvmail/qmail-disk/queue/old/mess" -type f | hvmail_queue_merge /var/hvmail/qmail-disk/queue/old /var/hvmail/qmail-disk/queue`)
		cmd.Env = append(os.Environ(), adminEnv(s.NewRoot)...)
		cmd.Env = append(cmd.Env, "SIM_MERGE_DELAY=0", "SIM_MERGE_PAUSE="+at, "SIM_MERGE_PAUSE_FILE="+pauseFile)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ended := make(chan error, 1)
		go func() { ended <- cmd.Wait() }()
		for {
			if _, err := os.Stat(pauseFile); err == nil {
				break
			}
			select {
			case err := <-ended:
				t.Fatalf("round %d: the merge ended (%v) before it held at message %s", round, err, at)
			case <-time.After(10 * time.Millisecond):
			}
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-ended
		rep, err := s.NewQueueCheck()
		if err != nil {
			t.Fatal(err)
		}
		if rep.OldRemaining == 0 {
			t.Fatalf("round %d: killed at message %s, nothing is left in queue/old: %s", round, at, rep)
		}
		if rep.Duplicates != 0 {
			t.Fatalf("round %d: duplicates after a kill at message %s: %s", round, at, rep)
		}
	}
	mergeAll(t, s)
	rep, err := s.NewQueueCheck()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.OldRemaining != 0 {
		t.Errorf("after 6 interrupted runs and a full one: %s", rep)
	}
	if left, _ := filepath.Glob(s.NewRoot + QueueDir + "/pid/*"); len(left) != 0 {
		t.Errorf("files left in pid/: %v", left)
	}
}
