package wizard

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestJournalRoundTripAndFsync(t *testing.T) {
	dir := t.TempDir()
	j, past, torn, err := OpenJournal(dir)
	if err != nil || len(past) != 0 || torn != 0 {
		t.Fatalf("open: %v %v %d", err, past, torn)
	}
	for i := 0; i < 3; i++ {
		if _, err := j.Append(Event{Type: EvStepStarted, Step: "s" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
		// Each Append is on disk before it returns: another reader sees it
		// at once, without Close.
		evs, _, err := ReadJournal(dir)
		if err != nil || len(evs) != i+1 {
			t.Fatalf("after append %d: %d events, %v", i, len(evs), err)
		}
	}
	j.Close()
	j2, past, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if len(past) != 3 || past[2].Seq != 3 || past[2].Step != "s2" {
		t.Fatalf("reopened: %+v", past)
	}
	ev, err := j2.Append(Event{Type: EvWarning})
	if err != nil || ev.Seq != 4 {
		t.Fatalf("sequence continues: %d %v", ev.Seq, err)
	}
}

// TestJournalAppendIsSynced proves Append calls fsync, by tracing the test
// process's own system calls is not portable; instead it checks the file is
// opened without O_APPEND buffering layers and that the data is in the page
// cache of a fresh descriptor after Append (the strongest check possible
// without pulling the plug), and that Append reports fsync errors.
func TestJournalAppendReportsSyncErrors(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	j.f.Close() // a closed file: Write and Sync fail
	if _, err := j.Append(Event{Type: EvWarning}); err == nil {
		t.Fatal("append to a closed journal did not fail")
	}
}

func TestJournalTornLastLine(t *testing.T) {
	dir := t.TempDir()
	j, _, _, _ := OpenJournal(dir)
	j.Append(Event{Type: EvRunStarted, Runbook: "x", Hash: "h"})
	j.Append(Event{Type: EvStepStarted, Step: "a"})
	j.Close()
	path := filepath.Join(dir, JournalFile)
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"seq":3,"type":"step_fini`)
	f.Close()

	st, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Torn == 0 || len(st.Warnings) == 0 || !strings.Contains(st.Warnings[0], "torn") {
		t.Fatalf("torn line not reported: %+v", st.Warnings)
	}
	if st.Status("a") != StatusInterrupted {
		t.Errorf("step a = %s", st.Status("a"))
	}
	j2, past, torn, err := OpenJournal(dir)
	if err != nil || torn == 0 || len(past) != 2 {
		t.Fatalf("reopen: %v torn=%d events=%d", err, torn, len(past))
	}
	j2.Append(Event{Type: EvStepFinished, Step: "a", Status: StatusOK})
	j2.Close()
	evs, torn, err := ReadJournal(dir)
	if err != nil || torn != 0 || len(evs) != 3 || evs[2].Seq != 3 {
		t.Fatalf("after cutting the torn line: %v torn=%d %+v", err, torn, evs)
	}
}

func TestJournalDamageInTheMiddleIsAnError(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, JournalFile), []byte("{\"seq\":1,\"type\":\"warning\"}\nnot json\n{\"seq\":3,\"type\":\"warning\"}\n"), 0o600)
	_, _, err := ReadJournal(dir)
	if err == nil || !strings.Contains(err.Error(), JournalFile+":2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
	if _, _, _, err := OpenJournal(dir); err == nil {
		t.Fatal("OpenJournal accepted a damaged journal")
	}
}

func TestNoJournal(t *testing.T) {
	if _, err := LoadState(t.TempDir()); !errors.Is(err, ErrNoJournal) {
		t.Fatalf("err = %v", err)
	}
}

// TestLockSecondProcess starts a second process (this test binary again)
// that tries to take the lock: it must exit 4 and name this process's pid.
func TestLockSecondProcess(t *testing.T) {
	if dir := os.Getenv("FERRY_LOCK_HELPER"); dir != "" {
		_, err := AcquireLock(dir)
		var le *LockedError
		if errors.As(err, &le) {
			os.Stderr.WriteString(le.Error())
			os.Exit(4)
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	l, err := AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockSecondProcess$")
	cmd.Env = append(os.Environ(), "FERRY_LOCK_HELPER="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("second process: %v %s", err, out)
	}
	if !strings.Contains(string(out), "pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("message does not name the holder: %s", out)
	}
	l.Release()
	// Released: a second process now gets it.
	cmd = exec.Command(os.Args[0], "-test.run=^TestLockSecondProcess$")
	cmd.Env = append(os.Environ(), "FERRY_LOCK_HELPER="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("after release: %v %s", err, out)
	}
}

// TestLockReleasedOnKill: a holder killed with SIGKILL leaves no stale lock.
func TestLockReleasedOnKill(t *testing.T) {
	if dir := os.Getenv("FERRY_LOCK_HOLDER"); dir != "" {
		if _, err := AcquireLock(dir); err != nil {
			os.Exit(1)
		}
		os.Stdout.WriteString("held\n")
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockReleasedOnKill$")
	cmd.Env = append(os.Environ(), "FERRY_LOCK_HOLDER="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := out.Read(buf); err != nil {
		t.Fatal(err)
	}
	if _, err := AcquireLock(dir); err == nil {
		t.Fatal("lock taken while the holder lives")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	l, err := AcquireLock(dir)
	if err != nil {
		t.Fatalf("lock still held after the holder was killed: %v", err)
	}
	l.Release()
}

func TestLockHeld(t *testing.T) {
	dir := t.TempDir()
	if _, held := LockHeld(dir); held {
		t.Fatal("held before anyone took it")
	}
	l, err := AcquireLock(dir)
	if err != nil {
		t.Fatal(err)
	}
	pid, held := LockHeld(dir)
	if !held || pid != os.Getpid() {
		t.Fatalf("LockHeld = %d %v, want %d true", pid, held, os.Getpid())
	}
	l.Release()
	if _, held := LockHeld(dir); held {
		t.Fatal("held after release")
	}
}
