package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ArgvLog is a directory of programs that stand before the real programs
// of a directory (a PostgreSQL bin directory): each appends its own name
// and the arguments it was given to a log file, then replaces itself
// (exec) with the real program of the same name and the same arguments.
// A test that points the code under test at Dir instead of the real
// directory learns every argv the code ran, however short-lived the
// process: unlike ArgvWatch, which samples /proc and can miss a program
// that ends between two samples on a busy machine, nothing is missed.
type ArgvLog struct {
	// Dir holds one program per executable of the real directory.
	Dir string
	log string
}

// ArgvRun is one run logged by an ArgvLog: the program's base name and
// the arguments it was given (without argv[0]).
type ArgvRun struct {
	Prog string
	Args []string
}

// LogArgv makes an ArgvLog for the executables of binDir. Each run writes
// its own file in a log directory (named by its pid, which no two running
// processes share), its name and arguments each ended by a NUL byte, so
// that runs at once never mix and an argument may hold any byte but NUL (a
// newline in an SQL text). Dir and the log directory are open to every
// user (a program run with runuser as postgres logs too); the directories
// above them are made traversable up to the system's temporary directory.
// It fails the test on any error.
func LogArgv(t testing.TB, binDir string) *ArgvLog {
	t.Helper()
	base := t.TempDir()
	l := &ArgvLog{Dir: filepath.Join(base, "bin"), log: filepath.Join(base, "runs")}
	for _, d := range []string{l.Dir, l.log} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(l.log, 0o1777); err != nil { // past the umask
		t.Fatal(err)
	}
	stop := filepath.Clean(os.TempDir())
	for d := base; d != stop && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(binDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		real := filepath.Join(binDir, e.Name())
		fi, err := os.Stat(real)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
			continue
		}
		// A pid is unique among running processes, and this shell becomes
		// the program, keeping its pid until it ends; a later process may
		// reuse it, so the name also counts the files before it.
		script := "#!/bin/sh\nn=0\nwhile [ -e " + shellQuote(l.log) + "/$$.$n ]; do n=$((n+1)); done\n" +
			"printf '%s\\0' " + shellQuote(e.Name()) + " \"$@\" > " + shellQuote(l.log) + "/$$.$n\n" +
			"exec " + shellQuote(real) + " \"$@\"\n"
		if err := os.WriteFile(filepath.Join(l.Dir, e.Name()), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// Runs returns the runs logged so far, in no particular order. It fails
// the test when the log cannot be read.
func (l *ArgvLog) Runs(t testing.TB) []ArgvRun {
	t.Helper()
	ents, err := os.ReadDir(l.log)
	if err != nil {
		t.Fatal(err)
	}
	var runs []ArgvRun
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(l.log, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00")
		runs = append(runs, ArgvRun{Prog: f[0], Args: f[1:]})
	}
	return runs
}

// Check fails the test when a logged run has secret in one of its
// arguments, or when one of the programs progs never ran.
func (l *ArgvLog) Check(t testing.TB, secret string, progs ...string) {
	t.Helper()
	ran := map[string]int{}
	for _, r := range l.Runs(t) {
		ran[r.Prog]++
		for _, a := range r.Args {
			if strings.Contains(a, secret) {
				t.Errorf("the secret is in an argument of %s: %q", r.Prog, r.Args)
			}
		}
	}
	for _, p := range progs {
		if ran[p] == 0 {
			t.Errorf("%s never ran from %s (runs logged: %v)", p, l.Dir, ran)
		}
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
