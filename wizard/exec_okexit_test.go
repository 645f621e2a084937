package wizard

import (
	"context"
	"errors"
	"fmt"
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

// Logins refused alike on two databases are said once, naming both; a
// different failure keeps its own sentence.
func TestLoginFailuresSaidOnce(t *testing.T) {
	refused := func(db string) error {
		return fmt.Errorf("%w by PostgreSQL on old for role bj, database %s, in a login with psql as pg_dump makes", tasks.ErrLoginRefused, db)
	}
	got := loginFailures([]string{"bj", "bj-data"}, []error{refused("bj"), refused("bj-data")})
	if want := "the password was refused by PostgreSQL on old for role bj, databases bj and bj-data, in a login with psql as pg_dump makes"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = loginFailures([]string{"bj", "bj-data", "x"}, []error{refused("bj"), nil, errors.New("database x: no such database")})
	if want := "the password was refused by PostgreSQL on old for role bj, database bj, in a login with psql as pg_dump makes; database x: no such database"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
