package tasks

import (
	"reflect"
	"strings"
	"testing"
)

func TestCompareCounts(t *testing.T) {
	src := []TableCount{{"public", "a", 10}, {"public", "b", 5}, {"public", "gone", 3}, {"x", "same", 0}}
	dst := []TableCount{{"public", "a", 10}, {"public", "b", 4}, {"public", "extra", 1}, {"x", "same", 0}}
	got := CompareCounts(src, dst)
	want := []CountDiff{
		{Schema: "public", Table: "b", Source: 5, Target: 4},
		{Schema: "public", Table: "extra", Target: 1, Missing: "source"},
		{Schema: "public", Table: "gone", Source: 3, Missing: "target"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if d := CompareCounts(src, src); len(d) != 0 {
		t.Fatalf("equal lists differ: %+v", d)
	}
	if d := CompareCounts(nil, dst); len(d) != len(dst) {
		t.Fatalf("empty source: %+v", d)
	}

	err := &DiffError{Result: VerifyResult{Database: "bj", Source: src, Target: dst, Diffs: got}}
	msg := err.Error()
	for _, w := range []string{"database bj: 3 of 4 tables differ", "public.b: 5 rows on the source, 4 on the target",
		"public.extra: table missing on the source, 1 rows on the target", "public.gone: 3 rows on the source, table missing on the target"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
	}
}
