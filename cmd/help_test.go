package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHelpListsOnlyWhatIsBuilt(t *testing.T) {
	code, out, _ := run(t, "", false, "--help")
	if code != 0 || !strings.Contains(out, "checklist") || !strings.Contains(out, "attach") {
		t.Fatalf("code %d, help %q", code, out)
	}
	if strings.Contains(out, "not built") {
		t.Errorf("--help lists something not built:\n%s", out)
	}
	// Off a terminal too (it follows in plain lines), with no runner it
	// says that none runs.
	code, out, errs := run(t, "", false, "attach", "--state-dir", t.TempDir())
	if code != ExitUsage || out != "" || !strings.Contains(errs, "(no journal there), so nothing to attach to") {
		t.Errorf("attach off a terminal: code %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = run(t, "", true, "attach", "--state-dir", t.TempDir())
	if code != ExitUsage || !strings.Contains(errs, "(no journal there), so nothing to attach to") {
		t.Errorf("attach with no runner: code %d, stderr %q", code, errs)
	}
}

func TestResumeCommandLeavesStartOverOut(t *testing.T) {
	got := resumeCommand([]string{"run", "--state-dir", "/var/lib/my ferry", "--start-over", "--old", "mail-old"})
	if want := "ferry run --state-dir '/var/lib/my ferry' --old mail-old"; got != want {
		t.Errorf("resumeCommand = %q, want %q", got, want)
	}
}

// TestNoSuchStateDirSaysSo: a --state-dir that does not exist is named as
// such by every reading command, which creates nothing.
func TestNoSuchStateDirSaysSo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	for _, args := range [][]string{{"status"}, {"report"}, {"attach"}, {"checklist", "--format", "markdown"}} {
		code, _, errs := run(t, "", false, append(args, "--state-dir", dir)...)
		if code != ExitUsage || !strings.Contains(errs, "no migration in "+dir+" (no such directory)") {
			t.Errorf("%v: code %d, stderr %q", args, code, errs)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Fatalf("%v made %s", args, dir)
		}
	}
}

// TestStateDirThatIsAFileSaysSo: a --state-dir that names a regular file
// is said to be a file by every reading command and by run, which change
// nothing.
func TestStateDirThatIsAFileSaysSo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state")
	if err := os.WriteFile(file, []byte("not a state dir\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"report"}, {"attach"}, {"checklist", "--format", "markdown"}} {
		code, _, errs := run(t, "", false, append(args, "--state-dir", file)...)
		if code != ExitUsage || !strings.Contains(errs, "no migration in "+file+" (a file, not a directory)") {
			t.Errorf("%v: code %d, stderr %q", args, code, errs)
		}
	}
	code, _, errs := run(t, "", false, "run", "--runbook", "greenarrow", "--old", "127.0.0.1", "--headless", "--state-dir", file)
	if code != ExitUsage || !strings.Contains(errs, "--state-dir "+file+" is a file, not a directory") {
		t.Errorf("run: code %d, stderr %q", code, errs)
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "not a state dir\n" {
		t.Errorf("the file changed: %q %v", b, err)
	}
}
