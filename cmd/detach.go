package cmd

import (
	"al.essio.dev/pkg/shellescape"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync/atomic"
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

// runnerGone is how long a client waits, after the runner's end, for the
// runner to exit (runner.WaitExit): it saves the answers, closes the
// journal and stops the demo's servers first.
const runnerGone = time.Minute

// viaRunner runs a migration (ferry run, ferry demo) through a runner
// detached from the terminal, for any front end f: the runner for stateDir
// if one is up already (this client attaches to it), else a new one
// running this same command line (runner.Spawn; runner.FrontEnv tells it
// f). With the run screen, this process is its client (attachScreen);
// with plain or JSON lines, it prints the runner's events the way an
// in-process run would and exits with the runner's exit code (mirror),
// while the runner answers from the answers file. done, when not "", is
// printed on stderr when the run ends well. A lock held by a ferry with
// no runner to attach to is a *wizard.LockedError (exit 4), returned
// before anything is written to stateDir.
func (a *app) viaRunner(stateDir string, f frontEnd, done string) error {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return err
	}
	sock := filepath.Join(abs, runner.SocketFile)
	who := wizard.Who(os.Getenv)
	if f == frontTUI {
		hello := runner.Hello{Role: runner.RoleControl, Who: who}
		if c, err := runner.Dial(sock, hello); err == nil {
			fmt.Fprintf(a.stderr, "ferry: a runner (pid %d) already runs this migration: attaching to it\n", c.Welcome.PID)
			return a.attachScreen(c, abs)
		}
		// The runner connects to the servers (a demo sets them up first)
		// before the screen can show anything: say so meanwhile.
		fmt.Fprintf(a.stderr, "ferry: starting the migration in a runner of its own (state in %s)…\n", abs)
		c, err := a.spawnRunner(abs, f, hello)
		if err != nil {
			return err
		}
		return a.attachScreen(c, abs)
	}
	// A run with no screen looks first, as an observer, so that it takes
	// control from nobody's run screen.
	if c, err := runner.Dial(sock, runner.Hello{Role: runner.RoleObserve, Who: who}); err == nil {
		w := c.Welcome
		_ = c.Close()
		if !w.Unattended {
			return &RunnerExit{Code: ExitLocked, Msg: fmt.Sprintf("a runner (pid %d) started from a terminal runs this migration and asks its questions there: "+
				"ferry attach --state-dir %s takes them over on a terminal; ferry attach --read-only --state-dir %s (or off a terminal) follows it", w.PID, abs, abs)}
		}
		fmt.Fprintf(a.stderr, "ferry: a runner (pid %d) already runs this migration, answering from the answers file it started with: following it\n", w.PID)
		c, err := runner.Dial(sock, runner.Hello{Role: runner.RoleControl, Who: who})
		if err != nil {
			return err
		}
		return a.mirror(c, f, abs, done, false)
	}
	c, err := a.spawnRunner(abs, f, runner.Hello{Role: runner.RoleControl, Who: who})
	if err != nil {
		return err
	}
	return a.mirror(c, f, abs, done, true)
}

// spawnRunner starts a runner for the state directory abs (no runner
// answers there) serving front end f, and returns a client of it with
// hello h. A lock held by a ferry with no runner is a *wizard.LockedError,
// before anything is written; a runner that ends before it answers is a
// *RunnerExit with its code and what it logged (its error).
func (a *app) spawnRunner(abs string, f frontEnd, h runner.Hello) (*runner.Client, error) {
	if pid, held := wizard.LockHeld(abs); held {
		return nil, &wizard.LockedError{PID: pid, Path: filepath.Join(abs, wizard.LockFile)}
	}
	var env []string
	if f != frontTUI {
		env = append(env, runner.FrontEnv+"="+f.String())
	}
	st, err := runner.Spawn(abs, append([]string{"ferry"}, a.args...), env...)
	if err != nil {
		return nil, err
	}
	c, err := st.Ready(filepath.Join(abs, runner.SocketFile), h, runnerReady)
	var gone *runner.ErrRunnerExited
	if errors.As(err, &gone) {
		return nil, &RunnerExit{Code: gone.Code, Msg: gone.Error(), Raw: true}
	}
	return c, err
}

// mirror prints, as plain lines or JSON events (f), what the runner c
// serves for stateDir runs, from the start of its run, until its end, and
// returns that end as a *RunnerExit (nil for a run that ended well, after
// printing done on stderr). A plain run stopped because a step needs a
// person says so in its last line, as an in-process run did. Signals: with
// control, an interrupt or TERM asks the runner to stop the running step
// (as ctrl+c did in process; the end follows, exit 130); a hangup (the
// terminal or SSH session gone), or any of them for an observer, leaves
// the runner going and ends this client alone (exit 130).
// Notices from the runner go to stderr.
//
// started is false for a client that found the runner already up and
// follows it (a second run of the same command, a retry of an automation
// tool): any signal only ends that client, since stopping the step is for
// the run that started it.
func (a *app) mirror(c *runner.Client, f frontEnd, stateDir, done string, started bool) error {
	defer c.Close()
	w := c.Welcome
	print := wizard.JSONPrinter(a.stdout)
	if f == frontPlain {
		rb, err := wizard.LoadRunbook(w.Runbook)
		if err != nil {
			return fmt.Errorf("the runner runs runbook %s: %w", w.Runbook, err)
		}
		print = wizard.PlainPrinter(a.stdout, rb)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	var hangup atomic.Bool
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if sig == syscall.SIGHUP || w.Role != runner.RoleControl || !started {
					// An observer, or a follower, only leaves.
					hangup.Store(true)
					_ = c.Close()
					return
				}
				_ = c.Interrupt()
			case <-quit:
				return
			}
		}
	}()
	var last wizard.Event
	end, err := c.Stream(func(m runner.Message) {
		switch {
		case m.Event != nil:
			last = *m.Event
			print(*m.Event)
		case m.Notice != "":
			fmt.Fprintf(a.stderr, "ferry: %s\n", m.Notice)
		}
	})
	switch {
	case hangup.Load():
		return &RunnerExit{Code: ExitInterrupted, Msg: fmt.Sprintf("left: the migration goes on in the runner (pid %d); follow it with ferry attach --state-dir %s", w.PID, stateDir)}
	case (err != nil || end == nil) && lockGone(stateDir):
		// The runner is gone without its last line (its lock went with
		// it, even while it waits to be reaped): killed or crashed.
		return &RunnerExit{Code: ExitFailed, Msg: fmt.Sprintf("the runner (pid %d) ended without a word: it was killed or crashed, or the server went down, so nothing of the migration runs now, though a program it started may; %s resumes it, and ferry status --state-dir %s says where it stands", w.PID, cmp.Or(w.Command, "the same command"), stateDir)}
	case err != nil || end == nil:
		return &RunnerExit{Code: ExitFailed, Msg: "the connection to the runner was lost; ferry status --state-dir " + stateDir + " says where the migration stands"}
	}
	runner.WaitExit(w.PID, runnerGone)
	switch {
	case end.Code == ExitOK:
		if done != "" {
			fmt.Fprintln(a.stderr, done)
		}
		return nil
	case f == frontPlain && end.Code == ExitNeedsHuman:
		step := end.Step
		if step == "" {
			step = last.Step
		}
		print(wizard.Event{Type: wizard.EvWarning, Time: time.Now().UTC(), Step: step, Message: "the run stops here (exit 3): " + end.Error})
	}
	return &RunnerExit{Code: end.Code, Msg: end.Error}
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
	// demoted is told when another screen takes control of the runner.
	demoted := make(chan struct{}, 1)
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
				if m.Demoted {
					select {
					case demoted <- struct{}{}:
					default:
					}
				}
			}
		})
		if end == nil {
			// The runner went without its last line: killed or crashed.
			// Said as a lost run, neither a failure nor the admin's stop.
			events <- wizard.Event{Type: wizard.EvRunFinished, Time: time.Now().UTC(), Status: wizard.StatusInterrupted, Lost: true, PID: w.PID,
				Message: fmt.Sprintf("The runner (pid %d) ended without a word: it was killed or crashed, or the server went down. Nothing of the migration runs now, though a program it started may; the outcome of a step under way is unknown (ferry status --state-dir %s says where it stands).", w.PID, stateDir)}
		}
		endc <- end
		close(events)
	}()
	// A runner that answers from its answers file takes no decisions.
	readOnly := w.Role != runner.RoleControl || w.Unattended
	model := tui.NewRun(tui.RunOptions{
		Runbook: rb, State: wizard.Replay(w.Before), Events: events,
		Decide:    func(d wizard.Decision) { _ = c.Decide(d) },
		Interrupt: func() { _ = c.Interrupt() },
		OldName:   w.OldName, NewName: w.NewName, Note: w.Note,
		Detached: true, ReadOnly: readOnly, RunnerPID: w.PID, Again: w.Command,
	})
	// The screen's own signals: a hangup (the SSH session dropped) or a
	// TERM end this client only; the runner is in a session of its own.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	p := tea.NewProgram(model, tea.WithContext(ctx), tea.WithFPS(15))
	uiDone := make(chan struct{})
	go func() {
		select {
		case <-demoted:
			p.Send(tui.ReadOnlyMsg{})
		case <-uiDone:
		}
	}()
	_, uiErr := p.Run()
	close(uiDone)
	select {
	case end := <-endc:
		if end == nil {
			return &RunnerExit{Code: ExitFailed, Msg: "the connection to the runner was lost; ferry status --state-dir " + stateDir + " says where the migration stands"}
		}
		runner.WaitExit(w.PID, runnerGone)
		if end.Code == ExitOK {
			a.sayf("ferry: the migration is done. The report: ferry report --state-dir %s", stateDir)
			return nil
		}
		return &RunnerExit{Code: end.Code, Msg: end.Error}
	default:
	}
	if uiErr != nil && !errors.Is(uiErr, tea.ErrInterrupted) && !errors.Is(uiErr, tea.ErrProgramKilled) && !errors.Is(uiErr, context.Canceled) {
		return fmt.Errorf("screen: %w", uiErr)
	}
	if !readOnly {
		a.sayf("ferry: the migration goes on in the background (runner pid %d); come back with: ferry attach --state-dir %s", w.PID, stateDir)
	}
	return nil
}

// serveRunner is the runner's side (this process was started by
// runner.Spawn): it serves the session's events on the state directory's
// socket while the engine runs, and sends every client the end. With the
// run screen as front end (f) it takes decisions from the controlling
// client; with plain or JSON lines the run is unattended: it answers from
// m.answers (wizard.RunUnattended, secrets masked in what it serves) and
// refuses every client's decision. It waits up to a minute for the client
// that started it before the engine starts, so that client sees every
// event in order.
func (a *app) serveRunner(ctx context.Context, sess *wizard.Session, m migration, f frontEnd) error {
	signal.Ignore(syscall.SIGHUP)
	engineCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	source := m.rb.ID
	if m.rb.File != "" && !isBuiltin(m.rb.File) {
		source = m.rb.File
	}
	unattended := f != frontTUI
	decide := sess.Engine.Decide
	if unattended {
		decide = nil
	}
	srv, err := runner.Listen(runner.ServerOptions{
		Path: filepath.Join(m.stateDir, runner.SocketFile),
		Welcome: runner.Welcome{PID: os.Getpid(), Runbook: source, Since: time.Now().UTC(), Before: sess.State.Events,
			OldName: m.oldName, NewName: m.newName, Note: m.note, Unattended: unattended, Command: resumeCommand(a.args)},
		Decide:    decide,
		Interrupt: cancel,
		Refused: func(who string, d wizard.Decision) {
			fmt.Fprintf(a.stderr, "%s refused a decision from a read-only client (%s): %s of step %s\n", time.Now().UTC().Format(time.RFC3339), who, d.Action, d.Step)
		},
	})
	if err != nil {
		return err
	}
	srv.WaitClient(time.Minute)
	sess.Engine.Resume = resumeCommand(a.args)
	if unattended {
		err = wizard.RunUnattended(engineCtx, sess, m.answers, srv.Publish)
	} else {
		sess.SetSink(srv.Publish)
		err = sess.Engine.Run(engineCtx)
	}
	sess.SetSink(nil)
	if errors.Is(err, context.Canceled) {
		err = wizard.ErrStopped
	}
	end := runner.End{Code: ExitCode(err)}
	if err != nil {
		end.Error = err.Error()
	}
	var nh *wizard.NeedsHumanError
	if errors.As(err, &nh) {
		end.Step = nh.Step
	}
	srv.Finish(end, 5*time.Second)
	return err
}

// lockGone reports whether the lock of stateDir is free, or frees within
// lockRelease: a killed runner's socket may read as closed an instant
// before the kernel has let go of its lock.
func lockGone(stateDir string) bool {
	for deadline := time.Now().Add(lockRelease); ; time.Sleep(50 * time.Millisecond) {
		if _, held := wizard.LockHeld(stateDir); !held {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// lockRelease is how long lockGone waits for a dying runner's lock.
const lockRelease = 3 * time.Second

func isBuiltin(file string) bool {
	return len(file) > 8 && file[:8] == "builtin:"
}

// resumeCommand is the command line args (without the program's name) as
// an admin would type it to go on with the same migration: "ferry" and the
// words shell-quoted, --start-over left out (typed again, it would begin
// afresh).
func resumeCommand(args []string) string {
	words := []string{"ferry"}
	for _, w := range args {
		if w == "--start-over" || strings.HasPrefix(w, "--start-over=") {
			continue
		}
		words = append(words, w)
	}
	return shellescape.QuoteCommand(words)
}
