package wizard

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// LockFile is the lock's name inside a state directory.
const LockFile = "lock"

// LockedError says another ferry holds the migration.
type LockedError struct {
	PID  int
	Path string
}

func (e *LockedError) Error() string {
	who := "another ferry"
	if e.PID > 0 {
		who = fmt.Sprintf("ferry (pid %d)", e.PID)
	}
	return fmt.Sprintf("%s already holds this migration (lock %s); see where it stands with 'ferry status', or stop that process first", who, e.Path)
}

// Lock is held by the one ferry that drives a migration. It is an flock on
// a file in the state directory, so it is released by the kernel when the
// holder dies, even by SIGKILL; the file records the holder's pid.
type Lock struct {
	f *os.File
	// existed: the lock file was there before this lock was taken (left by
	// an earlier ferry, a sign of an earlier migration).
	existed bool
}

// Existed reports whether the lock file was already in the state directory
// when this lock was taken (an earlier ferry left it there).
func (l *Lock) Existed() bool { return l != nil && l.existed }

// AcquireLock takes the lock of the state directory dir, or returns a
// *LockedError naming the holder.
func AcquireLock(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
	_, statErr := os.Lstat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{PID: LockHolder(dir), Path: path}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		_ = f.Sync()
	}
	return &Lock{f: f, existed: statErr == nil}, nil
}

// LockHolder returns the pid recorded in the lock file of dir, or 0.
func LockHolder(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, LockFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// Release gives the lock up.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	_ = syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	err := l.f.Close()
	l.f = nil
	return err
}

// LockHeld reports whether a live process holds the lock of dir, and its
// pid. It only reads (/proc/locks and the lock file), so it never gets in
// the way of a ferry that is starting.
func LockHeld(dir string) (pid int, held bool) {
	path := filepath.Join(dir, LockFile)
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return 0, false
	}
	pid = LockHolder(dir)
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		// No /proc: trust the pid file if that process lives.
		return pid, pid > 0 && syscall.Kill(pid, 0) == nil
	}
	want := ":" + strconv.FormatUint(st.Ino, 10)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
		if len(f) >= 6 && f[1] == "FLOCK" && strings.HasSuffix(f[5], want) {
			if p, err := strconv.Atoi(f[4]); err == nil && p > 0 {
				return p, true
			}
			return pid, true
		}
	}
	return pid, false
}
