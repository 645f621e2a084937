package wizard

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/sim"
)

// The BlueMind runbook's check-postfix-maps step, run through the
// TaskExecutor on a simulated new server whose Postfix is a stand-in
// (postconf, postmap): the tables as BlueMind leaves them, copied from the
// old server.

func postfixStepEnv(t *testing.T, pf sim.PostfixOptions, dbFormat string) (*TaskExecutor, *Step, *StepEnv, string) {
	t.Helper()
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	s := rb.Step("check-postfix-maps")
	if s == nil {
		t.Fatal("the bluemind runbook has no check-postfix-maps step")
	}
	// The proof runs before the downtime ends.
	ids := []string{}
	for _, st := range rb.Steps {
		ids = append(ids, st.ID)
	}
	if i := slices.Index(ids, "check-postfix-maps"); i < slices.Index(ids, "copy-config") || i > slices.Index(ids, "restart-new") {
		t.Errorf("check-postfix-maps is not between copy-config and restart-new (the downtime's end): %v", ids)
	}
	root := filepath.Join(t.TempDir(), "new")
	if err := sim.SetupPostfixRoot(root, pf); err != nil {
		t.Fatal(err)
	}
	mainCF := "virtual_mailbox_domains = hash:/etc/postfix/virtual_domains\nvirtual_mailbox_maps = hash:/etc/postfix/virtual_mailbox\n" +
		"virtual_alias_maps = hash:/etc/postfix/virtual_alias\ntransport_maps = hash:/etc/postfix/transport\n"
	files := map[string]string{"main.cf": mainCF}
	for _, m := range []string{"master_relay_transport", "transport", "virtual_alias", "virtual_domains", "virtual_mailbox"} {
		src := m + "@example.net value-of-" + m + "\n"
		files[m+"-flat"] = src
		files[m+".db"] = sim.PostfixTable("hash", dbFormat, src)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, "etc/postfix", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	nh, err := remote.NewLocal(HostNew, root)
	if err != nil {
		t.Fatal(err)
	}
	env := &StepEnv{Data: TemplateData{Params: rb.Params, Family: FamilyDebian, Answers: map[string]string{}, Facts: map[string]string{}},
		Report: &bmRecorder{}}
	return &TaskExecutor{New: nh}, s, env, root
}

func runPostfixStep(t *testing.T, x *TaskExecutor, s *Step, env *StepEnv) (Outcome, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return x.Run(ctx, s, env)
}

// Tables in a format the new Postfix reads pass as they are; tables in a
// format it cannot open are rebuilt from their -flat sources and pass.
func TestPostfixMapsStep(t *testing.T) {
	x, s, env, root := postfixStepEnv(t, sim.DebianPostfix, "bdb-5.3")
	o, err := runPostfixStep(t, x, s, env)
	if err != nil {
		t.Fatalf("readable tables: %v", err)
	}
	if !strings.Contains(o.Message, "all 5 tables") || strings.Contains(o.Message, "rebuild") {
		t.Errorf("message %q", o.Message)
	}
	var lookups int
	for _, c := range o.Commands {
		if strings.HasPrefix(c.Command, "postmap -q ") && c.Exit == 0 {
			lookups++
		}
	}
	if lookups != 5 {
		t.Errorf("%d successful lookups recorded, want 5: %+v", lookups, o.Commands)
	}

	x, s, env, root = postfixStepEnv(t, sim.DebianPostfix, "bdb-4.8")
	// What runs, rebuilds included, is what the step's plan shows.
	var ran []ranCommand
	local := x.New.(*remote.Local)
	x.New = remote.Observe(local, func(host string, argv []string) { ran = append(ran, ranCommand{host, argv}) })
	acts, err := x.Plan(s, env.Data)
	if err != nil {
		t.Fatal(err)
	}
	o, err = runPostfixStep(t, x, s, env)
	if err != nil {
		t.Fatalf("tables of an unreadable format: %v", err)
	}
	if !strings.Contains(o.Message, "5 after a rebuild") {
		t.Errorf("message %q, want the 5 tables rebuilt", o.Message)
	}
	if p := comparePlan(acts, ran, func(_ string, a []string) []string { return local.Argv(a) }); len(p) > 0 || len(ran) != 2+5*4 {
		t.Errorf("%d commands ran; against the plan: %q", len(ran), p)
	}
	b, err := os.ReadFile(root + "/etc/postfix/virtual_alias.db")
	if err != nil || !strings.HasPrefix(string(b), "#ferry-sim-postfix-table hash bdb-5.3\n") {
		t.Errorf("virtual_alias.db was not rebuilt by the new server's postmap: %v %q", err, b)
	}
}

// A new Postfix without the table type main.cf names (a distribution that
// dropped Berkeley DB) fails the step, naming every table, even with
// rebuild on: main.cf itself must change.
func TestPostfixMapsStepNamesEveryTable(t *testing.T) {
	pf := sim.PostfixOptions{Formats: []string{"lmdb:lmdb-0.9"}}
	for _, ty := range sim.DebianPostfix.Types {
		if ty != "hash" && ty != "btree" {
			pf.Types = append(pf.Types, ty)
		}
	}
	x, s, env, _ := postfixStepEnv(t, pf, "bdb-5.3")
	_, err := runPostfixStep(t, x, s, env)
	var cf *checkFailed
	if !errors.As(err, &cf) {
		t.Fatalf("want the step failed, got %v", err)
	}
	for _, m := range []string{"master_relay_transport", "transport", "virtual_alias", "virtual_domains", "virtual_mailbox"} {
		if !strings.Contains(err.Error(), "/etc/postfix/"+m+":") {
			t.Errorf("the failure does not name %s: %v", m, err)
		}
	}
	if !strings.Contains(err.Error(), "does not support") {
		t.Errorf("the failure does not say why: %v", err)
	}
}

// TestBlueMindUnreadableTablesStopBeforeTheDowntimeEnds runs the BlueMind
// procedure headless on the simulated pair whose new Postfix has no Berkeley
// DB (hash and btree gone, as on a distribution that dropped it): the run
// fails at check-postfix-maps, naming every copied table, with the
// downtime still open (the old server not switched off, the new one not
// restarted).
func TestBlueMindUnreadableTablesStopBeforeTheDowntimeEnds(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the BlueMind procedure to its cold phase")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the simulated BlueMind pair runs its clusters as the postgres OS user, which needs root")
	}
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "ferry-bm-postfix-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := sim.Setup(filepath.Join(base, "demo"), sim.Options{Product: sim.ProductBlueMind, Files: 100})
	if err != nil {
		if strings.Contains(err.Error(), "PostgreSQL") {
			t.Skipf("SKIPPED: %v", err)
		}
		t.Fatal(err)
	}
	// The new server's Postfix without Berkeley DB.
	confPath := s.NewRoot + "/.ferry-sim/sim.conf"
	conf, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, ty := range sim.DebianPostfix.Types {
		if ty != "hash" && ty != "btree" {
			types = append(types, ty)
		}
	}
	lines := strings.Split(string(conf), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "sim_postfix_types=") {
			lines[i] = "sim_postfix_types='" + strings.Join(types, " ") + "'"
		}
	}
	if err := os.WriteFile(confPath, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	port, err := s.OldPGPort()
	if err != nil {
		t.Fatal(err)
	}
	rb.Params["db_port"] = port
	clusters, err := s.StartClusters(false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := clusters.Stop(); err != nil {
			t.Errorf("stopping the clusters: %v", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sess, _ := simSession(ctx, t, rb, s)
	set := &AnswerSet{Answers: map[string]string{"precopy_cyrus": "yes", "db_password": sim.BlueMindDBPassword}}
	for _, st := range rb.Steps {
		if st.Destructive {
			set.Confirm = append(set.Confirm, st.ID)
		}
		if st.Level == LevelManual {
			set.Done = append(set.Done, st.ID)
		}
	}
	var out strings.Builder
	err = RunHeadless(ctx, sess, set, &out)
	var sf *StepFailedError
	if !errors.As(err, &sf) || sf.Step != "check-postfix-maps" {
		t.Fatalf("want the run to fail at check-postfix-maps, got %v\n%s", err, lastLines(out.String(), 10))
	}
	for _, m := range []string{"master_relay_transport", "transport", "virtual_alias", "virtual_domains", "virtual_mailbox"} {
		if !strings.Contains(sf.Message, "/etc/postfix/"+m+":") {
			t.Errorf("the failure does not name %s: %s", m, sf.Message)
		}
	}
	st := sess.Engine.State()
	if st.DowntimeStart.IsZero() || !st.DowntimeEnd.IsZero() {
		t.Errorf("downtime %v to %v: want it begun and not ended", st.DowntimeStart, st.DowntimeEnd)
	}
	for _, id := range []string{"restore-databases", "stop-old-server", "restart-new"} {
		if got := st.Status(id); got == StatusOK {
			t.Errorf("%s ran although the tables are unusable", id)
		}
	}
}
