package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/tui"
	"github.com/ferry-migrate/ferry/wizard"
)

// RunnerExit is how a run served by a detached runner ended, as its client
// learnt it: the exit code the runner's ferry would have exited with, and
// its error. Raw marks a message the runner itself printed (already
// prefixed), which is shown as it is.
type RunnerExit struct {
	Code int
	Msg  string
	Raw  bool
}

func (e *RunnerExit) Error() string { return e.Msg }

// runnerReady is how long a client waits for a new runner's socket (the
// BlueMind demo starts two PostgreSQL clusters first).
const runnerReady = 3 * time.Minute

// detached runs an interactive migration through a runner detached from
// the terminal: the runner for stateDir if one is up already (this client
// attaches and takes control), else a new one running this same command
// line (runner.Spawn). The run screen is its client; closing the terminal
// leaves the runner going. It returns how the run ended, or nil when the
// admin detached.
func (a *app) detached(stateDir string) error {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	sock := filepath.Join(abs, runner.SocketFile)
	hello := runner.Hello{Role: runner.RoleControl, Who: wizard.Who(os.Getenv)}
	c, err := runner.Dial(sock, hello)
	if err == nil {
		fmt.Fprintf(a.stderr, "ferry: a runner (pid %d) already runs this migration: attaching to it\n", c.Welcome.PID)
		return a.attachScreen(c, abs)
	}
	st, err := runner.Spawn(abs, os.Args)
	if err != nil {
		return err
	}
	c, err = st.Ready(sock, hello, runnerReady)
	var gone *runner.ErrRunnerExited
	if errors.As(err, &gone) {
		return &RunnerExit{Code: gone.Code, Msg: gone.Error(), Raw: true}
	}
	if err != nil {
		return err
	}
	return a.attachScreen(c, abs)
}

// attachScreen shows the run screen as a client of the runner c serves for
// stateDir, until the run ends (its exit as a *RunnerExit, nil for a run
// that ended well) or the admin detaches (nil; the runner goes on).
func (a *app) attachScreen(c *runner.Client, stateDir string) error {
	defer c.Close()
	w := c.Welcome
	rb, err := wizard.LoadRunbook(w.Runbook)
	if err != nil {
		return fmt.Errorf("the runner runs runbook %s: %w", w.Runbook, err)
	}
	events := make(chan wizard.Event, 4096)
	endc := make(chan *runner.End, 1)
	go func() {
		end, _ := c.Stream(func(m runner.Message) {
			switch {
			case m.Event != nil:
				if !m.Event.Type.Journaled() {
					select {
					case events <- *m.Event:
					default: // the next snapshot replaces a lost one
					}
					return
				}
				events <- *m.Event
			case m.Notice != "":
				events <- wizard.Event{Type: wizard.EvWarning, Time: time.Now(), Message: m.Notice}
			}
		})
		endc <- end
		close(events)
	}()
	readOnly := w.Role != runner.RoleControl
	model := tui.NewRun(tui.RunOptions{
		Runbook: rb, State: wizard.Replay(w.Before), Events: events,
		Decide:    func(d wizard.Decision) { _ = c.Decide(d) },
		Interrupt: func() { _ = c.Interrupt() },
		OldName:   w.OldName, NewName: w.NewName, Note: w.Note,
		Detached: true, ReadOnly: readOnly, RunnerPID: w.PID,
	})
	// The screen's own signals: a hangup (the SSH session dropped) or a
	// TERM end this client only; the runner is in a session of its own.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	p := tea.NewProgram(model, tea.WithContext(ctx), tea.WithFPS(15))
	_, uiErr := p.Run()
	select {
	case end := <-endc:
		if end == nil {
			return &RunnerExit{Code: ExitFailed, Msg: "the connection to the runner was lost; ferry status --state-dir " + stateDir + " says where the migration stands"}
		}
		if end.Code == ExitOK {
			fmt.Fprintf(a.stderr, "ferry: the migration is done. The report: ferry report --state-dir %s\n", stateDir)
			return nil
		}
		return &RunnerExit{Code: end.Code, Msg: end.Error}
	default:
	}
	if uiErr != nil && !errors.Is(uiErr, tea.ErrInterrupted) && !errors.Is(uiErr, tea.ErrProgramKilled) && !errors.Is(uiErr, context.Canceled) {
		return fmt.Errorf("screen: %w", uiErr)
	}
	if !readOnly {
		fmt.Fprintf(a.stderr, "ferry: the migration goes on in the background (runner pid %d); come back with: ferry attach --state-dir %s\n", w.PID, stateDir)
	}
	return nil
}

// serveRunner is the runner's side (this process was started by
// runner.Spawn): it serves the session's events on the state directory's
// socket while the engine runs, takes decisions from the controlling
// client, and sends every client the end.
func (a *app) serveRunner(ctx context.Context, sess *wizard.Session, m migration) error {
	signal.Ignore(syscall.SIGHUP)
	engineCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	source := m.rb.ID
	if m.rb.File != "" && !isBuiltin(m.rb.File) {
		source = m.rb.File
	}
	srv, err := runner.Listen(runner.ServerOptions{
		Path: filepath.Join(m.stateDir, runner.SocketFile),
		Welcome: runner.Welcome{PID: os.Getpid(), Runbook: source, Since: time.Now().UTC(), Before: sess.State.Events,
			OldName: m.oldName, NewName: m.newName, Note: m.note},
		Decide:    sess.Engine.Decide,
		Interrupt: cancel,
		Refused: func(who string, d wizard.Decision) {
			fmt.Fprintf(a.stderr, "%s refused a decision from a read-only client (%s): %s of step %s\n", time.Now().UTC().Format(time.RFC3339), who, d.Action, d.Step)
		},
	})
	if err != nil {
		return err
	}
	sess.SetSink(srv.Publish)
	err = sess.Engine.Run(engineCtx)
	sess.SetSink(nil)
	if errors.Is(err, context.Canceled) {
		err = wizard.ErrStopped
	}
	end := runner.End{Code: ExitCode(err)}
	if err != nil {
		end.Error = err.Error()
	}
	srv.Finish(end, 5*time.Second)
	return err
}

func isBuiltin(file string) bool {
	return len(file) > 8 && file[:8] == "builtin:"
}
