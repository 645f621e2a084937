package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// cmdLines is a Reporter that keeps every line it is given.
type cmdLines struct {
	mu     sync.Mutex
	lines  []string // "stream: text"
	onLine func(stream, text string)
}

func (c *cmdLines) Line(stream, text string) {
	c.mu.Lock()
	c.lines = append(c.lines, stream+": "+text)
	f := c.onLine
	c.mu.Unlock()
	if f != nil {
		f(stream, text)
	}
}

func (c *cmdLines) Progress(Progress) {}

func (c *cmdLines) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// chkHost returns a Local host named name under a fresh temporary root.
func chkHost(t *testing.T, name string) *remote.Local {
	t.Helper()
	h, err := remote.NewLocal(name, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRunCommandStreamsLines(t *testing.T) {
	h := chkHost(t, "new")
	rep := &cmdLines{}
	res, err := RunCommand(context.Background(), h, CommandSpec{
		Shell: `echo one; echo two >&2; printf '\033[31mred\033[0m\n'; printf 'no newline'`,
	}, rep)
	if err != nil {
		t.Fatalf("RunCommand: %v", err)
	}
	if !res.OK || res.ExitCode != 0 {
		t.Fatalf("result = %+v, want OK with exit 0", res)
	}
	got := strings.Join(rep.all(), "|")
	for _, want := range []string{"stdout: one", "stderr: two", "stdout: red", "stdout: no newline"} {
		if !strings.Contains(got, want) {
			t.Errorf("reported lines %q lack %q", got, want)
		}
	}
	if strings.Contains(got, "\x1b") {
		t.Errorf("reported lines keep an escape sequence: %q", got)
	}
	if res.LastLine != "no newline" {
		t.Errorf("LastLine = %q, want %q", res.LastLine, "no newline")
	}
	if res.Lines != 4 || len(res.Tail) != 4 {
		t.Errorf("Lines = %d, Tail = %q; want 4 lines", res.Lines, res.Tail)
	}
	if res.Duration <= 0 {
		t.Errorf("Duration = %v, want > 0", res.Duration)
	}
	if !strings.Contains(res.Reason, "exited with code 0") {
		t.Errorf("Reason = %q", res.Reason)
	}
}

func TestRunCommandExpectLastLine(t *testing.T) {
	const want = "No errors were detected."
	tests := []struct {
		name   string
		script string
		ok     bool
		reason string
	}{
		{"clean run", `echo "Syncing /var/hvmail..."; echo; echo "No errors were detected."; echo "   "`, true, `its last line was "No errors were detected."`},
		{"errors reported", `echo "No errors were detected."; echo "2 errors were detected."`, false, `last line was "2 errors were detected." instead of "No errors were detected."`},
		{"only stderr after", `echo "rsync: connection reset" >&2; echo "Errors were detected."`, false, `"Errors were detected."`},
		{"silent", `true`, false, `last line was nothing`},
		{"stderr only", `echo "No errors were detected." >&2`, true, "as expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := chkHost(t, "new")
			res, err := RunCommand(context.Background(), h, CommandSpec{Shell: tt.script, ExpectLastLine: want}, Discard)
			if res.OK != tt.ok {
				t.Fatalf("OK = %v, want %v (reason %q)", res.OK, tt.ok, res.Reason)
			}
			if tt.ok && err != nil {
				t.Fatalf("err = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrCommandFailed) {
				t.Fatalf("err = %v, want ErrCommandFailed", err)
			}
			if !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("Reason = %q, want it to contain %q", res.Reason, tt.reason)
			}
		})
	}
}

func TestRunCommandExitCodes(t *testing.T) {
	h := chkHost(t, "old")
	res, err := RunCommand(context.Background(), h, CommandSpec{Argv: []string{"sh", "-c", "exit 24"}}, Discard)
	if !errors.Is(err, ErrCommandFailed) || res.OK || res.ExitCode != 24 {
		t.Fatalf("exit 24 with default rules: res=%+v err=%v, want a failure", res, err)
	}
	if !strings.Contains(res.Reason, "code 24") || !strings.Contains(res.Reason, "only 0 count") {
		t.Errorf("Reason = %q", res.Reason)
	}
	res, err = RunCommand(context.Background(), h, CommandSpec{Argv: []string{"sh", "-c", "exit 24"}, OKExit: []int{0, 24}}, Discard)
	if err != nil || !res.OK {
		t.Fatalf("exit 24 allowed: res=%+v err=%v, want success", res, err)
	}
	res, err = RunCommand(context.Background(), h, CommandSpec{Argv: []string{"sh", "-c", "exit 1"}, OKExit: []int{0, 24}}, Discard)
	if err == nil || !strings.Contains(res.Reason, "only 0 and 24 count") {
		t.Fatalf("exit 1 with {0,24}: res=%+v err=%v", res, err)
	}
}

func TestRunCommandEnvStaysOutOfArgv(t *testing.T) {
	h := chkHost(t, "new")
	rep := &cmdLines{}
	spec := CommandSpec{
		Shell: `echo "pw=$FERRY_TEST_SECRET"; tr '\0' ' ' < /proc/$$/cmdline; echo`,
		Env:   []string{"FERRY_TEST_SECRET=s3cr3t-value"},
	}
	res, err := RunCommand(context.Background(), h, spec, rep)
	if err != nil {
		t.Fatal(err)
	}
	lines := rep.all()
	if len(lines) < 2 || lines[0] != "stdout: pw=s3cr3t-value" {
		t.Fatalf("lines = %q, want the secret passed through the environment", lines)
	}
	if strings.Contains(lines[1], "s3cr3t") {
		t.Errorf("the shell's argv %q holds the secret", lines[1])
	}
	if strings.Contains(res.Command, "s3cr3t") || strings.Contains(spec.Display(), "s3cr3t") {
		t.Errorf("Display %q holds the secret", res.Command)
	}
	_, err = RunCommand(context.Background(), h, CommandSpec{Argv: []string{"true"}, Env: []string{"NOEQUALSIGN"}}, Discard)
	if err == nil || !strings.Contains(err.Error(), "NOEQUALSIGN") {
		t.Errorf("bad env entry: err = %v, want one naming it", err)
	}
}

func TestRunCommandTailIsBounded(t *testing.T) {
	h := chkHost(t, "new")
	res, err := RunCommand(context.Background(), h, CommandSpec{
		Argv:      []string{"sh", "-c", "i=1; while [ $i -le 200 ]; do echo line $i; i=$((i+1)); done"},
		TailLines: 10,
	}, Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Lines != 200 || len(res.Tail) != 10 {
		t.Fatalf("Lines = %d, len(Tail) = %d; want 200 and 10", res.Lines, len(res.Tail))
	}
	for i, l := range res.Tail {
		if want := fmt.Sprintf("line %d", 191+i); l != want {
			t.Errorf("Tail[%d] = %q, want %q", i, l, want)
		}
	}
	if res.LastLine != "line 200" {
		t.Errorf("LastLine = %q", res.LastLine)
	}
}

func TestRunCommandCancel(t *testing.T) {
	h := chkHost(t, "old")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep := &cmdLines{onLine: func(_, text string) {
		if text == "started" {
			cancel()
		}
	}}
	res, err := RunCommand(ctx, h, CommandSpec{Shell: "echo started; sleep 60; echo finished"}, rep)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.OK || res.LastLine != "started" {
		t.Errorf("res = %+v, want not OK with last line %q", res, "started")
	}
}

func TestRunCommandBadSpecs(t *testing.T) {
	h := chkHost(t, "new")
	if _, err := RunCommand(context.Background(), h, CommandSpec{}, nil); err == nil {
		t.Error("empty spec: no error")
	}
	if _, err := RunCommand(context.Background(), h, CommandSpec{Argv: []string{"true"}, Shell: "true"}, nil); err == nil {
		t.Error("argv and shell: no error")
	}
	_, err := RunCommand(context.Background(), h, CommandSpec{Argv: []string{"ferry-no-such-program-xyz"}}, nil)
	if err == nil || errors.Is(err, ErrCommandFailed) || !strings.Contains(err.Error(), "ferry-no-such-program-xyz") {
		t.Errorf("missing program: err = %v, want a start error naming it", err)
	}
}

func TestCommandDisplayQuotes(t *testing.T) {
	c := CommandSpec{Argv: []string{"rsync", "-a", "/media/my data/", "old server:/x"}}
	if got, want := c.Display(), `rsync -a '/media/my data/' 'old server:/x'`; got != want {
		t.Errorf("Display = %q, want %q", got, want)
	}
}

// TestRunCommandFailureNamesLastErrorLine: a program that prints progress on
// stdout and dies with its reason on stderr (as ssh under the vendor's
// script does) fails with that reason in the summary, not only its code.
func TestRunCommandFailureNamesLastErrorLine(t *testing.T) {
	h := chkHost(t, "new")
	res, err := RunCommand(context.Background(), h, CommandSpec{
		Shell: `echo "copying /var/hvmail"; echo "Unable to negotiate with 192.0.2.2 port 2222: no matching key exchange method found." >&2; echo "rsync: connection unexpectedly closed" >&2; echo "done with errors"; exit 255`,
	}, nil)
	if !errors.Is(err, ErrCommandFailed) {
		t.Fatalf("err = %v, want ErrCommandFailed", err)
	}
	if res.LastError != "rsync: connection unexpectedly closed" || res.LastLine != "done with errors" {
		t.Errorf("LastError = %q, LastLine = %q", res.LastError, res.LastLine)
	}
	if !strings.Contains(err.Error(), "exited with code 255") || !strings.Contains(err.Error(), "rsync: connection unexpectedly closed") {
		t.Errorf("error = %q, want the code and the last error line", err)
	}
}
