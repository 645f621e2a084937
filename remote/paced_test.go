package remote

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestLocalExecPacedLines: a command that flushes thousands of records, on
// both streams, has every one delivered in order, and none after Exec
// returns.
func TestLocalExecPacedLines(t *testing.T) {
	h, err := NewLocal("new", "/")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	var outs, errs []string
	out := LineWriter(func(l string) { outs = append(outs, l) })
	errw := LineBytesWriter(func(l []byte) { errs = append(errs, string(l)) })
	script := fmt.Sprintf(`i=1; while [ $i -le %d ]; do printf '%%d\r' $i; i=$((i+1)); done; echo done >&2; printf last`, n)
	r, err := h.Exec(context.Background(), Cmd{Argv: []string{"sh", "-c", script}, Stdout: out, Stderr: errw})
	atReturn := len(outs)
	out.Flush()
	if err != nil || r.ExitCode != 0 {
		t.Fatalf("exec: %v, exit %d", err, r.ExitCode)
	}
	if len(outs) != n+1 || outs[0] != "1" || outs[n-1] != fmt.Sprint(n) || outs[n] != "last" {
		t.Fatalf("got %d lines (first %q, last %q), want %d then \"last\"", len(outs), outs[:min(3, len(outs))], outs[len(outs)-1], n)
	}
	for i := range n {
		if outs[i] != fmt.Sprint(i+1) {
			t.Fatalf("line %d is %q", i, outs[i])
		}
	}
	if strings.Join(errs, "|") != "done" {
		t.Errorf("stderr lines %q, want [done]", errs)
	}
	if atReturn != n {
		t.Errorf("%d of %d terminated lines delivered when Exec returned", atReturn, n)
	}
}

// TestLocalExecSameLinesBothStreams: one LineWriter for stdout and stderr
// gets both streams through one pipe, lines whole.
func TestLocalExecSameLinesBothStreams(t *testing.T) {
	h, _ := NewLocal("new", "/")
	var got []string
	w := LineWriter(func(l string) { got = append(got, l) })
	_, err := h.Exec(context.Background(), Cmd{Argv: []string{"sh", "-c", "printf 'a'; printf 'b\\n' >&2; echo c"}, Stdout: w, Stderr: w})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "ab|c" {
		t.Fatalf("got %q, want [ab c]", got)
	}
}
