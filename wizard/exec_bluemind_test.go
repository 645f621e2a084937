package wizard

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/testenv"
)

// These tests run the steps of the BlueMind runbook that only BlueMind uses
// through the TaskExecutor, as the engine does: the new server is a local
// root directory, the old one another root directory reached over a real
// OpenSSH sshd, and rsync, dpkg-query, pg_dump, pg_restore and PostgreSQL
// are the real programs.

// bmPair is an executor bound to a pair of roots, with the BlueMind runbook.
type bmPair struct {
	x                *TaskExecutor
	rb               *Runbook
	oldRoot, newRoot string
	rep              *bmRecorder
	env              *StepEnv
}

func newBMPair(t *testing.T, secrets map[string]string) *bmPair {
	t.Helper()
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	oldRoot, newRoot := filepath.Join(t.TempDir(), "old"), filepath.Join(t.TempDir(), "new")
	for _, d := range []string{oldRoot, newRoot + "/var/spool"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	nh, err := remote.NewLocal(HostNew, newRoot)
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{New: nh, OldSSH: remote.SSHOptions{Name: HostOld, Addr: "127.0.0.1", Port: srv.Port, Root: oldRoot,
		IdentityFiles: []string{srv.UserKey}, KnownHostsFile: srv.KnownHosts, ConfigFile: "none"}}
	t.Cleanup(func() { x.Close() })
	rep := &bmRecorder{}
	env := &StepEnv{
		Data: TemplateData{Params: rb.Params, Family: FamilyDebian,
			Answers: map[string]string{"old_addr": "127.0.0.1", "ssh_port": strconv.Itoa(srv.Port), "precopy_cyrus": "no"},
			Facts:   map[string]string{"old_addr": "127.0.0.1", "cpus": "2"}},
		Report: rep, Secrets: secrets,
	}
	return &bmPair{x: x, rb: rb, oldRoot: oldRoot, newRoot: newRoot, rep: rep, env: env}
}

// step returns a copy of a runbook step with extra parameters (for the step
// and its checks), leaving the runbook as it is.
func (b *bmPair) step(t *testing.T, id string, extra map[string]any) *Step {
	t.Helper()
	s := b.rb.Step(id)
	if s == nil {
		t.Fatalf("the bluemind runbook has no step %q", id)
	}
	c := *s
	c.Params = withExtra(s.Params, extra)
	for _, ck := range []**Check{&c.Precondition, &c.Success} {
		if *ck != nil && (*ck).Kind == s.Kind {
			cc := **ck
			cc.Params = withExtra(cc.Params, extra)
			*ck = &cc
		}
	}
	return &c
}

func withExtra(p, extra map[string]any) map[string]any {
	out := maps.Clone(p)
	if out == nil {
		out = map[string]any{}
	}
	maps.Copy(out, extra)
	return out
}

func (b *bmPair) run(t *testing.T, s *Step) (Outcome, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return b.x.Run(ctx, s, b.env)
}

func (b *bmPair) check(t *testing.T, s *Step, c *Check) (bool, string) {
	t.Helper()
	if c == nil || c.Kind == "" {
		t.Fatalf("step %s has no check kind to run", s.ID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ok, reason, err := b.x.Check(ctx, s, c, b.env)
	if err != nil {
		t.Fatalf("check %s of step %s could not run: %v", c.Kind, s.ID, err)
	}
	return ok, reason
}

// bmRecorder is a Reporter safe for the parallel transfers. It keeps every
// line and the last progress.
type bmRecorder struct {
	mu    sync.Mutex
	lines []string
	last  tasks.Progress
}

func (r *bmRecorder) Line(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, stream+": "+text)
}

func (r *bmRecorder) Progress(p tasks.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = p
}

func (r *bmRecorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines, r.last = nil, tasks.Progress{}
}

func (r *bmRecorder) snapshot() (tasks.Progress, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, append([]string(nil), r.lines...)
}

func bmWrite(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func bmRead(t *testing.T, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatalf("read %s: %v", p, err)
	}
	return string(b)
}

func bmAbsent(t *testing.T, root, p string) {
	t.Helper()
	if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s should not exist under %s (stat: %v)", p, root, err)
	}
}

// treeTotals is what rsync's --stats says of a tree: every entry (the top
// directory included) and the size of every regular file name.
func treeTotals(t *testing.T, dir string) (entries, bytes int64) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		entries++
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			bytes += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries, bytes
}

// sameTree fails unless dir under newRoot holds exactly what it holds under
// oldRoot: the same names, types and file contents.
func sameTree(t *testing.T, oldRoot, newRoot, dir string) {
	t.Helper()
	list := func(root string) map[string]string {
		m := map[string]string{}
		base := filepath.Join(root, dir)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(base, p)
			v := d.Type().String()
			if d.Type().IsRegular() {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				v = string(b)
			}
			m[rel] = v
			return nil
		})
		if err != nil {
			t.Fatalf("walk %s: %v", base, err)
		}
		return m
	}
	o, n := list(oldRoot), list(newRoot)
	if !maps.Equal(o, n) {
		t.Errorf("%s differs between old and new:\nold %q\nnew %q", dir, o, n)
	}
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// paramList reads a list parameter of the runbook.
func paramList(t *testing.T, rb *Runbook, name string) []string {
	t.Helper()
	l := params(rb.Params).list(name)
	if len(l) == 0 {
		t.Fatalf("the bluemind runbook has no list parameter %s", name)
	}
	return l
}

// checkCounters fails unless the outcome's byte and entry counters are the
// sums of the trees of dirs on the old server, and the last progress shown
// live says the same.
func checkCounters(t *testing.T, b *bmPair, o Outcome, dirs []string) {
	t.Helper()
	var entries, size int64
	for _, d := range dirs {
		e, s := treeTotals(t, filepath.Join(b.oldRoot, d))
		entries += e
		size += s
	}
	c := o.Counters
	if c == nil {
		t.Fatal("the rsync outcome has no counters")
	}
	if c.Unit != "bytes" || c.Done != size || c.Total != size || c.FilesDone != entries || c.FilesTotal != entries {
		t.Errorf("counters %+v; the old trees of %v hold %d entries and %d bytes", *c, dirs, entries, size)
	}
	last, _ := b.rep.snapshot()
	if last.Done != c.Done || last.FilesTotal != c.FilesTotal {
		t.Errorf("the last progress shown live (%+v) is not the outcome's total (%+v)", last, *c)
	}
}

// checkCommands fails unless there is one successful rsync command per
// directory, with the options the step asks for.
func checkCommands(t *testing.T, o Outcome, dirs []string, want ...string) {
	t.Helper()
	if len(o.Commands) != len(dirs) {
		t.Fatalf("%d commands recorded for %d directories: %+v", len(o.Commands), len(dirs), o.Commands)
	}
	for _, d := range dirs {
		found := false
		for _, c := range o.Commands {
			if strings.Contains(c.Command, d+"/ ") && c.Exit == 0 && c.Host == HostNew {
				found = true
				for _, w := range want {
					if !strings.Contains(c.Command, " "+w+" ") {
						t.Errorf("the rsync of %s lacks %s: %s", d, w, c.Command)
					}
				}
			}
		}
		if !found {
			t.Errorf("no successful rsync of %s among %+v", d, o.Commands)
		}
	}
}

func TestBlueMindSpoolsThroughExecutor(t *testing.T) {
	t.Parallel()
	b := newBMPair(t, nil)
	spools := paramList(t, b.rb, "spools")
	cold := paramList(t, b.rb, "cold_spools")
	if len(spools) != 4 || len(cold) != 5 {
		t.Fatalf("spools %v, cold spools %v: the runbook changed, adapt the test", spools, cold)
	}
	// Every spool gets files; bm-hsm also a hard link and a name with a
	// space; the mail store a few messages.
	for i, d := range cold {
		bmWrite(t, b.oldRoot, d+"/top.dat", strings.Repeat("x", 100*(i+1)))
		bmWrite(t, b.oldRoot, d+"/sub dir/msg 1.eml", "Subject: "+d+"\n\nbody\n")
		bmWrite(t, b.oldRoot, d+"/sub dir/deeper/blob", strings.Repeat("y", 4096+i))
	}
	hsm, docs := spools[0], spools[2]
	if err := os.Link(filepath.Join(b.oldRoot, hsm, "top.dat"), filepath.Join(b.oldRoot, hsm, "sub dir/hard link.dat")); err != nil {
		t.Fatal(err)
	}
	bmWrite(t, b.oldRoot, docs+"/gone-later.txt", "deleted on old before the second pass")
	// The new server already has something only it holds: --delete removes it.
	bmWrite(t, b.newRoot, spools[3]+"/stale-on-new", "left by a test install")

	hot := b.step(t, "sync-spools-hot", nil)
	o, err := b.run(t, hot)
	if err != nil {
		t.Fatalf("first hot pass: %v\n%+v", err, o)
	}
	for _, d := range spools {
		sameTree(t, b.oldRoot, b.newRoot, d)
	}
	bmAbsent(t, b.newRoot, "/var/spool/cyrus")
	if inode(t, filepath.Join(b.newRoot, hsm, "top.dat")) != inode(t, filepath.Join(b.newRoot, hsm, "sub dir/hard link.dat")) {
		t.Error("the hard link on old arrived on new as two separate files")
	}
	checkCommands(t, o, spools, "-H", "--delete")
	checkCounters(t, b, o, spools)
	if o.Message != "4 directories in sync" || len(o.Warnings) > 0 {
		t.Errorf("first hot pass: message %q, warnings %q", o.Message, o.Warnings)
	}

	// Second hot pass: a file deleted on old goes on new too, a new one
	// arrives.
	if err := os.Remove(filepath.Join(b.oldRoot, docs, "gone-later.txt")); err != nil {
		t.Fatal(err)
	}
	bmWrite(t, b.oldRoot, hsm+"/arrived later", "new mail")
	b.rep.reset()
	if o, err = b.run(t, hot); err != nil {
		t.Fatalf("second hot pass: %v", err)
	}
	bmAbsent(t, b.newRoot, docs+"/gone-later.txt")
	if got := bmRead(t, b.newRoot, hsm+"/arrived later"); got != "new mail" {
		t.Errorf("a file added on old between the passes reads %q on new", got)
	}
	for _, d := range spools {
		sameTree(t, b.oldRoot, b.newRoot, d)
	}
	checkCounters(t, b, o, spools)

	// An empty spool on old (an unmounted disk) makes the step refuse for
	// that spool; new's copy stays whole, the other spools still sync.
	keep := filepath.Join(t.TempDir(), filepath.Base(docs))
	if err := os.Rename(filepath.Join(b.oldRoot, docs), keep); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(b.oldRoot, docs), 0o755); err != nil {
		t.Fatal(err)
	}
	bmWrite(t, b.oldRoot, hsm+"/during the empty pass", "still copied")
	b.rep.reset()
	o, err = b.run(t, hot)
	if err == nil {
		t.Fatal("a hot pass with an empty bm-docs on old succeeded")
	}
	if !errors.Is(err, tasks.ErrSourceEmpty) || !strings.Contains(err.Error(), docs) {
		t.Errorf("the refusal does not name the empty source %s: %v", docs, err)
	}
	if got, want := bmRead(t, b.newRoot, docs+"/top.dat"), bmRead(t, keep, "top.dat"); got != want {
		t.Errorf("new's bm-docs lost its content after the refusal: top.dat has %d bytes, want %d", len(got), len(want))
	}
	sameTree(t, filepath.Dir(keep), b.newRoot+filepath.Dir(docs), filepath.Base(docs))
	if got := bmRead(t, b.newRoot, hsm+"/during the empty pass"); got != "still copied" {
		t.Errorf("the other spools did not sync during the refused pass: %q", got)
	}
	others := []string{spools[0], spools[1], spools[3]}
	checkCommands(t, o, others, "-H", "--delete")
	for _, c := range o.Commands {
		if strings.Contains(c.Command, docs) {
			t.Errorf("the refused transfer of %s is recorded as run: %+v", docs, c)
		}
	}
	checkCounters(t, b, o, others)
	if err := os.Remove(filepath.Join(b.oldRoot, docs)); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(keep, filepath.Join(b.oldRoot, docs)); err != nil {
		t.Fatal(err)
	}

	// The cold pass adds the mail store, without incremental recursion.
	b.rep.reset()
	o, err = b.run(t, b.step(t, "sync-spools-cold", nil))
	if err != nil {
		t.Fatalf("cold pass: %v", err)
	}
	for _, d := range cold {
		sameTree(t, b.oldRoot, b.newRoot, d)
	}
	checkCommands(t, o, cold, "-H", "--delete", "--no-inc-recursive")
	checkCounters(t, b, o, cold)
}

// bmDpkgStatus is a dpkg status database with the given packages.
func bmDpkgStatus(pkgs map[string]string) string {
	var sb strings.Builder
	for _, n := range sortedKeys(pkgs) {
		fmt.Fprintf(&sb, "Package: %s\nStatus: install ok installed\nPriority: optional\nMaintainer: BlueMind <test@example.org>\nArchitecture: all\nVersion: %s\nDescription: %s\n\n", n, pkgs[n], n)
	}
	return sb.String()
}

func TestBlueMindConfigAndPreflightThroughExecutor(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/usr/bin/dpkg-query"); err != nil {
		t.Skipf("SKIPPING: /usr/bin/dpkg-query is not installed (%v); the package comparisons need dpkg", err)
	}
	b := newBMPair(t, nil)

	// dpkg-query is the real one, reading each root's own status database.
	wrapper := "#!/bin/sh\nexec /usr/bin/dpkg-query --admindir=\"$FERRY_ROOT/var/lib/dpkg\" \"$@\"\n"
	for _, root := range []string{b.oldRoot, b.newRoot} {
		bmWrite(t, root, "/usr/bin/dpkg-query", wrapper)
		if err := os.Chmod(filepath.Join(root, "/usr/bin/dpkg-query"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	oldPkgs := map[string]string{"bm-core": "5.3.1-2", "bm-plugin-ldap-import": "5.3.1-2", "bm-plugin-signature": "5.3.1-2", "bm-nginx": "1.24-1"}
	bmWrite(t, b.oldRoot, "/var/lib/dpkg/status", bmDpkgStatus(oldPkgs))
	newPkgs := map[string]string{"bm-core": "5.3.1-3", "bm-plugin-ldap-import": "5.3.1-2", "bm-nginx": "1.26-1"}
	bmWrite(t, b.newRoot, "/var/lib/dpkg/status", bmDpkgStatus(newPkgs))

	version := b.step(t, "same-version", nil)
	if ok, reason := b.check(t, version, version.Success); ok || !strings.Contains(reason, "bm-core is 5.3.1-2 on old and 5.3.1-3 on new") {
		t.Errorf("different bm-core versions: ok=%v, reason %q", ok, reason)
	}
	plugins := b.step(t, "same-plugins", nil)
	if _, err := b.run(t, plugins); err == nil || !strings.Contains(err.Error(), "bm-plugin-signature 5.3.1-2 is on old only") {
		t.Errorf("a plugin missing on new: %v", err)
	}
	newPkgs["bm-core"], newPkgs["bm-plugin-signature"] = "5.3.1-2", "5.3.1-2"
	bmWrite(t, b.newRoot, "/var/lib/dpkg/status", bmDpkgStatus(newPkgs))
	if ok, reason := b.check(t, version, version.Success); !ok {
		t.Errorf("the same bm-core version on both: %s", reason)
	}
	if o, err := b.run(t, plugins); err != nil || !strings.Contains(o.Message, "the 2 bm-plugin-* package(s) are the same") {
		t.Errorf("the same plugins on both (bm-nginx differs but is no plugin): %+v, %v", o, err)
	}

	// The configuration files of the runbook's list, on old: globs match
	// several files and a directory; other.pem matches no glob.
	oldFiles := map[string]string{
		"/etc/bm/bm.ini":                                       "[global]\nexternal-url = mail.example.org\nhost = 10.0.0.5\n",
		"/etc/bm/mcast.id":                                     "4242\n",
		"/etc/bm/local/bm-core.log.xml":                        "<configuration/>\n",
		"/etc/nginx/sw.htpasswd":                               "admin:$apr1$x$y\n",
		"/etc/ssl/certs/bm_cert.pem":                           "CERT\n",
		"/etc/ssl/certs/bm_cert-chain.pem":                     "CHAIN\n",
		"/var/lib/bm-ca/ca.crt":                                "CA\n",
		"/var/lib/bm-ca/private key/ca.key":                    "KEY\n",
		"/usr/share/bm-elasticsearch/config/elasticsearch.yml": "cluster.name: bluemind\n",
	}
	for _, f := range paramList(t, b.rb, "config_files") {
		if strings.HasPrefix(f, "/etc/postfix/") {
			oldFiles[f] = "postfix " + filepath.Base(f) + " of old\n"
		}
	}
	// Old's files were last changed long ago, as on a real server (rsync's
	// quick check compares size and modification time).
	past := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for p, c := range oldFiles {
		bmWrite(t, b.oldRoot, p, c)
		if err := os.Chtimes(filepath.Join(b.oldRoot, p), past, past); err != nil {
			t.Fatal(err)
		}
	}
	bmWrite(t, b.oldRoot, "/etc/ssl/certs/other.pem", "not BlueMind's\n")
	// On new: its own bm.ini and main.cf (to be backed up), an htpasswd
	// identical to old's (left alone, no backup), a file only it has.
	newIni := "[global]\nexternal-url = mail.example.org\nhost = 10.0.0.9\n"
	bmWrite(t, b.newRoot, "/etc/bm/bm.ini", newIni)
	bmWrite(t, b.newRoot, "/etc/postfix/main.cf", "postfix main.cf of the new server\n")
	bmWrite(t, b.newRoot, "/etc/nginx/sw.htpasswd", oldFiles["/etc/nginx/sw.htpasswd"])
	bmWrite(t, b.newRoot, "/etc/bm/only-on-new.conf", "kept\n")
	stamp := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, root := range []string{b.oldRoot, b.newRoot} {
		if err := os.Chtimes(filepath.Join(root, "/etc/nginx/sw.htpasswd"), stamp, stamp); err != nil {
			t.Fatal(err)
		}
	}

	url := b.step(t, "same-external-url", nil)
	if o, err := b.run(t, url); err != nil || o.Message != "external-url is mail.example.org on both servers" {
		t.Errorf("same external URL: %+v, %v", o, err)
	}
	bmWrite(t, b.newRoot, "/etc/bm/bm.ini", strings.Replace(newIni, "mail.example.org", "mx.example.net", 1))
	if _, err := b.run(t, url); err == nil || !strings.Contains(err.Error(), `"mail.example.org" on old and "mx.example.net" on new`) {
		t.Errorf("different external URLs: %v", err)
	}
	bmWrite(t, b.newRoot, "/etc/bm/bm.ini", newIni)

	o, err := b.run(t, b.step(t, "copy-config", nil))
	if err != nil {
		t.Fatalf("copy-config: %v\n%+v", err, o)
	}
	for p, c := range oldFiles {
		if got := bmRead(t, b.newRoot, p); got != c {
			t.Errorf("%s on new reads %q, want old's %q", p, got, c)
		}
	}
	bmAbsent(t, b.newRoot, "/etc/ssl/certs/other.pem")
	if got := bmRead(t, b.newRoot, "/etc/bm/only-on-new.conf"); got != "kept\n" {
		t.Errorf("a file only new had was changed: %q", got)
	}
	backups := func(p string) []string {
		m, err := filepath.Glob(filepath.Join(b.newRoot, p) + tasks.BackupInfix + "*")
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for p, was := range map[string]string{"/etc/bm/bm.ini": newIni, "/etc/postfix/main.cf": "postfix main.cf of the new server\n"} {
		m := backups(p)
		if len(m) != 1 {
			t.Errorf("%s: %d backups %v, want 1", p, len(m), m)
			continue
		}
		if got, _ := os.ReadFile(m[0]); string(got) != was {
			t.Errorf("the backup %s holds %q, want new's own %q", m[0], got, was)
		}
	}
	for _, p := range []string{"/etc/nginx/sw.htpasswd", "/etc/bm/mcast.id", "/etc/postfix/master.cf"} {
		if m := backups(p); len(m) != 0 {
			t.Errorf("%s was not overwritten (identical, or absent on new) yet has backups %v", p, m)
		}
	}
	if len(o.Commands) != 1 || o.Commands[0].Exit != 0 || !strings.Contains(o.Commands[0].Command, "--backup") {
		t.Errorf("copy-config commands: %+v", o.Commands)
	}
	if want := fmt.Sprintf("copied %d items, each to the same path as on the old server", len(paramList(t, b.rb, "config_files"))); o.Message != want {
		t.Errorf("copy-config message %q, want %q", o.Message, want)
	}
	// The copied bm.ini now carries old's setting, so the comparison holds.
	if _, err := b.run(t, url); err != nil {
		t.Errorf("external URL after the copy: %v", err)
	}
}

// noSecret fails if the secret is anywhere in an outcome or output lines.
func noSecret(t *testing.T, what string, secret string, o Outcome, lines []string, err error) {
	t.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s\n%q\n", o.Message, o.Warnings)
	for _, c := range o.Commands {
		sb.WriteString(c.Command + "\n")
	}
	for k, v := range o.Facts {
		sb.WriteString(k + "=" + v + "\n")
	}
	sb.WriteString(strings.Join(lines, "\n"))
	if err != nil {
		sb.WriteString(err.Error())
	}
	if strings.Contains(sb.String(), secret) {
		t.Errorf("%s: the database password appears in the outcome, the output or the error:\n%s", what, sb.String())
	}
}

// pgLinks puts the cluster's own client programs first on a root's PATH
// (the root's /usr/bin), so both servers use the version under test.
func pgLinks(t *testing.T, root, binDir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, prog := range []string{"pg_dump", "pg_restore", "psql", "createdb", "dropdb"} {
		if err := os.Symlink(filepath.Join(binDir, prog), filepath.Join(root, "usr/bin", prog)); err != nil {
			t.Fatal(err)
		}
	}
}
