package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestDemoSecretsStayOffEveryOutput runs the whole demo headless and looks
// for the repository access key (the content of the backup's key file) in
// everything ferry wrote: stdout, stderr, every file of the state
// directory, the report in each format and ferry status.
func TestDemoSecretsStayOffEveryOutput(t *testing.T) {
	// Independent of the other tests (own directories, ports): run beside
	// them, so that the package stays within go test's time under load.
	t.Parallel()
	dir := t.TempDir()
	out, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", "50")
	if code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errb)
	}
	key, err := os.ReadFile(filepath.Join(dir, "old", sim.BackupDir, "greenarrow-repository-access-key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, l := range strings.Split(string(key), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			secrets = append(secrets, l)
		}
	}
	if len(secrets) == 0 {
		t.Fatal("the simulated key file is empty: nothing to look for")
	}
	// The step that shows the key ran and its line reached the printer.
	shown := false
	for _, ev := range events(t, out) {
		shown = shown || ev.Type == wizard.EvOutput && ev.Step == "repository-key" && ev.Stream == wizard.StreamSecret
	}
	if !shown {
		t.Fatal("no secret line from the repository-key step on stdout: the test proves nothing")
	}

	scanForSecrets(t, dir, out, errb, secrets)
}

// TestDemoBlueMindSecretsStayOffEveryOutput: the BlueMind demo's database
// password (a secret answer of the demo's answers file) is in none of
// ferry's outputs, state directory, reports or status.
func TestDemoBlueMindSecretsStayOffEveryOutput(t *testing.T) {
	// Independent of the other tests (own directories, ports): run beside
	// them, so that the package stays within go test's time under load.
	t.Parallel()
	_, dir := blueMindDir(t) // skips without root; stops a cluster left running
	out, errb, code := ferry(t, "demo", "bluemind", "--headless", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errb)
	}
	// The password was used: the database login step ran and passed.
	used := false
	for _, ev := range events(t, out) {
		used = used || ev.Type == wizard.EvStepFinished && ev.Step == "check-db-login" && ev.Status == wizard.StatusOK
	}
	if !used {
		t.Fatal("check-db-login did not pass: the password was never used, the test proves nothing")
	}
	scanForSecrets(t, dir, out, errb, []string{sim.BlueMindDBPassword})
}

// scanForSecrets looks for each secret in stdout, stderr, every file of
// DIR/state, the report in each format and ferry status.
func scanForSecrets(t *testing.T, dir string, out, errb []byte, secrets []string) {
	t.Helper()
	outputs := map[string][]byte{"stdout": out, "stderr": errb}
	state := filepath.Join(dir, "state")
	err := filepath.WalkDir(state, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		outputs[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(outputs) < 5 {
		t.Fatalf("only %d outputs to scan: %v", len(outputs), keys(outputs))
	}
	for _, format := range []string{"markdown", "html"} {
		rep, errb, code := ferry(t, "report", "--state-dir", state, "--format", format)
		if code != 0 || len(rep) == 0 {
			t.Fatalf("report %s: exit %d: %s", format, code, errb)
		}
		outputs["report "+format] = append(rep, errb...)
	}
	st, errb, _ := ferry(t, "status", "--state-dir", state)
	outputs["status"] = append(st, errb...)
	for name, b := range outputs {
		for _, s := range secrets {
			if i := bytes.Index(b, []byte(s)); i >= 0 {
				t.Errorf("%s holds the secret %q at byte %d", name, s, i)
			}
		}
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tree records every file, directory and link under root: mode, size, a
// content hash, a link's target.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += fmt.Sprintf(" %d %x", len(b), sha256.Sum256(b))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[p] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, d := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s: %s was removed", what, p)
		} else if a != d {
			t.Errorf("%s: %s changed: %s -> %s", what, p, d, a)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s was created", what, p)
		}
	}
}

var migrationLine = regexp.MustCompile(`"migration":"[^"]*"`)

// TestDemoLostJournalRefusesBeforeAnyStep: a finished and a half-finished
// demo migration whose journal is deleted, emptied or replaced by another
// migration's: ferry exits 5 naming what it found, and neither simulated
// server changes by a byte; --start-over then begins a new migration.
func TestDemoLostJournalRefusesBeforeAnyStep(t *testing.T) {
	// Independent of the other tests (own directories, ports): run beside
	// them, so that the package stays within go test's time under load.
	t.Parallel()
	finished := t.TempDir()
	if _, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", finished, "--messages", "50"); code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errb)
	}
	half := t.TempDir()
	cmd := exec.Command(ferryBin, "demo", "greenarrow", "--headless", "--dir", half, "--messages", "50")
	// Killed once the old server is stopped: half a migration, with the
	// downtime begun.
	killed := killDemoAt(t, cmd, func(l string) bool {
		return strings.Contains(l, `"type":"step_finished"`) && strings.Contains(l, `"status":"ok"`) && strings.Contains(l, `"step":"stop-old"`)
	})
	if !killed {
		t.Fatal("the half run ended before the old server was stopped (is the step still called stop-old?)")
	}

	for _, dir := range []string{finished, half} {
		state := filepath.Join(dir, "state")
		journal := filepath.Join(state, wizard.JournalFile)
		good, err := os.ReadFile(journal)
		if err != nil {
			t.Fatal(err)
		}
		// Another migration's journal: the same events under another id.
		other := migrationLine.ReplaceAll(good, []byte(`"migration":"20260101-000000000000"`))
		damage := map[string]func() error{
			"deleted":  func() error { return os.Remove(journal) },
			"emptied":  func() error { return os.WriteFile(journal, nil, 0o600) },
			"replaced": func() error { return os.WriteFile(journal, other, 0o600) },
		}
		for _, name := range []string{"deleted", "emptied", "replaced"} {
			t.Run(filepath.Base(dir)+"/"+name, func(t *testing.T) {
				if err := damage[name](); err != nil {
					t.Fatal(err)
				}
				oldBefore, newBefore := tree(t, filepath.Join(dir, "old")), tree(t, filepath.Join(dir, "new"))
				out, errb, code := ferry(t, "demo", "greenarrow", "--headless", "--dir", dir)
				if code != 5 {
					t.Fatalf("exit %d, want 5\n%s", code, errb)
				}
				for _, want := range []string{wizard.MigrationIDFile, wizard.JournalPrevFile, "--start-over"} {
					if !bytes.Contains(errb, []byte(want)) {
						t.Errorf("stderr does not name %q:\n%s", want, errb)
					}
				}
				if bytes.Contains(out, []byte(`"type":"step_started"`)) {
					t.Errorf("a step started:\n%s", out)
				}
				sameTree(t, "old server", oldBefore, tree(t, filepath.Join(dir, "old")))
				sameTree(t, "new server", newBefore, tree(t, filepath.Join(dir, "new")))
				if err := os.WriteFile(journal, good, 0o600); err != nil {
					t.Fatal(err)
				}
			})
		}
	}

	// --start-over typed: a new migration begins from its first step.
	state := filepath.Join(half, "state")
	before, err := wizard.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(state, wizard.JournalFile))
	// Only its beginning matters: the run is stopped (SIGTERM, which ferry
	// handles) once its first step has started.
	cmd = exec.Command(ferryBin, "demo", "greenarrow", "--headless", "--dir", half, "--start-over")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := ""
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if first == "" && strings.Contains(l, `"type":"run_started"`) {
			first = "run_started"
		}
		if first == "" && strings.Contains(l, `"type":"run_resumed"`) {
			first = "run_resumed"
		}
		if strings.Contains(l, `"type":"step_started"`) {
			cmd.Process.Signal(syscall.SIGTERM)
			break
		}
	}
	go io.Copy(io.Discard, stdout)
	cmd.Wait()
	if first != string(wizard.EvRunStarted) {
		t.Errorf("--start-over began with %q, want run_started\n%s", first, errb.Bytes())
	}
	after, err := wizard.LoadState(state)
	if err != nil || after.Migration == "" || after.Migration == before.Migration {
		t.Errorf("--start-over: migration %q (was %q), %v", after.Migration, before.Migration, err)
	}
	if m, _ := filepath.Glob(filepath.Join(state, "superseded-*", wizard.MigrationIDFile)); len(m) != 1 {
		t.Errorf("the earlier migration id was not kept aside: %v", m)
	}
}
