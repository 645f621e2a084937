package tasks

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

func TestParseOSRelease(t *testing.T) {
	data := strings.Join([]string{
		`# a comment`,
		`   # an indented comment`,
		``,
		`NAME="Example Linux"`,
		`ID=example`,
		`ID_LIKE='rhel fedora'`,
		`VERSION_ID="7"`,
		`VERSION_ID="7.9"`, // a later duplicate wins
		`PRETTY_NAME="Example \"Quoted\" \$HOME \\ \` + "`" + `tick\` + "`" + ` \n"`,
		`BARE=a\ b`,
		`SINGLE='no \escapes here'`,
		`EMPTY=`,
		`not an assignment`,
		`BAD-KEY=x`,
		`TRAILING="value" # comment`,
	}, "\n")
	got := ParseOSRelease([]byte(data))
	want := map[string]string{
		"NAME":        "Example Linux",
		"ID":          "example",
		"ID_LIKE":     "rhel fedora",
		"VERSION_ID":  "7.9",
		"PRETTY_NAME": "Example \"Quoted\" $HOME \\ `tick` \\n",
		"BARE":        "a b",
		"SINGLE":      `no \escapes here`,
		"EMPTY":       "",
		"TRAILING":    "value",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("parsed %d keys (%v), want %d", len(got), got, len(want))
	}
}

func TestParseRedHatAndDebianFiles(t *testing.T) {
	tests := []struct {
		line, id, ver string
		like          []string
	}{
		{"CentOS release 6.10 (Final)", "centos", "6.10", []string{"rhel", "fedora"}},
		{"CentOS Linux release 7.9.2009 (Core)", "centos", "7.9.2009", []string{"rhel", "fedora"}},
		{"Red Hat Enterprise Linux Server release 6.9 (Santiago)", "rhel", "6.9", []string{"fedora"}},
		{"Scientific Linux release 6.10 (Carbon)", "scientific", "6.10", []string{"rhel", "fedora"}},
		{"CloudLinux Server release 6.10 (Vladislav Volkov)", "cloudlinux", "6.10", []string{"rhel", "fedora"}},
	}
	for _, tt := range tests {
		r, err := ParseRedHatRelease([]byte(tt.line+"\n"), "/etc/redhat-release")
		if err != nil {
			t.Fatal(err)
		}
		if r.ID != tt.id || r.VersionID != tt.ver || strings.Join(r.IDLike, " ") != strings.Join(tt.like, " ") || r.PrettyName != tt.line {
			t.Errorf("%q: got %+v", tt.line, r)
		}
		if DistroFamily(r.ID, r.IDLike) != "rhel" {
			t.Errorf("%q: family %q, want rhel", tt.line, DistroFamily(r.ID, r.IDLike))
		}
	}
	if _, err := ParseRedHatRelease([]byte("\n"), "/etc/redhat-release"); err == nil || !strings.Contains(err.Error(), "/etc/redhat-release") {
		t.Errorf("empty file: err = %v", err)
	}
	for in, ver := range map[string]string{"9.13\n": "9", "12.5": "12", "bookworm/sid\n": ""} {
		r, err := ParseDebianVersion([]byte(in), "/etc/debian_version")
		if err != nil || r.ID != "debian" || r.VersionID != ver {
			t.Errorf("debian_version %q: %+v, %v; want version %q", in, r, err, ver)
		}
	}
}

func TestDistroFamily(t *testing.T) {
	tests := []struct {
		id, like, want string
	}{
		{"centos", "rhel fedora", "rhel"},
		{"rhel", "fedora", "rhel"},
		{"rocky", "rhel centos fedora", "rhel"},
		{"almalinux", "rhel centos fedora", "rhel"},
		{"ol", "fedora", "rhel"},
		{"fedora", "", "rhel"},
		{"eurolinux", "rhel fedora centos", "rhel"},
		{"debian", "", "debian"},
		{"ubuntu", "debian", "debian"},
		{"linuxmint", "ubuntu debian", "debian"},
		{"pop", "ubuntu debian", "debian"},
		{"arch", "", ""},
		{"opensuse-leap", "suse opensuse", ""},
	}
	for _, tt := range tests {
		if got := DistroFamily(tt.id, strings.Fields(tt.like)); got != tt.want {
			t.Errorf("DistroFamily(%q, %q) = %q, want %q", tt.id, tt.like, got, tt.want)
		}
	}
}

func TestNormalizeArch(t *testing.T) {
	for in, want := range map[string]string{
		"x86_64": "x86_64", "amd64": "x86_64", "AMD64\n": "x86_64",
		"aarch64": "aarch64", "arm64": "aarch64",
		"i686": "i686", "i386": "i686",
		"armv7l": "armv7l", "armhf": "armv7l",
		"ppc64le": "ppc64le", "s390x": "s390x",
	} {
		if got := NormalizeArch(in); got != want {
			t.Errorf("NormalizeArch(%q) = %q, want %q", in, got, want)
		}
	}
	if NormalizeArch("x86_64") == NormalizeArch("aarch64") {
		t.Error("x86_64 and aarch64 normalise to the same name")
	}
}

// osRoot is a Local host whose root is a fixture tree under testdata.
func osRoot(t *testing.T, name string) remote.Host {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("testdata", "checks", "os", name))
	if err != nil {
		t.Fatal(err)
	}
	h, err := remote.NewLocal(name, root)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestPlatformFromFixtures(t *testing.T) {
	tests := []struct {
		root, id, ver, family, source, key string
	}{
		{"centos6", "centos", "6.10", "rhel", "/etc/centos-release", "centos:6.10"},
		{"centos7", "centos", "7", "rhel", "/etc/os-release", "centos:7"},
		{"alma9", "almalinux", "9.4", "rhel", "/etc/os-release", "almalinux:9.4"},
		{"rocky9", "rocky", "9.3", "rhel", "/usr/lib/os-release", "rocky:9.3"},
		{"rhel9", "rhel", "9.4", "rhel", "/etc/os-release", "rhel:9.4"},
		{"oracle8", "ol", "8.9", "rhel", "/etc/os-release", "ol:8.9"},
		{"debian9", "debian", "9", "debian", "/etc/os-release", "debian:9"},
		{"debian12", "debian", "12", "debian", "/etc/os-release", "debian:12"},
		{"ubuntu1804", "ubuntu", "18.04", "debian", "/etc/os-release", "ubuntu:18.04"},
		{"ubuntu2204", "ubuntu", "22.04", "debian", "/etc/os-release", "ubuntu:22.04"},
		{"mint21", "linuxmint", "21.3", "debian", "/etc/os-release", "linuxmint:21.3"},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			p, err := Platform(context.Background(), osRoot(t, tt.root))
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != tt.id || p.VersionID != tt.ver || p.Family != tt.family || p.Source != tt.source || p.Key() != tt.key {
				t.Errorf("got %+v, want id %s version %s family %s from %s", p, tt.id, tt.ver, tt.family, tt.source)
			}
			if p.RawArch == "" || p.Arch != NormalizeArch(p.RawArch) || p.PrettyName == "" {
				t.Errorf("arch %q / %q, pretty name %q", p.RawArch, p.Arch, p.PrettyName)
			}
		})
	}
	_, err := Platform(context.Background(), osRoot(t, "none"))
	if err == nil || !strings.Contains(err.Error(), "/etc/redhat-release") || !strings.Contains(err.Error(), "/etc/os-release") {
		t.Errorf("no release file: err = %v, want one naming the files tried", err)
	}
}

func TestSamePlatform(t *testing.T) {
	ctx := context.Background()
	get := func(name string) PlatformInfo {
		p, err := Platform(ctx, osRoot(t, name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	c6, alma, u18, deb12 := get("centos6"), get("alma9"), get("ubuntu1804"), get("debian12")
	if r := SamePlatform("old", c6, "new", alma); !r.OK || !strings.Contains(r.Reason, "CentOS release 6.10 (Final), rhel family") {
		t.Errorf("CentOS 6 -> AlmaLinux 9: %+v", r)
	}
	if r := SamePlatform("old", u18, "new", deb12); !r.OK {
		t.Errorf("Ubuntu 18.04 -> Debian 12: %+v", r)
	}
	if r := SamePlatform("old", c6, "new", deb12); r.OK || !strings.Contains(r.Reason, "families differ") {
		t.Errorf("CentOS 6 -> Debian 12: %+v", r)
	}
	arm := deb12
	arm.RawArch, arm.Arch = "aarch64", "aarch64"
	x86 := u18
	x86.RawArch, x86.Arch = "x86_64", "x86_64"
	if r := SamePlatform("old", x86, "new", arm); r.OK || !strings.Contains(r.Reason, "architectures differ") {
		t.Errorf("x86_64 -> aarch64: %+v", r)
	}
	amd := arm
	amd.RawArch, amd.Arch = "amd64", NormalizeArch("amd64")
	if r := SamePlatform("old", x86, "new", amd); !r.OK {
		t.Errorf("x86_64 -> amd64: %+v", r)
	}
	unknown := PlatformInfo{OSRelease: OSRelease{ID: "arch", PrettyName: "Arch Linux"}, Arch: "x86_64"}
	if r := SamePlatform("old", unknown, "new", x86); r.OK || !strings.Contains(r.Reason, "unknown") {
		t.Errorf("unknown family: %+v", r)
	}
}

func TestMatchesDistro(t *testing.T) {
	p := func(id, ver string) PlatformInfo { return PlatformInfo{OSRelease: OSRelease{ID: id, VersionID: ver}} }
	tests := []struct {
		p     PlatformInfo
		entry string
		want  bool
	}{
		{p("ubuntu", "18.04"), "ubuntu:18.04", true},
		{p("ubuntu", "18.04"), "ubuntu:16.04", false},
		{p("ubuntu", "18.10"), "ubuntu:18.04", false},
		{p("debian", "9"), "debian:9", true},
		{p("debian", "10"), "debian:9", false},
		{p("centos", "6.10"), "centos:6", true},
		{p("centos", "6.10"), "centos:6.1", false},
		{p("debian", "12"), "debian", true},
		{p("debian", "9"), "ubuntu:9", false},
		{p("ubuntu", "18.04"), " Ubuntu:18.04 ", true},
	}
	for _, tt := range tests {
		if got := tt.p.MatchesDistro(tt.entry); got != tt.want {
			t.Errorf("%s matches %q = %v, want %v", tt.p.Key(), tt.entry, got, tt.want)
		}
	}
}
