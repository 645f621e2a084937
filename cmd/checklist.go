package cmd

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/assets"
	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/tui"
	"github.com/ferry-migrate/ferry/wizard"
)

// checklistOptions are the flags of "ferry checklist".
type checklistOptions struct {
	runbook  string
	family   string
	format   string
	stateDir string
	// stateDirSet is true when --state-dir was given: a missing journal is
	// then worth a note.
	stateDirSet bool
}

// newChecklistCmd is "ferry checklist": the whole procedure, read-only.
func (a *app) newChecklistCmd() *cobra.Command {
	var o checklistOptions
	c := &cobra.Command{
		Use:   "checklist",
		Short: "Show the whole procedure, and where a migration stands, without changing anything",
		Long: strings.TrimSpace(`
Shows every step of a runbook, phase by phase: what it does, where it runs,
the commands it would run, what it checks and asks. When the state directory
holds the journal of a migration, each step also shows its status.

The checklist only reads the runbook and the journal: it connects to no
server, runs nothing and writes nothing. While a runner runs the migration
(ferry run, ferry demo), it shows the state that runner serves now instead,
with a note on the running step's counters or the question it waits on,
attached as a read-only observer; the browsable view follows it live.

Formats: tui (a browsable view; the default on a terminal), markdown (a
checklist for a change ticket; the default otherwise) and json.`),
		Example: `  ferry checklist --runbook greenarrow
  ferry checklist --runbook bluemind --family debian --format markdown > ticket.md
  ferry checklist --state-dir /var/lib/ferry --format json`,
		Args: cobra.NoArgs,
		RunE: a.action(func(c *cobra.Command, _ []string) error {
			o.stateDirSet = c.Flags().Changed("state-dir")
			return a.runChecklist(o)
		}),
	}
	runbookFlag(c, &o.runbook)
	c.Flags().StringVar(&o.family, "family", "", "show only the commands of one distribution family: rhel or debian")
	c.Flags().StringVar(&o.format, "format", "", "tui, markdown or json (default: tui on a terminal, else markdown)")
	stateDirFlag(c, &o.stateDir)
	_ = c.RegisterFlagCompletionFunc("runbook", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return assets.Names(), cobra.ShellCompDirectiveDefault
	})
	_ = c.RegisterFlagCompletionFunc("family", cobra.FixedCompletions(checklist.Families, cobra.ShellCompDirectiveNoFileComp))
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(checklist.FormatNames, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) runChecklist(o checklistOptions) error {
	format := o.format
	if format != "" && !slices.Contains(checklist.FormatNames, format) {
		return usage(fmt.Errorf("unknown --format %q (want %s)", format, strings.Join(checklist.FormatNames, ", ")))
	}
	if format == "" {
		format = checklist.FormatMarkdown
		if a.interactive() && os.Getenv("TERM") != "dumb" {
			format = checklist.FormatTUI
		}
	}
	if format == checklist.FormatTUI && !a.interactive() {
		return usage(errors.New("--format tui needs a terminal on stdin and stdout; use --format markdown or json"))
	}
	// A runner up for the state directory: the live state, followed as a
	// read-only observer; else the journal.
	var live *liveView
	if o.stateDir != "" {
		if l, err := dialLive(o.stateDir, wizard.Who(os.Getenv)+" (ferry checklist)"); err == nil {
			live = l
		}
	}
	doc, err := a.loadChecklist(o, live)
	if err != nil {
		if live != nil {
			live.Close()
		}
		return err
	}
	switch format {
	case checklist.FormatJSON:
		defer closeLive(live)
		return checklist.JSON(a.stdout, doc)
	case checklist.FormatMarkdown:
		defer closeLive(live)
		return checklist.Markdown(a.stdout, doc)
	}
	p := tea.NewProgram(tui.NewChecklist(doc), tea.WithInput(a.stdin), tea.WithOutput(a.stdout))
	if o.stateDir == "" {
		_, err = p.Run()
		return err
	}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		a.followChecklist(o, live, func(d *checklist.Doc) { p.Send(tui.ChecklistDocMsg{Doc: d}) }, stop)
	}()
	_, err = p.Run()
	close(stop)
	<-done
	return err
}

// followChecklist rebuilds the checklist of o every checklistRefresh and
// gives it to send, until stop is closed: the runner's state while one
// runs (live, when not nil, is the one already joined; it is closed on
// return), the journal when none does; a runner that starts later, or
// again on a resume, is joined.
func (a *app) followChecklist(o checklistOptions, live *liveView, send func(*checklist.Doc), stop <-chan struct{}) {
	defer func() { closeLive(live) }()
	// "No journal" was said once, when the view opened: not every second.
	o.stateDirSet = false
	t := time.NewTicker(checklistRefresh)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if live != nil && live.Ended() {
			// Its run is over: the journal says the rest, until a
			// runner starts again.
			closeLive(live)
			live = nil
		}
		if live == nil {
			if l, err := dialLive(o.stateDir, wizard.Who(os.Getenv)+" (ferry checklist)"); err == nil {
				live = l
			}
		}
		if d, err := a.loadChecklist(o, live); err == nil {
			send(d)
		}
	}
}

// closeLive leaves the runner l follows, if any.
func closeLive(l *liveView) {
	if l != nil {
		_ = l.Close()
	}
}

// Ended tells whether the runner l follows has ended its run or gone.
func (l *liveView) Ended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ended
}

// checklistRefresh is how often the checklist's view is rebuilt while a
// runner runs the migration.
const checklistRefresh = time.Second

// loadChecklist reads the runbook and, when there is one, the journal (or,
// with live not nil, the state the runner serves now, with a note on what
// it does), and builds the checklist. It only reads.
func (a *app) loadChecklist(o checklistOptions, live *liveView) (*checklist.Doc, error) {
	if !checklist.ValidFamily(o.family) {
		return nil, usage(fmt.Errorf("unknown --family %q (want %s)", o.family, strings.Join(checklist.Families, " or ")))
	}
	var (
		state *wizard.State
		notes []string
	)
	if live != nil {
		state = live.State()
		notes = append(append(notes, live.Note()), state.Warnings...)
	} else if o.stateDir != "" {
		st, err := wizard.LoadState(o.stateDir)
		switch {
		case errors.Is(err, wizard.ErrNoJournal):
			if o.runbook == "" {
				// Nothing to show without a runbook: one error says both.
				return nil, usage(fmt.Errorf("which runbook? %s to take it from: give --runbook %s or a runbook file", noMigrationIn(o.stateDir), strings.Join(assets.Names(), "|")))
			}
			if o.stateDirSet {
				fmt.Fprintf(a.stderr, "ferry checklist: no journal in %s: showing the procedure without statuses\n", o.stateDir)
			}
		case err != nil:
			return nil, usage(fmt.Errorf("reading the state in %s: %w", o.stateDir, err))
		default:
			state = st
			notes = append(notes, st.Warnings...)
		}
	}
	name := o.runbook
	if name == "" {
		if state == nil || state.Runbook == "" || !slices.Contains(assets.Names(), state.Runbook) {
			return nil, usage(fmt.Errorf("which runbook? give --runbook %s or a runbook file", strings.Join(assets.Names(), "|")))
		}
		name = state.Runbook
	}
	rb, err := wizard.LoadRunbook(name)
	if err != nil {
		return nil, err
	}
	if state != nil {
		if state.Runbook != "" && state.Runbook != rb.ID {
			return nil, usage(fmt.Errorf("the journal in %s belongs to runbook %q, not %q: leave --runbook out to see it, or give another --state-dir", o.stateDir, state.Runbook, rb.ID))
		} else if state.Hash != "" && rb.Hash != "" && state.Hash != rb.Hash {
			notes = append(notes, "this runbook differs from the one the migration started with: statuses are matched by step id")
		}
	}
	opts := checklist.Options{Family: o.family, Notes: notes}
	if state != nil {
		opts.State, opts.StateDir = state, o.stateDir
	}
	doc, err := checklist.Build(rb, opts)
	if err != nil {
		return nil, usage(err)
	}
	return doc, nil
}
