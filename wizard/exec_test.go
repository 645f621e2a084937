package wizard

import (
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

func TestEveryKindHasARunner(t *testing.T) {
	for _, k := range KindNames() {
		if kindRunners[k] == nil {
			t.Errorf("kind %q has no implementation", k)
		}
	}
	for k := range kindRunners {
		if _, ok := Kinds[k]; !ok {
			t.Errorf("runner for undeclared kind %q", k)
		}
	}
}

func TestMapPathsStaysInsideASimulatedRoot(t *testing.T) {
	sim, _ := remote.NewLocal("new", "/tmp/demo/new")
	real, _ := remote.NewLocal("new", "/")
	for _, c := range []struct{ in, want string }{
		{"date | /var/hvmail/bin/mailsubj \"Test\" a@b.c", "date | /tmp/demo/new/var/hvmail/bin/mailsubj \"Test\" a@b.c"},
		{"grep dns-nameservers /etc/network/interfaces", "grep dns-nameservers /tmp/demo/new/etc/network/interfaces"},
		{"cat /etc/os-release 2> /dev/null", "cat /tmp/demo/new/etc/os-release 2> /dev/null"},
		{"/usr/bin/find /var/hvmail/qmail-ram/savedqueue -type f -delete", "/tmp/demo/new/usr/bin/find /tmp/demo/new/var/hvmail/qmail-ram/savedqueue -type f -delete"},
		{"echo /tmp/x /proc/1", "echo /tmp/x /proc/1"},
	} {
		if got := mapPaths(sim, c.in); got != c.want {
			t.Errorf("mapPaths(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := mapPaths(real, c.in); got != c.in {
			t.Errorf("on a real root mapPaths changed %q to %q", c.in, got)
		}
	}
}

func TestPredictAndBackupSuffix(t *testing.T) {
	if s := BackupSuffix(time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)); s == "" || s[0] != '.' {
		t.Errorf("backup suffix %q", s)
	}
}
