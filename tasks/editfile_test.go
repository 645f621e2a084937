package tasks

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// chkFixture returns the content of testdata/checks/name.
func chkFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "checks", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// chkPut writes data at runbook path p under h's root, creating directories.
func chkPut(t *testing.T, h remote.Host, p string, data []byte, mode fs.FileMode) {
	t.Helper()
	full := h.Path(p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, data, mode); err != nil {
		t.Fatal(err)
	}
}

// chkRead returns the content of runbook path p under h's root.
func chkRead(t *testing.T, h remote.Host, p string) string {
	t.Helper()
	b, err := os.ReadFile(h.Path(p))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// chkBackups lists the backups of runbook path p under h's root.
func chkBackups(t *testing.T, h remote.Host, p string) []string {
	t.Helper()
	m, err := filepath.Glob(h.Path(p) + BackupInfix + "*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// chkFixedClock makes backup names predictable for the test's duration.
func chkFixedClock(t *testing.T) time.Time {
	t.Helper()
	at := time.Date(2025, 3, 14, 2, 15, 0, 0, time.UTC)
	old := backupClock
	backupClock = func() time.Time { return at }
	t.Cleanup(func() { backupClock = old })
	return at
}

func TestValidators(t *testing.T) {
	tests := []struct {
		name string
		fn   func(string) error
		in   string
		ok   bool
	}{
		{"ip v4", ValidIP, "192.0.2.10", true},
		{"ip v6", ValidIP, "2001:db8::10", true},
		{"ip loopback", ValidIP, "127.0.0.1", true},
		{"ip too big", ValidIP, "192.0.2.300", false},
		{"ip leading zero", ValidIP, "192.0.2.010", false},
		{"ip host name", ValidIP, "oldserver", false},
		{"ip with space", ValidIP, " 192.0.2.10", false},
		{"ip unspecified", ValidIP, "0.0.0.0", false},
		{"ip multicast", ValidIP, "224.0.0.1", false},
		{"ip cidr", ValidIP, "192.0.2.0/24", false},
		{"ip zone", ValidIP, "fe80::1%eth0", false},
		{"port 22", ValidPort, "22", true},
		{"port max", ValidPort, "65535", true},
		{"port zero", ValidPort, "0", false},
		{"port too big", ValidPort, "65536", false},
		{"port word", ValidPort, "ssh", false},
		{"port plus", ValidPort, "+22", false},
		{"host short", ValidHostname, "oldserver", true},
		{"host fqdn", ValidHostname, "mail-01.example.com", true},
		{"host underscore", ValidHostname, "old_server", false},
		{"host leading hyphen", ValidHostname, "-old", false},
		{"host double dot", ValidHostname, "a..b", false},
		{"host trailing dot", ValidHostname, "example.com.", false},
		{"host long label", ValidHostname, strings.Repeat("a", 64), false},
		{"host empty", ValidHostname, "", false},
		{"host space", ValidHostname, "old server", false},
		{"mail plain", ValidEmail, "admin@example.com", true},
		{"mail plus", ValidEmail, "ops+ga@mail.example.org", true},
		{"mail display name", ValidEmail, "Admin <admin@example.com>", false},
		{"mail no domain", ValidEmail, "admin", false},
		{"mail bad domain", ValidEmail, "admin@exa_mple.com", false},
		{"mail option", ValidEmail, "-oQ@example.com", false},
		{"mail empty", ValidEmail, "", false},
		{"mail two at", ValidEmail, "a@b@example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("%q: err = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && tt.in != "" && !strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q does not name the input %q", err, tt.in)
			}
		})
	}
}

func TestValidNameservers(t *testing.T) {
	if err := ValidNameservers([]string{"8.8.8.8", "8.8.4.4", "1.1.1.1"}); err != nil {
		t.Errorf("three public resolvers: %v", err)
	}
	for _, bad := range [][]string{
		nil,
		{"8.8.8.8", "8.8.4.4", "1.1.1.1", "9.9.9.9"},
		{"8.8.8.8", "dns.google"},
		{"1.1.1.1", "1.1.1.1"},
	} {
		err := ValidNameservers(bad)
		if err == nil {
			t.Errorf("%q: no error", bad)
			continue
		}
		if len(bad) > 0 && !strings.Contains(err.Error(), bad[len(bad)-1]) {
			t.Errorf("%q: error %q does not name the bad entry", bad, err)
		}
	}
}

func TestBackupNames(t *testing.T) {
	at := chkFixedClock(t)
	if got, want := BackupName("/etc/hosts", at), "/etc/hosts.ferry-backup-20250314T021500Z"; got != want {
		t.Errorf("BackupName = %q, want %q", got, want)
	}
	h := chkHost(t, "new")
	chkPut(t, h, "/etc/hosts", []byte("first\n"), 0o640)
	b1, err := BackupFile(context.Background(), h, "/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	chkPut(t, h, "/etc/hosts", []byte("second\n"), 0o640)
	b2, err := BackupFile(context.Background(), h, "/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	if b1 != "/etc/hosts.ferry-backup-20250314T021500Z" || b2 != b1+".1" {
		t.Fatalf("backups = %q, %q; want the timestamp name, then .1", b1, b2)
	}
	if chkRead(t, h, b1) != "first\n" || chkRead(t, h, b2) != "second\n" {
		t.Errorf("backups hold the wrong content")
	}
	fi, _ := os.Stat(h.Path(b1))
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("backup mode = %v, want 0640 like the original", fi.Mode().Perm())
	}
	if _, err := BackupFile(context.Background(), h, "/etc/missing"); err == nil || !strings.Contains(err.Error(), "/etc/missing") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestHostsAddAndRemove(t *testing.T) {
	chkFixedClock(t)
	ctx := context.Background()
	h := chkHost(t, "new")
	orig := chkFixture(t, "hosts")
	chkPut(t, h, HostsFile, orig, 0o644)

	res, err := AddHostsEntry(ctx, h, "203.0.113.5", "oldserver")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Line != "203.0.113.5 oldserver" || res.Backup == "" {
		t.Fatalf("first add: %+v", res)
	}
	if got := chkRead(t, h, HostsFile); got != string(orig)+"203.0.113.5 oldserver\n" {
		t.Errorf("hosts after add:\n%s", got)
	}
	if chkRead(t, h, res.Backup) != string(orig) {
		t.Errorf("backup %s does not hold the original", res.Backup)
	}

	again, err := AddHostsEntry(ctx, h, "203.0.113.5", "oldserver")
	if err != nil || again.Changed || again.Backup != "" {
		t.Fatalf("second add: %+v, %v; want no change and no backup", again, err)
	}
	if n := len(chkBackups(t, h, HostsFile)); n != 1 {
		t.Errorf("%d backups after an idempotent add, want 1", n)
	}

	before := chkRead(t, h, HostsFile)
	_, err = AddHostsEntry(ctx, h, "203.0.113.99", "OldServer")
	var ce *HostsConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("conflicting add: err = %v, want *HostsConflictError", err)
	}
	if ce.LineNo != 9 || !strings.Contains(err.Error(), `"203.0.113.5 oldserver"`) || !strings.Contains(err.Error(), "line 9") {
		t.Errorf("conflict error %q (line %d) does not name the line", err, ce.LineNo)
	}
	if chkRead(t, h, HostsFile) != before {
		t.Errorf("a refused add changed the file")
	}

	// An admin's line with the same address and more names is not ferry's.
	chkPut(t, h, HostsFile, []byte(before+"203.0.113.5 oldserver old.example.com\n"), 0o644)
	rm, err := RemoveHostsLine(ctx, h, res.Line)
	if err != nil || !rm.Changed {
		t.Fatalf("remove: %+v, %v", rm, err)
	}
	if got, want := chkRead(t, h, HostsFile), string(orig)+"203.0.113.5 oldserver old.example.com\n"; got != want {
		t.Errorf("hosts after remove:\n%s\nwant:\n%s", got, want)
	}
	rm, err = RemoveHostsLine(ctx, h, res.Line)
	if err != nil || rm.Changed {
		t.Errorf("second remove: %+v, %v; want no change", rm, err)
	}
}

func TestHostsBadInputChangesNothing(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "new")
	chkPut(t, h, HostsFile, chkFixture(t, "hosts"), 0o644)
	for _, c := range [][2]string{{"203.0.113.500", "oldserver"}, {"203.0.113.5", "old_server"}, {"", "oldserver"}} {
		_, err := AddHostsEntry(ctx, h, c[0], c[1])
		if err == nil {
			t.Errorf("AddHostsEntry(%q, %q): no error", c[0], c[1])
		}
	}
	if _, err := RemoveHostsLine(ctx, h, "oldserver"); err == nil {
		t.Errorf("RemoveHostsLine of a line without address: no error")
	}
	if chkRead(t, h, HostsFile) != string(chkFixture(t, "hosts")) || len(chkBackups(t, h, HostsFile)) != 0 {
		t.Errorf("bad input changed the file or made a backup")
	}
}

func TestHostsCreatedWhenMissing(t *testing.T) {
	h := chkHost(t, "new")
	if err := os.MkdirAll(h.Path("/etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := AddHostsEntry(context.Background(), h, "2001:db8::5", "oldserver")
	if err != nil || !res.Changed || res.Backup != "" {
		t.Fatalf("add to missing file: %+v, %v", res, err)
	}
	if got := chkRead(t, h, HostsFile); got != "2001:db8::5 oldserver\n" {
		t.Errorf("hosts = %q", got)
	}
}

func TestSSHConfigCreate(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "new")
	res, err := SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 2222, "")
	if err != nil || !res.Changed {
		t.Fatalf("create: %+v, %v", res, err)
	}
	if got, want := chkRead(t, h, RootSSHConfig), "Host oldserver\n  Port 2222\n"; got != want {
		t.Errorf("config = %q, want %q", got, want)
	}
	fi, _ := os.Stat(h.Path(RootSSHConfig))
	di, _ := os.Stat(h.Path("/root/.ssh"))
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("modes: file %v, dir %v; want 0600 and 0700", fi.Mode().Perm(), di.Mode().Perm())
	}
	res, err = SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 2222, "")
	if err != nil || res.Changed || res.Backup != "" {
		t.Errorf("second run: %+v, %v; want no change", res, err)
	}
}

func TestSSHConfigUpdate(t *testing.T) {
	chkFixedClock(t)
	ctx := context.Background()
	h := chkHost(t, "new")
	orig := string(chkFixture(t, "ssh_config"))
	chkPut(t, h, RootSSHConfig, []byte(orig), 0o600)
	res, err := SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 2222, "203.0.113.5")
	if err != nil || !res.Changed || res.Backup == "" {
		t.Fatalf("update: %+v, %v", res, err)
	}
	want := strings.Replace(orig, "Host oldserver\n    User root\n    Port=2200\n",
		"Host oldserver\n    HostName 203.0.113.5\n    User root\n    Port 2222\n", 1)
	if got := chkRead(t, h, RootSSHConfig); got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
	if chkRead(t, h, res.Backup) != orig {
		t.Errorf("backup does not hold the original")
	}
	res, err = SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 2222, "203.0.113.5")
	if err != nil || res.Changed {
		t.Errorf("second run: %+v, %v; want no change", res, err)
	}
	if _, err := os.Stat("/usr/bin/ssh"); err != nil {
		t.Skip("SKIPPED: the OpenSSH client (/usr/bin/ssh) is not installed, so the effective port cannot be checked")
	}
	for alias, port := range map[string]int{"oldserver": 2222, "backup-box": 2200, "elsewhere": 22} {
		got, err := SSHEffectivePort(ctx, h, RootSSHConfig, alias)
		if err != nil || got != port {
			t.Errorf("ssh -G %s: port %d, %v; want %d", alias, got, err, port)
		}
	}
}

func TestSSHConfigNewBlockGoesFirst(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "new")
	conf := "ServerAliveInterval 30\n\nHost *\n    Port 22\n"
	chkPut(t, h, RootSSHConfig, []byte(conf), 0o600)
	if _, err := SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 2222, ""); err != nil {
		t.Fatal(err)
	}
	want := "ServerAliveInterval 30\n\nHost oldserver\n  Port 2222\n\nHost *\n    Port 22\n"
	if got := chkRead(t, h, RootSSHConfig); got != want {
		t.Errorf("config:\n%s\nwant:\n%s", got, want)
	}
	if _, err := os.Stat("/usr/bin/ssh"); err == nil {
		if p, err := SSHEffectivePort(ctx, h, RootSSHConfig, "oldserver"); err != nil || p != 2222 {
			t.Errorf("ssh -G oldserver: port %d, %v; want 2222", p, err)
		}
	}
}

func TestSSHConfigRefusesShadowedPort(t *testing.T) {
	ctx := context.Background()
	for name, conf := range map[string]string{
		"global port":   "Port 2200\nHost oldserver\n  User root\n",
		"earlier block": "Host old*\n  Port 22\n\nHost oldserver\n  Port 2200\n",
	} {
		t.Run(name, func(t *testing.T) {
			h := chkHost(t, "new")
			chkPut(t, h, RootSSHConfig, []byte(conf), 0o600)
			_, err := SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 2222, "")
			if err == nil || !strings.Contains(err.Error(), "Port 2") {
				t.Fatalf("err = %v, want one naming the shadowing Port line", err)
			}
			if chkRead(t, h, RootSSHConfig) != conf {
				t.Errorf("refused edit changed the file")
			}
		})
	}
	h := chkHost(t, "new")
	if _, err := SetSSHConfigHost(ctx, h, RootSSHConfig, "oldserver", 70000, ""); err == nil || !strings.Contains(err.Error(), "70000") {
		t.Errorf("port 70000: err = %v", err)
	}
}

func TestParseResolvConf(t *testing.T) {
	rc := ParseResolvConf(chkFixture(t, "resolv.conf"))
	if strings.Join(rc.Nameservers, ",") != "10.0.0.2,10.0.0.3" {
		t.Errorf("Nameservers = %q", rc.Nameservers)
	}
	if strings.Join(rc.Kept, "|") != "search example.com corp.example.com|options timeout:2 attempts:3" {
		t.Errorf("Kept = %q", rc.Kept)
	}
	rc = ParseResolvConf([]byte("; old style comment\nnameserver 127.0.0.53\n  nameserver   1.1.1.1  # inline\n"))
	if strings.Join(rc.Nameservers, ",") != "127.0.0.53,1.1.1.1" {
		t.Errorf("Nameservers = %q", rc.Nameservers)
	}
}

func TestWriteResolvConf(t *testing.T) {
	chkFixedClock(t)
	ctx := context.Background()
	old := chkHost(t, "old")
	chkPut(t, old, ResolvConfFile, chkFixture(t, "resolv.conf"), 0o644)
	ns, err := ReadResolvers(ctx, old)
	if err != nil || strings.Join(ns, ",") != "10.0.0.2,10.0.0.3" {
		t.Fatalf("ReadResolvers = %q, %v", ns, err)
	}

	h := chkHost(t, "new")
	orig := chkFixture(t, "resolv.conf")
	chkPut(t, h, ResolvConfFile, orig, 0o644)
	res, err := WriteResolvConf(ctx, h, "", []string{"127.0.0.1"}, false)
	if err != nil || !res.Changed || res.Backup == "" {
		t.Fatalf("write: %+v, %v", res, err)
	}
	want := "# Written by ferry during the server migration.\nsearch example.com corp.example.com\noptions timeout:2 attempts:3\nnameserver 127.0.0.1\n"
	if got := chkRead(t, h, ResolvConfFile); got != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
	if chkRead(t, h, res.Backup) != string(orig) {
		t.Errorf("backup does not hold the original")
	}
	if !strings.Contains(res.Reason, "127.0.0.1") || !strings.Contains(res.Reason, "10.0.0.2, 10.0.0.3") {
		t.Errorf("Reason = %q, want old and new resolvers", res.Reason)
	}
	res, err = WriteResolvConf(ctx, h, "", []string{"127.0.0.1"}, false)
	if err != nil || res.Changed {
		t.Errorf("second write: %+v, %v; want no change", res, err)
	}
	if _, err := WriteResolvConf(ctx, h, "", []string{"8.8.8.8", "not-an-ip"}, false); err == nil || !strings.Contains(err.Error(), "not-an-ip") {
		t.Errorf("bad nameserver: err = %v", err)
	}
	if got := chkRead(t, h, ResolvConfFile); got != want {
		t.Errorf("a refused write changed the file")
	}
}

func TestWriteResolvConfSymlink(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "new")
	stub := "# systemd-resolved stub\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch lan\n"
	chkPut(t, h, "/run/systemd/resolve/stub-resolv.conf", []byte(stub), 0o644)
	if err := os.MkdirAll(h.Path("/etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	// An absolute target, as systemd-resolved makes it: ferry must read it
	// under the host's root.
	if err := os.Symlink("/run/systemd/resolve/stub-resolv.conf", h.Path(ResolvConfFile)); err != nil {
		t.Fatal(err)
	}
	_, err := WriteResolvConf(ctx, h, "", []string{"8.8.8.8", "1.1.1.1"}, false)
	var se *ResolvSymlinkError
	if !errors.As(err, &se) || se.Target != "/run/systemd/resolve/stub-resolv.conf" {
		t.Fatalf("err = %v, want *ResolvSymlinkError naming the target", err)
	}
	if fi, _ := os.Lstat(h.Path(ResolvConfFile)); fi.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("the link was replaced without consent")
	}
	res, err := WriteResolvConf(ctx, h, "", []string{"8.8.8.8", "1.1.1.1"}, true)
	if err != nil || !res.Changed {
		t.Fatalf("replace with consent: %+v, %v", res, err)
	}
	fi, _ := os.Lstat(h.Path(ResolvConfFile))
	if !fi.Mode().IsRegular() {
		t.Errorf("resolv.conf is still not a regular file: %v", fi.Mode())
	}
	want := "# Written by ferry during the server migration.\noptions edns0 trust-ad\nsearch lan\nnameserver 8.8.8.8\nnameserver 1.1.1.1\n"
	if got := chkRead(t, h, ResolvConfFile); got != want {
		t.Errorf("resolv.conf:\n%s\nwant:\n%s", got, want)
	}
	if chkRead(t, h, "/run/systemd/resolve/stub-resolv.conf") != stub {
		t.Errorf("the link's target was changed")
	}
	if chkRead(t, h, res.Backup) != stub {
		t.Errorf("backup does not hold the stub's content")
	}
}

func TestParseDNSCacheSetting(t *testing.T) {
	tests := []struct {
		name    string
		conf    string
		present bool
		enabled bool
		line    int
		bad     bool
	}{
		{"fixture", string(chkFixture(t, "greenarrow.conf")), true, true, 5, false},
		{"absent", "general {\n  system_max_smtp_connections 5000\n}\n", false, false, 0, false},
		{"empty file", "", false, false, 0, false},
		{"commented out", "# dns_cache_service_run yes\n", false, false, 0, false},
		{"no", "dns_cache_service_run no\n", true, false, 1, false},
		{"true", "dns_cache_service_run true\n", true, true, 1, false},
		{"FALSE quoted", "dns_cache_service_run \"FALSE\";\n", true, false, 1, false},
		{"one line block", "general { dns_cache_service_run yes }\n", true, true, 1, false},
		{"last wins", "dns_cache_service_run yes\ndns_cache_service_run no # turned off\n", true, false, 2, false},
		{"trailing comment", "dns_cache_service_run yes # local cache\n", true, true, 1, false},
		{"equals sign", "dns_cache_service_run = no\n", true, false, 1, false},
		{"equals sign, no spaces", "dns_cache_service_run=yes\n", true, true, 1, false},
		{"colon", "  dns_cache_service_run: on\n", true, true, 1, false},
		{"zero", "dns_cache_service_run 0;\n", true, false, 1, false},
		{"equals, no value", "dns_cache_service_run =\n", false, false, 0, true},
		{"bad value", "dns_cache_service_run maybe\n", false, false, 0, true},
		{"no value", "general {\n dns_cache_service_run\n}\n", false, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := ParseDNSCacheSetting([]byte(tt.conf))
			if tt.bad {
				if err == nil || !strings.Contains(err.Error(), "line") {
					t.Fatalf("err = %v, want one naming the line", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Present != tt.present || st.Enabled != tt.enabled || st.Line != tt.line {
				t.Errorf("got %+v, want present=%v enabled=%v line=%d", st, tt.present, tt.enabled, tt.line)
			}
		})
	}
}

func TestDecideResolvers(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "new")
	d, err := DecideResolvers(ctx, h, "")
	if err != nil || d.UseLocalCache || !strings.Contains(d.Reason, "does not exist") {
		t.Errorf("missing file: %+v, %v", d, err)
	}
	chkPut(t, h, GreenArrowConf, chkFixture(t, "greenarrow.conf"), 0o644)
	d, err = DecideResolvers(ctx, h, "")
	if err != nil || !d.UseLocalCache || !strings.Contains(d.Reason, "127.0.0.1") || !strings.Contains(d.Reason, "line 5") {
		t.Errorf("enabled: %+v, %v", d, err)
	}
	chkPut(t, h, GreenArrowConf, []byte("dns_cache_service_run no\n"), 0o644)
	d, err = DecideResolvers(ctx, h, "")
	if err != nil || d.UseLocalCache || !strings.Contains(d.Reason, "must be chosen") {
		t.Errorf("disabled: %+v, %v", d, err)
	}
	// A line ferry cannot read never fails the step: the admin chooses.
	chkPut(t, h, GreenArrowConf, []byte("# cache\ndns_cache_service_run = auto\n"), 0o644)
	d, err = DecideResolvers(ctx, h, "")
	if err != nil || d.UseLocalCache || d.Unreadable == "" || !strings.Contains(d.Reason, "line 2") ||
		!strings.Contains(d.Reason, `"auto"`) || !strings.Contains(d.Reason, "127.0.0.1") {
		t.Errorf("unreadable value: %+v, %v; want a decision to ask that names line 2 and the value", d, err)
	}
}

func TestCommentOutDebLines(t *testing.T) {
	chkFixedClock(t)
	ctx := context.Background()
	h := chkHost(t, "new")
	orig := chkFixture(t, "greenarrow.list")
	chkPut(t, h, GreenArrowAptSource, orig, 0o644)
	res, err := CommentOutDebLines(ctx, h, GreenArrowAptSource)
	if err != nil || !res.Changed || res.Backup == "" {
		t.Fatalf("first run: %+v, %v", res, err)
	}
	want := strings.Replace(string(orig), "\ndeb https://repo", "\n#deb https://repo", 1)
	got := chkRead(t, h, GreenArrowAptSource)
	if got != want {
		t.Errorf("source:\n%s\nwant:\n%s", got, want)
	}
	// The real sed gives the same result.
	if _, err := os.Stat("/usr/bin/sed"); err == nil {
		p := filepath.Join(t.TempDir(), "x.list")
		if err := os.WriteFile(p, orig, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := RunCommand(ctx, h, CommandSpec{Argv: []string{"sed", "-i", "s/^deb /#deb /", p}}, nil); err == nil {
			if sed, _ := os.ReadFile(p); string(sed) != got {
				t.Errorf("sed gives:\n%s\nferry gives:\n%s", sed, got)
			}
		}
	}
	res, err = CommentOutDebLines(ctx, h, GreenArrowAptSource)
	if err != nil || res.Changed || len(chkBackups(t, h, GreenArrowAptSource)) != 1 {
		t.Errorf("second run: %+v, %v; want no change and one backup in all", res, err)
	}
	if _, err := CommentOutDebLines(ctx, h, "/etc/apt/sources.list.d/none.list"); err == nil || !strings.Contains(err.Error(), "none.list") {
		t.Errorf("missing file: err = %v", err)
	}
}
