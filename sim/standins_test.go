package sim

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// snapshot lists every entry under dir with its size and mtime.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + fi.ModTime().String())
		if fi.Mode().IsRegular() {
			b.WriteString(" " + strconv.FormatInt(fi.Size(), 10))
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestStandinsRefuseWithoutASimRoot runs every stand-in with FERRY_ROOT
// unset, relative, "/" and naming a directory without the marker: each must
// refuse with exit 97 and leave the directory and its working directory
// as they were.
func TestStandinsRefuseWithoutASimRoot(t *testing.T) {
	t.Parallel()
	s := newSim(t, Options{Messages: 3})
	// The BlueMind stand-ins too (a BlueMind pair needs PostgreSQL to build).
	if err := installScripts(s.OldRoot, append(blueMindScripts, postfixScripts...)); err != nil {
		t.Fatal(err)
	}
	bare := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bare, ".ferry-sim"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, ".ferry-sim", "sim.conf"), []byte("sim_family=rhel\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cwd := t.TempDir()
	before := snapshot(t, bare) + snapshot(t, cwd)
	oldBefore := snapshot(t, s.OldRoot)
	for _, sc := range allScripts() {
		prog := s.OldRoot + sc.path
		for _, root := range []string{"", "unset", "relative/dir", "/", "//", bare, s.OldRoot + "/.."} {
			argv := []string{prog, "start", "greenarrow", "-y", "install", "x"}
			if strings.HasPrefix(sc.path, "/etc/profile.d/") {
				argv = []string{"/bin/sh", "-c", `. "$0"; echo sourced`, prog}
			}
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = cwd
			cmd.Env = []string{"PATH=/usr/bin:/bin", "SIM_MERGE_DELAY=0"}
			if root != "unset" {
				cmd.Env = append(cmd.Env, "FERRY_ROOT="+root)
			}
			cmd.Stdin = strings.NewReader(prog + "\n")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("%s: %v", prog, err)
			}
			if code != 97 || !strings.Contains(stderr.String(), "refusing to run") {
				t.Errorf("%s with FERRY_ROOT=%q: exit %d, stdout %q, stderr %q; want exit 97 and a refusal", sc.path, root, code, out, stderr.String())
			}
		}
	}
	if after := snapshot(t, bare) + snapshot(t, cwd); after != before {
		t.Errorf("a refusing stand-in changed files:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := snapshot(t, s.OldRoot); after != oldBefore {
		t.Errorf("a refusing stand-in changed the old root")
	}
}

// TestStandinsLeaveTheRealSystemAlone runs the stand-ins the way the
// procedure does against proper roots and checks that real files outside
// them kept their modification times and that nothing appeared in the real
// paths the stand-ins write under their root.
func TestStandinsLeaveTheRealSystemAlone(t *testing.T) {
	t.Parallel()
	real := map[string]time.Time{}
	for _, f := range []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/etc/os-release"} {
		if fi, err := os.Stat(f); err == nil {
			real[f] = fi.ModTime()
		}
	}
	if len(real) == 0 {
		t.Fatal("none of the real files to watch exists")
	}
	absent := []string{}
	for _, p := range []string{"/var/hvmail", "/var/migrate", "/.ferry-sim", "/media/data2", "/root/greenarrow-backup", "/etc/profile.d/greenarrow-engine.sh", "/etc/apt/sources.list.d/greenarrow.list"} {
		if _, err := os.Lstat(p); err != nil {
			absent = append(absent, p)
		}
	}

	for _, family := range []string{"rhel", "debian"} {
		s := newSim(t, Options{Messages: 5, Family: family})
		installEngine(t, s)
		for _, root := range []string{s.OldRoot, s.NewRoot} {
			for _, argv := range [][]string{
				{"service", "greenarrow", "stop"},
				{"service", "greenarrow", "start"},
				{"service", "greenarrow", "status"},
				{"service", "postgresql", "start"},
				{"systemctl", "stop", "greenarrow.service"},
				{"systemctl", "enable", "greenarrow"},
				{"chkconfig", "greenarrow", "off"},
				{"update-rc.d", "greenarrow", "disable"},
				{"yum", "-y", "install", "ruby"},
				{"apt-get", "-y", "install", "ruby", "wget"},
				{"rpm", "-q", "greenarrow-engine"},
				{"dpkg", "-l", "greenarrow-engine"},
				{"dpkg-query", "-W", "greenarrow-engine"},
				{"hvmail_init", "stop"},
				{"hvmail_check_config"},
				{"hvmail_server_migration"},
				{"sh", "-c", "echo hello | mailsubj Test someone@example.com"},
				{"sh", "-c", "for f in /etc/profile.d/greenarrow-*.sh; do . \"$FERRY_ROOT$f\"; done; echo \"$HVMAIL_HOME\""},
				{"/var/migrate/hvmail_reinstall_packages", "/var/migrate/greenarrow-packages.txt"},
				{"sh", "-c", "find \"$FERRY_ROOT/var/hvmail/qmail-disk/queue/old/mess\" -type f 2>/dev/null | hvmail_queue_merge /var/hvmail/qmail-disk/queue/old /var/hvmail/qmail-disk/queue"},
			} {
				if root == s.OldRoot && strings.HasPrefix(argv[0], "/var/migrate") {
					continue
				}
				run(t, root, strings.NewReader(""), nil, argv...)
			}
		}
		if b, err := os.ReadFile(s.NewRoot + "/.ferry-sim/calls.log"); err != nil || !bytes.Contains(b, []byte("hvmail_check_config")) {
			t.Errorf("the stand-ins did not run under the new root (calls.log: %v)", err)
		}
	}
	for f, mt := range real {
		fi, err := os.Stat(f)
		if err != nil || !fi.ModTime().Equal(mt) {
			t.Errorf("real %s changed while the stand-ins ran (%v)", f, err)
		}
	}
	for _, p := range absent {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("real %s appeared while the stand-ins ran", p)
		}
	}
}

// A stand-in may name an absolute path only under $FERRY_ROOT; /dev/null
// is the one exception. Lines marked "not-a-path" only print text.
var (
	absPath    = regexp.MustCompile(`(^|[\s"'(<>|;=:])/[A-Za-z0-9_.]`)
	allowedAbs = regexp.MustCompile(`(2>|>|<)\s*/dev/null|--exclude=/`)
	printLine  = regexp.MustCompile(`^\s*(echo\b|printf\b|sim_sv=)`)
)

func TestStandinPathsAreUnderFerryRoot(t *testing.T) {
	t.Parallel()
	marked := 0
	for _, sc := range allScripts() {
		text, err := scriptText(sc)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, `[ -f "$FERRY_ROOT/.ferry-sim/marker" ] || sim_refuse`) {
			t.Errorf("%s lacks the marker check", sc.name)
		}
		for i, line := range strings.Split(text, "\n") {
			if i == 0 || strings.HasPrefix(strings.TrimSpace(line), "#") {
				continue
			}
			if strings.Contains(line, "# not-a-path") {
				marked++
				if !printLine.MatchString(line) {
					t.Errorf("%s:%d is marked not-a-path but does more than print: %s", sc.name, i+1, line)
				}
				continue
			}
			code := allowedAbs.ReplaceAllString(line, "")
			if loc := absPath.FindStringIndex(code); loc != nil {
				t.Errorf("%s:%d names an absolute path not under $FERRY_ROOT: %s", sc.name, i+1, strings.TrimSpace(line))
			}
		}
	}
	if marked > 4 {
		t.Errorf("%d lines are marked not-a-path; keep such exceptions rare", marked)
	}
}

// TestPathCheckCatchesABarePath proves the check above can fail.
func TestPathCheckCatchesABarePath(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{`rm -f /etc/hosts`, `cat "/var/hvmail/x"`, `x=/etc/resolv.conf`, `echo hi >/etc/motd`} {
		if absPath.FindStringIndex(allowedAbs.ReplaceAllString(bad, "")) == nil {
			t.Errorf("the path check misses %q", bad)
		}
	}
	for _, good := range []string{`rm -f "$FERRY_ROOT/etc/hosts"`, `cmd 2>/dev/null`, `cp -p "$q/info/$d"`} {
		if absPath.FindStringIndex(allowedAbs.ReplaceAllString(good, "")) != nil {
			t.Errorf("the path check flags %q", good)
		}
	}
}

// TestPackageInstallersTakeOptionsAnywhere: the runbooks write
// "yum install -y ruby" and "apt-get install -y ruby wget", with the option
// after the subcommand, and without -y a closed stdin must abort.
func TestPackageInstallersTakeOptionsAnywhere(t *testing.T) {
	for _, c := range []struct{ family, tool string }{{"rhel", "yum"}, {"debian", "apt-get"}} {
		s := newSim(t, Options{Messages: 5, Family: c.family})
		if r := run(t, s.NewRoot, strings.NewReader(""), nil, c.tool, "install", "ruby"); r.code == 0 {
			t.Errorf("%s install without -y and no answer went ahead", c.tool)
		}
		mustRun(t, s.NewRoot, nil, c.tool, "install", "-y", "ruby", "wget")
		mustRun(t, s.NewRoot, nil, c.tool, "-y", "install", "curl")
		for _, p := range []string{"ruby", "wget", "curl"} {
			q := []string{"rpm", "-q", p}
			if c.family == "debian" {
				q = []string{"dpkg-query", "-W", p}
			}
			mustRun(t, s.NewRoot, nil, q...)
		}
		if r := run(t, s.NewRoot, nil, nil, c.tool, "install", "--bogus", "x"); r.code == 0 {
			t.Errorf("%s accepted an option it does not simulate", c.tool)
		}
	}
}
