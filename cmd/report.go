package cmd

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/report"
	"github.com/ferry-migrate/ferry/wizard"
)

// newReportCmd is "ferry report": what a migration did, for the record.
func (a *app) newReportCmd() *cobra.Command {
	var stateDir, format string
	c := &cobra.Command{
		Use:   "report",
		Short: "Write a report of a migration from its journal",
		Long: strings.TrimSpace(`
Writes what the journal of a migration holds, for the change ticket or the
post-mortem: the downtime window, the timeline of steps with durations and
passes, who confirmed or skipped what and when, the counters (bytes, files,
messages), the warnings, and every command run with its host and exit
status. It only reads.`),
		Example: `  ferry report --state-dir /var/lib/ferry > migration.md
  ferry report --format html > migration.html`,
		Args: cobra.NoArgs,
		RunE: a.action(func(*cobra.Command, []string) error {
			if !slices.Contains(report.Formats(), format) {
				return usage(fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(report.Formats(), " or ")))
			}
			st, err := wizard.LoadState(stateDir)
			if errors.Is(err, wizard.ErrNoJournal) {
				return usage(fmt.Errorf("%s: give the --state-dir the migration ran with (the default is %s)", noMigrationIn(stateDir), DefaultStateDir))
			}
			if err != nil {
				return usage(err)
			}
			if pid, held := wizard.LockHeld(stateDir); held {
				// A step started by the ferry that runs now is running,
				// not interrupted.
				st.MarkLive(pid)
			}
			rb, _ := wizard.LoadRunbook(st.Runbook)
			return report.Write(a.stdout, st, rb, format)
		}),
	}
	stateDirFlag(c, &stateDir)
	c.Flags().StringVar(&format, "format", report.FormatMarkdown, strings.Join(report.Formats(), " or "))
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(report.Formats(), cobra.ShellCompDirectiveNoFileComp))
	return c
}
