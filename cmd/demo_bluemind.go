package cmd

import (
	"context"
	"fmt"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

// blueMindDemoAnswers is what the headless BlueMind demo answers: what a
// real answers file would hold for this pair (the simulator's bj password
// included, which is the simulator's and nobody's secret).
func blueMindDemoAnswers(rb *wizard.Runbook) *wizard.AnswerSet {
	set := &wizard.AnswerSet{
		Answers: map[string]string{
			"precopy_cyrus": "yes",
			"db_password":   sim.BlueMindDBPassword,
			// The simulated new server has no sshd of its own to spare.
			wizard.LifelineKey: "no",
		},
		Repeat: map[string]int{"sync-spools-hot": 2},
	}
	return withDemoSteps(rb, set)
}

// runBlueMindDemo is `ferry demo bluemind`: the BlueMind runbook against a
// simulated pair whose PostgreSQL clusters are real (see sim/bluemind.go).
// The pair's clusters run while the demo does and are stopped when it
// ends, as they were left (a demo run again resumes them).
//
// Where the simulated servers differ from real ones, only places change,
// never the commands: the roots map every server path, and the old
// cluster's port (the runbook's db_port) is the one the simulator picked,
// since both clusters live on this one machine. file, when not nil, is the
// answers file a headless demo answers from instead of its own (--answers).
func (a *app) runBlueMindDemo(dir string, headless bool, file *wizard.AnswerSet) error {
	rb, err := wizard.LoadRunbook("bluemind")
	if err != nil {
		return err
	}
	// As for GreenArrow: the lock comes before anything is written to DIR,
	// and DIR lets the postgres OS user through.
	lock, err := lockDemoDir(dir)
	if err != nil {
		return err
	}
	defer lock.Release()
	s, err := sim.Setup(dir, sim.Options{Product: sim.ProductBlueMind})
	if err != nil {
		return usage(err)
	}
	port, err := s.OldPGPort()
	if err != nil {
		return err
	}
	rb.Params["db_port"] = port
	clusters, err := s.StartClusters(false)
	if err != nil {
		return err
	}
	defer func() {
		if err := clusters.Stop(); err != nil {
			fmt.Fprintf(a.stderr, "ferry demo: stopping the simulated PostgreSQL clusters: %v\n", err)
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Mail keeps arriving on the old server until BlueMind stops there.
	flow := s.StartMailFlow(ctx, 0)
	defer flow.Stop()
	return a.migrateSimulatedPair(ctx, simulatedPair{
		rb: rb, sim: s, lock: lock, headless: headless, file: file,
		oldName: "the simulated old BlueMind server", newName: "the simulated new BlueMind server",
		answers: func() *wizard.AnswerSet { return blueMindDemoAnswers(rb) },
		intro: func(srv *sim.Server) string {
			return fmt.Sprintf("simulated BlueMind servers in %s (old over SSH on %s:%d, its PostgreSQL on 127.0.0.1:%d); the password of the bj database user is %s",
				s.Dir, srv.Addr, srv.Port, port, sim.BlueMindDBPassword)
		},
	})
}
