package testenv

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func runSSH(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skipf("SKIPPING: the ssh client is not installed: %v", err)
	}
	out, err := exec.Command("ssh", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestStartSSHDReachableWithArgsAndAlias(t *testing.T) {
	s := StartSSHD(t, SSHDOptions{})
	if s.Port == 0 || s.Port == 22 {
		t.Fatalf("port %d: want a free non-22 port", s.Port)
	}
	out := runSSH(t, append(s.SSHArgs(), "root@127.0.0.1", "echo", "hello-from-sshd")...)
	if !strings.Contains(out, "hello-from-sshd") {
		t.Fatalf("ssh output %q lacks the echoed word", out)
	}
	out = runSSH(t, "-F", s.SSHConfig, s.Alias, "id", "-u")
	if strings.TrimSpace(out) != "0" {
		t.Fatalf("ssh by alias: id -u = %q, want 0", out)
	}
	kh, err := os.ReadFile(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(kh), "[127.0.0.1]:") || !strings.Contains(string(kh), "ssh-ed25519 ") {
		t.Fatalf("known_hosts %q is not in the [127.0.0.1]:PORT ssh-ed25519 form", kh)
	}
}

func TestStartSSHDPartialKnownHosts(t *testing.T) {
	s := StartSSHD(t, SSHDOptions{HostKeyTypes: []string{"ed25519", "rsa"}, KnownHostsTypes: []string{"rsa"}})
	if len(s.HostKeyFiles) != 2 {
		t.Fatalf("host key files %v: want two", s.HostKeyFiles)
	}
	kh, err := os.ReadFile(s.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(kh), "ed25519") || !strings.Contains(string(kh), "ssh-rsa") {
		t.Fatalf("known_hosts %q: want only the rsa key", kh)
	}
	runSSH(t, append(s.SSHArgs(), "root@127.0.0.1", "true")...)
}

func TestStartSSHDLegacy(t *testing.T) {
	s := StartSSHD(t, SSHDOptions{Legacy: true})
	runSSH(t, append(s.SSHArgs(), "root@127.0.0.1", "true")...)
	// A modern client with default algorithms must be refused.
	args := []string{"-F", "/dev/null", "-p", strconv.Itoa(s.Port), "-i", s.UserKey, "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=" + s.KnownHosts, "-o", "StrictHostKeyChecking=yes", "root@127.0.0.1", "true"}
	out, err := exec.Command("ssh", args...).CombinedOutput()
	if err == nil {
		t.Fatalf("a default ssh client reached the legacy server; it should not: %s", out)
	}
}

func TestStartSSHDStopsAtCleanup(t *testing.T) {
	var port int
	t.Run("inner", func(t *testing.T) {
		port = StartSSHD(t, SSHDOptions{}).Port
	})
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("port %d still accepts connections after the test that started sshd ended", port)
	}
}
