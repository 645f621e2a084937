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
	return fmt.Sprintf("%s already holds this migration (lock %s); watch it with 'ferry status' or 'ferry attach', or stop that process first", who, e.Path)
}

// Lock is held by the one ferry that drives a migration. It is an flock on
// a file in the state directory, so it is released by the kernel when the
// holder dies, even by SIGKILL; the file records the holder's pid.
type Lock struct {
	f *os.File
}

// AcquireLock takes the lock of the state directory dir, or returns a
// *LockedError naming the holder.
func AcquireLock(dir string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, LockFile)
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
	return &Lock{f: f}, nil
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
