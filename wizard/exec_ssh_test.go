package wizard

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/testenv"
)

// These tests run the GreenArrow steps that set up SSH to the old server
// (ssh-old, hosts-oldserver, ssh-config) through the TaskExecutor against a
// real OpenSSH sshd on the loopback interface. HOME is a temporary
// directory, so ferry's own ~/.ssh is the test's; the system ssh is always
// given the test's configuration file with -F, so nothing reads or writes
// the real /root/.ssh.

// sshSetup is a test's executor, runbook and step environment.
type sshSetup struct {
	x   *TaskExecutor
	rb  *Runbook
	env *StepEnv
	rep *bmRecorder
}

func newSSHSetup(t *testing.T, x *TaskExecutor, answers, facts map[string]string) *sshSetup {
	t.Helper()
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if facts == nil {
		facts = map[string]string{}
	}
	if answers == nil {
		answers = map[string]string{}
	}
	rep := &bmRecorder{}
	return &sshSetup{x: x, rb: rb, rep: rep, env: &StepEnv{Data: TemplateData{Params: rb.Params, Answers: answers, Facts: facts}, Report: rep}}
}

// run runs a step of the runbook with its parameters resolved against the
// setup's answers and facts, then adds the facts and answers it learnt.
func (s *sshSetup) run(t *testing.T, id string) (Outcome, error) {
	t.Helper()
	st := s.rb.Step(id)
	if st == nil {
		t.Fatalf("the greenarrow runbook has no step %q", id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o, err := s.x.Run(ctx, st, s.env)
	for k, v := range o.Facts {
		s.env.Data.Facts[k] = v
	}
	for k, v := range o.Answers {
		if _, ok := s.env.Data.Answers[k]; !ok {
			s.env.Data.Answers[k] = v
		}
	}
	return o, err
}

// sshHome makes HOME a fresh directory with a .ssh holding the sshd's user
// key (as ~/.ssh/old_key) and known_hosts, and returns it.
func sshHome(t *testing.T, srv *testenv.SSHD) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := filepath.Join(home, ".ssh")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for src, dst := range map[string]string{srv.UserKey: "old_key", srv.UserKey + ".pub": "old_key.pub", srv.KnownHosts: "known_hosts"} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return home
}

// TestSSHOldThroughConfigAlias: --old names a Host alias of root's ssh
// config that alone knows the address, the port and the key (with "~"):
// ferry connects without being told the port, and old_addr becomes the IP
// address, while old_host keeps the alias.
func TestSSHOldThroughConfigAlias(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	home := sshHome(t, srv)
	cfg := fmt.Sprintf("Host oldserver\n    HostName 127.0.0.1\n    Port %d\n    IdentityFile ~/.ssh/old_key\n", srv.Port)
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	nh, err := remote.NewLocal(HostNew, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	// As "ferry run --old oldserver" seeds them.
	s := newSSHSetup(t, &TaskExecutor{New: nh, OldSSH: remote.SSHOptions{Name: HostOld}}, nil,
		map[string]string{"old_host": "oldserver", "old_addr": "127.0.0.1", "ssh_config_port": strconv.Itoa(srv.Port)})
	for _, q := range s.rb.Step("ssh-old").Ask {
		if q.When == "" {
			t.Fatalf("question %s of ssh-old has no condition", q.Key)
		}
		if w, err := Render(q.When, s.env.Data); err != nil || w == "true" {
			t.Errorf("ssh-old would ask %s (%q, %v) although the ssh config answers it", q.Key, w, err)
		}
	}
	o, err := s.run(t, "ssh-old")
	if err != nil {
		t.Fatalf("ssh-old: %v\nsshd log:\n%s", err, srv.Log())
	}
	if got := s.env.Data.Answers["ssh_port"]; got != strconv.Itoa(srv.Port) {
		t.Errorf("ssh_port learnt %q, want %d (the config's Port)", got, srv.Port)
	}
	if f := o.Facts; f["old_addr"] != "127.0.0.1" || f["old_host"] != "oldserver" {
		t.Errorf("facts old_addr %q, old_host %q; want 127.0.0.1 and oldserver", f["old_addr"], f["old_host"])
	}
	if !strings.Contains(o.Message, "oldserver") || !strings.Contains(o.Message, strconv.Itoa(srv.Port)) {
		t.Errorf("message %q names neither the alias nor the port", o.Message)
	}
}

// TestSSHOldRefusedPortHint: an address whose port 22 refuses, while root's
// ssh config has the procedure's alias with a Port: the error says so.
func TestSSHOldRefusedPortHint(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte("Host oldserver\n  Port 2222\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on a port of a loopback address just closed.
	port := closedPort(t)
	nh, err := remote.NewLocal(HostNew, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := newSSHSetup(t, &TaskExecutor{New: nh, OldSSH: remote.SSHOptions{Name: HostOld, Addr: "127.0.0.1", Port: port, IdentityFiles: []string{writeKey(t)}}}, nil, nil)
	_, err = s.run(t, "ssh-old")
	if err == nil {
		t.Fatal("ssh-old to a closed port worked")
	}
	for _, want := range []string{"refused", "nothing listens on port " + strconv.Itoa(port), "Port 2222 for oldserver", "--old oldserver"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// closedPort returns a loopback port that was free a moment ago.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeKey writes a throwaway ed25519 key and returns its file.
func writeKey(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	return f
}

// TestHostsEntryResolvesName: the hosts step given a name (an ssh config
// alias) writes the IP address it leads to, not a refusal.
func TestHostsEntryResolvesName(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfg := filepath.Join(home, "ssh_config")
	if err := os.WriteFile(cfg, []byte("Host myold\n  HostName 192.0.2.44\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	nh, err := remote.NewLocal(HostNew, root)
	if err != nil {
		t.Fatal(err)
	}
	s := newSSHSetup(t, &TaskExecutor{New: nh, OldSSH: remote.SSHOptions{Name: HostOld, ConfigFile: cfg}},
		map[string]string{"old_addr": "myold"}, nil)
	o, err := s.run(t, "hosts-oldserver")
	if err != nil {
		t.Fatalf("hosts-oldserver with a name: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(root, "etc", "hosts"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "192.0.2.44 oldserver") {
		t.Errorf("/etc/hosts = %q, want a line mapping oldserver to 192.0.2.44", b)
	}
	if o.Facts["old_addr"] != "192.0.2.44" || !strings.Contains(o.Message, "myold") {
		t.Errorf("facts %v, message %q: want old_addr 192.0.2.44 and the name myold in the message", o.Facts, o.Message)
	}
	// A name that leads nowhere is refused with the name, changing nothing.
	s.env.Data.Answers["old_addr"] = "999.1.1.1"
	delete(s.env.Data.Facts, "old_addr")
	before := string(b)
	if _, err := s.run(t, "hosts-oldserver"); err == nil || !strings.Contains(err.Error(), "999.1.1.1") {
		t.Errorf("999.1.1.1: err %v, want a refusal naming it", err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc", "hosts")); string(b) != before {
		t.Errorf("a refused address changed /etc/hosts: %q", b)
	}
}

// TestSSHConfigLegacyServer: against an sshd restricted to what CentOS 6's
// OpenSSH 5.3 offers, the Host oldserver block ferry writes (with the
// admin's consent) lets the system ssh in batch mode log in; the same block
// without the algorithm lines does not; and when the admin declines, the
// step fails naming ssh's own reason.
func TestSSHConfigLegacyServer(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{Legacy: true})
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	dir := t.TempDir()
	nh, err := remote.NewLocal(HostNew, "/")
	if err != nil {
		t.Fatal(err)
	}
	setup := func(cfg, consent string) *sshSetup {
		x := &TaskExecutor{New: nh, SSHConfig: cfg, OldSSH: remote.SSHOptions{Name: HostOld, Addr: "127.0.0.1", Port: srv.Port,
			IdentityFiles: []string{srv.UserKey}, KnownHostsFile: srv.KnownHosts, ConfigFile: "none", AllowLegacy: true}}
		s := newSSHSetup(t, x, map[string]string{"ssh_legacy": consent}, map[string]string{"old_addr": "127.0.0.1"})
		if _, err := s.run(t, "ssh-old"); err != nil {
			t.Fatalf("ssh-old: %v\nsshd log:\n%s", err, srv.Log())
		}
		if s.env.Data.Facts["old_ssh_legacy"] == "" {
			t.Fatal("ssh-old recorded no weak algorithms for a CentOS 6-era server")
		}
		q := s.rb.Step("ssh-config").Ask
		asked := false
		for _, qq := range q {
			if qq.Key == "ssh_legacy" {
				w, err := Render(qq.When, s.env.Data)
				asked = err == nil && w == "true"
			}
		}
		if !asked {
			t.Fatal("ssh-config would not ask ssh_legacy although ferry had to accept weak algorithms")
		}
		return s
	}
	systemSSH := func(cfg string) (string, error) {
		cmd := exec.Command("ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "oldserver", "true")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	cfg := filepath.Join(dir, "config")
	s := setup(cfg, "yes")
	o, err := s.run(t, "ssh-config")
	if err != nil {
		t.Fatalf("ssh-config: %v\nsshd log:\n%s", err, srv.Log())
	}
	b, _ := os.ReadFile(cfg)
	block := string(b)
	for _, want := range []string{"Host oldserver", "Port " + strconv.Itoa(srv.Port), "KexAlgorithms +diffie-hellman-group14-sha1",
		"HostKeyAlgorithms +ssh-rsa", "PubkeyAcceptedAlgorithms ^ssh-rsa", "IdentityFile " + srv.UserKey, "UserKnownHostsFile " + srv.KnownHosts} {
		if !strings.Contains(block, want) {
			t.Errorf("the block lacks %q:\n%s", want, block)
		}
	}
	if out, err := systemSSH(cfg); err != nil {
		t.Fatalf("system ssh with the block ferry wrote: %v: %s\n%s", err, out, block)
	}
	if !strings.Contains(o.Message, "reaches oldserver in batch mode") {
		t.Errorf("message %q", o.Message)
	}
	// Run again: nothing to change, and it still verifies.
	if o, err := s.run(t, "ssh-config"); err != nil || !strings.Contains(o.Message, "left as it is") {
		t.Errorf("second run: %q, %v", o.Message, err)
	}
	if b2, _ := os.ReadFile(cfg); string(b2) != block {
		t.Errorf("second run changed the file:\n%s", b2)
	}

	// The same block without the algorithm lines fails with the system ssh.
	var kept []string
	for _, l := range strings.Split(block, "\n") {
		if !strings.Contains(l, "Algorithms") && !strings.Contains(l, "MACs") && !strings.Contains(l, "Ciphers") {
			kept = append(kept, l)
		}
	}
	bare := filepath.Join(dir, "bare")
	if err := os.WriteFile(bare, []byte(strings.Join(kept, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := systemSSH(bare); err == nil {
		t.Fatalf("the system ssh reached the CentOS 6-era server without the algorithm lines:\n%s", strings.Join(kept, "\n"))
	} else if !strings.Contains(out, "no matching") {
		t.Errorf("without the algorithm lines ssh said %q, want a 'no matching ...' refusal", out)
	}

	// Declined: the step fails, and says why in ssh's words.
	declined := filepath.Join(dir, "declined")
	s = setup(declined, "no")
	_, err = s.run(t, "ssh-config")
	if err == nil {
		t.Fatal("ssh-config succeeded although the weak algorithms were not written")
	}
	for _, want := range []string{"no matching key exchange method", "KexAlgorithms +diffie-hellman-group14-sha1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if b, _ := os.ReadFile(declined); strings.Contains(string(b), "Algorithms") {
		t.Errorf("declined, yet algorithm lines were written:\n%s", b)
	}
}
