package wizard

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/tasks"
)

// TestSkippedStopOldRefusesTheFinalPass: the step that stops GreenArrow on
// the old server is skipped ("stopped by hand") while GreenArrow still runs
// there. The final pass checks the old server's service list right before
// it runs and refuses, naming a service still up, so no queue is copied or
// merged while the old server could still deliver it; no downtime is
// recorded while the old server still serves.
func TestSkippedStopOldRefusesTheFinalPass(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.Setup(filepath.Join(t.TempDir(), "demo"), sim.Options{Messages: 10, Family: FamilyDebian})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sess, _ := simSession(ctx, t, rb, s)
	set := gaAnswers(rb)
	set.Confirm = slices.DeleteFunc(set.Confirm, func(id string) bool { return id == "stop-old" })
	set.Skip = map[string]string{"stop-old": "stopped by hand"}
	var out strings.Builder
	err = RunHeadless(ctx, sess, set, &out)
	if err == nil {
		t.Fatalf("the procedure finished with GreenArrow still up on the old server:\n%s", lastLines(out.String(), 10))
	}
	st := sess.Engine.State()
	if got := st.Status("migration-final-pass"); got == StatusOK {
		t.Errorf("the final pass ran (%s)", got)
	}
	for _, id := range []string{"merge-queue", "remove-old-queue", "start-new"} {
		if got := st.Status(id); got != StatusPending {
			t.Errorf("step %s is %s, want pending", id, got)
		}
	}
	if !strings.Contains(err.Error(), "still up") || !strings.Contains(err.Error(), "hvmail-qmail-send") {
		t.Errorf("the refusal does not name a service still up: %v", err)
	}
	if !st.DowntimeStart.IsZero() {
		// The old server still serves: no step of the window ran.
		t.Errorf("the downtime was recorded as begun at %v while the old server still served", st.DowntimeStart)
	}
}

// simSession opens a session of rb on the simulated pair s, with the task
// executor (returned too) that reaches the old server through the
// simulator's SSH server (started here); everything is closed when the
// test ends.
func simSession(ctx context.Context, t *testing.T, rb *Runbook, s *sim.Sim) (*Session, *TaskExecutor) {
	t.Helper()
	srv, err := s.StartSSH(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	nh, err := remote.NewLocal(HostNew, s.NewRoot)
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{New: nh, OldSSH: remote.SSHOptions{Name: HostOld, Addr: srv.Addr, Port: srv.Port, User: srv.User, Root: s.OldRoot,
		IdentityFiles: []string{srv.UserKeyFile}, KnownHostsFile: srv.KnownHostsFile, ConfigFile: "none"},
		TrustFingerprint: srv.HostKeyFingerprint}
	t.Cleanup(func() { x.Close() })
	sess, err := OpenSession(SessionOptions{Runbook: rb, StateDir: s.StateDir, Exec: x,
		Seed:  map[string]string{"old_addr": srv.Addr, "ssh_port": strconv.Itoa(srv.Port)},
		Facts: map[string]string{"old_addr": srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sess.Close() })
	return sess, x
}

// TestServiceStatusWordsRefused: the loader names a service-status check
// whose expect or server is not one of its words.
func TestServiceStatusWordsRefused(t *testing.T) {
	const rb = `
id: test
title: A test procedure
vendor: none
phases:
  - id: one
    title: First
steps:
  - id: look
    phase: one
    title: Look
    help: Looks.
    host: new
    level: check
    kind: service-status
    params:
      %s
    vendor: "step 1"
`
	for param, want := range map[string]string{
		"expect: sideways": `test.yaml:17: step "look".params.expect: kind "service-status" takes up or down for "expect", not "sideways"`,
		"server: middle":   `test.yaml:17: step "look".params.server: kind "service-status" takes old or new for "server", not "middle"`,
	} {
		_, err := Parse("test.yaml", []byte(strings.Replace(rb, "%s", param, 1)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", param, err, want)
		}
	}
	if _, err := Parse("test.yaml", []byte(strings.Replace(rb, "%s", "expect: down", 1))); err != nil {
		t.Errorf("expect: down refused: %v", err)
	}
}

// TestUnitsInactiveReadsTheOldServer: the check before BlueMind's final
// copy asks the old server's systemd (the simulator's stand-in acts on its
// service states) and refuses while Postfix runs there, naming it; once
// Postfix is stopped it passes.
func TestUnitsInactiveReadsTheOldServer(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	s, err := sim.Setup(filepath.Join(t.TempDir(), "demo"), sim.Options{Messages: 1, Family: FamilyDebian})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, x := simSession(ctx, t, rb, s)
	env := &StepEnv{Data: TemplateData{Params: rb.Params, Family: FamilyDebian, Answers: map[string]string{}, Facts: map[string]string{}}, Report: tasks.Discard}
	step := &Step{ID: "look", Host: HostNew, Kind: "units-inactive", Params: map[string]any{"server": "old", "units": []any{"postfix.service"}}}
	old, err := x.Old(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"start", "stop"} {
		if _, code, err := output(ctx, old, "systemctl", verb, "postfix.service"); err != nil || code != 0 {
			t.Fatalf("systemctl %s postfix.service on old: %d %v", verb, code, err)
		}
		_, err := x.Run(ctx, step, env)
		if verb == "start" && (err == nil || !strings.Contains(err.Error(), "still running on old: postfix.service (active)")) {
			t.Errorf("with Postfix up: %v, want a refusal naming it", err)
		}
		if verb == "stop" && err != nil {
			t.Errorf("with Postfix stopped: %v", err)
		}
	}
}
