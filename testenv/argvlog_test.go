package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

// TestArgvLogRecordsAndRunsTheRealProgram: a logged echo prints what the
// real echo prints, and the log holds each run's arguments as given (a
// space, a newline and an empty argument kept).
func TestArgvLogRecordsAndRunsTheRealProgram(t *testing.T) {
	bin := t.TempDir()
	echo, err := exec.LookPath("echo")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(echo, filepath.Join(bin, "echo")); err != nil {
		t.Fatal(err)
	}
	l := LogArgv(t, bin)
	out, err := exec.Command(filepath.Join(l.Dir, "echo"), "a b", "", "c\nd").Output()
	if err != nil || string(out) != "a b  c\nd\n" {
		t.Fatalf("logged echo printed %q, %v; want the real echo's %q", out, err, "a b  c\nd\n")
	}
	if err := exec.Command(filepath.Join(l.Dir, "echo"), "-n").Run(); err != nil {
		t.Fatal(err)
	}
	want := []ArgvRun{{Prog: "echo", Args: []string{"-n"}}, {Prog: "echo", Args: []string{"a b", "", "c\nd"}}}
	got := l.Runs(t)
	sort.Slice(got, func(i, j int) bool { return len(got[i].Args) < len(got[j].Args) })
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Runs = %q, want %q", got, want)
	}
}
