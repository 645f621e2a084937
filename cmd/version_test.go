package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolveVersion(t *testing.T) {
	const rev = "07695f0ade8d573d6e03b826c0b8fc1ec19afacf"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.time", Value: "2026-11-30T15:56:35Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	bi := func(mainVersion string, settings []debug.BuildSetting) *debug.BuildInfo {
		b := &debug.BuildInfo{Settings: settings}
		b.Main.Version = mainVersion
		return b
	}
	cases := map[string]struct {
		stamped BuildInfo
		bi      *debug.BuildInfo
		want    BuildInfo
	}{
		"no build information": {BuildInfo{}, nil, BuildInfo{Version: "(devel)"}},
		"checkout, Go before 1.24": {BuildInfo{}, bi("(devel)", vcs("false")),
			BuildInfo{Version: "(devel)", Commit: "07695f0", Date: "2026-11-30T15:56:35Z"}},
		"checkout, dirty, pseudo-version": {BuildInfo{}, bi("v0.0.0-20261130155635-07695f0ade8d+dirty", vcs("true")),
			BuildInfo{Version: "(devel)", Commit: "07695f0-dirty", Date: "2026-11-30T15:56:35Z"}},
		"checkout at a tag": {BuildInfo{}, bi("v0.3.0", vcs("false")),
			BuildInfo{Version: "v0.3.0", Commit: "07695f0", Date: "2026-11-30T15:56:35Z"}},
		"go install module@version": {BuildInfo{}, bi("v0.3.0", nil), BuildInfo{Version: "v0.3.0"}},
		"go install module@commit": {BuildInfo{}, bi("v0.0.0-20261130155635-07695f0ade8d", nil),
			BuildInfo{Version: "v0.0.0-20261130155635-07695f0ade8d"}},
		"release build": {BuildInfo{Version: "0.4.0", Commit: "1234567", Date: "2026-12-01T00:00:00Z"}, bi("(devel)", vcs("true")),
			BuildInfo{Version: "0.4.0", Commit: "1234567", Date: "2026-12-01T00:00:00Z"}},
		"full commit stamped": {BuildInfo{Version: "0.4.0", Commit: rev}, nil, BuildInfo{Version: "0.4.0", Commit: "07695f0"}},
		"GoReleaser without git state": {BuildInfo{Version: "0.0.1-snapshot", Commit: "none", Date: "2026-12-01T00:00:00Z"}, bi("(devel)", vcs("true")),
			BuildInfo{Version: "0.0.1-snapshot", Commit: "07695f0-dirty", Date: "2026-12-01T00:00:00Z"}},
		"only the version stamped": {BuildInfo{Version: "0.4.0"}, bi("(devel)", vcs("false")),
			BuildInfo{Version: "0.4.0", Commit: "07695f0", Date: "2026-11-30T15:56:35Z"}},
	}
	for name, c := range cases {
		if got := resolveVersion(c.stamped, c.bi); got != c.want {
			t.Errorf("%s: got %+v, want %+v", name, got, c.want)
		}
	}
}

// goBuild builds ferry from the module in dir into a temporary file with
// the extra go build arguments and returns the binary's path.
func goBuild(t *testing.T, dir string, args ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ferry")
	cmd := exec.Command("go", append(append([]string{"build", "-o", bin}, args...), ".")...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v in %s: %v\n%s", args, dir, err, out)
	}
	return bin
}

// ferryOut runs the binary bin with args and returns its stdout.
func ferryOut(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return string(out)
}

func TestVersionStampedByLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ferry")
	}
	bin := goBuild(t, "..", "-buildvcs=false",
		"-ldflags", "-X main.version=9.8.7 -X main.commit=fedcba9 -X main.date=2026-11-30T12:00:00Z")
	const line = "ferry 9.8.7 fedcba9 built 2026-11-30T12:00:00Z\n"
	if out := ferryOut(t, bin, "version"); !strings.HasPrefix(out, line+"go1.") {
		t.Errorf("version: %q, want it to start %q", out, line)
	}
	if out := ferryOut(t, bin, "--version"); out != line {
		t.Errorf("--version: %q, want %q", out, line)
	}
}

func TestVersionOfCheckoutBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ferry")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	head, err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	rev := strings.TrimSpace(string(head))[:7]
	// Go stamps VCS information only where .git is a directory; in a git
	// worktree (.git is a file) build from a fresh clone of HEAD, which is
	// clean.
	dir, wantDirty := "..", false
	if fi, err := os.Stat(filepath.Join("..", ".git")); err == nil && fi.IsDir() {
		status, err := exec.Command("git", "-C", "..", "status", "--porcelain").Output()
		if err != nil {
			t.Fatal(err)
		}
		wantDirty = len(status) > 0
	} else {
		dir = filepath.Join(t.TempDir(), "ferry")
		if out, err := exec.Command("git", "clone", "-q", "..", dir).CombinedOutput(); err != nil {
			t.Fatalf("git clone: %v\n%s", err, out)
		}
	}
	bin := goBuild(t, dir, "-buildvcs=true")
	want := "ferry (devel) " + rev
	if wantDirty {
		want += "-dirty"
	}
	want += " built 20"
	out := ferryOut(t, bin, "version")
	if !strings.HasPrefix(out, want) {
		t.Errorf("version of a checkout build: %q, want it to start %q", out, want)
	}
	if first := strings.SplitN(out, "\n", 2)[0]; strings.Fields(first)[1] == "dev" {
		t.Errorf("version says a bare dev: %q", first)
	}
	if v := ferryOut(t, bin, "--version"); v != strings.SplitN(out, "\n", 2)[0]+"\n" {
		t.Errorf("--version %q is not the first line of version %q", v, out)
	}
}

// TestVersionLineSaysWhenTheCommitIsUnknown: with no commit stamped and
// none from the toolchain (go test records no VCS settings), the line says
// so; a stamped commit is shown instead.
func TestVersionLineSaysWhenTheCommitIsUnknown(t *testing.T) {
	if got := newApp(BuildInfo{Version: "1.2.3"}).versionLine(); !strings.HasSuffix(got, "(commit unknown)") {
		t.Errorf("no commit: %q", got)
	}
	if got := newApp(BuildInfo{Version: "1.2.3", Commit: "0123456789abcdef"}).versionLine(); strings.Contains(got, "unknown") || !strings.Contains(got, "0123456") {
		t.Errorf("stamped commit: %q", got)
	}
}
