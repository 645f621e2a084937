package remote

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/testenv"
)

// writeHomeConfig makes HOME a fresh directory whose ~/.ssh/config is cfg,
// and returns HOME.
func writeHomeConfig(t *testing.T, cfg string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("SSH_AUTH_SOCK", "")
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "config"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return home
}

func TestResolveHost(t *testing.T) {
	home := writeHomeConfig(t, `Host myold
    HostName 127.0.0.1
    Port 2200
    User admin
    IdentityFile ~/.ssh/old_key
Match exec "test -e /nonexistent"
    Port 1
Host broken
    HostName 999.1.1.1
Host nowhere
    HostName 0.0.0.0
`)
	var warned []string
	o := func(addr string) SSHOptions {
		return SSHOptions{Addr: addr, Warn: func(m string) { warned = append(warned, m) }}
	}
	ctx := context.Background()
	r, err := ResolveHost(ctx, o("myold"))
	if err != nil {
		t.Fatalf("myold: %v", err)
	}
	if r.IP != "127.0.0.1" || r.Host != "127.0.0.1" || r.Config.Port != 2200 || r.Config.User != "admin" {
		t.Errorf("myold resolved to %+v", r)
	}
	if want := filepath.Join(home, ".ssh", "old_key"); len(r.Config.IdentityFiles) != 1 || r.Config.IdentityFiles[0] != want {
		t.Errorf("IdentityFile %q, want %q (~ expanded)", r.Config.IdentityFiles, want)
	}
	if w := strings.Join(warned, "\n"); !strings.Contains(w, "Match exec") {
		t.Errorf("no warning about the Match block ferry cannot evaluate: %q", w)
	}
	// Names the system resolver knows through /etc/hosts.
	if r, err := ResolveHost(ctx, o("localhost")); err != nil || (r.IP != "127.0.0.1" && r.IP != "::1") {
		t.Errorf("localhost: %+v, %v", r, err)
	}
	if r, err := ResolveHost(ctx, o("192.0.2.7")); err != nil || r.IP != "192.0.2.7" {
		t.Errorf("an IP address: %+v, %v", r, err)
	}
	// Refused without a lookup, the error naming what was given.
	for addr, want := range map[string]string{
		"999.1.1.1": `"999.1.1.1" is not an IP address`,
		"10.1":      `"10.1" is not an IP address`,
		"broken":    "HostName of broken",
		"nowhere":   "unspecified",
		"0.0.0.0":   "unspecified",
	} {
		if _, err := ResolveHost(ctx, o(addr)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one saying %q", addr, err, want)
		}
	}
}

// TestSSHAliasFacts: what a connection made through an ssh config alias
// tells about itself, and that a Match block ferry cannot evaluate does not
// stop it.
func TestSSHAliasFacts(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		t.Run(fmt.Sprintf("legacy=%v", legacy), func(t *testing.T) {
			srv := testenv.StartSSHD(t, testenv.SSHDOptions{Legacy: legacy})
			b, err := os.ReadFile(srv.SSHConfig)
			if err != nil {
				t.Fatal(err)
			}
			cfg := filepath.Join(t.TempDir(), "config")
			if err := os.WriteFile(cfg, append(b, "Match exec \"true\"\n    Port 1\n"...), 0o600); err != nil {
				t.Fatal(err)
			}
			h, err := DialSSH(context.Background(), SSHOptions{Name: "old", Addr: srv.Alias, ConfigFile: cfg, AllowLegacy: legacy})
			if err != nil {
				t.Fatalf("DialSSH: %v\n%s", err, srv.Log())
			}
			defer h.Close()
			if h.Addr() != "oldserver" || h.Host() != "127.0.0.1" || h.RemoteIP() != "127.0.0.1" || h.User() != "root" {
				t.Errorf("Addr %q Host %q RemoteIP %q User %q", h.Addr(), h.Host(), h.RemoteIP(), h.User())
			}
			if h.AuthKeyFile() != srv.UserKey {
				t.Errorf("AuthKeyFile %q, want %q", h.AuthKeyFile(), srv.UserKey)
			}
			if kh := h.KnownHostsFiles(); len(kh) != 1 || kh[0] != srv.KnownHosts {
				t.Errorf("KnownHostsFiles %q", kh)
			}
			a := h.Algorithms()
			if a.KeyExchange == "" || a.HostKey == "" || a.Cipher == "" || a.UserKeySignature == "" {
				t.Errorf("algorithms %+v: one is empty", a)
			}
			if legacy {
				want := SSHAlgorithms{KeyExchange: "diffie-hellman-group14-sha1", HostKey: "ssh-rsa", Cipher: "aes128-ctr", MAC: "hmac-sha1", UserKeySignature: "ssh-rsa"}
				if a != want {
					t.Errorf("algorithms %+v, want %+v", a, want)
				}
			}
		})
	}
}

// TestSSHRefusedNamesThePort: a refused connection says which port was
// tried and where it came from.
func TestSSHRefusedNamesThePort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	writeHomeConfig(t, fmt.Sprintf("Host myold\n  HostName 127.0.0.1\n  Port %d\n", port))
	key := filepath.Join(t.TempDir(), "key")
	keygenFile(t, key)
	err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: "myold", IdentityFiles: []string{key}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("nothing listens on port %d there, the Port that the ssh config", port)) {
		t.Errorf("config port refused: %v", err)
	}
	err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: "myold", Port: port, IdentityFiles: []string{key}})
	if err == nil || !strings.Contains(err.Error(), "nothing listens on port") {
		t.Errorf("explicit port refused: %v", err)
	}
	err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: "myold", Port: closedLoopbackPort(t, port), IdentityFiles: []string{key}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("gives Port %d for myold", port)) || !strings.Contains(err.Error(), "given explicitly") {
		t.Errorf("explicit port other than the config's: %v", err)
	}
}

// closedLoopbackPort returns a free loopback port other than not.
func closedLoopbackPort(t *testing.T, not int) int {
	t.Helper()
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if p != not {
			return p
		}
	}
}

// keygenFile writes a throwaway ed25519 key to file.
func keygenFile(t *testing.T, file string) {
	t.Helper()
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", file).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
}
