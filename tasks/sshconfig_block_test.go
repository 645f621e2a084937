package tasks

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestSSHConfigBlockSettings: the Host block gets every setting; an
// existing block keeps its own lines, gets a single-valued keyword
// replaced and an IdentityFile added beside the one it has; running again
// changes nothing.
func TestSSHConfigBlockSettings(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "new")
	conf := "# mine\nHost oldserver\n    IdentityFile ~/.ssh/mine\n    KexAlgorithms curve25519-sha256\n\nHost *\n    ServerAliveInterval 30\n"
	chkPut(t, h, RootSSHConfig, []byte(conf), 0o600)
	settings := []SSHSetting{
		{"HostName", "192.0.2.5"}, {"Port", "2222"}, {"IdentityFile", "/keys/old key"},
		{"KexAlgorithms", "+diffie-hellman-group14-sha1"}, {"PubkeyAcceptedAlgorithms", "^ssh-rsa"},
	}
	res, err := SetSSHConfigBlock(ctx, h, RootSSHConfig, "oldserver", settings)
	if err != nil || !res.Changed || res.Backup == "" {
		t.Fatalf("update: %+v, %v", res, err)
	}
	want := "# mine\nHost oldserver\n    HostName 192.0.2.5\n    Port 2222\n    IdentityFile \"/keys/old key\"\n    PubkeyAcceptedAlgorithms ^ssh-rsa\n" +
		"    IdentityFile ~/.ssh/mine\n    KexAlgorithms +diffie-hellman-group14-sha1\n\nHost *\n    ServerAliveInterval 30\n"
	if got := chkRead(t, h, RootSSHConfig); got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
	if res, err := SetSSHConfigBlock(ctx, h, RootSSHConfig, "oldserver", settings); err != nil || res.Changed {
		t.Errorf("second run: %+v, %v; want no change", res, err)
	}
	if _, err := os.Stat("/usr/bin/ssh"); err != nil {
		t.Skip("SKIPPED: the OpenSSH client (/usr/bin/ssh) is not installed, so the effective settings cannot be checked")
	}
	eff, err := SSHEffectiveConfig(ctx, h, RootSSHConfig, "oldserver")
	if err != nil {
		t.Fatal(err)
	}
	one := func(k string) string { return strings.Join(eff[k], " | ") }
	if one("hostname") != "192.0.2.5" || one("port") != "2222" || !strings.Contains(one("kexalgorithms"), "diffie-hellman-group14-sha1") ||
		!strings.HasPrefix(one("pubkeyacceptedalgorithms"), "ssh-rsa,") || len(eff["identityfile"]) != 2 {
		t.Errorf("ssh -G sees hostname %q port %q kex %q pubkey %q identityfile %q", one("hostname"), one("port"),
			one("kexalgorithms"), one("pubkeyacceptedalgorithms"), eff["identityfile"])
	}
	// A file that does not exist yet reads as empty.
	if eff, err := SSHEffectiveConfig(ctx, h, "/root/.ssh/none", "oldserver"); err != nil || strings.Join(eff["port"], "") != "22" {
		t.Errorf("missing file: port %q, %v", eff["port"], err)
	}
	kex, err := SSHQuery(ctx, h, "kex")
	if err != nil || len(kex) == 0 {
		t.Errorf("ssh -Q kex: %q, %v", kex, err)
	}
}

// TestSSHConfigBlockShadowed: a line that applies to the alias earlier in
// the file, and says something else, would win: refused, file unchanged. An
// earlier line that says the same is no obstacle.
func TestSSHConfigBlockShadowed(t *testing.T) {
	ctx := context.Background()
	set := []SSHSetting{{"KexAlgorithms", "+diffie-hellman-group14-sha1"}}
	for name, conf := range map[string]string{
		"global":        "KexAlgorithms curve25519-sha256\nHost oldserver\n  User root\n",
		"earlier block": "Host old*\n  KexAlgorithms curve25519-sha256\n\nHost oldserver\n  User root\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := chkHost(t, "new")
			chkPut(t, h, RootSSHConfig, []byte(conf), 0o600)
			_, err := SetSSHConfigBlock(ctx, h, RootSSHConfig, "oldserver", set)
			if err == nil || !strings.Contains(err.Error(), "KexAlgorithms curve25519-sha256") {
				t.Fatalf("err = %v, want one naming the shadowing line", err)
			}
			if chkRead(t, h, RootSSHConfig) != conf {
				t.Errorf("refused edit changed the file")
			}
		})
	}
	h := chkHost(t, "new")
	conf := "Host old*\n  KexAlgorithms +diffie-hellman-group14-sha1\n"
	chkPut(t, h, RootSSHConfig, []byte(conf), 0o600)
	if _, err := SetSSHConfigBlock(ctx, h, RootSSHConfig, "oldserver", set); err != nil {
		t.Errorf("an earlier line with the same value: %v", err)
	}
	for _, bad := range [][]SSHSetting{{{"Port", "0"}}, {{"HostName", "a b"}}, {{"User", "x\nHost *"}}, {{"Kex Algorithms", "x"}}, nil} {
		if _, err := SetSSHConfigBlock(ctx, h, RootSSHConfig, "oldserver", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestValidHostnameNumericEnd: a name ending in a number is a mistyped IP
// address, not a host name.
func TestValidHostnameNumericEnd(t *testing.T) {
	for _, s := range []string{"999.1.1.1", "10.1", "1234", "host.42"} {
		if err := ValidHostname(s); err == nil || !strings.Contains(err.Error(), s) {
			t.Errorf("ValidHostname(%q) = %v, want a refusal naming it", s, err)
		}
	}
	for _, s := range []string{"oldserver", "mail-1.example.net", "1host.example", "a1"} {
		if err := ValidHostname(s); err != nil {
			t.Errorf("ValidHostname(%q) = %v", s, err)
		}
	}
}
