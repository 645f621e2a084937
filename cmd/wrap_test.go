package cmd

import (
	"strings"
	"testing"
)

// TestWrapAtSpaces: what ferry prints after a run is wrapped at spaces for
// an 80-column terminal, so that the state directory's path and the
// command's flags stay whole (the terminal once broke "--state-dir
// /tmp/rv1/bm/s" / "tate"); no line is wider than the terminal unless one
// word is.
func TestWrapAtSpaces(t *testing.T) {
	msg := "ferry: the migration goes on in the background (runner pid 41233); come back with: ferry attach --state-dir /tmp/rv1/bm/state"
	got := wrapAtSpaces(msg, 80)
	lines := strings.Split(got, "\n")
	if len(lines) != 2 || !strings.HasSuffix(lines[1], " --state-dir /tmp/rv1/bm/state") {
		t.Errorf("wrapped as %q", lines)
	}
	for _, l := range lines {
		if len(l) > 80 {
			t.Errorf("line %q is wider than 80", l)
		}
	}
	if strings.Join(strings.Fields(got), " ") != msg {
		t.Errorf("the words changed: %q", got)
	}
	// A command to copy stays on one line.
	done := "ferry: the migration is done. The report: ferry report --state-dir /tmp/rv2/ga/state"
	if got := wrapAtSpaces(done, 80); !strings.Contains(got, "\nferry report --state-dir /tmp/rv2/ga/state") {
		t.Errorf("the command is broken: %q", got)
	}
	long := strings.Repeat("x", 90)
	if got := wrapAtSpaces("see "+long+" now", 80); got != "see\n"+long+"\nnow" {
		t.Errorf("a word longer than a line: %q", got)
	}
	if got := wrapAtSpaces(msg, 10); got != msg {
		t.Errorf("a very narrow terminal: %q", got)
	}
}
