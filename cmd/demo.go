package cmd

import "github.com/spf13/cobra"

// newDemoCmd is "ferry demo": the whole wizard against a simulated pair of
// servers.
func (a *app) newDemoCmd() *cobra.Command {
	var (
		dir      string
		headless bool
	)
	c := &cobra.Command{
		Use:   "demo [greenarrow|bluemind]",
		Short: "Try the wizard on a simulated pair of servers",
		Long: `Runs the whole wizard against two simulated servers whose roots are
DIR/old and DIR/new, with the journal in DIR/state. Running it again with the
same DIR resumes where it stopped.`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"greenarrow", "bluemind"},
		RunE:      a.action(a.notBuilt),
	}
	c.Flags().StringVar(&dir, "dir", "", "directory for the simulated servers and the journal")
	c.Flags().BoolVar(&headless, "headless", false, "run with no terminal, printing one JSON event per line")
	return c
}
