package wizard

import (
	"context"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// A command step whose search finds nothing exits 1, which its ok_exit
// accepts: the step passes and its message says the exit was accepted and
// that nothing was printed, so that a 1 in the report's exit column does
// not read as a failure nobody explained.
func TestCommandAcceptedExitIsSaid(t *testing.T) {
	h, err := remote.NewLocal(HostNew, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{New: h}
	s := &Step{ID: "other-nameservers", Host: HostNew, Kind: "command", Params: map[string]any{"ok_exit": []any{0, 1}},
		Commands: map[string][]Command{"any": {{Shell: "printf 'nameserver 10.0.0.1\\n' | grep DNS="}}}}
	env := &StepEnv{Data: TemplateData{Answers: map[string]string{}, Facts: map[string]string{}}, Report: tasks.Discard}
	o, err := x.Run(context.Background(), s, env)
	if err != nil {
		t.Fatalf("the step failed on an accepted exit: %v", err)
	}
	if want := "1 command ran on new, printing nothing; exit 1, which this step accepts"; o.Message != want {
		t.Errorf("message %q, want %q", o.Message, want)
	}
	if len(o.Commands) != 1 || o.Commands[0].Exit != 1 {
		t.Errorf("commands %+v, want the one command with exit 1", o.Commands)
	}
}
