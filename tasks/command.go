package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"

	"github.com/ferry-migrate/ferry/remote"
)

// DefaultTailLines is how many output lines a CommandResult keeps when the
// CommandSpec does not say.
const DefaultTailLines = 50

// ErrCommandFailed is wrapped by the error RunCommand returns when the
// command ran but did not meet its success rules (exit code, last line).
var ErrCommandFailed = errors.New("command failed")

// CommandSpec is one command to run on a Host and the rules that decide
// whether it succeeded.
type CommandSpec struct {
	// Argv is the program and its arguments. Exactly one of Argv and Shell
	// is set.
	Argv []string
	// Shell is a shell line, run as "sh -c LINE".
	Shell string
	// Env holds extra KEY=VALUE settings. Secrets go here, never in Argv or
	// Shell: the Host keeps them out of every process's argv.
	Env []string
	// Dir is the working directory (a runbook path); empty means the default.
	Dir string
	// Stdin is fed to the command when set.
	Stdin io.Reader
	// OKExit lists the exit codes that count as success; empty means {0}.
	OKExit []int
	// ExpectLastLine, when set, is the line the output must end with: the
	// command succeeds only if its last non-blank line, trimmed, equals it.
	// The last line is taken from stdout, or from stderr when the command
	// wrote nothing to stdout.
	ExpectLastLine string
	// TailLines bounds how many lines of output the result keeps; zero
	// means DefaultTailLines.
	TailLines int
}

// argv returns the words to execute.
func (c CommandSpec) argv() ([]string, error) {
	switch {
	case len(c.Argv) > 0 && c.Shell != "":
		return nil, fmt.Errorf("command %q: both an argv and a shell line were given", c.Display())
	case len(c.Argv) > 0:
		return c.Argv, nil
	case strings.TrimSpace(c.Shell) != "":
		return []string{"sh", "-c", c.Shell}, nil
	}
	return nil, errors.New("command: neither an argv nor a shell line was given")
}

// Display returns the command as one line a person can read and paste into
// a shell: argv words are shell-quoted, a shell line is shown as it is.
// Env values are never part of it.
func (c CommandSpec) Display() string {
	if len(c.Argv) > 0 {
		return shellescape.QuoteCommand(c.Argv)
	}
	return c.Shell
}

// CommandResult is how a command ended and what it printed last.
type CommandResult struct {
	// Command is CommandSpec.Display of what ran.
	Command  string        `json:"command"`
	ExitCode int           `json:"exit_code"`
	Signal   string        `json:"signal,omitempty"`
	Duration time.Duration `json:"duration"`
	// LastLine is the last non-blank line (trimmed) of stdout, or of stderr
	// when stdout was silent.
	LastLine string `json:"last_line,omitempty"`
	// LastError is the last non-blank line (trimmed) of stderr: where a
	// failing program says why (ssh's "no matching key exchange method").
	LastError string `json:"last_error,omitempty"`
	// Tail is the last lines of stdout and stderr together, in the order
	// they arrived, at most TailLines of them.
	Tail []string `json:"tail,omitempty"`
	// Lines counts every output line, including those no longer in Tail.
	Lines int64 `json:"lines"`
	// OK is true when the success rules held; Reason says why, in one
	// sentence naming the values compared.
	OK     bool   `json:"ok"`
	Reason string `json:"reason"`
}

// RunCommand runs c on h, sends each line of its output (stripped of
// terminal control sequences) to r as it arrives, and judges the outcome by
// c's success rules. The returned result is filled in whenever the command
// ran. The error is nil on success; it wraps ErrCommandFailed when the
// command ran but broke a rule, and is the Host's error when the command
// could not be started or was cancelled.
func RunCommand(ctx context.Context, h remote.Host, c CommandSpec, r Reporter) (CommandResult, error) {
	if r == nil {
		r = Discard
	}
	res := CommandResult{Command: c.Display()}
	argv, err := c.argv()
	if err != nil {
		return res, err
	}
	for _, e := range c.Env {
		if !strings.Contains(e, "=") || strings.HasPrefix(e, "=") {
			// Do not echo the value: it may be a secret.
			name, _, _ := strings.Cut(e, "=")
			return res, fmt.Errorf("command %s: environment entry %q is not KEY=VALUE", res.Command, name)
		}
	}
	tail := newTail(c.TailLines)
	out := remote.LineWriter(func(line string) {
		tail.add("stdout", line)
		r.Line("stdout", line)
	})
	errw := remote.LineWriter(func(line string) {
		tail.add("stderr", line)
		r.Line("stderr", line)
	})
	start := time.Now()
	hr, err := h.Exec(ctx, remote.Cmd{
		Argv: argv, Env: c.Env, Dir: c.Dir, Stdin: c.Stdin,
		Stdout: out, Stderr: errw,
	})
	out.Flush()
	errw.Flush()
	res.Duration = time.Since(start)
	res.ExitCode, res.Signal = hr.ExitCode, hr.Signal
	res.Tail, res.Lines, res.LastLine, res.LastError = tail.snapshot()
	if err != nil {
		res.Reason = fmt.Sprintf("%s on %s did not complete: %v.", res.Command, h.Name(), err)
		return res, err
	}
	res.OK, res.Reason = judge(c, res, h.Name())
	if !res.OK {
		return res, fmt.Errorf("%w: %s", ErrCommandFailed, res.Reason)
	}
	return res, nil
}

// judge applies the success rules to a finished command.
func judge(c CommandSpec, res CommandResult, host string) (bool, string) {
	ok := c.OKExit
	if len(ok) == 0 {
		ok = []int{0}
	}
	name := res.Command
	if r := []rune(name); len(r) > 80 {
		name = string(r[:77]) + "..."
	}
	if res.Signal != "" {
		return false, fmt.Sprintf("%s on %s was killed by signal %s.", name, host, res.Signal)
	}
	if !slices.Contains(ok, res.ExitCode) {
		why := ""
		if res.LastError != "" {
			why = fmt.Sprintf(" Its last error line: %q.", res.LastError)
		}
		return false, fmt.Sprintf("%s on %s exited with code %d, and only %s count as success.%s", name, host, res.ExitCode, codes(ok), why)
	}
	if c.ExpectLastLine != "" {
		want := strings.TrimSpace(c.ExpectLastLine)
		if res.LastLine != want {
			got := strconv.Quote(res.LastLine)
			if res.LastLine == "" {
				got = "nothing"
			}
			return false, fmt.Sprintf("%s on %s exited with code %d but its last line was %s instead of %q.", name, host, res.ExitCode, got, want)
		}
		return true, fmt.Sprintf("%s on %s exited with code %d and its last line was %q, as expected.", name, host, res.ExitCode, want)
	}
	return true, fmt.Sprintf("%s on %s exited with code %d.", name, host, res.ExitCode)
}

func codes(c []int) string {
	s := make([]string, len(c))
	for i, v := range c {
		s[i] = strconv.Itoa(v)
	}
	if len(s) == 1 {
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// tailLines keeps the last lines of a command's output.
type tailLines struct {
	mu      sync.Mutex
	max     int
	ring    []string
	next    int
	full    bool
	count   int64
	lastOut string
	lastErr string
}

func newTail(n int) *tailLines {
	if n <= 0 {
		n = DefaultTailLines
	}
	return &tailLines{max: n, ring: make([]string, n)}
}

func (t *tailLines) add(stream, line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.count++
	t.ring[t.next] = line
	t.next = (t.next + 1) % t.max
	if t.next == 0 {
		t.full = true
	}
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return
	}
	if stream == "stdout" {
		t.lastOut = trimmed
	} else {
		t.lastErr = trimmed
	}
}

func (t *tailLines) snapshot() (lines []string, count int64, last, lastErr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.full {
		lines = append(lines, t.ring[t.next:]...)
	}
	lines = append(lines, t.ring[:t.next]...)
	last = t.lastOut
	if last == "" {
		last = t.lastErr
	}
	return lines, t.count, last, t.lastErr
}
