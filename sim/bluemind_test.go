package sim

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// newBlueMind builds a BlueMind pair in a directory the postgres OS user
// can reach, skipping (loudly) where the pair cannot run.
func newBlueMind(t *testing.T, files int) *Sim {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the simulated BlueMind pair runs its clusters as the postgres OS user, which needs root")
	}
	if _, err := findPG(); err != nil {
		t.Skipf("SKIPPED: %v", err)
	}
	base, err := os.MkdirTemp("", "ferry-bm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := Setup(filepath.Join(base, "demo"), Options{Product: ProductBlueMind, Files: files})
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return s
}

// TestBlueMindPair builds a pair and checks what the runbook relies on:
// the spools filled on old, the configuration on both, the packages, and
// two real clusters (peer on the socket, a password over TCP on old) that
// the stand-ins stop and start.
func TestBlueMindPair(t *testing.T) {
	s := newBlueMind(t, 400)
	var files int
	for _, sp := range BlueMindSpools {
		n := 0
		err := filepath.WalkDir(s.OldRoot+sp, func(_ string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				n++
			}
			return err
		})
		if err != nil || n == 0 {
			t.Errorf("old spool %s: %d files (%v)", sp, n, err)
		}
		files += n
		if _, err := os.Stat(s.NewRoot + sp); err != nil {
			t.Errorf("new spool %s: %v", sp, err)
		}
	}
	if files < 350 {
		t.Errorf("the old spools hold %d files, want about 400", files)
	}
	for _, root := range []string{s.OldRoot, s.NewRoot} {
		b, err := os.ReadFile(root + "/etc/bm/bm.ini")
		if err != nil || !strings.Contains(string(b), "external-url = "+BlueMindExternalURL) {
			t.Errorf("%s/etc/bm/bm.ini: %v %q", root, err, b)
		}
		r := mustRun(t, root, nil, "dpkg-query", "-W", "bm-plugin-*")
		if got := strings.Count(r.stdout, "bm-plugin-"); got != 2 {
			t.Errorf("dpkg-query -W bm-plugin-* on %s lists %d plugins, want 2:\n%s", root, got, r.stdout)
		}
	}

	c, err := s.StartClusters(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	port, err := s.OldPGPort()
	if err != nil {
		t.Fatal(err)
	}
	counts, err := TableCounts(s.OldRoot, port, "bj-data")
	if err != nil {
		t.Fatal(err)
	}
	if counts["public.t_mailbox_record"] != 12000 || counts["public.t_message_body"] != 8000 {
		t.Errorf("old bj-data counts: %v", counts)
	}
	// bj logs in to old over TCP with its password, and not without it.
	login := func(pw string) runResult {
		return run(t, s.OldRoot, nil, []string{"PGPASSWORD=" + pw}, "psql", "-X", "-At", "--no-password", "--host=localhost",
			"--port="+strconv.Itoa(port), "--username=bj", "--dbname=bj", "--command=SELECT count(*) FROM t_calendar_event")
	}
	if r := login(BlueMindDBPassword); r.code != 0 || strings.TrimSpace(r.stdout) != "4000" {
		t.Errorf("bj with its password: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	if r := login("wrong"); r.code == 0 || !strings.Contains(r.stderr, "password authentication failed") {
		t.Errorf("bj with a wrong password: exit %d, %q", r.code, r.stderr)
	}
	// The new cluster: the postgres OS user over the socket (peer); root
	// as role postgres is refused, as on a stock server.
	if _, err := TableCounts(s.NewRoot, PGNewPort, "bj"); err != nil {
		t.Errorf("new cluster as the postgres OS user: %v", err)
	}
	if r := run(t, s.NewRoot, nil, nil, "psql", "-X", "--no-password", "--host=/var/run/postgresql", "--port=5432", "--username=postgres",
		"--dbname=postgres", "--command=SELECT 1"); r.code == 0 || !strings.Contains(r.stderr, "Peer authentication failed") {
		t.Errorf("root as role postgres on the new socket: exit %d, %q; want a peer refusal", r.code, r.stderr)
	}

	// Mail arrives while BlueMind runs on old, and stops with it.
	flow := s.StartMailFlow(context.Background(), 5*time.Millisecond)
	flowDir := s.OldRoot + "/var/spool/bm-hsm/snappy/user/example.net/flow"
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if e, _ := os.ReadDir(flowDir); len(e) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no mail arrived on old within a minute while BlueMind ran")
		}
	}

	// bmctl stop stops BlueMind and its database; systemctl starts the
	// database alone.
	if n := flow.Stop(); n < 3 {
		t.Errorf("the flow counted %d deliveries", n)
	}
	mustRun(t, s.OldRoot, nil, "bmctl", "stop")
	// With BlueMind stopped, a flow delivers nothing, however long it runs
	// (a slow machine makes this pass without proving much, never fail).
	idle := s.StartMailFlow(context.Background(), time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	if n := idle.Stop(); n != 0 {
		t.Errorf("%d messages arrived on old after bmctl stop", n)
	}
	if r := run(t, s.OldRoot, nil, nil, "systemctl", "is-active", "postgresql.service"); r.code == 0 || strings.TrimSpace(r.stdout) != "inactive" {
		t.Errorf("after bmctl stop, postgresql is %q (exit %d)", r.stdout, r.code)
	}
	if _, err := TableCounts(s.OldRoot, port, "bj"); err == nil {
		t.Error("the old cluster still answers after bmctl stop")
	}
	mustRun(t, s.OldRoot, nil, "systemctl", "start", "postgresql.service")
	if r := run(t, s.OldRoot, nil, nil, "bmctl", "status"); r.code != 3 {
		t.Errorf("bmctl status after starting PostgreSQL alone: exit %d, want 3 (stopped)", r.code)
	}
	if _, err := TableCounts(s.OldRoot, port, "bj"); err != nil {
		t.Errorf("after systemctl start postgresql: %v", err)
	}
	// service drives the same cluster.
	mustRun(t, s.OldRoot, nil, "service", "postgresql", "stop")
	if r := run(t, s.OldRoot, nil, nil, "service", "postgresql", "status"); r.code != 3 {
		t.Errorf("service postgresql status after stop: exit %d %q", r.code, r.stdout)
	}
	mustRun(t, s.OldRoot, nil, "service", "postgresql", "start")
	if _, err := TableCounts(s.OldRoot, port, "bj"); err != nil {
		t.Errorf("after service postgresql start: %v", err)
	}
	if r := mustRun(t, s.NewRoot, nil, "bm-cli", "tick", "reconfigure"); !strings.Contains(r.stdout, NewHostname) {
		t.Errorf("bm-cli tick reconfigure: %q", r.stdout)
	}

	// Stop halts both clusters and keeps their state, so a new start
	// resumes them.
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{s.OldRoot, s.NewRoot} {
		if pgctl(root, "status") == nil {
			t.Errorf("the cluster under %s still runs after Stop", root)
		}
	}
	if _, err := Setup(s.Dir, Options{}); err == nil || !strings.Contains(err.Error(), "bluemind") {
		t.Errorf("Setup for GreenArrow over a BlueMind pair: %v, want a refusal", err)
	}
}
