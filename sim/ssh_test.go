package sim

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func dial(t *testing.T, srv *Server) *ssh.Client {
	t.Helper()
	cfg, err := srv.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := ssh.Dial("tcp", net.JoinHostPort(srv.Addr, strconv.Itoa(srv.Port)), cfg)
	if err != nil {
		t.Fatalf("ssh to the embedded server: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSSHExecOutputAndExitStatus(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	srv := startSSH(t, s)
	c := dial(t, srv)

	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	sess.Stdin = strings.NewReader("from stdin\n")
	err = sess.Run(`echo "root=$FERRY_ROOT"; rpm -q greenarrow-engine; cat; echo oops >&2; exit 3`)
	var ee *ssh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 3 {
		t.Fatalf("Run: err = %v, want exit status 3", err)
	}
	want := "root=" + s.OldRoot + "\ngreenarrow-engine-" + EngineVersion + ".x86_64\nfrom stdin\n"
	if out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if errb.String() != "oops\n" {
		t.Errorf("stderr = %q, want %q", errb.String(), "oops\n")
	}

	// A command killed by a signal is reported as such.
	sess, err = c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	err = sess.Run(`kill -TERM $$`)
	if !errors.As(err, &ee) || ee.Signal() != "TERM" {
		t.Errorf("a command killed by SIGTERM: err = %v, want exit-signal TERM", err)
	}

	// Sessions run at the same time on one connection.
	var wg sync.WaitGroup
	results := make([]string, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess, err := c.NewSession()
			if err != nil {
				results[i] = err.Error()
				return
			}
			b, err := sess.Output(fmt.Sprintf("sleep 0.2; echo %d", i))
			if err != nil {
				results[i] = err.Error()
				return
			}
			results[i] = strings.TrimSpace(string(b))
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r != strconv.Itoa(i) {
			t.Errorf("concurrent session %d: %q", i, r)
		}
	}
}

func TestSSHRefusesOtherKeysAndHosts(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	srv := startSSH(t, s)
	cfg, err := srv.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	// Another key is refused.
	other := filepath.Join(t.TempDir(), "other")
	if err := newKeyFile(other); err != nil {
		t.Fatal(err)
	}
	signer, err := loadSigner(other)
	if err != nil {
		t.Fatal(err)
	}
	bad := *cfg
	bad.Auth = []ssh.AuthMethod{ssh.PublicKeys(signer)}
	if c, err := ssh.Dial("tcp", net.JoinHostPort(srv.Addr, strconv.Itoa(srv.Port)), &bad); err == nil {
		c.Close()
		t.Errorf("a key other than the simulator's user key was accepted")
	}
	// A known_hosts entry holding another key for this address stops the
	// connection: the host key is really checked.
	addr := net.JoinHostPort(srv.Addr, strconv.Itoa(srv.Port))
	wrong := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(wrong, []byte(knownhosts.Line([]string{addr}, signer.PublicKey())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(wrong)
	if err != nil {
		t.Fatal(err)
	}
	mismatch := *cfg
	mismatch.HostKeyCallback = cb
	if c, err := ssh.Dial("tcp", addr, &mismatch); err == nil {
		c.Close()
		t.Errorf("a known_hosts with another key for %s was accepted", addr)
	} else if ke := (*knownhosts.KeyError)(nil); !errors.As(err, &ke) || len(ke.Want) == 0 {
		t.Errorf("host key mismatch: err = %v, want a knownhosts.KeyError", err)
	}

	c := dial(t, srv)
	if _, err := c.Dial("tcp", "192.0.2.1:25"); err == nil {
		t.Errorf("forwarding to 192.0.2.1 was allowed; only 127.0.0.1 may be reached")
	}
}

func TestSSHForwardsToLoopback(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	srv := startSSH(t, s)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				line, _ := bufio.NewReader(conn).ReadString('\n')
				fmt.Fprintf(conn, "echo: %s", line)
			}()
		}
	}()
	c := dial(t, srv)
	conn, err := c.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("forward to %s: %v", ln.Addr(), err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "ping\n")
	got, err := io.ReadAll(conn)
	if err != nil || string(got) != "echo: ping\n" {
		t.Errorf("through the forward: %q, %v", got, err)
	}
}

// TestSSHClosingTheChannelKillsTheCommand: when the client goes away, the
// command's whole process group goes too.
func TestSSHClosingTheChannelKillsTheCommand(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	srv := startSSH(t, s)
	c := dial(t, srv)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start(`sleep 300 & echo $!; wait`); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("pid line %q: %v", line, err)
	}
	if !alive(pid) {
		t.Fatalf("the remote sleep %d is not running", pid)
	}
	sess.Close()
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the remote sleep %d still runs after its session was closed", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie counts as gone).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

// TestSystemSSHAndRsync pulls a directory of the old root through the
// embedded server with the system's ssh client and rsync, as the migration
// script does.
func TestSystemSSHAndRsync(t *testing.T) {
	t.Parallel()
	needPrograms(t, "ssh", "rsync")
	s := newSim(t, Options{Messages: 20})
	srv := startSSH(t, s)

	ssh := exec.Command("ssh", append(srv.SSHArgs(), "root@127.0.0.1", "rpm -q greenarrow-engine")...)
	out, err := ssh.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "greenarrow-engine-"+EngineVersion+".x86_64" {
		t.Fatalf("system ssh: %v: %s", err, out)
	}

	dst := t.TempDir()
	rsh := fmt.Sprintf("ssh -p %d -i %s -o UserKnownHostsFile=%s -o BatchMode=yes", srv.Port, srv.UserKeyFile, srv.KnownHostsFile)
	src := "root@127.0.0.1:" + s.OldRoot + "/var/hvmail/"
	cmd := exec.CommandContext(context.Background(), "rsync", "-aH", "-e", rsh, src, dst+"/")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("rsync through the embedded server: %v: %s", err, out)
	}
	for _, f := range []string{"control/greenarrow.conf", "control/license_key"} {
		a, _ := os.ReadFile(s.OldRoot + "/var/hvmail/" + f)
		b, err := os.ReadFile(filepath.Join(dst, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after rsync (%v)", f, err)
		}
	}
	if n, _ := CountFiles(filepath.Join(dst, "qmail-disk/queue/mess")); n != 20 {
		t.Errorf("rsync brought %d queue messages, want 20", n)
	}
	if target, err := os.Readlink(filepath.Join(dst, "postgres/default")); err != nil || target != "/var/hvmail/postgres/9.5" {
		t.Errorf("postgres/default after rsync: %q %v", target, err)
	}
}

func TestSSHKeepsItsPortAndHostKeyAcrossStarts(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 1})
	srv, err := s.StartSSH(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	port, fp := srv.Port, srv.HostKeyFingerprint
	srv.Close()
	if rec, err := s.SSHPort(); err != nil || rec != port {
		t.Fatalf("recorded port = %d (%v), want %d", rec, err, port)
	}
	if low := ephemeralLow(t); port >= low {
		t.Errorf("the first port %d is in the kernel's ephemeral range (from %d)", port, low)
	}
	kh, err := os.Stat(srv.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	alias, err := os.Stat(s.aliasKnownHostsFile())
	if err != nil {
		t.Fatal(err)
	}

	again := startSSH(t, s)
	if again.Port != port || again.HostKeyFingerprint != fp {
		t.Errorf("second start: port %d key %s, want port %d key %s", again.Port, again.HostKeyFingerprint, port, fp)
	}
	for _, f := range []struct {
		path string
		was  os.FileInfo
	}{{srv.KnownHostsFile, kh}, {s.aliasKnownHostsFile(), alias}} {
		now, err := os.Stat(f.path)
		if err != nil {
			t.Fatal(err)
		}
		if !now.ModTime().Equal(f.was.ModTime()) || now.Size() != f.was.Size() {
			t.Errorf("%s was written again by the second start", f.path)
		}
	}
	// A client that trusted the first start reaches the second.
	sess, err := dial(t, again).NewSession()
	if err != nil {
		t.Fatal(err)
	}
	sess.Close()
}

func TestSSHRecordedPortTakenIsAClearError(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 1})
	srv, err := s.StartSSH(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	kh, err := os.ReadFile(srv.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	// Another program holds the recorded port. It takes a free port first
	// and that one is recorded, rather than taking the port the server
	// just left: on a busy machine another test could take that one in
	// between (it did, once, in a run beside another suite).
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	port := squatter.Addr().(*net.TCPAddr).Port
	if err := s.RecordSSHPort(port); err != nil {
		t.Fatal(err)
	}
	_, err = s.StartSSH(context.Background())
	if err == nil {
		t.Fatal("StartSSH took another port (or shared this one) while the recorded one was taken")
	}
	t.Log(err)
	for _, want := range []string{"port " + strconv.Itoa(port), fmt.Sprintf("pid %d", os.Getpid()), "remove " + s.Dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q: %v", want, err)
		}
	}
	if rec, _ := s.SSHPort(); rec != port {
		t.Errorf("the recorded port changed to %d", rec)
	}
	if now, _ := os.ReadFile(srv.KnownHostsFile); !bytes.Equal(now, kh) {
		t.Errorf("known_hosts changed after the refused start:\n%s", now)
	}
}

func TestSSHRecordedPortIsChecked(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 1})
	if err := os.WriteFile(s.SSHPortFile(), []byte("70000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartSSH(context.Background()); err == nil || !strings.Contains(err.Error(), s.SSHPortFile()) {
		t.Errorf("a port file holding 70000: err = %v, want one naming the file", err)
	}
	if err := s.RecordSSHPort(0); err == nil {
		t.Errorf("RecordSSHPort(0) was accepted")
	}
}

// ephemeralLow is the first port of the kernel's ephemeral range.
func ephemeralLow(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		t.Skipf("SKIPPED the ephemeral range check: %v", err)
	}
	n, err := strconv.Atoi(strings.Fields(string(b))[0])
	if err != nil {
		t.Fatal(err)
	}
	return n
}
