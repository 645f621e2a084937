package cmd

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/wizard"
)

// newStatusCmd is "ferry status": one screen of where a migration stands.
func (a *app) newStatusCmd() *cobra.Command {
	var stateDir string
	c := &cobra.Command{
		Use:   "status",
		Short: "Show where a migration stands",
		Long: strings.TrimSpace(`
Reads the journal of the state directory and tells, in one screen, which
runbook is under way, whether a ferry is running it now, how many steps are
done, the step in progress or waiting, the downtime window and the
warnings. It only reads.`),
		Args: cobra.NoArgs,
		RunE: a.action(func(*cobra.Command, []string) error { return a.runStatus(stateDir) }),
	}
	stateDirFlag(c, &stateDir)
	return c
}

func (a *app) runStatus(dir string) error {
	// A journal lost, emptied or replaced where a migration began is said
	// as such (exit 5), not as "no migration".
	// Folded as it is read, in one reading: memory stays flat on a long
	// journal.
	_, lockErr := os.Lstat(filepath.Join(dir, wizard.LockFile))
	st, err := wizard.LoadStateChecked(dir, lockErr == nil, 0)
	if errors.Is(err, wizard.ErrNoJournal) {
		return usage(fmt.Errorf("%s: give the --state-dir the migration ran with (the default is %s), or start one with ferry run", noMigrationIn(dir), DefaultStateDir))
	}
	if err != nil {
		return err
	}
	rb, _ := wizard.LoadRunbook(st.Runbook)
	pid, held := wizard.LockHeld(dir)
	writeStatus(a.stdout, st, rb, dir, pid, held, time.Now())
	return nil
}

// writeStatus prints the status screen.
func writeStatus(w io.Writer, st *wizard.State, rb *wizard.Runbook, dir string, pid int, held bool, now time.Time) {
	title := st.Runbook
	var ids []string
	if rb != nil {
		title = rb.Title + " (" + rb.ID + ")"
		for _, s := range rb.Steps {
			ids = append(ids, s.ID)
		}
	} else {
		for id := range st.Steps {
			ids = append(ids, id)
		}
	}
	stepTitle := func(id string) string {
		if rb != nil {
			if s := rb.Step(id); s != nil {
				return id + " — " + s.Title
			}
		}
		return id
	}
	fmt.Fprintf(w, "ferry status: %s\n", title)
	fmt.Fprintf(w, "  state dir  %s (%d journal events, last %s)\n", dir, st.EventCount, st.Updated.Local().Format("2006-01-02 15:04:05"))
	if st.Migration != "" {
		fmt.Fprintf(w, "  migration  %s\n", st.Migration)
	}
	if rb != nil && rb.Hash != st.Hash {
		fmt.Fprintf(w, "  runbook    changed since the migration began: ferry will ask before going on\n")
	}
	// Read from the journal alone, a step that was running reads as
	// interrupted; the lock says whether it still runs. A last run without
	// its end and no lock holder lost its runner (wizard.State.RunLost).
	lost := st.RunLost(held)
	resume := cmp.Or(st.LastRun.Command, "the same command again (ferry run, or ferry demo)")
	switch {
	case held:
		fmt.Fprintf(w, "  runner     ferry (pid %d) is running this migration now\n", pid)
	case st.Finished:
		fmt.Fprintf(w, "  runner     none: the migration is finished\n")
	case lost:
		// An older journal lacks the pid; the lock file keeps its holder's.
		who := "the runner"
		if p := cmp.Or(st.LastRun.PID, pid); p > 0 {
			who = fmt.Sprintf("the runner (pid %d)", p)
		}
		how := "killed, crashed, or the server went down"
		if st.LastRun.PID == 0 {
			how += "; or a ferry older than this one, which journaled no stop, stopped"
		}
		fmt.Fprintf(w, "  runner     gone: %s ended without finishing (%s); its last word was at %s, %s ago\n",
			who, how, st.Updated.Local().Format("2006-01-02 15:04:05"), now.Sub(st.Updated).Round(time.Second))
	case st.LastRun.Ended && st.LastRun.Status == wizard.StatusFailed:
		fmt.Fprintf(w, "  runner     none: the last run stopped on a failure: %s\n", st.LastRun.Message)
	case st.LastRun.Ended && st.LastRun.Message != "":
		fmt.Fprintf(w, "  runner     none: the last run ended: %s\n", st.LastRun.Message)
	default:
		fmt.Fprintf(w, "  runner     none\n")
	}
	if !held && !st.Finished {
		fmt.Fprintf(w, "  resume     %s\n", resume)
	}
	if held {
		st.MarkLive(pid)
	}
	counts := map[wizard.Status]int{}
	var current []string
	sts := make([]wizard.Status, 0, len(ids))
	for _, id := range ids {
		s := st.Status(id)
		sts = append(sts, s)
		counts[s]++
		if s == wizard.StatusRunning || s == wizard.StatusInterrupted || s == wizard.StatusFailed {
			current = []string{fmt.Sprintf("%s %s (%s)", s.Symbol(), stepTitle(id), s)}
		}
	}
	if lost {
		// What the dead runner had under way: its outcome is unknown.
		if steps := st.Unfinished(ids); len(steps) > 0 {
			current = current[:0]
			for _, id := range steps {
				var step *wizard.Step
				if rb != nil {
					step = rb.Step(id)
				}
				current = append(current, fmt.Sprintf("%s %s was under way when the runner died; its outcome is unknown: %s",
					wizard.StatusInterrupted.Symbol(), stepTitle(id), wizard.OnResume(step)))
			}
		}
	}
	var waiting string
	if id, need := st.Waits(ids); id != "" {
		switch {
		case held:
			waiting = fmt.Sprintf("%s waits for %s", stepTitle(id), wizard.NeedText(need))
		case lost:
			waiting = fmt.Sprintf("nobody: %s was waiting for %s when the runner died; the next start asks again", stepTitle(id), wizard.NeedText(need))
		default:
			waiting = fmt.Sprintf("nobody: %s was waiting for %s when the run stopped; the next start asks again", stepTitle(id), wizard.NeedText(need))
		}
	}
	fmt.Fprintf(w, "  progress   %s", wizard.Tally(sts))
	if n := counts[wizard.StatusFailed]; n > 0 {
		fmt.Fprintf(w, ", %d failed", n)
	}
	fmt.Fprintln(w)
	for _, c := range current {
		fmt.Fprintf(w, "  now        %s\n", c)
	}
	if waiting != "" {
		fmt.Fprintf(w, "  waiting    %s\n", waiting)
	}
	switch {
	case st.DowntimeStart.IsZero():
		fmt.Fprintf(w, "  downtime   not begun\n")
	case st.DowntimeEnd.IsZero():
		fmt.Fprintf(w, "  downtime   began %s, %s so far (still open)\n", st.DowntimeStart.Local().Format("15:04:05"), now.Sub(st.DowntimeStart).Round(time.Second))
	default:
		fmt.Fprintf(w, "  downtime   %s to %s: %s\n", st.DowntimeStart.Local().Format("15:04:05"), st.DowntimeEnd.Local().Format("15:04:05"), st.DowntimeEnd.Sub(st.DowntimeStart).Round(time.Second))
	}
	for i, warn := range st.Warnings {
		if i == 0 {
			fmt.Fprintf(w, "  warnings   %s\n", warn)
		} else {
			fmt.Fprintf(w, "             %s\n", warn)
		}
	}
}

// noMigrationIn says why the state directory dir holds no migration:
// "no migration in DIR (no such directory)", "(a file, not a directory)"
// or "(no journal there)".
func noMigrationIn(dir string) string {
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("no migration in %s (no such directory)", dir)
	}
	if err == nil && !fi.IsDir() {
		return fmt.Sprintf("no migration in %s (a file, not a directory)", dir)
	}
	return fmt.Sprintf("no migration in %s (no journal there)", dir)
}
