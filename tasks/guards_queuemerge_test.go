package tasks

import (
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
