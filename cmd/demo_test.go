package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// A demo refused because another ferry holds DIR's lock exits 4 naming the
// holder, and writes nothing into DIR: no simulator, no keys, no answers.
func TestDemoRefusedByTheLockWritesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	l, err := wizard.AcquireLock(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	code, out, errb := run(t, "", false, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", "5")
	if code != ExitLocked {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, ExitLocked, out, errb)
	}
	if want := fmt.Sprintf("pid %d", os.Getpid()); !strings.Contains(errb, want) {
		t.Errorf("the refusal does not name the holder (%s): %s", want, errb)
	}
	var found []string
	_ = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && p != dir {
			rel, _ := filepath.Rel(dir, p)
			found = append(found, rel)
		}
		return nil
	})
	if strings.Join(found, " ") != "state state/lock" {
		t.Errorf("the refused demo left %v in its directory, want only the lock the test holds", found)
	}
}

// A directory that is not a simulator's is refused before the lock file
// goes into it.
func TestDemoRefusesAForeignDirWithoutALock(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errb := run(t, "", false, "demo", "greenarrow", "--headless", "--dir", dir)
	if code != ExitUsage || !strings.Contains(errb, dir) {
		t.Fatalf("exit %d, want %d with a message naming %s: %s", code, ExitUsage, dir, errb)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); err == nil {
		t.Errorf("the refused demo created %s/state", dir)
	}
}

// A demo given a bad answers file refuses it, naming the file and every
// bad entry, before it writes anything: no simulated servers, no lock, no
// runner log.
func TestDemoBadAnswersFileWritesNothing(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "bad.yaml")
	if err := os.WriteFile(file, []byte("answers:\n  ip_change: maybe\ndone: [stop-old]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "demo")
	code, _, errb := run(t, "", false, "demo", "greenarrow", "--headless", "--dir", dir, "--answers", file)
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d: %s", code, ExitUsage, errb)
	}
	for _, w := range []string{"answers file " + file + ":2: key ip_change", "answers file " + file + `:3: done: "stop-old" is not a manual step`} {
		if !strings.Contains(errb, w) {
			t.Errorf("the refusal lacks %q:\n%s", w, errb)
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("the refused demo created %s", dir)
	}
}
