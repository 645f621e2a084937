package tasks

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

func TestVersionAtLeast(t *testing.T) {
	tests := []struct {
		family, have, min string
		want              bool
	}{
		// The GreenArrow minimum against versions around it: numeric, not
		// textual, ordering of each part.
		{"rhel", "4.1.165-0", "4.1.165-0", true},
		{"rhel", "4.1.99-3", "4.1.165-0", false},
		{"rhel", "4.10.2-1", "4.1.165-0", true},
		{"rhel", "4.1.165-1", "4.1.165-0", true},
		{"rhel", "4.1.164-9", "4.1.165-0", false},
		{"rhel", "4.200.0-0", "4.1.165-0", true},
		{"rhel", "4.1.180-0", "4.200.0-0", false},
		{"rhel", "1:4.0.0-0", "4.1.165-0", true},    // an epoch beats any version
		{"rhel", "4.300.0-0", "1:4.1.165-0", false}, // and its absence loses
		{"rhel", "4.1.165~rc1-0", "4.1.165-0", false},
		{"rhel", "4.1.165-0.el7", "4.1.165-0", true},
		{"debian", "4.1.165-0", "4.1.165-0", true},
		{"debian", "4.1.99-3", "4.1.165-0", false},
		{"debian", "4.10.2-1", "4.1.165-0", true},
		{"debian", "4.1.165-1", "4.1.165-0", true},
		{"debian", "4.200.0-0", "4.1.165-0", true},
		{"debian", "1:4.0.0-0", "4.1.165-0", true},
		{"debian", "4.300.0-0", "1:4.1.165-0", false},
		{"debian", "4.1.165~rc1-0", "4.1.165-0", false}, // a tilde sorts before anything
		{"debian", "4.1.165-0~bpo11+1", "4.1.165-0", false},
		{"debian", "4.1.165-0+deb12u1", "4.1.165-0", true},
		{"debian", "4.1.165", "4.1.165-0", true},
	}
	for _, tt := range tests {
		got, err := VersionAtLeast(tt.family, tt.have, tt.min)
		if err != nil {
			t.Errorf("%s %s >= %s: %v", tt.family, tt.have, tt.min, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s %s >= %s = %v, want %v", tt.family, tt.have, tt.min, got, tt.want)
		}
	}
	for _, bad := range [][3]string{
		{"arch", "1.0-1", "1.0-1"},
		{"debian", "abc", "4.1.165-0"},
		{"debian", "4.1.165-0", ""},
		{"rhel", "", "4.1.165-0"},
		{"rhel", "4.1 165-0", "4.1.165-0"},
	} {
		_, err := VersionAtLeast(bad[0], bad[1], bad[2])
		if err == nil {
			t.Errorf("VersionAtLeast(%q, %q, %q): no error", bad[0], bad[1], bad[2])
		}
	}
	if _, err := VersionAtLeast("debian", "abc", "1.0"); err == nil || !strings.Contains(err.Error(), `"abc"`) {
		t.Errorf("error does not name the bad version: %v", err)
	}
}

func TestParseRPMQuery(t *testing.T) {
	tests := []struct {
		fixture, pkg string
		installed    bool
		version      string
	}{
		{"rpm-q-installed.txt", "greenarrow-engine", true, "4.1.180-0"},
		{"rpm-q-greenarrow.txt", "greenarrow", true, "4.200.0-0"},
		{"rpm-q-not-installed.txt", "greenarrow-engine", false, ""},
		{"rpm-qf-installed.txt", "greenarrow-engine", true, "4.1.180-0"},
		{"rpm-qf-two.txt", "greenarrow-engine", true, "4.1.165-1"},
	}
	for _, tt := range tests {
		info, err := ParseRPMQuery(tt.pkg, string(chkFixture(t, tt.fixture)))
		if err != nil {
			t.Errorf("%s: %v", tt.fixture, err)
			continue
		}
		if info.Installed != tt.installed || info.Version != tt.version || info.Manager != "rpm" {
			t.Errorf("%s: %+v, want installed=%v version %q", tt.fixture, info, tt.installed, tt.version)
		}
	}
	info, err := ParseRPMQuery("greenarrow-engine", "greenarrow-engine\t3\t4.1.180-0\tx86_64\n")
	if err != nil || info.Version != "3:4.1.180-0" {
		t.Errorf("epoch: %+v, %v", info, err)
	}
	info, err = ParseRPMQuery("greenarrow-engine", "greenarrow-engine-4.1.165-0\n") // old rpm: no arch
	if err != nil || info.Version != "4.1.165-0" {
		t.Errorf("no arch: %+v, %v", info, err)
	}
	for _, bad := range []string{"greenarrow-4.200.0-0.x86_64\n", "error: rpmdb open failed\n"} {
		if _, err := ParseRPMQuery("greenarrow-engine", bad); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(bad)) {
			t.Errorf("%q: err = %v, want one quoting the line", bad, err)
		}
	}
}

func TestParseDpkgOutputs(t *testing.T) {
	tests := []struct {
		name, out string
		installed bool
		version   string
	}{
		{"query installed", "install ok installed\t4.1.180-0\tamd64\n", true, "4.1.180-0"},
		{"query epoch", "install ok installed\t1:4.1.180-0\tamd64\n", true, "1:4.1.180-0"},
		{"query config files left", "deinstall ok config-files\t4.1.150-0\tamd64\n", false, "4.1.150-0"},
		{"query half", "install ok half-configured\t4.1.180-0\tamd64\n", false, "4.1.180-0"},
		{"bare version", "4.1.180-0", true, "4.1.180-0"},
		{"nothing", "", false, ""},
		{"unknown", "dpkg-query: no packages found matching greenarrow-engine\n", false, ""},
	}
	for _, tt := range tests {
		info, err := ParseDpkgQuery("greenarrow-engine", tt.out)
		if err != nil || info.Installed != tt.installed || info.Version != tt.version || info.Manager != "dpkg" {
			t.Errorf("%s: %+v, %v; want installed=%v version %q", tt.name, info, err, tt.installed, tt.version)
		}
	}
	if _, err := ParseDpkgQuery("x", "install ok installed\tnot a version!\tamd64"); err == nil || !strings.Contains(err.Error(), "not a version!") {
		t.Errorf("bad version: err = %v", err)
	}

	info, err := ParseDpkgList("greenarrow-engine", string(chkFixture(t, "dpkg-l-installed.txt")))
	if err != nil || !info.Installed || info.Version != "4.1.180-0" || info.Arch != "amd64" {
		t.Errorf("dpkg -l installed: %+v, %v", info, err)
	}
	info, err = ParseDpkgList("greenarrow-engine", string(chkFixture(t, "dpkg-l-removed.txt")))
	if err != nil || info.Installed || info.Status != "rc" {
		t.Errorf("dpkg -l removed: %+v, %v", info, err)
	}
	info, err = ParseDpkgList("greenarrow-engine", "dpkg-query: no packages found matching greenarrow-engine\n")
	if err != nil || info.Installed {
		t.Errorf("dpkg -l unknown: %+v, %v", info, err)
	}
	info, err = ParseDpkgList("greenarrow", string(chkFixture(t, "dpkg-l-installed.txt")))
	if err != nil || info.Installed {
		t.Errorf("dpkg -l of another package's listing: %+v, %v", info, err)
	}
}

func TestQueryPackageOnHost(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Skip("SKIPPED: dpkg-query is not installed, so no real package database can be asked")
	}
	want, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "dpkg").Output()
	if err != nil {
		t.Skipf("SKIPPED: dpkg-query cannot report the dpkg package here: %v", err)
	}
	ctx := context.Background()
	h := chkHost(t, "new")
	info, err := QueryPackage(ctx, h, "dpkg")
	if err != nil || !info.Installed || info.Manager != "dpkg" || info.Version != string(want) {
		t.Fatalf("QueryPackage(dpkg) = %+v, %v; want installed %s", info, err, want)
	}
	info, err = QueryPackage(ctx, h, "ferry-no-such-package")
	if err != nil || info.Installed {
		t.Fatalf("missing package: %+v, %v", info, err)
	}
	if _, err := QueryPackage(ctx, h, "-a"); err == nil || !strings.Contains(err.Error(), `"-a"`) {
		t.Errorf("option as package name: err = %v", err)
	}

	r, got, err := CheckPackageVersion(ctx, h, []string{"ferry-no-such-package", "dpkg"}, "1.0")
	if err != nil || !r.OK || got.Name != "dpkg" || !strings.Contains(r.Reason, "dpkg "+string(want)) {
		t.Errorf("dpkg >= 1.0: %+v %+v %v", r, got, err)
	}
	r, _, err = CheckPackageVersion(ctx, h, []string{"dpkg"}, "999:1.0")
	if err != nil || r.OK || !strings.Contains(r.Reason, "older than the required 999:1.0") {
		t.Errorf("dpkg >= 999:1.0: %+v %v", r, err)
	}
	r, _, err = CheckPackageVersion(ctx, h, []string{"greenarrow", "greenarrow-engine"}, "4.1.165-0")
	if err != nil || r.OK || !strings.Contains(r.Reason, "greenarrow or greenarrow-engine is not installed on new") {
		t.Errorf("GreenArrow absent: %+v %v", r, err)
	}
}

func TestParseDuAndDf(t *testing.T) {
	kb, err := ParseDuSK(string(chkFixture(t, "du-sk.txt")))
	if err != nil || kb != 38123456 {
		t.Errorf("du: %d, %v", kb, err)
	}
	if _, err := ParseDuSK("du: cannot access '/var/hvmail': No such file or directory\n"); err == nil {
		t.Error("du error output: no error")
	}
	df, err := ParseDfPk(string(chkFixture(t, "df-Pk.txt")))
	if err != nil || df != (DfInfo{Filesystem: "/dev/mapper/vg0-var", SizeKB: 103081248, UsedKB: 41232500, AvailKB: 56589536, MountedOn: "/var"}) {
		t.Errorf("df: %+v, %v", df, err)
	}
	df, err = ParseDfPk(string(chkFixture(t, "df-Pk-space.txt")))
	if err != nil || df.MountedOn != "/mnt/data disk" || df.AvailKB != 9694588 {
		t.Errorf("df with a space in the mount point: %+v, %v", df, err)
	}
	for _, bad := range []string{"", "Filesystem 1024-blocks Used Available Capacity Mounted on\n", "/dev/sda1 many 1 2 3% /\n"} {
		if _, err := ParseDfPk(bad); err == nil {
			t.Errorf("df %q: no error", bad)
		}
	}
}

func TestDiskSpaceVerdict(t *testing.T) {
	df, _ := ParseDfPk(string(chkFixture(t, "df-Pk.txt"))) // 56589536 KiB free, about 54 GiB
	used := int64(38123456) * 1024                         // about 36 GiB
	r := DiskSpaceVerdict("old", "/var/hvmail", used, "new", "/var/hvmail", df, 10)
	if !r.OK || !strings.Contains(r.Reason, "/var/hvmail on old uses 36 GiB") || !strings.Contains(r.Reason, "54 GiB free") || !strings.Contains(r.Reason, "10% margin") {
		t.Errorf("fits: %+v", r)
	}
	r = DiskSpaceVerdict("old", "/var/hvmail", used, "new", "/var/hvmail", df, 60)
	if r.OK || !strings.Contains(r.Reason, "needs 58 GiB") || !strings.Contains(r.Reason, "short") {
		t.Errorf("does not fit with 60%% margin: %+v", r)
	}
}

func TestDiskSpaceOnHosts(t *testing.T) {
	ctx := context.Background()
	old, nw := chkHost(t, "old"), chkHost(t, "new")
	for i, name := range []string{"a", "b", "c"} {
		chkPut(t, old, "/var/hvmail/spool/"+name, make([]byte, 100<<10*(i+1)), 0o644)
	}
	size, note, err := TreeSize(ctx, old, "/var/hvmail")
	if err != nil || note != "" || size < 600<<10 || size > 700<<10 {
		t.Fatalf("TreeSize = %d, %q, %v; want about 600 KiB", size, note, err)
	}
	// /var/hvmail does not exist on new yet: the space of its nearest
	// existing parent counts.
	r, err := CheckDiskSpace(ctx, old, "/var/hvmail", nw, "/var/hvmail", 10)
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK || !strings.Contains(r.Reason, "/var/hvmail on old uses") || !strings.Contains(r.Reason, "on new (for /var/hvmail)") {
		t.Errorf("CheckDiskSpace: %+v", r)
	}
	if _, err := CheckDiskSpace(ctx, old, "/var/nothing", nw, "/var/hvmail", 10); err == nil || !strings.Contains(err.Error(), "/var/nothing") {
		t.Errorf("missing source: err = %v", err)
	}
}

func TestPathChecks(t *testing.T) {
	ctx := context.Background()
	h := chkHost(t, "old")
	const blocker = "/var/hvmail/control/UPGRADE_BLOCKER.txt"
	r, err := CheckPathAbsent(ctx, h, blocker, true)
	if err != nil || !r.OK || !strings.Contains(r.Reason, blocker) {
		t.Errorf("absent: %+v, %v", r, err)
	}
	chkPut(t, h, blocker, []byte("\x1b[1mCustom patch\x1b[0m: re-apply the smtpd patch after upgrades.\n"), 0o644)
	r, err = CheckPathAbsent(ctx, h, blocker, true)
	if err != nil || r.OK || !strings.Contains(r.Reason, "exists on old") {
		t.Errorf("present: %+v, %v", r, err)
	}
	if r.Detail != "Custom patch: re-apply the smtpd patch after upgrades.\n" {
		t.Errorf("Detail = %q, want the file without escape sequences", r.Detail)
	}
	r, _ = CheckPathAbsent(ctx, h, blocker, false)
	if r.Detail != "" {
		t.Errorf("show=false still shows %q", r.Detail)
	}
	if err := os.MkdirAll(h.Path("/var/sendstudio"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, _ = CheckPathAbsent(ctx, h, "/var/sendstudio", true)
	if r.OK || !strings.Contains(r.Reason, "a directory") || r.Detail != "" {
		t.Errorf("studio dir: %+v", r)
	}
	r, err = CheckPathPresent(ctx, h, "/var/sendstudio")
	if err != nil || !r.OK {
		t.Errorf("present dir: %+v, %v", r, err)
	}
	r, err = CheckPathPresent(ctx, h, "/var/migrate/greenarrow-packages.txt")
	if err != nil || r.OK || !strings.Contains(r.Reason, "greenarrow-packages.txt does not exist on old") {
		t.Errorf("missing file: %+v, %v", r, err)
	}
}

func TestPGVersion(t *testing.T) {
	ctx := context.Background()
	blocked := []string{"ubuntu:16.04", "ubuntu:18.04", "debian:9"}
	platform := func(name string) PlatformInfo {
		p, err := Platform(ctx, osRoot(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	u18, u22, d9, c7 := platform("ubuntu1804"), platform("ubuntu2204"), platform("debian9"), platform("centos7")

	for target, want := range map[string]string{
		"/var/hvmail/postgres/8.3": "8.3", "/var/hvmail/postgres/9.5/": "9.5", "16": "16", "../postgres/8.3": "8.3",
	} {
		if v, ok := PGVersionFromTarget(target); !ok || v != want {
			t.Errorf("PGVersionFromTarget(%q) = %q, %v; want %q", target, v, ok, want)
		}
	}
	if _, ok := PGVersionFromTarget("/var/hvmail/postgres/current"); ok {
		t.Error("a target without a version gave one")
	}

	old := chkHost(t, "old")
	if err := os.MkdirAll(old.Path("/var/hvmail/postgres/8.3/data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/var/hvmail/postgres/8.3", old.Path("/var/hvmail/postgres/default")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target PlatformInfo
		ok     bool
	}{{u18, false}, {d9, false}, {u22, true}, {c7, true}}
	for _, tt := range tests {
		r, err := CheckPGVersion(ctx, old, "/var/hvmail/postgres/default", "8.3", blocked, tt.target)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK != tt.ok || !strings.Contains(r.Reason, "PostgreSQL is 8.3 (/var/hvmail/postgres/default points to /var/hvmail/postgres/8.3)") || !strings.Contains(r.Reason, tt.target.Key()) {
			t.Errorf("8.3 onto %s: %+v", tt.target.Key(), r)
		}
	}

	// A newer layout: the link names no version, data/PG_VERSION does.
	nw := chkHost(t, "old")
	chkPut(t, nw, "/var/hvmail/postgres/main/data/PG_VERSION", []byte("9.5\n"), 0o600)
	if err := os.Symlink("main", nw.Path("/var/hvmail/postgres/default")); err != nil {
		t.Fatal(err)
	}
	r, err := CheckPGVersion(ctx, nw, "/var/hvmail/postgres/default", "8.3", blocked, u18)
	if err != nil || !r.OK || !strings.Contains(r.Reason, "PostgreSQL is 9.5") || !strings.Contains(r.Reason, "PG_VERSION") {
		t.Errorf("9.5 via PG_VERSION onto Ubuntu 18.04: %+v, %v", r, err)
	}
	if _, err := CheckPGVersion(ctx, nw, "/var/hvmail/postgres/none", "8.3", blocked, u18); err == nil || !strings.Contains(err.Error(), "/var/hvmail/postgres/none") {
		t.Errorf("missing link: err = %v", err)
	}
	chkPut(t, nw, "/var/hvmail/postgres/main/data/PG_VERSION", []byte("garbage\n"), 0o600)
	if _, err := CheckPGVersion(ctx, nw, "/var/hvmail/postgres/default", "8.3", blocked, u18); err == nil || !strings.Contains(err.Error(), "garbage") {
		t.Errorf("bad PG_VERSION: err = %v", err)
	}
}

func TestCheckRoot(t *testing.T) {
	for in, want := range map[string]int{"0\n": 0, "1000": 1000} {
		if got, err := ParseIDU(in); err != nil || got != want {
			t.Errorf("ParseIDU(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := ParseIDU("uid=0(root)"); err == nil || !strings.Contains(err.Error(), "uid=0(root)") {
		t.Errorf("ParseIDU of id's long output: err = %v", err)
	}
	r, err := CheckRoot(context.Background(), chkHost(t, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != (os.Geteuid() == 0) {
		t.Errorf("CheckRoot = %+v, but the effective uid is %d", r, os.Geteuid())
	}
	if !strings.Contains(r.Reason, "user id") {
		t.Errorf("Reason %q does not name the uid", r.Reason)
	}
}
