package cmd

import "github.com/spf13/cobra"

// newStatusCmd is "ferry status": one screen of where a migration stands.
func (a *app) newStatusCmd() *cobra.Command {
	var stateDir string
	c := &cobra.Command{
		Use:   "status",
		Short: "Show where a migration stands",
		Args:  cobra.NoArgs,
		RunE:  a.action(a.notBuilt),
	}
	stateDirFlag(c, &stateDir)
	return c
}
