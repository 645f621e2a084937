package sim

import (
	"context"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// These tests hold the stand-ins' output against the parsers and tasks
// that consume it, so that a demo run does not fail on a format mismatch.

func TestCompatPackageVersionChecks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, family := range []string{"rhel", "debian"} {
		s := newSim(t, Options{Messages: 3, Family: family})
		old, err := remote.NewLocal("old", s.OldRoot)
		if err != nil {
			t.Fatal(err)
		}
		res, info, err := tasks.CheckPackageVersion(ctx, old, []string{"greenarrow", "greenarrow-engine"}, "4.1.165-0")
		if err != nil || !res.OK || info.Version != EngineVersion {
			t.Errorf("%s: engine version check on old: %+v %+v %v", family, res, info, err)
		}
		nw, err := remote.NewLocal("new", s.NewRoot)
		if err != nil {
			t.Fatal(err)
		}
		res, _, err = tasks.CheckPackageVersion(ctx, nw, []string{"greenarrow-engine"}, "4.1.165-0")
		if err != nil || res.OK {
			t.Errorf("%s: engine version check on the bare new root passed: %+v %v", family, res, err)
		}
	}
}

func TestCompatServiceStatus(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	installEngine(t, s)
	// greenarrow.conf arrives with the migration; copy it for the start.
	conf := "/var/hvmail/control/greenarrow.conf"
	if err := copyFile(s.OldRoot+conf, s.NewRoot+conf); err != nil {
		t.Fatal(err)
	}
	down := mustRun(t, s.NewRoot, nil, "service", "greenarrow", "status")
	st, err := tasks.ParseServiceStatus(down.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if r := tasks.CheckServicesUp(st, []string{"hvmail-qmail-smtpd3"}); r.OK {
		t.Errorf("services check passed with GreenArrow stopped: %+v", r)
	}
	mustRun(t, s.NewRoot, nil, "systemctl", "start", "greenarrow.service")
	up := mustRun(t, s.NewRoot, nil, "service", "greenarrow", "status")
	st, err = tasks.ParseServiceStatus(up.stdout)
	if err != nil {
		t.Fatal(err)
	}
	if r := tasks.CheckServicesUp(st, []string{"hvmail-qmail-smtpd3"}); !r.OK || len(st.Services) < 5 {
		t.Errorf("services check with GreenArrow started: %+v\n%s", r, up.stdout)
	}
	if r := tasks.CheckServicesUp(st, nil); r.OK {
		t.Errorf("services check passed although hvmail-qmail-smtpd3 is down and not allowed to be")
	}
}

func TestCompatQueueMergeTask(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 60})
	parkQueue(t, s)
	h, err := remote.NewLocal("new", s.NewRoot)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tasks.QueueMerge(context.Background(), tasks.QueueMergeOptions{
		Host:     h,
		OldQueue: QueueDir + "/old",
		Queue:    QueueDir,
		Merge:    "/var/hvmail/libexec/hvmail_queue_merge",
	}, nil)
	if err != nil || res.Remaining != 0 || res.Total != 60 {
		t.Fatalf("tasks.QueueMerge on the simulated queue: %+v, %v", res, err)
	}
	if rep, err := s.NewQueueCheck(); err != nil || !rep.OK() {
		t.Errorf("after tasks.QueueMerge: %s, %v", rep, err)
	}
}

// TestCompatFerrySSHHost reaches the old root through the embedded server
// with ferry's own SSH host, as the demo does.
func TestCompatFerrySSHHost(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	srv := startSSH(t, s)
	ctx := context.Background()
	old, err := remote.DialSSH(ctx, remote.SSHOptions{
		Name:           "old",
		Addr:           srv.Addr,
		Port:           srv.Port,
		User:           srv.User,
		Root:           s.OldRoot,
		IdentityFiles:  []string{srv.UserKeyFile},
		ConfigFile:     "none",
		KnownHostsFile: srv.KnownHostsFile,
	})
	if err != nil {
		t.Fatalf("ferry's SSH host to the embedded server: %v", err)
	}
	defer old.Close()
	res, info, err := tasks.CheckPackageVersion(ctx, old, []string{"greenarrow", "greenarrow-engine"}, "4.1.165-0")
	if err != nil || !res.OK || info.Version != EngineVersion {
		t.Errorf("engine version check over SSH: %+v %+v %v", res, info, err)
	}
	b, err := old.ReadFile(ctx, "/etc/hostname")
	if err != nil || string(b) != OldHostname+"\n" {
		t.Errorf("old /etc/hostname over SSH: %q %v", b, err)
	}
	st, err := old.Stat(ctx, "/var/hvmail/postgres/default")
	if err != nil || st.LinkTarget != "/var/hvmail/postgres/9.5" {
		t.Errorf("stat of postgres/default over SSH: %+v %v", st, err)
	}
}
