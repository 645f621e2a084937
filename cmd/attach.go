package cmd

import "github.com/spf13/cobra"

// newAttachCmd is "ferry attach": join a migration that is running. It is
// hidden (left out of --help, the manual pages and the completions) and
// says "not built yet" until the detached runner it needs exists; that issue
// unhides it.
func (a *app) newAttachCmd() *cobra.Command {
	var (
		stateDir string
		readOnly bool
	)
	c := &cobra.Command{
		Use:    "attach",
		Short:  "Join a running migration (observers: --read-only)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE:   a.action(a.notBuilt),
	}
	stateDirFlag(c, &stateDir)
	c.Flags().BoolVar(&readOnly, "read-only", false, "watch only; never answer or confirm")
	return c
}
