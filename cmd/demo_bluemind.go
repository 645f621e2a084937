package cmd

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ferry-migrate/ferry/remote"
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
		},
		Repeat: map[string]int{"sync-spools-hot": 2},
	}
	for _, st := range rb.Steps {
		if st.Destructive {
			set.Confirm = append(set.Confirm, st.ID)
		}
		if st.Destructive && st.SafeToRerun {
			set.Rerun = append(set.Rerun, st.ID)
		}
		if st.Level == wizard.LevelManual {
			set.Done = append(set.Done, st.ID)
		}
	}
	return set
}

// runBlueMindDemo is `ferry demo bluemind`: the BlueMind runbook against a
// simulated pair whose PostgreSQL clusters are real (see sim/bluemind.go).
// The pair's clusters run while the demo does and are stopped when it
// ends, as they were left (a demo run again resumes them).
//
// Where the simulated servers differ from real ones, only places change,
// never the commands: the roots map every server path, and the old
// cluster's port (the runbook's db_port) is the one the simulator picked,
// since both clusters live on this one machine.
func (a *app) runBlueMindDemo(dir string, headless bool) error {
	rb, err := wizard.LoadRunbook("bluemind")
	if err != nil {
		return err
	}
	// As for GreenArrow: the lock comes before anything is written to DIR.
	paths, err := sim.Inspect(dir)
	if err != nil {
		return usage(err)
	}
	// DIR must let the postgres OS user through (AcquireLock would make
	// it 0700).
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		return err
	}
	lock, err := wizard.AcquireLock(paths.StateDir)
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
	srv, err := s.StartSSH(ctx)
	if err != nil {
		return err
	}
	defer srv.Close()
	newHost, err := remote.NewLocal(wizard.HostNew, s.NewRoot)
	if err != nil {
		return err
	}
	x := &wizard.TaskExecutor{
		New: newHost,
		OldSSH: remote.SSHOptions{Name: wizard.HostOld, Addr: srv.Addr, Port: srv.Port, User: srv.User, Root: s.OldRoot,
			IdentityFiles: []string{srv.UserKeyFile}, KnownHostsFile: srv.KnownHostsFile, ConfigFile: "none"},
	}
	m := migration{
		rb: rb, stateDir: s.StateDir, exec: x, headless: headless, lock: lock,
		facts:   map[string]string{"old_addr": srv.Addr},
		seed:    map[string]string{"old_addr": srv.Addr, "ssh_port": strconv.Itoa(srv.Port)},
		oldName: "simulated old BlueMind server", newName: "simulated new BlueMind server",
	}
	if headless {
		m.answers = blueMindDemoAnswers(rb)
		if err := m.answers.Save(s.Dir, nil); err == nil {
			_ = os.Rename(filepath.Join(s.Dir, wizard.AnswersFile), filepath.Join(s.Dir, "demo-answers.json"))
		}
	} else {
		fmt.Fprintf(a.stderr, "ferry demo: simulated BlueMind servers in %s (old over SSH on %s:%d, its PostgreSQL on 127.0.0.1:%d); the password of the bj database user is %s\n",
			s.Dir, srv.Addr, srv.Port, port, sim.BlueMindDBPassword)
	}
	err = a.migrate(m)
	if err == nil {
		fmt.Fprintf(a.stderr, "ferry demo: done. The report: ferry report --state-dir %s\n", s.StateDir)
	}
	return err
}
