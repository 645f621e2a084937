package tasks

import (
	"context"
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
