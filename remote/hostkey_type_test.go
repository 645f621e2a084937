package remote

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/ferry-migrate/ferry/testenv"
)

// TestSSHHostKeyTypeChanged: the old server now holds only an RSA host key
// while known_hosts records an Ed25519 one for it (the server was
// reinstalled). That is a changed key, named with the file and line of the
// recorded key, not "no common algorithm".
func TestSSHHostKeyTypeChanged(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{HostKeyTypes: []string{"rsa"}})
	other := testenv.StartSSHD(t, testenv.SSHDOptions{})
	otherKey, err := os.ReadFile(other.HostKeyFiles[0] + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(otherKey))
	kh := filepath.Join(t.TempDir(), "known_hosts")
	content := fmt.Sprintf("# recorded before the reinstall\n\n[127.0.0.1]:%d %s %s\n", srv.Port, f[0], f[1])
	if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, legacy := range []bool{false, true} {
		trusted := false
		err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: srv.Alias, ConfigFile: srv.SSHConfig, KnownHostsFile: kh, AllowLegacy: legacy,
			TrustUnknown: func(string, ssh.PublicKey, string) bool { trusted = true; return true }})
		var ce *HostKeyChangedError
		if !errors.As(err, &ce) {
			t.Fatalf("legacy %v: dial after a key type change: %v, want HostKeyChangedError", legacy, err)
		}
		msg := err.Error()
		if ce.File != kh || ce.Line != 3 || !strings.Contains(msg, kh+" line 3") || !strings.Contains(msg, "HOST KEY CHANGED") ||
			!strings.Contains(msg, "ssh-ed25519") || !strings.Contains(msg, "rsa") || trusted {
			t.Fatalf("legacy %v: error %+v\n%v\ntrust asked=%v", legacy, ce, err, trusted)
		}
	}
	if b, _ := os.ReadFile(kh); string(b) != content {
		t.Fatalf("known_hosts was changed: %q", b)
	}
}
