package cmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-migrate/ferry/assets"
	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// runOptions are the flags of "ferry run".
type runOptions struct {
	runbook, old, stateDir, answers string
	headless                        bool
}

// newRunCmd is "ferry run": the guided migration.
func (a *app) newRunCmd() *cobra.Command {
	var o runOptions
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the migration on this (new) server, step by step",
		Long: strings.TrimSpace(`
Walks through the runbook on the new server: it runs what can be run (on this
server, and over SSH on the old one), asks what it must, and waits for a
typed confirmation before anything that stops mail or deletes data. Every
step is recorded in the journal of the state directory: run the same command
again after a disconnection or a crash and it goes on from there.`),
		Example: `  ferry run --runbook greenarrow --old 203.0.113.10
  ferry run --runbook greenarrow --old root@203.0.113.10:2222
  ferry run --runbook greenarrow --old oldserver    # a Host of /root/.ssh/config
  ferry run --runbook greenarrow --headless --answers answers.json > events.jsonl
  ferry run --runbook greenarrow --answers answers.json | tee ferry.log    # plain lines`,
		Args: cobra.NoArgs,
		RunE: a.action(func(c *cobra.Command, _ []string) error {
			if c.Flags().Changed("old") && strings.TrimSpace(o.old) == "" {
				// Not the same as leaving it out: a variable that expanded
				// to nothing would otherwise turn into a question later.
				return usage(errors.New("--old is empty: give the old server's address, or leave --old out"))
			}
			return a.runRun(o)
		}),
	}
	runbookFlag(c, &o.runbook)
	c.Flags().StringVar(&o.old, "old", "", "address of the old server: IP, host name or a Host alias of ~/.ssh/config (whose HostName, Port, User and IdentityFile apply), optionally user@host:port")
	stateDirFlag(c, &o.stateDir)
	c.Flags().BoolVar(&o.headless, "headless", false, "run with no terminal: one JSON event per line; exit 3 at the first step that needs a person")
	c.Flags().BoolVar(&o.headless, "json", false, "one JSON event per line on stdout, as --headless (off a terminal, without it: plain lines)")
	c.Flags().StringVar(&o.answers, "answers", "", "file with the answers and confirmations for a run with no terminal (--headless, --json, or plain output when stdout is not a terminal)")
	a.startOverFlag(c)
	return c
}

// oldAddress is the parsed --old flag.
type oldAddress struct {
	user, host string
	port       int
}

// parseOld reads "host", "user@host", "host:port" or "[v6]:port".
func parseOld(s string) (oldAddress, error) {
	var o oldAddress
	given := s
	if u, rest, ok := strings.Cut(s, "@"); ok {
		if u == "" {
			return o, fmt.Errorf("--old %q: empty user name before @", s)
		}
		o.user, s = u, rest
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), ""
	}
	if port != "" {
		if err := tasks.ValidPort(port); err != nil {
			return o, fmt.Errorf("--old %q: %w", given, err)
		}
		o.port, _ = strconv.Atoi(port)
	}
	if tasks.ValidIP(host) != nil {
		if err := tasks.ValidHostname(host); err != nil {
			return o, fmt.Errorf("--old %q: %w", given, err)
		}
	}
	o.host = host
	return o, nil
}

func (a *app) runRun(o runOptions) error {
	// A migration under way knows its runbook: a resume needs no
	// --runbook, and one naming another runbook is refused before anything
	// is written.
	if fi, err := os.Stat(o.stateDir); err == nil && !fi.IsDir() {
		return usage(fmt.Errorf("--state-dir %s is a file, not a directory: give the directory that holds (or will hold) the migration's journal (the default is %s)", o.stateDir, DefaultStateDir))
	}
	past, err := wizard.LoadState(o.stateDir)
	if err != nil && !errors.Is(err, wizard.ErrNoJournal) {
		return usage(fmt.Errorf("reading the migration in %s: %w", o.stateDir, err))
	}
	if err == nil && past.Runbook != "" && o.runbook == "" {
		if !slices.Contains(assets.Names(), past.Runbook) {
			return usage(fmt.Errorf("the migration in %s ran runbook %q from a file: give that file with --runbook", o.stateDir, past.Runbook))
		}
		o.runbook = past.Runbook
	}
	if o.runbook == "" {
		return usage(fmt.Errorf("--runbook is required: greenarrow, bluemind or a runbook file"))
	}
	rb, err := wizard.LoadRunbook(o.runbook)
	if err != nil {
		return err
	}
	if past != nil && past.Runbook != "" && past.Runbook != rb.ID {
		return usage(fmt.Errorf("the migration in %s runs runbook %q, not %q: leave --runbook out to go on with it, or give another --state-dir for a new migration", o.stateDir, past.Runbook, rb.ID))
	}
	var set *wizard.AnswerSet
	if o.answers != "" {
		if set, err = wizard.ReadAnswerSet(o.answers); err != nil {
			return usage(err)
		}
		// Checked here too, before a runner (and its log) goes into the
		// state directory.
		if err := set.Validate(rb); err != nil {
			return usage(err)
		}
	}
	if o.headless && set == nil {
		set = &wizard.AnswerSet{}
	}
	newHost, err := remote.NewLocal(wizard.HostNew, "/")
	if err != nil {
		return err
	}
	m := migration{rb: rb, stateDir: o.stateDir, headless: o.headless, answers: set, newName: "this server"}
	x := &wizard.TaskExecutor{New: newHost, OldSSH: remote.SSHOptions{Name: wizard.HostOld, AllowLegacy: true, Warn: func(msg string) {}}}
	if o.old != "" {
		addr, err := parseOld(o.old)
		if err != nil {
			return usage(err)
		}
		x.OldSSH.Addr, x.OldSSH.Port, x.OldSSH.User = addr.host, addr.port, addr.user
		// Resolved now, before anything is recorded, as ssh would: root's
		// ssh config (HostName, Port), then /etc/hosts and DNS. A name that
		// leads nowhere is bad input, refused at once.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := remote.ResolveHost(ctx, remote.SSHOptions{Name: wizard.HostOld, Addr: addr.host, Port: addr.port, User: addr.user,
			Warn: func(msg string) { fmt.Fprintf(a.stderr, "ferry: %s\n", msg) }})
		cancel()
		if err != nil {
			return usage(fmt.Errorf("--old %q: %w", o.old, err))
		}
		// old_addr is the IP address (the oldserver line of /etc/hosts gets
		// it); old_host keeps the name given, which ferry connects by and
		// shows.
		m.facts = map[string]string{"old_addr": res.IP}
		if addr.host != res.IP {
			m.facts["old_host"] = addr.host
		}
		if res.Config.Port != 0 && addr.port == 0 {
			m.facts["ssh_config_port"] = strconv.Itoa(res.Config.Port)
		}
		m.seed = map[string]string{"old_addr": addr.host}
		if addr.port != 0 {
			m.seed["ssh_port"] = strconv.Itoa(addr.port)
		}
		m.oldName = addr.host
	}
	m.exec = x
	if !runner.IsChild() {
		// The engine runs in a runner detached from the terminal, so that
		// a dropped SSH session stops nothing; this process becomes its
		// screen, or prints its events (plain, JSON) and exits with its
		// exit code. What was checked above is checked again there.
		return a.viaRunner(o.stateDir, a.frontEnd(o.headless), "")
	}
	return a.migrate(m)
}
