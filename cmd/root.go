// Package cmd is ferry's command line: one cobra command per file, and the
// single mapping from errors to exit codes (exit.go).
package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"
)

// DefaultStateDir is where a migration keeps its journal and lock unless
// --state-dir says otherwise.
const DefaultStateDir = "/var/lib/ferry"

// BuildInfo is what the build stamped into the binary.
type BuildInfo struct {
	Version string
	Commit  string
	Date    string
}

// app is what every command shares: the build information and the
// process's streams, replaceable in tests.
type app struct {
	info   BuildInfo
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// interactive reports whether stdin and stdout are both terminals.
	interactive func() bool
	// ran is set once a command's own code starts: an error before that
	// comes from cobra's parsing and is a usage error.
	ran bool
	// startOver is --start-over (run, demo): begin a new migration even
	// where the state directory shows an earlier one.
	startOver bool
	// args is the command line execute was given (without the program's
	// name): a runner is started with the same one.
	args []string
}

func newApp(info BuildInfo) *app {
	return &app{
		info:   info,
		stdin:  os.Stdin,
		stdout: os.Stdout,
		stderr: os.Stderr,
		interactive: func() bool {
			return term.IsTerminal(os.Stdin.Fd()) && term.IsTerminal(os.Stdout.Fd())
		},
	}
}

// Command returns ferry's command tree as the binary runs it, for tools that
// generate from it (cmd/gendocs: the manual pages and shell completions).
// The commands write to the process's streams; nothing runs until executed.
func Command(info BuildInfo) *cobra.Command {
	return newApp(info).root()
}

// Main runs ferry with the process's arguments and returns the exit code.
func Main(info BuildInfo) int {
	return newApp(info).execute(os.Args[1:])
}

// execute runs the command line args, prints any error on stderr and
// returns the exit code.
func (a *app) execute(args []string) int {
	root := a.root()
	a.args = args
	root.SetArgs(args)
	return a.finish(root.ExecuteC())
}

// finish prints the error of the command c, if any, and returns the exit
// code.
func (a *app) finish(c *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	if !a.ran {
		err = usage(err)
	}
	name := "ferry"
	if c != nil {
		name = c.CommandPath()
	}
	var remote *RunnerExit
	if errors.As(err, &remote) && remote.Raw {
		// The runner's own words, prefixed already.
		a.sayf("%s", remote.Msg)
	} else if msg := err.Error(); msg != "" {
		a.sayf("%s: %s", name, msg)
	}
	var u *UsageError
	if errors.As(err, &u) && !a.ran {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", name)
	}
	return ExitCode(err)
}

func (a *app) root() *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Move a mail server to a new machine, step by step",
		Long: strings.TrimSpace(`
ferry walks an administrator through a vendor's server migration procedure
(GreenArrow Engine, BlueMind), one step at a time. Run it as root on the new
server: it runs what can be automated over SSH on the old server and locally
on the new one, asks only what it cannot find out, wants a typed confirmation
before anything destructive, and keeps a journal so that a dropped connection
loses nothing.`),
		Version:       a.versionLine(),
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("ferry {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usage(err) })
	root.AddCommand(
		a.newRunCmd(),
		a.newChecklistCmd(),
		a.newStatusCmd(),
		a.newAttachCmd(),
		a.newReportCmd(),
		a.newDemoCmd(),
		a.newAnswersCmd(),
		a.newVersionCmd(),
	)
	return root
}

// action wraps a command's code so that execute can tell its errors from
// cobra's parsing errors.
func (a *app) action(fn func(c *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		a.ran = true
		return fn(c, args)
	}
}

// notBuilt is the action of a command whose code has not landed yet: it
// says so and exits 2, with no pretend output.
func (a *app) notBuilt(c *cobra.Command, _ []string) error {
	return usage(errors.New("not built yet"))
}

// stateDirFlag adds --state-dir to c.
func stateDirFlag(c *cobra.Command, dir *string) {
	c.Flags().StringVar(dir, "state-dir", DefaultStateDir, "directory holding the migration's journal and lock")
}

// runbookFlag adds --runbook to c.
func runbookFlag(c *cobra.Command, rb *string) {
	c.Flags().StringVar(rb, "runbook", "", "built-in runbook (greenarrow, bluemind) or a runbook file")
}

// startOverFlag adds --start-over to c: the only way past a state directory
// whose journal is lost while signs of an earlier migration remain.
func (a *app) startOverFlag(c *cobra.Command) {
	c.Flags().BoolVar(&a.startOver, "start-over", false, "begin a new migration even though this state directory (or the new server) shows an earlier one whose journal is lost; the earlier state is moved aside, not deleted")
}
