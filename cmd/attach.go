package cmd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/wizard"
)

// newAttachCmd is "ferry attach": join a migration that a detached runner
// is running (one started by ferry run or ferry demo on a terminal).
func (a *app) newAttachCmd() *cobra.Command {
	var (
		stateDir string
		readOnly bool
	)
	c := &cobra.Command{
		Use:   "attach",
		Short: "Join a running migration's screen (observers: --read-only)",
		Long: strings.TrimSpace(`
Shows the run screen of a migration that a runner is running, live: the
counters, the output so far and the question it waits on. On a terminal,
ferry run and ferry demo run the engine in a runner detached from the
terminal, so a dropped SSH session stops nothing; attach comes back to it.

Without --read-only this screen takes control (one at a time: the screen
that had it is told and watches on). With --read-only it only watches: the
runner refuses its decisions, and logs them in runner.log in the state
directory. Several observers may watch at once.`),
		Example: `  ferry attach --state-dir /var/lib/ferry
  ferry attach --read-only --state-dir /var/lib/ferry`,
		Args: cobra.NoArgs,
		RunE: a.action(func(*cobra.Command, []string) error {
			abs, err := filepath.Abs(stateDir)
			if err != nil {
				return err
			}
			if !a.interactive() {
				return usage(errors.New("attach shows the run screen: it needs a terminal (ferry status --state-dir DIR says where a migration stands)"))
			}
			role := runner.RoleControl
			if readOnly {
				role = runner.RoleObserve
			}
			cl, err := runner.Dial(filepath.Join(abs, runner.SocketFile), runner.Hello{Role: role, Who: wizard.Who(os.Getenv)})
			if errors.Is(err, runner.ErrNoRunner) {
				if pid, held := wizard.LockHeld(abs); held {
					return fmt.Errorf("ferry (pid %d) runs the migration in %s in the foreground, with no runner to attach to", pid, abs)
				}
				return fmt.Errorf("no migration is running in %s: ferry run (the same command as before) resumes it; ferry status says where it stands", abs)
			}
			if err != nil {
				return err
			}
			return a.attachScreen(cl, abs)
		}),
	}
	stateDirFlag(c, &stateDir)
	c.Flags().BoolVar(&readOnly, "read-only", false, "watch only: the runner refuses every decision from this screen")
	return c
}
