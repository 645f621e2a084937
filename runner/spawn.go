package runner

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ChildEnv is set (to "1") in the environment of a runner that Spawn
// started: the same ferry command line then serves the socket instead of
// starting another runner.
const ChildEnv = "FERRY_RUNNER"

// IsChild reports whether this process is a runner Spawn started.
func IsChild() bool { return os.Getenv(ChildEnv) == "1" }

// Started is a runner process Spawn started.
type Started struct {
	// PID is the runner's process id.
	PID  int
	done chan struct{}
	code int
	log  string
	from int64
}

// Spawn starts ferry's own command line argv (argv[0] is ignored: the
// running executable is used) as a runner detached from the terminal: in a
// session of its own (setsid(2), so the terminal's hangup never reaches
// it), stdin from /dev/null, stdout and stderr appended to the state
// directory's LogFile, ChildEnv set. stateDir is created (0700) if needed.
//
// Not done: a systemd transient unit (systemd-run) where systemd runs,
// which would also survive a logind configured to kill a session's
// processes (KillUserProcesses=yes; Debian's default is no).
func Spawn(stateDir string, argv []string) (*Started, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("runner: which program am I: %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	logPath := filepath.Join(stateDir, LogFile)
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("runner: %w", err)
	}
	defer logf.Close()
	from, _ := logf.Seek(0, io.SeekEnd)
	fmt.Fprintf(logf, "== %s ferry runner started: %s\n", time.Now().UTC().Format(time.RFC3339), strings.Join(argv[1:], " "))
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	cmd := exec.Command(exe, argv[1:]...)
	cmd.Env = append(os.Environ(), ChildEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("runner: start %s: %w", exe, err)
	}
	st := &Started{PID: cmd.Process.Pid, done: make(chan struct{}), log: logPath, from: from}
	go func() {
		_ = cmd.Wait()
		st.code = cmd.ProcessState.ExitCode()
		close(st.done)
	}()
	return st, nil
}

// ErrRunnerExited is returned by Ready when the runner ended before its
// socket answered; the error's text holds what it logged.
type ErrRunnerExited struct {
	Code int
	Log  string
}

func (e *ErrRunnerExited) Error() string {
	return strings.TrimSpace(e.Log)
}

// Ready waits until a runner answers on the socket at sock and returns a
// client of it with hello h. If the process ends first, it returns an
// *ErrRunnerExited with its exit code and what it logged since it started
// (its error); after timeout, an error naming the log.
func (st *Started) Ready(sock string, h Hello, timeout time.Duration) (*Client, error) {
	deadline := time.Now().Add(timeout)
	for {
		if c, err := Dial(sock, h); err == nil {
			return c, nil
		}
		select {
		case <-st.done:
			// A runner that served and ended very fast still answered no
			// one: its log says how it ended.
			return nil, &ErrRunnerExited{Code: st.code, Log: st.logged()}
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the ferry runner (pid %d) did not answer on %s within %s; see %s", st.PID, sock, timeout, st.log)
		}
	}
}

// logged is what the runner wrote to its log since Spawn, its own header
// line left out.
func (st *Started) logged() string {
	f, err := os.Open(st.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(st.from, io.SeekStart); err != nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	lines := strings.SplitN(string(b), "\n", 2)
	if len(lines) == 2 && strings.HasPrefix(lines[0], "== ") {
		return lines[1]
	}
	return string(b)
}

// Exited reports whether the runner process has ended, and its exit code.
func (st *Started) Exited() (bool, int) {
	select {
	case <-st.done:
		return true, st.code
	default:
		return false, 0
	}
}
