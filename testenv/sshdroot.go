package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SSHDRoot is a server root (a directory standing for "/" of a new server)
// holding what a spare sshd needs there: usr/sbin/sshd (a link to the real
// OpenSSH server) and etc/ssh/sshd_config, a configuration in a
// distribution's style (no Port line, so the port given with -p holds)
// that listens on 127.0.0.1 only, with throwaway host and user keys.
type SSHDRoot struct {
	Root    string // the root directory
	Config  string // Root + "/etc/ssh/sshd_config"
	UserKey string // private key that may log in as root; the public key is UserKey.pub
	HostKey string // private host key file; the public key is HostKey.pub
}

// NewSSHDRoot builds an SSHDRoot in a temporary directory removed when the
// test ends. It skips the test when sshd or ssh-keygen is not installed.
func NewSSHDRoot(t testing.TB) *SSHDRoot {
	t.Helper()
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Skipf("SKIPPING: OpenSSH server %s is not installed (%v); install openssh-server to run this test", SSHDPath, err)
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		t.Fatalf("sshd privilege separation directory /run/sshd: %v", err)
	}
	root := t.TempDir()
	r := &SSHDRoot{Root: root, Config: filepath.Join(root, "etc/ssh/sshd_config")}
	for _, d := range []string{"usr/sbin", "etc/ssh", "keys"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(SSHDPath, filepath.Join(root, "usr/sbin/sshd")); err != nil {
		t.Fatal(err)
	}
	r.HostKey = filepath.Join(root, "keys/hostkey_ed25519")
	keygen(t, "ed25519", r.HostKey)
	r.UserKey = filepath.Join(root, "keys/userkey")
	keygen(t, "ed25519", r.UserKey)
	pub, err := os.ReadFile(r.UserKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(root, "keys/authorized_keys")
	if err := os.WriteFile(auth, pub, 0o600); err != nil {
		t.Fatal(err)
	}
	conf := []string{
		"ListenAddress 127.0.0.1",
		"HostKey " + r.HostKey,
		"AuthorizedKeysFile " + auth,
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"StrictModes no",
		"LogLevel VERBOSE",
	}
	if err := os.WriteFile(r.Config, []byte(strings.Join(conf, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// SSHArgs returns arguments for the system ssh client that log in as root
// on port with the user key and no prompt (the host key is not checked:
// it is a throwaway); append "root@127.0.0.1" and a command.
func (r *SSHDRoot) SSHArgs(port string) []string {
	return []string{
		"-F", "/dev/null", "-p", port, "-i", r.UserKey,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no",
		"-o", "ConnectTimeout=10",
	}
}
