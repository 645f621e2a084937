package tasks

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/testenv"
)

// freeTestPort returns a port nothing listens on now.
func freeTestPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lifelineHost(t *testing.T) (*testenv.SSHDRoot, remote.Host, LifelineOptions) {
	t.Helper()
	r := testenv.NewSSHDRoot(t)
	h, err := remote.NewLocal("new", r.Root)
	if err != nil {
		t.Fatal(err)
	}
	return r, h, LifelineOptions{Port: freeTestPort(t), PidFile: filepath.Join(t.TempDir(), "lifeline-sshd.pid")}
}

// The spare answers with a banner and takes a real login while it runs;
// after Stop nothing answers on its port, its process is gone and so is
// its pid file.
func TestLifelineStartsAnswersAndStops(t *testing.T) {
	r, h, o := lifelineHost(t)
	l, err := StartLifeline(context.Background(), h, o)
	if err != nil {
		t.Fatalf("StartLifeline: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = l.Stop()
		}
	})
	if !strings.HasPrefix(l.Banner, "SSH-2.0-OpenSSH") {
		t.Errorf("banner %q, want an OpenSSH banner", l.Banner)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port))
	if _, err := ReadSSHBanner(addr, 2*time.Second); err != nil {
		t.Fatalf("the spare does not answer on %s while it runs: %v", addr, err)
	}
	b, err := os.ReadFile(o.PidFile)
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(l.Pid) || l.Pid == 0 {
		t.Fatalf("pid file %s holds %q (%v), Lifeline.Pid is %d", o.PidFile, b, err, l.Pid)
	}
	if _, err := exec.LookPath("ssh"); err == nil {
		args := append(r.SSHArgs(strconv.Itoa(o.Port)), "root@127.0.0.1", "echo lifeline-ok")
		out, err := exec.Command("ssh", args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "lifeline-ok") {
			t.Errorf("a login through the spare sshd: %v: %s", err, out)
		}
	}
	if err := l.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	stopped = true
	if _, err := ReadSSHBanner(addr, time.Second); err == nil {
		t.Errorf("%s still answers after Stop", addr)
	}
	if _, err := os.Stat(o.PidFile); !os.IsNotExist(err) {
		t.Errorf("pid file %s is still there after Stop (%v)", o.PidFile, err)
	}
	if err := syscall.Kill(l.Pid, 0); err == nil {
		t.Errorf("process %d still exists after Stop", l.Pid)
	}
	if l.Running() {
		t.Error("Running() is true after Stop")
	}
}

// A port something listens on is refused before sshd is started.
func TestLifelineRefusesAPortInUse(t *testing.T) {
	_, h, o := lifelineHost(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	o.Port = busy.Addr().(*net.TCPAddr).Port
	l, err := StartLifeline(context.Background(), h, o)
	if err == nil {
		l.Stop()
		t.Fatal("StartLifeline on a port in use succeeded")
	}
	if !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q does not say the port is in use", err)
	}
	if _, err := os.Stat(o.PidFile); !os.IsNotExist(err) {
		t.Errorf("a pid file was written for a refused port (%v)", err)
	}
	if PortInUse(o.Port) == nil {
		t.Error("PortInUse says a listened-on port is free")
	}
}

// A configuration sshd refuses, and one whose ListenAddress pins another
// port, start nothing and say why.
func TestLifelineRefusesABadConfiguration(t *testing.T) {
	r, h, o := lifelineHost(t)
	if err := os.WriteFile(r.Config, []byte("NoSuchOption yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := StartLifeline(context.Background(), h, o); err == nil {
		l.Stop()
		t.Fatal("StartLifeline with a broken sshd_config succeeded")
	} else if !strings.Contains(err.Error(), "refuses the configuration") {
		t.Errorf("error %q does not say sshd refuses the configuration", err)
	}
	other := freeTestPort(t)
	conf := "ListenAddress 127.0.0.1:" + strconv.Itoa(other) + "\nHostKey " + r.HostKey + "\nUsePAM no\n"
	if err := os.WriteFile(r.Config, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := StartLifeline(context.Background(), h, o); err == nil {
		l.Stop()
		t.Fatal("StartLifeline with a ListenAddress pinning another port succeeded")
	} else if !strings.Contains(err.Error(), "would not listen on port "+strconv.Itoa(o.Port)) {
		t.Errorf("error %q does not say sshd would not listen on the port", err)
	}
	if _, err := ReadSSHBanner(net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)), time.Second); err == nil {
		t.Error("something answers on the spare's port after a refused start")
	}
}

// A spare a killed ferry left running (started here as ferry starts it, in
// a session of its own, never stopped) is found by its pid file and
// stopped; a pid file naming another process signals nothing.
func TestStopStaleLifeline(t *testing.T) {
	r, h, o := lifelineHost(t)
	argv := LifelineArgv(o, r.Config)
	cmd := exec.Command(filepath.Join(r.Root, argv[0]), argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-waited })
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port))
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := ReadSSHBanner(addr, time.Second)
		_, perr := os.Stat(o.PidFile)
		if err == nil && perr == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the leftover sshd did not come up: %v %v", err, perr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid, err := StopStaleLifeline(context.Background(), h, o.PidFile)
	if err != nil {
		t.Fatalf("StopStaleLifeline: %v", err)
	}
	if pid != cmd.Process.Pid {
		t.Errorf("stopped pid %d, the leftover is %d", pid, cmd.Process.Pid)
	}
	select {
	case <-waited:
	case <-time.After(time.Minute):
		t.Fatal("the leftover sshd did not end")
	}
	if _, err := ReadSSHBanner(addr, time.Second); err == nil {
		t.Errorf("%s still answers after StopStaleLifeline", addr)
	}
	if _, err := os.Stat(o.PidFile); !os.IsNotExist(err) {
		t.Errorf("pid file still there (%v)", err)
	}

	// A recycled pid: the file names a process that is not the spare.
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	if err := os.WriteFile(o.PidFile, []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := StopStaleLifeline(context.Background(), h, o.PidFile); err != nil || pid != 0 {
		t.Errorf("StopStaleLifeline on another process's pid: %d, %v; want 0, nil", pid, err)
	}
	if err := other.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the unrelated process was signalled: %v", err)
	}
	if _, err := os.Stat(o.PidFile); !os.IsNotExist(err) {
		t.Errorf("a stale pid file naming another process stays (%v)", err)
	}
	if pid, err := StopStaleLifeline(context.Background(), h, o.PidFile); err != nil || pid != 0 {
		t.Errorf("StopStaleLifeline with no pid file: %d, %v; want 0, nil", pid, err)
	}
}

func TestListenAddrs(t *testing.T) {
	out := "port 2222\nlistenaddress 0.0.0.0:2222\nlistenaddress [::]:2222\nlistenaddress 192.0.2.7:22\nlistenaddress 198.51.100.1:2222\npidfile /x\n"
	dial, other := ListenAddrs(out, 2222)
	want := []string{"127.0.0.1:2222", "[::1]:2222", "198.51.100.1:2222"}
	if strings.Join(dial, ",") != strings.Join(want, ",") {
		t.Errorf("dial %v, want %v", dial, want)
	}
	if strings.Join(other, ",") != "192.0.2.7:22" {
		t.Errorf("other %v, want [192.0.2.7:22]", other)
	}
}
