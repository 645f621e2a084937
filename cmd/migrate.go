package cmd

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ferry-migrate/ferry/wizard"
)

// migration is everything a run (real or demo) needs.
type migration struct {
	rb       *wizard.Runbook
	stateDir string
	exec     *wizard.TaskExecutor
	// seed and facts come from the command line (--old) or the demo.
	seed, facts map[string]string
	// seedActor is who gave seed in the journal's words ("" is the
	// command line).
	seedActor string
	headless  bool
	answers   *wizard.AnswerSet
	oldName   string
	newName   string
	// note is shown inside the run screen beside every question (the
	// demo's answers), since anything printed before it is covered.
	note string
	// lock is the state directory's lock when it is taken already (the
	// demo takes it before it writes to its directory); nil otherwise.
	lock *wizard.Lock
}

// migrate runs a migration to its end (or a stop) in a runner (this
// process, started by runner.Spawn), serving the front end of the client
// that started it (frontEnd): run screens, or plain lines or JSON from an
// unattended run.
func (a *app) migrate(m migration) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	defer m.exec.Close()
	if m.exec.Runbook == nil {
		m.exec.Runbook = m.rb // its queue merges are counted for the forecast
	}
	// The answers file is checked before anything is written.
	if m.answers != nil {
		if err := m.answers.Validate(m.rb); err != nil {
			return usage(err)
		}
	}
	// Signs of an earlier migration on the new server: with a lost journal
	// they stop the run before any step.
	evidence := wizard.HostEvidence(ctx, m.exec.New, m.rb)
	sess, err := wizard.OpenSession(wizard.SessionOptions{Runbook: m.rb, StateDir: m.stateDir, Exec: m.exec, Seed: m.seed, SeedActor: m.seedActor, Facts: m.facts, Lock: m.lock,
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
	// Only a runner gets here: ferry run and ferry demo start one (or
	// attach to one) for every front end (viaRunner).
	return a.serveRunner(ctx, sess, m, a.frontEnd(m.headless))
}
