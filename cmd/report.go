package cmd

import "github.com/spf13/cobra"

// newReportCmd is "ferry report": what a migration did, for the record.
func (a *app) newReportCmd() *cobra.Command {
	var stateDir, format string
	c := &cobra.Command{
		Use:   "report",
		Short: "Write a report of a migration from its journal",
		Args:  cobra.NoArgs,
		RunE:  a.action(a.notBuilt),
	}
	stateDirFlag(c, &stateDir)
	c.Flags().StringVar(&format, "format", "markdown", "markdown or html")
	return c
}
