package wizard

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// A count-files check with missing_ok finds no files in a directory that is
// gone (an interrupted removal of the parked queue went past it); without
// missing_ok a missing directory cannot be counted, and with it a directory
// that exists is still counted.
func TestCountFilesMissingOK(t *testing.T) {
	root := t.TempDir()
	h, err := remote.NewLocal(HostNew, root)
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{New: h}
	s := &Step{ID: "remove-old-queue", Host: HostNew}
	env := &StepEnv{Data: TemplateData{Answers: map[string]string{}, Facts: map[string]string{}}}
	check := func(params map[string]any) (bool, string, error) {
		return x.Check(context.Background(), s, &Check{Kind: "count-files", Params: params}, env)
	}
	const mess = "/var/hvmail/qmail-disk/queue/old/mess"

	if _, _, err := check(map[string]any{"dir": mess, "expect": 0}); err == nil {
		t.Errorf("a missing directory without missing_ok was counted")
	}
	ok, reason, err := check(map[string]any{"dir": mess, "expect": 0, "missing_ok": true})
	if err != nil || !ok {
		t.Errorf("missing directory with missing_ok: ok=%v reason=%q err=%v, want ok", ok, reason, err)
	}
	if ok, _, err := check(map[string]any{"dir": mess, "expect": 2, "missing_ok": true}); err != nil || ok {
		t.Errorf("missing directory with missing_ok and expect 2: ok=%v err=%v, want a failed check", ok, err)
	}

	if err := os.MkdirAll(filepath.Join(root, mess, "7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, mess, "7", "1234"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok, reason, err = check(map[string]any{"dir": mess, "expect": 0, "missing_ok": true})
	if err != nil || ok || !strings.Contains(reason, "1 file under") {
		t.Errorf("one message left with missing_ok: ok=%v reason=%q err=%v, want a failed check counting 1", ok, reason, err)
	}
}
