package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/testenv"
	"github.com/ferry-migrate/ferry/wizard"
)

// The BlueMind real-path run: the real binary's "ferry run --runbook
// bluemind --headless" on two namespaced hosts (package testenv), each
// running its own real PostgreSQL cluster inside its own namespaces as the
// postgres OS user, with the pg_hba.conf Debian writes (peer on the socket,
// scram-sha-256 over TCP, no trust line). The old cluster listens on
// 127.0.0.1:5432 of the old host's own network namespace, so it is the old
// server's and nothing else's: the runbook's default db_host and db_port
// reach it, through SSH, with nothing overridden. The new cluster listens on
// its socket /var/run/postgresql only. ferry runs on the new host with root
// "/", a stock PATH and the old server known only as the "Host oldserver"
// block of /root/.ssh/config. Mail keeps arriving on the old server (the
// simulator's mail flow) until BlueMind stops there. The end state is read
// afterwards from the trees and the clusters directly.

// rpBMFiles is about how many files the old server's spools and mail store
// hold.
const rpBMFiles = 1500

// rpBMPGPort is the port of both clusters inside their hosts: PostgreSQL's
// default, as a stock server has it (each host has its own network).
const rpBMPGPort = "5432"

// TestRealPathBlueMind runs the BlueMind runbook to the end on the
// real-path harness and checks the end state without ferry.
func TestRealPathBlueMind(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the real-path harness and the BlueMind clusters need root")
	}
	pgBin := pgBinDir(t)
	// The postgres OS user must pass through every directory above the
	// simulated pair while it is built (initdb runs outside the hosts).
	base, err := os.MkdirTemp("", "ferry-e2e-rpbm-")
	if err != nil {
		t.Fatal(err)
	}
	// Registered first, so that it runs last: after the hosts are gone.
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "pair")
	s, err := sim.Setup(dir, sim.Options{Product: sim.ProductBlueMind, Files: rpBMFiles})
	if err != nil {
		t.Fatal(err)
	}
	// The old cluster listens on PostgreSQL's default port: inside its own
	// host it clashes with nothing (the simulator picked a free port of
	// this machine for the demo, where both clusters share one network).
	conf := filepath.Join(s.OldRoot, ".ferry-sim/sim.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`(?m)^sim_pg_port=.*$`).ReplaceAll(b, []byte("sim_pg_port="+rpBMPGPort))
	if bytes.Count(b, []byte("\nsim_pg_port="+rpBMPGPort+"\n")) != 1 {
		t.Fatalf("old sim.conf: want one sim_pg_port line, got:\n%s", b)
	}
	if err := os.WriteFile(conf, b, 0o644); err != nil {
		t.Fatal(err)
	}
	// The ferry binary, installed on the new server as the README says.
	bin, err := os.ReadFile(ferryBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.NewRoot, "usr/local/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.NewRoot, "usr/local/bin/ferry"), bin, 0o755); err != nil {
		t.Fatal(err)
	}

	hs := testenv.StartHosts(t, testenv.HostsOptions{OldRoot: s.OldRoot, NewRoot: s.NewRoot})
	// Each server booted: its PostgreSQL runs, inside its own host. The
	// clusters are stopped cleanly before the hosts go (cleanups run last
	// registered first).
	for _, h := range []*testenv.Host{hs.Old, hs.New} {
		h.MustRun(t, "/.ferry-sim/bin/bm-pgctl", "start")
		h := h
		t.Cleanup(func() {
			if out, errOut, code := h.Run(t, "", "/.ferry-sim/bin/bm-pgctl", "halt"); code != 0 {
				t.Errorf("host %s: stopping its PostgreSQL: exit %d\n%s%s", h.Name, code, out, errOut)
			}
		})
	}
	// The stock authentication, as checked from inside each host: root
	// cannot log in as postgres over the socket (peer maps root to root),
	// the postgres OS user can; on old, bj logs in over TCP with its
	// password only.
	for _, h := range []*testenv.Host{hs.Old, hs.New} {
		if _, errOut, code := h.Run(t, "", "psql", "-X", "-At", "--host=/var/run/postgresql", "--port="+rpBMPGPort, "--username=postgres", "--dbname=postgres", "--command=SELECT 1"); code == 0 || !strings.Contains(errOut, "Peer authentication failed") {
			t.Fatalf("host %s: root logged in as postgres over the socket (exit %d, %s): the cluster's pg_hba.conf is not the stock one", h.Name, code, errOut)
		}
		if got := strings.TrimSpace(h.MustRun(t, "runuser", "-u", "postgres", "--", "psql", "-X", "-At", "--host=/var/run/postgresql", "--port="+rpBMPGPort, "--dbname=postgres", "--command=SELECT 1")); got != "1" {
			t.Fatalf("host %s: the postgres OS user over the socket: %q", h.Name, got)
		}
	}
	if _, errOut, code := hs.Old.Run(t, "", "env", "PGPASSWORD=wrong", "psql", "-X", "-At", "--host=localhost", "--port="+rpBMPGPort, "--username="+sim.BlueMindDBUser, "--dbname=bj", "--command=SELECT 1"); code == 0 || !strings.Contains(errOut, "password authentication failed") {
		t.Fatalf("old host: bj logged in over TCP with a wrong password (exit %d, %s)", code, errOut)
	}
	// The new cluster listens on no TCP address: from the new host,
	// localhost:5432 is nobody's, and old's cluster is out of reach.
	if _, errOut, code := hs.New.Run(t, "", "env", "PGPASSWORD="+sim.BlueMindDBPassword, "psql", "-X", "-At", "--host=localhost", "--port="+rpBMPGPort, "--username="+sim.BlueMindDBUser, "--dbname=bj", "--command=SELECT 1"); code == 0 || !strings.Contains(errOut, "Connection refused") {
		t.Fatalf("new host: localhost:5432 should refuse connections (only old's cluster listens on TCP, in old's own network); exit %d, %s", code, errOut)
	}

	rb, err := wizard.LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	set := &wizard.AnswerSet{Answers: map[string]string{
		"precopy_cyrus": "yes",
		"db_password":   sim.BlueMindDBPassword,
		// The move of the IP address is done by hand here (a manual
		// step): no spare sshd for it.
		"lifeline": "no",
	}}
	for _, st := range rb.Steps {
		if st.Destructive {
			set.Confirm = append(set.Confirm, st.ID)
		}
		if st.Level == wizard.LevelManual {
			set.Done = append(set.Done, st.ID)
		}
	}
	ab, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.NewRoot, strings.TrimPrefix(rpAnswers, "/")), ab, 0o600); err != nil {
		t.Fatal(err)
	}

	// Mail keeps arriving on the old server until BlueMind stops there, so
	// the cold copy has something the hot ones missed.
	flowCtx, stopFlow := context.WithCancel(context.Background())
	defer stopFlow()
	flow := s.StartMailFlow(flowCtx, 0)

	args := []string{"ferry", "run", "--runbook", "bluemind", "--old", testenv.OldAlias, "--headless", "--answers", rpAnswers, "--state-dir", rpStateDir}
	cmd := hs.New.Command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := runOnHost(t, cmd, 4*time.Minute)
	t.Logf("messages delivered on the old server during the run: %d", flow.Stop())
	evs := events(t, stdout.Bytes())
	if code != 0 || len(evs) == 0 || evs[len(evs)-1].Type != wizard.EvRunFinished || evs[len(evs)-1].Status != wizard.StatusOK {
		t.Fatalf("%s: exit %d\n%s\nstderr:\n%s", strings.Join(args, " "), code, describeRun(evs), lastLines(stderr.String(), 20))
	}

	// The report, read on the new host: the downtime window is closed.
	rep := hs.New.MustRun(t, "ferry", "report", "--state-dir", rpStateDir)
	st, err := wizard.LoadState(filepath.Join(s.NewRoot, strings.TrimPrefix(rpStateDir, "/")))
	if err != nil {
		t.Fatal(err)
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() || st.DowntimeEnd.Before(st.DowntimeStart) {
		t.Errorf("downtime window in the journal: %v to %v", st.DowntimeStart, st.DowntimeEnd)
	}
	took := st.DowntimeEnd.Sub(st.DowntimeStart).Round(time.Second).String()
	if !strings.Contains(rep, "Downtime lasted "+took) || strings.Contains(rep, "still open") {
		t.Errorf("the report does not show a closed downtime window of %s:\n%s", took, rep)
	}
	t.Logf("downtime window %s", took)

	// The database password went nowhere but into the programs that used
	// it: not into the event stream, the journal or any file of the state
	// directory.
	if bytes.Contains(stdout.Bytes(), []byte(sim.BlueMindDBPassword)) || strings.Contains(stderr.String(), sim.BlueMindDBPassword) {
		t.Errorf("the database password appears in ferry's output")
	}
	stateDir := filepath.Join(s.NewRoot, strings.TrimPrefix(rpStateDir, "/"))
	files := 0
	if err := filepath.WalkDir(stateDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(sim.BlueMindDBPassword)) {
			t.Errorf("the database password appears in %s", p)
		}
		return err
	}); err != nil || files == 0 {
		t.Errorf("state directory %s: %d files read, %v", stateDir, files, err)
	}

	// Stop both clusters inside their hosts, then read the trees and the
	// clusters from outside: every spool equal by rsync's checksums, every
	// table's row count equal in bj and bj-data.
	for _, h := range []*testenv.Host{hs.Old, hs.New} {
		h.MustRun(t, "/.ferry-sim/bin/bm-pgctl", "halt")
	}
	checkBlueMindEnd(t, pgBin, s.OldRoot, s.NewRoot)
}
