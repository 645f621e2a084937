package wizard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/sim"
)

// The shown-equals-run tests: every step and check of a runbook goes
// through the executor while the hosts record each command they start, and
// each command must be one the step's plan shows (taken just before it ran,
// with the facts the run got), argument by argument; each command the plan
// shows unconditionally must have run. A placeholder in a planned word
// stands for a value learnt as the step runs (WordMatches).

// ranCommand is one command a host started.
type ranCommand struct {
	host string
	argv []string
}

// planRecorder is an Executor around a TaskExecutor that checks every step
// and check it runs against its plan.
type planRecorder struct {
	x *TaskExecutor
	// norm maps a host's argv to what that host starts (a simulated host
	// maps server paths under its root; a planned word and a word a task
	// mapped itself then compare equal).
	norm func(host string, argv []string) []string

	// serial lets one step's task, check or preparation run at a time:
	// the commands observed carry no step, so steps the engine runs
	// beside each other (engine_group.go) are compared one after another.
	serial sync.Mutex

	mu       sync.Mutex
	ran      []ranCommand
	problems []string
	compared int            // commands found in their plan
	steps    map[string]int // commands compared per step
}

func newPlanRecorder(x *TaskExecutor, norm func(string, []string) []string) *planRecorder {
	return &planRecorder{x: x, norm: norm, steps: map[string]int{}}
}

func (r *planRecorder) observe(host string, argv []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran = append(r.ran, ranCommand{host, argv})
}

func (r *planRecorder) take() []ranCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ran
	r.ran = nil
	return out
}

func (r *planRecorder) problem(format string, a ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, a...))
}

// Run implements Executor.
func (r *planRecorder) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	r.serial.Lock()
	defer r.serial.Unlock()
	acts, perr := r.x.Plan(s, env.Data)
	r.take()
	out, err := r.x.Run(ctx, s, env)
	r.judge(s.ID, acts, perr, r.take())
	return out, err
}

// Check implements Executor.
func (r *planRecorder) Check(ctx context.Context, s *Step, c *Check, env *StepEnv) (bool, string, error) {
	r.serial.Lock()
	defer r.serial.Unlock()
	acts, perr := r.x.PlanCheck(s, c, env.Data)
	r.take()
	ok, reason, err := r.x.Check(ctx, s, c, env)
	r.judge(s.ID+" ("+c.Kind+" check)", acts, perr, r.take())
	return ok, reason, err
}

// Prepare implements Executor: it reads files only, and runs no command.
func (r *planRecorder) Prepare(ctx context.Context, s *Step, env *StepEnv) (map[string]string, error) {
	r.serial.Lock()
	defer r.serial.Unlock()
	r.take()
	f, err := r.x.Prepare(ctx, s, env)
	for _, c := range r.take() {
		r.problem("%s: preparing the step ran %q on %s", s.ID, c.argv, c.host)
	}
	return f, err
}

func (r *planRecorder) judge(label string, acts []PlanAction, perr error, got []ranCommand) {
	if perr != nil {
		r.problem("%s: no plan: %v", label, perr)
		return
	}
	for _, p := range comparePlan(acts, got, r.norm) {
		r.problem("%s: %s", label, p)
	}
	r.mu.Lock()
	r.compared += len(got)
	r.steps[strings.Fields(label)[0]] += len(got)
	r.mu.Unlock()
}

// comparePlan returns what differs between the commands that ran and the
// plan's: a command no planned action accounts for, and an unconditional
// planned command that did not run.
func comparePlan(acts []PlanAction, got []ranCommand, norm func(string, []string) []string) []string {
	var problems []string
	used := make([]bool, len(acts))
	var plan strings.Builder
	for _, a := range acts {
		if a.Command() != nil {
			fmt.Fprintf(&plan, "\n\t%s: %q", a.Host, a.Command())
		}
	}
	for _, g := range got {
		found := false
		for i, a := range acts {
			cmd := a.Command()
			if cmd == nil || a.Host != g.host || (used[i] && !strings.Contains(a.When, "again")) {
				continue
			}
			if ArgvMatches(norm(a.Host, cmd), norm(g.host, g.argv)) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			problems = append(problems, fmt.Sprintf("ran on %s %q, which the plan does not show; the plan's commands:%s", g.host, g.argv, plan.String()))
		}
	}
	for i, a := range acts {
		if a.Command() != nil && a.When == "" && !used[i] {
			problems = append(problems, fmt.Sprintf("the plan shows %q on %s, which did not run", a.Command(), a.Host))
		}
	}
	return problems
}

func TestComparePlanFindsEveryDifference(t *testing.T) {
	same := func(_ string, a []string) []string { return a }
	acts := []PlanAction{
		{Host: HostNew, Argv: []string{"rsync", "-a", "--max-delete=" + Placeholder("n"), "/a/"}},
		{Host: HostOld, Argv: []string{"id", "-u"}, When: "sometimes"},
		{Host: HostNew, Does: "ferry's own work"},
	}
	ok := []ranCommand{{HostNew, []string{"rsync", "-a", "--max-delete=1012", "/a/"}}}
	if p := comparePlan(acts, ok, same); len(p) != 0 {
		t.Errorf("a matching run: %q", p)
	}
	for _, bad := range [][]ranCommand{
		nil, // the unconditional rsync did not run
		{{HostNew, []string{"rsync", "-a", "--max-delete=", "/a/"}}},        // empty for a placeholder
		{{HostNew, []string{"rsync", "-a", "--max-delete=1", "/b/"}}},       // another word
		{{HostOld, []string{"rsync", "-a", "--max-delete=1", "/a/"}}},       // another host
		{ok[0], {HostOld, []string{"id", "-u"}}, {HostOld, []string{"id"}}}, // one too many
	} {
		if p := comparePlan(acts, bad, same); len(p) == 0 {
			t.Errorf("%q passed as the plan %v", bad, acts)
		}
	}
}

// gaAnswers answers everything the GreenArrow runbook asks, as the demo's
// headless answers file does.
func gaAnswers(rb *Runbook) *AnswerSet {
	set := &AnswerSet{
		Answers: map[string]string{
			"ip_change":    "no",
			"backup_dir":   sim.BackupDir,
			"resolvers":    "192.0.2.53 192.0.2.54",
			"test_address": "postmaster@example.net",
			LifelineKey:    "no",
		},
		Repeat: map[string]int{"migration-first-pass": 1},
	}
	for _, st := range rb.Steps {
		if st.Destructive {
			set.Confirm = append(set.Confirm, st.ID)
		}
		if st.Level == LevelManual {
			set.Done = append(set.Done, st.ID)
		}
	}
	return set
}

// TestGreenArrowShownIsRun runs the whole GreenArrow procedure through the
// engine on the simulator, once per family, and compares every command
// with the plan of its step.
func TestGreenArrowShownIsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole procedure twice")
	}
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range []string{FamilyRHEL, FamilyDebian} {
		t.Run(fam, func(t *testing.T) {
			s, err := sim.Setup(filepath.Join(t.TempDir(), "demo"), sim.Options{Messages: 40, Family: fam})
			if err != nil {
				t.Fatal(err)
			}
			runShownIsRun(t, rb, s, gaAnswers(rb), fam)
		})
	}
}

// TestBlueMindShownIsRun runs the whole BlueMind procedure through the
// engine on the simulated BlueMind pair (real PostgreSQL clusters, real
// rsync and ssh; only bmctl, bm-cli and the service manager are stand-ins)
// and compares every command with the plan of its step. The simulator has
// BlueMind on Debian only, so that is the family compared.
func TestBlueMindShownIsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole procedure")
	}
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the simulated BlueMind pair runs its clusters as the postgres OS user, which needs root")
	}
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "ferry-bm-plan-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	// The postgres OS user must get through to the clusters' directories.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	s, err := sim.Setup(filepath.Join(base, "demo"), sim.Options{Product: sim.ProductBlueMind, Files: 120})
	if err != nil {
		if strings.Contains(err.Error(), "PostgreSQL") {
			t.Skipf("SKIPPED: %v", err)
		}
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
	set := &AnswerSet{Answers: map[string]string{"precopy_cyrus": "yes", "db_password": sim.BlueMindDBPassword, LifelineKey: "no"}}
	for _, st := range rb.Steps {
		if st.Destructive {
			set.Confirm = append(set.Confirm, st.ID)
		}
		if st.Level == LevelManual {
			set.Done = append(set.Done, st.ID)
		}
	}
	runShownIsRun(t, rb, s, set, FamilyDebian)
}

// runShownIsRun drives rb headless through the engine on the simulated
// pair s with the answers of set, every step and check planned and
// compared (planRecorder), and fails on each difference.
func runShownIsRun(t *testing.T, rb *Runbook, s *sim.Sim, set *AnswerSet, fam string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	srv, err := s.StartSSH(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	nh, err := remote.NewLocal(HostNew, s.NewRoot)
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{OldSSH: remote.SSHOptions{Name: HostOld, Addr: srv.Addr, Port: srv.Port, User: srv.User, Root: s.OldRoot,
		IdentityFiles: []string{srv.UserKeyFile}, KnownHostsFile: srv.KnownHostsFile, ConfigFile: "none"},
		TrustFingerprint: srv.HostKeyFingerprint}
	rec := newPlanRecorder(x, func(host string, argv []string) []string {
		if host == HostOld {
			return remote.SimArgv(s.OldRoot, argv)
		}
		return x.New.(*remote.Local).Argv(argv)
	})
	x.New = remote.Observe(nh, rec.observe)
	x.OldSSH.Observe = rec.observe
	defer x.Close()

	sess, err := OpenSession(SessionOptions{Runbook: rb, StateDir: s.StateDir, Exec: rec,
		Seed:  map[string]string{"old_addr": srv.Addr, "ssh_port": strconv.Itoa(srv.Port)},
		Facts: map[string]string{"old_addr": srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	var out strings.Builder
	if err := RunHeadless(ctx, sess, set, &out); err != nil {
		t.Fatalf("the procedure did not finish: %v\n%s", err, lastLines(out.String(), 15))
	}
	for _, p := range rec.problems {
		t.Error(p)
	}
	if rec.compared < 40 {
		t.Errorf("only %d commands were compared", rec.compared)
	}
	for i := range rb.Steps {
		st := &rb.Steps[i]
		acts, _ := Plan(st, DisplayData(rb, fam, nil, nil))
		cmds := 0
		for _, a := range acts {
			if a.Command() != nil && a.When == "" {
				cmds++
			}
		}
		if cmds > 0 && rec.steps[st.ID] == 0 && sess.Engine.State().Status(st.ID) != StatusSkipped {
			t.Errorf("step %s shows commands but none was compared", st.ID)
		}
	}
	t.Logf("%s/%s: %d commands compared with their plans", rb.ID, fam, rec.compared)
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}
