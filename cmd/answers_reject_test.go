package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRejectedAnswersFileWritesNothing(t *testing.T) {
	tmp := t.TempDir()
	answers := filepath.Join(tmp, "answers.json")
	if err := os.WriteFile(answers, []byte(`{"answers":{"ssh_port":"abc"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(tmp, "state")
	code, _, errs := run(t, "", false, "run", "--runbook", "greenarrow", "--headless", "--answers", answers, "--state-dir", state)
	if code != 2 || !strings.Contains(errs, "ssh_port") {
		t.Fatalf("code %d, stderr %q: want 2 naming ssh_port", code, errs)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("the state directory %s exists after a rejected answers file (%v)", state, err)
	}
}
