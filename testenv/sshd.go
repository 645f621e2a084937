// Package testenv holds test-only helpers that start real servers on the
// loopback interface (OpenSSH's sshd, ...) with throwaway keys and stop them
// when the test ends. Nothing here is meant for production code.
package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SSHDPath is the OpenSSH server the harness starts.
const SSHDPath = "/usr/sbin/sshd"

// SSHDOptions shapes the server StartSSHD starts.
type SSHDOptions struct {
	// Legacy restricts the server to what a CentOS 6-era OpenSSH 5.3 offers:
	// diffie-hellman-group14-sha1 key exchange, ssh-rsa host and user keys,
	// hmac-sha1 and aes128-ctr. It implies an RSA host key and an RSA user key.
	Legacy bool
	// HostKeyTypes lists the host key types the server holds ("ed25519",
	// "rsa", "ecdsa"). The default is ed25519 only (rsa only when Legacy).
	HostKeyTypes []string
	// KnownHostsTypes lists which of the host keys go into the known_hosts
	// file. The default is all of HostKeyTypes.
	KnownHostsTypes []string
	// RSAUserKey makes the user key RSA instead of ed25519 (implied by Legacy).
	RSAUserKey bool
}

// SSHD is a running sshd. It accepts the user key for root.
type SSHD struct {
	Port         int
	Dir          string   // the directory holding keys, config and log
	HostKeyFiles []string // private host key files; the public key is FILE.pub
	UserKey      string   // private user key file; the public key is UserKey.pub
	KnownHosts   string   // known_hosts with "[127.0.0.1]:PORT type key" lines
	SSHConfig    string   // ssh client config with a "Host oldserver" block
	Alias        string   // the Host alias in SSHConfig: "oldserver"
	LogFile      string   // sshd's own log (-E)

	legacy bool
}

// legacyLines restricts an sshd to the algorithms OpenSSH 5.3 offers.
var legacyLines = []string{
	"KexAlgorithms diffie-hellman-group14-sha1",
	"HostKeyAlgorithms ssh-rsa",
	"PubkeyAcceptedAlgorithms ssh-rsa",
	"MACs hmac-sha1",
	"Ciphers aes128-ctr",
}

// legacyClientOptions let a modern OpenSSH client talk to a legacy server.
var legacyClientOptions = []string{
	"HostKeyAlgorithms=+ssh-rsa",
	// Not "+ssh-rsa": the modern server advertises rsa-sha2-512 in
	// server-sig-algs (OpenSSH 5.3 sends no such list), and the client would
	// then sign with that and be refused.
	"PubkeyAcceptedAlgorithms=ssh-rsa",
	"KexAlgorithms=+diffie-hellman-group14-sha1",
}

// StartSSHD starts /usr/sbin/sshd on a free 127.0.0.1 port with throwaway
// keys in a temporary directory and stops it when the test ends. It skips
// the test when sshd is not installed.
func StartSSHD(t testing.TB, opts SSHDOptions) *SSHD {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Skipf("SKIPPING: OpenSSH server %s is not installed (%v); install openssh-server to run this test", SSHDPath, err)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skipf("SKIPPING: ssh-keygen is not installed (%v); install openssh-client to run this test", err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshd privilege separation directory /run/sshd: %v", err)
	}
	dir := t.TempDir()
	s := &SSHD{Dir: dir, Alias: "oldserver", legacy: opts.Legacy, LogFile: filepath.Join(dir, "sshd.log")}

	hostTypes := opts.HostKeyTypes
	if len(hostTypes) == 0 {
		hostTypes = []string{"ed25519"}
		if opts.Legacy {
			hostTypes = []string{"rsa"}
		}
	}
	knownTypes := opts.KnownHostsTypes
	if len(knownTypes) == 0 {
		knownTypes = hostTypes
	}
	pubs := map[string]string{}
	for _, typ := range hostTypes {
		f := filepath.Join(dir, "hostkey_"+typ)
		keygen(t, typ, f)
		s.HostKeyFiles = append(s.HostKeyFiles, f)
		pub, err := os.ReadFile(f + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pubs[typ] = string(pub)
	}
	userType := "ed25519"
	if opts.Legacy || opts.RSAUserKey {
		userType = "rsa"
	}
	s.UserKey = filepath.Join(dir, "userkey")
	keygen(t, userType, s.UserKey)
	pub, err := os.ReadFile(s.UserKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		t.Fatal(err)
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("find a free loopback port: %v", err)
		}
		if err := s.start(t, port, auth, opts.Legacy); err != nil {
			lastErr = err
			continue
		}
		s.Port = port
		lastErr = nil
		break
	}
	if lastErr != nil {
		t.Fatalf("start sshd: %v", lastErr)
	}

	// known_hosts in the form OpenSSH writes for a non-22 port.
	var kh strings.Builder
	for _, typ := range knownTypes {
		p, ok := pubs[typ]
		if !ok {
			t.Fatalf("known_hosts type %q is not among the host key types %v", typ, hostTypes)
		}
		f := strings.Fields(p)
		fmt.Fprintf(&kh, "[127.0.0.1]:%d %s %s\n", s.Port, f[0], f[1])
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(s.KnownHosts, []byte(kh.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	var cfg strings.Builder
	fmt.Fprintf(&cfg, "Host %s\n", s.Alias)
	fmt.Fprintf(&cfg, "    HostName 127.0.0.1\n")
	fmt.Fprintf(&cfg, "    Port %d\n", s.Port)
	fmt.Fprintf(&cfg, "    User root\n")
	fmt.Fprintf(&cfg, "    IdentityFile %s\n", s.UserKey)
	fmt.Fprintf(&cfg, "    IdentitiesOnly yes\n")
	fmt.Fprintf(&cfg, "    UserKnownHostsFile %s\n", s.KnownHosts)
	fmt.Fprintf(&cfg, "    StrictHostKeyChecking yes\n")
	fmt.Fprintf(&cfg, "    BatchMode yes\n")
	if opts.Legacy {
		for _, o := range legacyClientOptions {
			k, v, _ := strings.Cut(o, "=")
			fmt.Fprintf(&cfg, "    %s %s\n", k, v)
		}
	}
	s.SSHConfig = filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(s.SSHConfig, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs sshd in the foreground (-D) on port and waits until it accepts
// connections. The process is killed when the test ends.
func (s *SSHD) start(t testing.TB, port int, auth string, legacy bool) error {
	conf := []string{
		"Port " + strconv.Itoa(port),
		"ListenAddress 127.0.0.1",
	}
	for _, f := range s.HostKeyFiles {
		conf = append(conf, "HostKey "+f)
	}
	conf = append(conf,
		"PidFile "+filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile "+auth,
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
	)
	if legacy {
		conf = append(conf, legacyLines...)
	}
	confFile := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(confFile, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(SSHDPath, "-D", "-f", confFile, "-E", s.LogFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// sshd's per-connection children (in sessions of their own) inherit the
	// stderr pipe; a client a test left open keeps one alive after the
	// listener is killed. WaitDelay stops Wait from waiting on that pipe.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", SSHDPath, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(s.LogFile)
			return fmt.Errorf("sshd on port %d exited early (%v): %s%s", port, err, stderr.String(), log)
		default:
		}
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("sshd on port %d did not accept connections within 10s: %v", port, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("sshd on port %d was not reaped 10s after it was killed; its log:\n%s", port, s.Log())
		}
	})
	return nil
}

// SSHArgs returns arguments for the system ssh client that reach this server
// as root without any prompt; append "root@127.0.0.1" and a command.
func (s *SSHD) SSHArgs() []string {
	args := []string{
		"-F", "/dev/null",
		"-p", strconv.Itoa(s.Port),
		"-i", s.UserKey,
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=" + s.KnownHosts,
		"-o", "StrictHostKeyChecking=yes",
	}
	if s.legacy {
		for _, o := range legacyClientOptions {
			args = append(args, "-o", o)
		}
	}
	return args
}

// Log returns what sshd has logged so far, for failure messages.
func (s *SSHD) Log() string {
	b, _ := os.ReadFile(s.LogFile)
	return string(b)
}

func keygen(t testing.TB, typ, file string) {
	t.Helper()
	args := []string{"-q", "-t", typ, "-N", "", "-C", "ferry-test", "-f", file}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	out, err := exec.Command("ssh-keygen", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh-keygen -t %s: %v: %s", typ, err, out)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, errors.New("listener address is not TCP")
	}
	return addr.Port, nil
}
