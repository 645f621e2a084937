package tasks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSplitCount: a queue's split directories must be named exactly
// "0".."N-1"; a name Atoi reads but that is not plain digits ("+1", "-0",
// " 1") is refused, and the error says which range was expected.
func TestSplitCount(t *testing.T) {
	if n, err := splitCount([]string{"2", "0", "1"}); n != 3 || err != nil {
		t.Fatalf("0..2: %d, %v", n, err)
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{nil, "no numbered subdirectories"},
		{[]string{"0", "+1"}, `subdirectory "+1" is not a number`},
		{[]string{"-0", "1"}, `subdirectory "-0" is not a number`},
		{[]string{"0", "x"}, `subdirectory "x" is not a number`},
		{[]string{"0", "2"}, `not numbered 0..1 (found "2")`},
		{[]string{"1", "1"}, `not numbered 0..1 (found "1")`},
	} {
		if _, err := splitCount(c.names); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.names, err, c.want)
		}
	}
}

// TestQueueMergeNeedsEveryOption: without the host, either queue or the
// merge program, QueueMerge refuses before touching anything.
func TestQueueMergeNeedsEveryOption(t *testing.T) {
	h, _ := localHost(t)
	full := QueueMergeOptions{Host: h, OldQueue: "/q/old", Queue: "/q", Merge: "/bin/merge"}
	for name, change := range map[string]func(*QueueMergeOptions){
		"host":      func(o *QueueMergeOptions) { o.Host = nil },
		"old queue": func(o *QueueMergeOptions) { o.OldQueue = "" },
		"queue":     func(o *QueueMergeOptions) { o.Queue = "" },
		"merge":     func(o *QueueMergeOptions) { o.Merge = "" },
	} {
		o := full
		change(&o)
		if _, err := QueueMerge(context.Background(), o, nil); err == nil || !strings.Contains(err.Error(), "must all be given") {
			t.Errorf("without the %s: %v", name, err)
		}
	}
}

// TestQueueMergeEndings: how QueueMerge words the ways a merge program
// can end without merging everything: a failure says the program's last
// line (or nothing more when it printed nothing); a success that leaves
// messages behind is reported with a warning and the count; a success
// after which the parked queue cannot be counted is an error.
func TestQueueMergeEndings(t *testing.T) {
	t.Parallel()
	const prog = "/var/hvmail/libexec/merge_test"
	for _, c := range []struct {
		name, script string
		check        func(t *testing.T, res QueueMergeResult, err error, lines []string)
	}{
		{"fails, saying why", "cat >/dev/null\necho 'merge: disk full' >&2\nexit 1\n", func(t *testing.T, res QueueMergeResult, err error, _ []string) {
			if !errors.Is(err, ErrQueueMergeFailed) || !strings.HasSuffix(err.Error(), "after merging 0 of 3 messages: merge: disk full; run the step again to feed what is left") {
				t.Errorf("err = %v", err)
			}
		}},
		{"fails silently", "cat >/dev/null\nexit 1\n", func(t *testing.T, res QueueMergeResult, err error, _ []string) {
			if !errors.Is(err, ErrQueueMergeFailed) || !strings.Contains(err.Error(), "after merging 0 of 3 messages; run the step again") {
				t.Errorf("err = %v", err)
			}
		}},
		{"succeeds, merging nothing", "cat >/dev/null\nexit 0\n", func(t *testing.T, res QueueMergeResult, err error, lines []string) {
			if err != nil || res.Remaining != 3 || res.Merged != 0 || res.ExitCode != 0 {
				t.Fatalf("res %+v, err %v", res, err)
			}
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "warning: 3 messages are still in "+parkedQueue) }) {
				t.Errorf("no warning about the 3 messages left: %q", lines)
			}
		}},
		{"succeeds, removing the parked queue", "cat >/dev/null\nrm -rf \"$FERRY_TEST_OLD/mess\"\nexit 0\n", func(t *testing.T, res QueueMergeResult, err error, lines []string) {
			if err == nil || errors.Is(err, ErrQueueMergeFailed) {
				t.Errorf("the parked queue could not be counted, yet err = %v (res %+v)", err, res)
			}
		}},
		{"succeeds, merging all", "cat >/dev/null\nrm -f \"$FERRY_TEST_OLD\"/mess/*/*\nexit 0\n", func(t *testing.T, res QueueMergeResult, err error, lines []string) {
			if err != nil || res.Remaining != 0 || res.Merged != 3 {
				t.Errorf("res %+v, err %v", res, err)
			}
			if slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "warning:") }) {
				t.Errorf("a warning after a complete merge: %q", lines)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, root := localHost(t)
			makeQueue(t, filepath.Join(root, liveQueue), 23)
			parked := filepath.Join(root, parkedQueue)
			makeQueue(t, parked, 23)
			addParkedMessages(t, parked, 23, 3)
			full := filepath.Join(root, prog)
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			script := "#!/bin/sh\nFERRY_TEST_OLD='" + parked + "'\n" + c.script
			if err := os.WriteFile(full, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			rep := &recorder{}
			res, err := QueueMerge(context.Background(), QueueMergeOptions{Host: h, OldQueue: parkedQueue, Queue: liveQueue, Merge: prog, PollInterval: 20e6}, rep)
			rep.mu.Lock()
			lines := slices.Clone(rep.lines)
			rep.mu.Unlock()
			c.check(t, res, err, lines)
		})
	}
}
