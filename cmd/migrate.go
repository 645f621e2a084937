package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	tea "charm.land/bubbletea/v2"

	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/tui"
	"github.com/ferry-migrate/ferry/wizard"
)

// migration is everything a run (real or demo) needs.
type migration struct {
	rb       *wizard.Runbook
	stateDir string
	exec     *wizard.TaskExecutor
	// seed and facts come from the command line (--old) or the demo.
	seed, facts map[string]string
	headless    bool
	answers     *wizard.AnswerSet
	oldName     string
	newName     string
	// note is shown inside the run screen beside every question (the
	// demo's answers), since anything printed before it is covered.
	note string
	// lock is the state directory's lock when it is taken already (the
	// demo takes it before it writes to its directory); nil otherwise.
	lock *wizard.Lock
}

// migrate runs a migration to its end (or a stop) with the right front end
// (frontEnd): the TUI on a terminal, plain lines or JSON otherwise.
func (a *app) migrate(m migration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	defer m.exec.Close()
	// The answers file is checked before anything is written.
	if m.answers != nil {
		if err := m.answers.Validate(m.rb); err != nil {
			return usage(err)
		}
	}
	// Signs of an earlier migration on the new server: with a lost journal
	// they stop the run before any step.
	evidence := wizard.HostEvidence(ctx, m.exec.New, m.rb)
	sess, err := wizard.OpenSession(wizard.SessionOptions{Runbook: m.rb, StateDir: m.stateDir, Exec: m.exec, Seed: m.seed, Facts: m.facts, Lock: m.lock,
		HostEvidence: evidence, StartOver: a.startOver})
	if err != nil {
		return err
	}
	defer sess.Close()
	if m.answers != nil {
		m.exec.TrustFingerprint = m.answers.TrustHostKey
	}
	secret := wizard.SecretKeys(m.rb)
	// What a person answers, confirms and does by hand is kept as an
	// answers file in the state directory, so that a rehearsal can be
	// replayed headless (secrets left out).
	save := func() {
		set := wizard.AnswerSetFromState(sess.Engine.State(), m.rb)
		if err := set.Save(m.stateDir, secret); err != nil {
			fmt.Fprintf(a.stderr, "ferry: could not save the answers file: %v\n", err)
		}
	}
	sess.Engine.OnAnswers = func(map[string]string) { save() }
	defer save()
	if runner.IsChild() {
		return a.serveRunner(ctx, sess, m, a.frontEnd(m.headless))
	}
	if f := a.frontEnd(m.headless); f != frontTUI {
		return a.runUnattended(ctx, sess, m, f)
	}
	return a.runTUI(ctx, sess, m)
}

// runTUI runs the engine in the background and the guided-run screen in
// front of it.
func (a *app) runTUI(ctx context.Context, sess *wizard.Session, m migration) error {
	// The engine has its own context: quitting while a step runs cancels
	// it, and the screen stays up until the engine has stopped the step.
	engineCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	events := make(chan wizard.Event, 1024)
	sess.SetSink(func(ev wizard.Event) {
		if !ev.Type.Journaled() {
			// Output and progress may be dropped when the screen is behind;
			// the next snapshot replaces a lost one.
			select {
			case events <- ev:
			default:
			}
			return
		}
		select {
		case events <- ev:
		case <-engineCtx.Done():
		}
	})
	done := make(chan error, 1)
	go func() {
		err := sess.Engine.Run(engineCtx)
		sess.SetSink(nil)
		close(events)
		done <- err
	}()
	model := tui.NewRun(tui.RunOptions{
		Runbook: m.rb, State: sess.State, Events: events, Decide: sess.Engine.Decide,
		Interrupt: cancel, OldName: m.oldName, NewName: m.newName, Note: m.note,
	})
	p := tea.NewProgram(model, tea.WithContext(ctx), tea.WithFPS(15))
	_, uiErr := p.Run()
	cancel()
	err := <-done
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return wizard.ErrStopped
	case uiErr != nil && !errors.Is(uiErr, tea.ErrInterrupted) && !errors.Is(uiErr, tea.ErrProgramKilled):
		return fmt.Errorf("screen: %w (engine: %v)", uiErr, err)
	}
	return err
}
