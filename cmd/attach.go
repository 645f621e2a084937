package cmd

import (
	"cmp"
	"errors"
	"fmt"
	"io"
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
		jsonOut  bool
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
directory. Several observers may watch at once.

Off a terminal (output piped, cron) or with TERM=dumb, attach prints the run
as plain lines instead (with --json, one JSON event per line), from the
start of the runner's run, and always as an observer, whatever
--read-only says: with no screen it cannot ask the admin anything, and a
migration that answers from an answers file takes no answers from a
client anyway. A question the runner waits on is printed and attach goes
on following: someone on a terminal may answer it. It exits with the
runner's exit code when the run ends; ctrl+c leaves, the run goes on.

On a migration that is finished there is nothing to attach to: attach says
so, names ferry report, and exits 0.`),
		Example: `  ferry attach --state-dir /var/lib/ferry
  ferry attach --read-only --state-dir /var/lib/ferry
  ferry attach --state-dir /var/lib/ferry | tee -a follow.log    # plain lines`,
		Args: cobra.NoArgs,
		RunE: a.action(func(*cobra.Command, []string) error {
			abs, err := filepath.Abs(stateDir)
			if err != nil {
				return err
			}
			f := a.frontEnd(jsonOut)
			role := runner.RoleControl
			if readOnly || f != frontTUI {
				role = runner.RoleObserve
			}
			cl, err := runner.Dial(filepath.Join(abs, runner.SocketFile), runner.Hello{Role: role, Who: wizard.Who(os.Getenv)})
			if errors.Is(err, runner.ErrNoRunner) {
				if pid, held := wizard.LockHeld(abs); held {
					return fmt.Errorf("ferry (pid %d) runs the migration in %s in the foreground, with no runner to attach to", pid, abs)
				}
				if _, jerr := os.Stat(filepath.Join(abs, wizard.JournalFile)); jerr != nil {
					return usage(fmt.Errorf("%s, so nothing to attach to: give the --state-dir the migration runs with (the default is %s)", noMigrationIn(abs), DefaultStateDir))
				}
				// The journal names the command that resumes, and says
				// whether the last runner died without finishing.
				resume, why := "ferry run (the same command as before)", ""
				if st, err := wizard.LoadStateTail(abs, 0); err == nil {
					if st.Finished {
						// Nothing to resume: as ferry status says, and
						// exit 0 as attach does when a run it follows ends
						// done. Stdout stays clean for --json.
						var w io.Writer = a.stdout
						if jsonOut {
							w = a.stderr
						}
						fmt.Fprintln(w, finishedText(abs))
						return nil
					}
					resume = cmp.Or(st.LastRun.Command, resume)
					if st.RunLost(false) {
						why = " (" + st.LostRunText(nil) + ")"
					}
				}
				return fmt.Errorf("no migration is running in %s%s: %s resumes it; ferry status says where it stands", abs, why, resume)
			}
			if err != nil {
				return err
			}
			if f != frontTUI {
				return a.mirror(cl, f, abs, "", false)
			}
			return a.attachScreen(cl, abs)
		}),
	}
	stateDirFlag(c, &stateDir)
	c.Flags().BoolVar(&readOnly, "read-only", false, "watch only: the runner refuses every decision from this screen")
	c.Flags().BoolVar(&jsonOut, "json", false, "follow the run as one JSON event per line (always read-only)")
	return c
}

// finishedText is what attach says about the finished migration in the
// state directory dir (absolute): nothing runs, nothing is left to resume,
// and the command that shows what was done.
func finishedText(dir string) string {
	return fmt.Sprintf("ferry attach: the migration in %s is finished, so no runner is left to attach to; ferry report --state-dir %s shows what was done", dir, dir)
}
