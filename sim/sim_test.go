package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetupBuildsBothRoots(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{})
	for _, c := range []struct{ root, path, want string }{
		{s.OldRoot, "/etc/os-release", `ID="centos"`},
		{s.OldRoot, "/etc/os-release", `ID_LIKE="rhel fedora"`},
		{s.NewRoot, "/etc/os-release", `ID_LIKE="rhel centos fedora"`},
		{s.OldRoot, "/etc/hostname", OldHostname},
		{s.NewRoot, "/etc/hostname", NewHostname},
		{s.OldRoot, "/etc/resolv.conf", "nameserver 198.51.100.53"},
		{s.NewRoot, "/etc/hosts", "127.0.0.1"},
		{s.OldRoot, "/var/hvmail/control/greenarrow.conf", "general {"},
		{s.OldRoot, "/var/hvmail/control/license_key", "GA-SIM"},
		{s.OldRoot, "/var/hvmail/control/bounce.boogie_studio_api_license_key", "BB-SIM"},
		{s.OldRoot, BackupDir + "/postgresql-tablespaces.txt", "| " + TablespaceDir},
		{s.OldRoot, BackupDir + "/greenarrow-packages.txt", "greenarrow-engine-" + EngineVersion + ".x86_64"},
		{s.OldRoot, BackupDir + "/greenarrow-repository-access-key.txt", "ga-repo"},
		{s.OldRoot, TablespaceDir + "/PG_9.5_201510051/16384/PG_VERSION", "9.5"},
	} {
		b, err := os.ReadFile(c.root + c.path)
		if err != nil {
			t.Errorf("%s: %v", c.path, err)
			continue
		}
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s under %s does not hold %q:\n%s", c.path, c.root, c.want, b)
		}
	}
	if b, _ := os.ReadFile(s.OldRoot + "/var/hvmail/control/greenarrow.conf"); strings.Contains(string(b), "dns_cache_service_run") {
		t.Errorf("greenarrow.conf names dns_cache_service_run although the option left it out")
	}
	if target, err := os.Readlink(s.OldRoot + "/var/hvmail/postgres/default"); err != nil || target != "/var/hvmail/postgres/9.5" {
		t.Errorf("postgres/default links to %q (%v), want /var/hvmail/postgres/9.5", target, err)
	}
	if fi, err := os.Stat(s.OldRoot + BackupDir + "/hvmail_reinstall_packages"); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("backup's hvmail_reinstall_packages is missing or not executable: %v", err)
	}
	for _, absent := range []string{"/var/sendstudio", "/var/hvmail/control/UPGRADE_BLOCKER.txt"} {
		if _, err := os.Lstat(s.OldRoot + absent); err == nil {
			t.Errorf("old root has %s; it must not", absent)
		}
	}
	if entries, err := os.ReadDir(s.NewRoot + "/var"); err != nil || len(entries) != 0 {
		t.Errorf("new root's /var is not empty: %v %v", entries, err)
	}

	// The old disk queue: every message named after its inode, in the
	// right split directory, with its envelope.
	r, err := s.checkQueue(s.OldRoot + QueueDir)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Expected != testMessages {
		t.Errorf("old queue: %s", r)
	}
	if n, err := s.OldQueueMessages(); err != nil || n != testMessages {
		t.Errorf("OldQueueMessages = %d, %v; want %d", n, err, testMessages)
	}
	for _, d := range []string{"todo", "intd", "bounce"} {
		if n, _ := CountFiles(s.OldRoot + QueueDir + "/" + d); n == 0 {
			t.Errorf("old queue has nothing in %s/", d)
		}
	}
	for _, d := range []string{"/var/hvmail/qmail-ram/savedqueue", "/var/hvmail/qmail-bounce/savedqueue"} {
		if n, _ := CountFiles(s.OldRoot + d); n == 0 {
			t.Errorf("%s is empty", d)
		}
	}

	rpm := mustRun(t, s.OldRoot, nil, "rpm", "-q", "greenarrow-engine")
	if got := strings.TrimSpace(rpm.stdout); got != "greenarrow-engine-"+EngineVersion+".x86_64" {
		t.Errorf("rpm -q greenarrow-engine on old = %q", got)
	}
	if r := run(t, s.NewRoot, nil, nil, "rpm", "-q", "greenarrow-engine"); r.code == 0 {
		t.Errorf("rpm -q greenarrow-engine on new succeeded before any install: %s", r.stdout)
	}
}

func TestSetupReusesACompleteDir(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{})
	sentinel := s.OldRoot + "/root/sentinel"
	if err := os.WriteFile(sentinel, []byte("kept"), 0o644); err != nil {
		t.Fatal(err)
	}
	hostKey, _ := os.ReadFile(s.hostKeyFile())
	s2, err := Setup(s.Dir, Options{Messages: 5})
	if err != nil {
		t.Fatalf("second Setup: %v", err)
	}
	if _, err := os.Stat(sentinel); err != nil {
		t.Errorf("second Setup rebuilt the tree: %v", err)
	}
	if s2.Options.Messages != testMessages {
		t.Errorf("reused sim reports Messages %d, want the %d it was built with", s2.Options.Messages, testMessages)
	}
	if n, _ := s2.OldQueueMessages(); n != testMessages {
		t.Errorf("queue holds %d messages after reuse, want %d", n, testMessages)
	}
	if again, _ := os.ReadFile(s.hostKeyFile()); string(again) != string(hostKey) || len(hostKey) == 0 {
		t.Errorf("the host key changed on reuse")
	}
}

func TestSetupRebuildsAnIncompleteDir(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 10})
	if err := writeMarker(s.Dir, marker{Kind: markerKind, Version: 1, Options: s.Options}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.OldRoot+"/root/leftover", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s2, err := Setup(s.Dir, Options{Messages: 12, MergeDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.OldRoot + "/root/leftover"); err == nil {
		t.Errorf("an incomplete sim directory was reused instead of rebuilt")
	}
	if n, _ := s2.OldQueueMessages(); n != 12 {
		t.Errorf("rebuilt queue holds %d messages, want 12", n)
	}
}

func TestSetupRefusesAForeignDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	precious := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(precious, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Setup(dir, Options{Messages: 3})
	if err == nil || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Setup on a non-empty foreign directory: err = %v, want a refusal naming it", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the refused directory was changed: %v", entries)
	}
	if _, err := Setup(t.TempDir(), Options{Family: "suse"}); err == nil || !strings.Contains(err.Error(), "suse") {
		t.Errorf("bad Family: err = %v, want one naming it", err)
	}
}

func TestDebianVariant(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Family: "debian", Messages: 5, DNSCacheService: "yes"})
	r := mustRun(t, s.OldRoot, nil, "dpkg-query", "-W", "-f=${Version}", "greenarrow-engine")
	if r.stdout != EngineVersion {
		t.Errorf("dpkg-query on old = %q, want %q", r.stdout, EngineVersion)
	}
	if r := run(t, s.OldRoot, nil, nil, "rpm", "-q", "greenarrow-engine"); r.code != 127 {
		t.Errorf("rpm on a Debian root exited %d, want 127 (not installed)", r.code)
	}
	if b, _ := os.ReadFile(s.OldRoot + "/etc/resolv.conf"); strings.TrimSpace(string(b)) != "nameserver 127.0.0.1" {
		t.Errorf("old resolv.conf with the DNS cache on = %q", b)
	}
	installEngine(t, s)
	r = mustRun(t, s.NewRoot, nil, "dpkg", "-l", "greenarrow-engine")
	if !strings.Contains(r.stdout, "ii  greenarrow-engine") {
		t.Errorf("dpkg -l on new after reinstall:\n%s", r.stdout)
	}
	if _, err := os.Stat(s.NewRoot + "/etc/apt/sources.list.d/greenarrow.list"); err != nil {
		t.Errorf("reinstall on Debian left no apt source: %v", err)
	}
	if r := run(t, s.NewRoot, strings.NewReader(""), nil, "apt-get", "install", "ruby"); r.code == 0 {
		t.Errorf("apt-get install without -y and no answer succeeded")
	}
	mustRun(t, s.NewRoot, nil, "apt-get", "-y", "install", "ruby", "wget")
	mustRun(t, s.NewRoot, nil, "dpkg-query", "-W", "ruby")
}

func TestSetupBuildsWhereOnlyTheLockIs(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(dir, "state", lockName)
	if err := os.WriteFile(lock, []byte("123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(dir); err != nil {
		t.Fatalf("Inspect on a directory holding only the lock: %v", err)
	}
	s, err := Setup(dir, Options{Messages: 2, MergeDelay: -1})
	if err != nil {
		t.Fatalf("Setup on a directory holding only the lock: %v", err)
	}
	if b, _ := os.ReadFile(lock); string(b) != "123\n" {
		t.Errorf("Setup changed the lock file: %q", b)
	}
	if n, _ := s.OldQueueMessages(); n != 2 {
		t.Errorf("old queue holds %d messages, want 2", n)
	}
}

func TestInspectRefusesWithoutWriting(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state", "journal"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(dir); err == nil || !strings.Contains(err.Error(), markerName) {
		t.Errorf("Inspect on a state directory with more than a lock: err = %v, want a refusal", err)
	}
	if _, err := Inspect("/"); err == nil {
		t.Errorf("Inspect(\"/\") was accepted")
	}
	missing := filepath.Join(dir, "not-yet")
	if _, err := Inspect(missing); err != nil {
		t.Errorf("Inspect on a missing directory: %v", err)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Errorf("Inspect created %s", missing)
	}
}
