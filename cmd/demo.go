package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

// newDemoCmd is "ferry demo": the whole wizard against a simulated pair of
// servers.
func (a *app) newDemoCmd() *cobra.Command {
	var (
		dir, answers string
		headless     bool
		messages     int
	)
	c := &cobra.Command{
		Use:   "demo [greenarrow|bluemind]",
		Short: "Try the wizard on a simulated pair of servers",
		Long: strings.TrimSpace(`
Runs the whole wizard against two simulated servers whose roots are DIR/old
and DIR/new, with the journal in DIR/state. The old server is reached over
real SSH (a server built into the simulator, on 127.0.0.1); rsync, ssh and
the file operations are real, only the vendor's own programs are stand-ins,
and they act on DIR only. The bluemind demo's PostgreSQL clusters are real
too (one per server, run as the postgres OS user, so it needs root and a
PostgreSQL installation; DIR's parents must let that user through); --messages
is GreenArrow's. Running it again with the same DIR resumes where
it stopped; remove DIR to start afresh.

With --headless (or --json) the demo answers every question itself (the
answers file it uses is written to DIR/demo-answers.json) and prints one JSON
event per line; with no terminal (output piped, or TERM=dumb) it answers
itself the same way and prints plain lines. --answers FILE answers from FILE
instead, as ferry run --headless --answers would (the simulated pair gives
old_addr and ssh_port, so FILE leaves them out).`),
		Example: `  ferry demo greenarrow
  ferry demo greenarrow --headless --dir /tmp/ferry-demo
  ferry demo bluemind --headless --dir /tmp/ferry-demo-bm
  ferry demo greenarrow --headless --answers answers.yaml
  ferry demo greenarrow --dir /tmp/ferry-demo </dev/null | tee demo.log`,
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"greenarrow", "bluemind"},
		RunE: a.action(func(cmd *cobra.Command, args []string) error {
			name := "greenarrow"
			if len(args) == 1 {
				name = args[0]
			}
			var file *wizard.AnswerSet
			if answers != "" {
				var err error
				if file, err = readDemoAnswers(answers, a.frontEnd(headless) != frontTUI); err != nil {
					return err
				}
			}
			if name == "bluemind" && !cmd.Flags().Changed("dir") {
				// Its own default, so that it does not meet a GreenArrow pair.
				dir = filepath.Join(os.TempDir(), "ferry-demo-bluemind")
			}
			return a.runDemo(name, dir, headless, messages, file)
		}),
	}
	c.Flags().StringVar(&dir, "dir", filepath.Join(os.TempDir(), "ferry-demo"), "directory for the simulated servers and the journal (bluemind: "+filepath.Join(os.TempDir(), "ferry-demo-bluemind")+")")
	c.Flags().BoolVar(&headless, "headless", false, "answer everything from the demo's answers file and print one JSON event per line")
	c.Flags().BoolVar(&headless, "json", false, "the same as --headless")
	c.Flags().StringVar(&answers, "answers", "", "with no terminal (--headless, --json, or stdout not a terminal): answer from this answers file (JSON or YAML) instead of the demo's own answers")
	c.Flags().IntVar(&messages, "messages", 3000, "messages in the old server's disk queue (a new DIR only)")
	a.startOverFlag(c)
	return c
}

// readDemoAnswers reads the answers file given to a headless demo with
// --answers (ReadAnswerSet; migrate checks it against the runbook) and
// returns it. unattended says the demo runs with no screen to ask on
// (frontEnd not the TUI). The simulated pair
// gives old_addr and ssh_port itself: a file that gives them would point
// the run away from the simulated old server, so it is refused, as is
// --answers on the run screen (which asks). Errors are usage errors.
func readDemoAnswers(path string, unattended bool) (*wizard.AnswerSet, error) {
	if !unattended {
		return nil, usage(errors.New("--answers is for a demo with no terminal (the run screen asks instead): add --headless, or pipe the output"))
	}
	set, err := wizard.ReadAnswerSet(path)
	if err != nil {
		return nil, usage(err)
	}
	for _, k := range []string{"old_addr", "ssh_port"} {
		if _, ok := set.Answers[k]; ok {
			return nil, usage(fmt.Errorf("answers file %s: key %s: the demo's simulated old server gives it; leave it out", path, k))
		}
	}
	return set, nil
}

// demoAnswers is what the headless demo answers: everything a real answers
// file would hold for this pair of servers.
func demoAnswers(rb *wizard.Runbook, s *sim.Sim) *wizard.AnswerSet {
	set := &wizard.AnswerSet{
		Answers: map[string]string{
			"ip_change":    "no",
			"backup_dir":   sim.BackupDir,
			"resolvers":    "8.8.8.8 8.8.4.4 1.1.1.1",
			"test_address": "postmaster@example.net",
			// The simulated new server has no sshd of its own to spare.
			wizard.LifelineKey: "no",
		},
		Repeat: map[string]int{"migration-first-pass": 2},
	}
	return withDemoSteps(rb, set)
}

// withDemoSteps adds to set, for every step of rb, what the demo's admin
// answers about it in either demo: every destructive step confirmed, one
// the runbook marks safe to run again allowed to (a killed demo runs it
// again, its confirmation typed again), and every manual step done. It
// returns set.
func withDemoSteps(rb *wizard.Runbook, set *wizard.AnswerSet) *wizard.AnswerSet {
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

// runDemo runs the demo name in dir; file, when not nil, is the answers
// file a headless demo answers from (--answers) instead of its own.
func (a *app) runDemo(name, dir string, headless bool, messages int, file *wizard.AnswerSet) error {
	if name != "greenarrow" && name != "bluemind" {
		return usage(fmt.Errorf("demo %q: there is a greenarrow and a bluemind demo", name))
	}
	if !runner.IsChild() {
		// The demo runs in a detached runner (its simulated servers with
		// it), and this process is its screen or prints its events. A
		// directory that is not a simulator's is refused here, before the
		// runner's log goes into it.
		paths, err := sim.Inspect(dir)
		if err != nil {
			return usage(err)
		}
		if file != nil {
			// A bad answers file is refused before a byte is written
			// (the simulated servers, the lock, the runner's log).
			rb, err := wizard.LoadRunbook(name)
			if err != nil {
				return err
			}
			if err := file.Validate(rb); err != nil {
				return usage(err)
			}
		}
		state, err := filepath.Abs(paths.StateDir)
		if err != nil {
			return err
		}
		// DIR 0755 before the runner makes the state dir (0700) in it:
		// the postgres OS user of the BlueMind pair must get through.
		if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
			return err
		}
		return a.viaRunner(state, a.frontEnd(headless), "ferry demo: done. The report: ferry report --state-dir "+state)
	}
	switch name {
	case "greenarrow":
	case "bluemind":
		// Its own pair, with real PostgreSQL clusters (demo_bluemind.go).
		return a.runBlueMindDemo(dir, headless, file)
	default:
		return usage(fmt.Errorf("demo %q: there is a greenarrow and a bluemind demo", name))
	}
	rb, err := wizard.LoadRunbook(name)
	if err != nil {
		return err
	}
	lock, err := lockDemoDir(dir)
	if err != nil {
		return err
	}
	defer lock.Release()
	s, err := sim.Setup(dir, sim.Options{Messages: messages})
	if err != nil {
		return usage(err)
	}
	if err := adoptJournalPort(s); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	return a.migrateSimulatedPair(ctx, simulatedPair{
		rb: rb, sim: s, lock: lock, headless: headless, file: file,
		oldName: "the simulated old server", newName: "the simulated new server",
		answers: func() *wizard.AnswerSet { return demoAnswers(rb, s) },
		intro: func(srv *sim.Server) string {
			a := demoAnswers(rb, s).Answers
			return fmt.Sprintf("simulated servers in %s (old over SSH on %s:%d); answers that suit them: backup directory %s, IP addresses change %s, DNS resolvers %s, test message to %s", s.Dir, srv.Addr, srv.Port, a["backup_dir"], a["ip_change"], a["resolvers"], a["test_address"])
		},
	})
}

// lockDemoDir takes the ferry lock of the simulator directory dir before
// anything is written to it, and returns it (the caller releases it). A
// demo refused because another ferry runs in DIR must not change a byte of
// it (known_hosts, the port, the answers file): sim.Inspect only reads, and
// refuses a DIR that is not a simulator's (a usage error) before the lock
// file goes into it. DIR itself is made 0755 as sim.Setup makes it, so
// that the postgres OS user of the BlueMind pair gets through
// (AcquireLock alone would make it 0700). Errors: those of sim.Inspect,
// os.MkdirAll and wizard.AcquireLock (another ferry holding the lock).
func lockDemoDir(dir string) (*wizard.Lock, error) {
	paths, err := sim.Inspect(dir)
	if err != nil {
		return nil, usage(err)
	}
	if err := os.MkdirAll(paths.Dir, 0o755); err != nil {
		return nil, err
	}
	return wizard.AcquireLock(paths.StateDir)
}

// simulatedPair is what migrateSimulatedPair needs to run a demo's
// migration: the runbook, the simulator set up in its directory, the lock
// taken on it (see lockDemoDir), the front end, the names shown for the
// two servers, the answers a headless run gives (called only then), and
// the line printed on stderr before an interactive run, after "ferry demo: "
// (given the old server's SSH server, for its address and port).
type simulatedPair struct {
	rb               *wizard.Runbook
	sim              *sim.Sim
	lock             *wizard.Lock
	headless         bool
	oldName, newName string
	answers          func() *wizard.AnswerSet
	// file is the answers file given with --answers, used instead of
	// answers when not nil.
	file  *wizard.AnswerSet
	intro func(srv *sim.Server) string
}

// migrateSimulatedPair runs p's migration on its simulated pair, the same
// way for GreenArrow and BlueMind: it starts the old server's SSH server
// (stopped on return; ctx bounds it), reaches the new server locally under
// the simulator's new root and the old one over that SSH server, seeds
// old_addr and ssh_port from it, and runs the wizard. A headless run gets
// p.answers, saved also as demo-answers.json in the simulator's directory
// (best effort: a failure to save is not an error); an interactive run
// first prints p.intro. On success it names the report command on stderr.
// Errors: starting the SSH server, the local host, or the migration's own.
func (a *app) migrateSimulatedPair(ctx context.Context, p simulatedPair) error {
	s := p.sim
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
		rb: p.rb, stateDir: s.StateDir, exec: x, headless: p.headless, lock: p.lock,
		facts: map[string]string{"old_addr": srv.Addr},
		// No spare sshd in a demo: the new server is a directory, with no
		// sshd of its own to start on another port.
		seed:      map[string]string{"old_addr": srv.Addr, "ssh_port": strconv.Itoa(srv.Port), wizard.LifelineKey: "no"},
		seedActor: "the demo (its simulated servers)",
		oldName:   p.oldName, newName: p.newName,
	}
	if a.frontEnd(p.headless) != frontTUI {
		// Nobody to ask: the demo answers itself.
		m.answers = p.answers()
		if p.file != nil {
			m.answers = p.file
		}
		if err := m.answers.Save(s.Dir, nil); err == nil {
			_ = os.Rename(filepath.Join(s.Dir, wizard.AnswersFile), filepath.Join(s.Dir, "demo-answers.json"))
		}
	} else {
		// On the screen only: in a runner, stderr is the state dir's
		// runner.log, and the intro may name the demo's database password.
		m.note = "Demo: " + p.intro(srv)
		if !runner.IsChild() {
			fmt.Fprintf(a.stderr, "ferry demo: %s\n", p.intro(srv))
		}
	}
	err = a.migrate(m)
	if err == nil {
		a.sayf("ferry demo: done. The report: ferry report --state-dir %s", s.StateDir)
	}
	return err
}

// adoptJournalPort records, for a simulator directory built before its SSH
// port was kept in it, the port its journal already answered for ssh_port:
// the "Host oldserver" block written from that answer points there, so the
// server must listen there again.
func adoptJournalPort(s *sim.Sim) error {
	if p, err := s.SSHPort(); err != nil || p != 0 {
		return err
	}
	st, err := wizard.LoadState(s.StateDir)
	if err != nil {
		return nil // no journal yet (or one ferry will report on opening it)
	}
	if p, err := strconv.Atoi(st.Answers["ssh_port"]); err == nil && p > 0 && p < 65536 {
		return s.RecordSSHPort(p)
	}
	return nil
}
