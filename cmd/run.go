package cmd

import "github.com/spf13/cobra"

// newRunCmd is "ferry run": the guided migration.
func (a *app) newRunCmd() *cobra.Command {
	var o struct {
		runbook, old, stateDir, answers string
		headless                        bool
	}
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the migration on this (new) server, step by step",
		Args:  cobra.NoArgs,
		RunE:  a.action(a.notBuilt),
	}
	runbookFlag(c, &o.runbook)
	c.Flags().StringVar(&o.old, "old", "", "address of the old server (host or IP, optionally user@host:port)")
	stateDirFlag(c, &o.stateDir)
	c.Flags().BoolVar(&o.headless, "headless", false, "run with no terminal: one JSON event per line; exit 3 at the first step that needs a person")
	c.Flags().StringVar(&o.answers, "answers", "", "file with the answers and confirmations for a headless run")
	return c
}
