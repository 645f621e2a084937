package runner

import (
	"crypto/sha256"
	"encoding/hex"
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
	PID int
	// Unit is the systemd scope unit it runs in, "" for none.
	Unit string
	done chan struct{}
	code int
	log  string
	from int64
}

// FrontEnv is set in the environment of a runner that Spawn started for
// a run with no screen: "plain" or "json", the output of the client that
// started it. Such a runner answers from the run's answers file itself
// (Welcome.Unattended); without it, the runner asks its clients.
const FrontEnv = "FERRY_RUNNER_FRONT"

// Front returns FrontEnv's value in this process ("" in a runner that asks
// its clients, and outside runners).
func Front() string { return os.Getenv(FrontEnv) }

// SystemdRuns reports whether systemd is the init system under root ("/"
// outside tests): the directory run/systemd/system exists, as
// sd_booted(3) checks.
func SystemdRuns(root string) bool {
	fi, err := os.Stat(filepath.Join(root, "run", "systemd", "system"))
	return err == nil && fi.IsDir()
}

// UnitName is the name of the systemd scope unit of the runner for the
// state directory stateDir (an absolute path): "ferry-" and the first 12
// hex digits of the path's SHA-256, so one name per migration and no
// character systemd would have to escape.
func UnitName(stateDir string) string {
	sum := sha256.Sum256([]byte(stateDir))
	return "ferry-" + hex.EncodeToString(sum[:])[:12]
}

// LaunchArgv is the command line that starts the runner exe with args:
// with unit != "" inside a transient systemd scope of that name
// (systemd-run --scope: systemd-run registers the scope and then executes
// exe in place, so the process, its environment, working directory and
// standard streams stay the ones Spawn gave it; --collect drops the unit
// once it ends, even failed), otherwise exe itself.
func LaunchArgv(unit, exe string, args []string) []string {
	if unit == "" {
		return append([]string{exe}, args...)
	}
	return append([]string{"systemd-run", "--scope", "--unit", unit, "--collect", "--quiet",
		"--description", "ferry migration runner", "--", exe}, args...)
}

// systemdScope returns the unit name to start a runner for stateDir in,
// or "" (and why not, for the log) when it runs in a session of its own
// only: systemd does not run here, systemd-run is missing, or a trial
// scope (systemd-run --scope true) fails, as it does without a system
// bus or as a user systemd will not serve.
func systemdScope(stateDir string) (unit, why string) {
	if !SystemdRuns("/") {
		return "", "systemd does not run here (no /run/systemd/system)"
	}
	if _, err := exec.LookPath("systemd-run"); err != nil {
		return "", "systemd-run is not installed"
	}
	probe := exec.Command("systemd-run", "--scope", "--collect", "--quiet", "--", "true")
	if out, err := probe.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("systemd-run --scope failed (%v: %s)", err, strings.TrimSpace(string(out)))
	}
	return UnitName(stateDir), ""
}

// Spawn starts ferry's own command line argv (argv[0] is ignored: the
// running executable is used) as a runner detached from the terminal, with
// env added to its environment (FrontEnv, for one): in a session of its
// own (setsid(2), so the terminal's hangup never reaches it) and, where
// systemd runs, in a transient scope unit of its own too (UnitName; so
// that a logind that kills a closed session's processes,
// KillUserProcesses=yes, spares it), falling back to the session alone
// when systemd-run cannot make the scope. Its stdin is /dev/null, its
// stdout and stderr are appended to the state directory's LogFile (whose
// header line says which of the two it got), ChildEnv is set. stateDir
// is created (0700) if needed.
func Spawn(stateDir string, argv []string, env ...string) (*Started, error) {
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
	abs, _ := filepath.Abs(stateDir)
	unit, why := systemdScope(abs)
	where := "in systemd scope " + unit + ".scope"
	if unit == "" {
		where = "in a session of its own: " + why
	}
	fmt.Fprintf(logf, "== %s ferry runner started %s: %s\n", time.Now().UTC().Format(time.RFC3339), where, strings.Join(argv[1:], " "))
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	line := LaunchArgv(unit, exe, argv[1:])
	cmd := exec.Command(line[0], line[1:]...)
	cmd.Env = append(append(os.Environ(), ChildEnv+"=1"), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("runner: start %s: %w", exe, err)
	}
	st := &Started{PID: cmd.Process.Pid, Unit: unit, done: make(chan struct{}), log: logPath, from: from}
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
