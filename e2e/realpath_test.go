package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/testenv"
	"github.com/ferry-migrate/ferry/wizard"
)

// The real-path runs: the real binary's "ferry run --headless" (not the
// demo) through the whole GreenArrow procedure on two namespaced hosts
// (package testenv), with root "/" on both, a stock PATH, the old server
// behind OpenSSH's sshd on port 2222 and, on the new server, the vendor's
// "Host oldserver" block in /root/.ssh/config. Only the vendor's programs
// are stand-ins (package sim). The end state is then read from the hosts'
// trees directly, not from anything ferry reports.

// realPathMessages is the size of the old server's disk queue.
const realPathMessages = 400

// Paths inside the new host.
const (
	rpAnswers  = "/root/answers.json"
	rpStateDir = "/var/lib/ferry"
	rpTestAddr = "postmaster@example.net"
)

// realPathCase is one variant of the run.
type realPathCase struct {
	name string
	// old is the --old flag.
	old string
	// legacy: the old host's sshd offers only CentOS 6-era algorithms.
	legacy bool
	// trustByAnswers: the old host key is not in known_hosts; the answers
	// file trusts its fingerprint.
	trustByAnswers bool
	// resolvLink: the new host's /etc/resolv.conf is a link to a
	// systemd-resolved stub.
	resolvLink bool
	// answers the admin adds for this variant.
	answers map[string]string
	// busyMergePath: before the run, an unrelated process on the new
	// server has the merge program's path in its command line (an admin
	// reading the program in another window).
	busyMergePath bool
	// dnsWithEquals writes the old server's DNS cache setting as
	// "dns_cache_service_run = no".
	dnsWithEquals bool
	// lifeline answers yes to the spare sshd: the new host's own
	// /usr/sbin/sshd and /etc/ssh/sshd_config (this machine's, under the
	// overlay) run on the first free port from 2222 during each step that
	// can cut access. The host gets /run/sshd, as a server whose sshd runs
	// has it.
	lifeline bool
	// compare runs, on a second pair of hosts, the vendor's commands as a
	// plain script, its cutover at the same time as ferry's, and logs how
	// the two downtime windows compare.
	compare bool
}

var realPathCases = []realPathCase{
	// Only ~/.ssh/config knows the old server's address and port: no
	// old_addr, no ssh_port in the answers.
	{name: "stock-sshd-old-by-alias", old: testenv.OldAlias, busyMergePath: true, compare: true},
	// A CentOS 6-era old server, by address; the admin gives the port,
	// trusts the host key by its fingerprint and lets ferry write the weak
	// algorithms into the Host oldserver block.
	{name: "centos6-sshd", old: testenv.OldHostIP, legacy: true, trustByAnswers: true,
		answers: map[string]string{"ssh_port": strconv.Itoa(testenv.OldSSHPort), "ssh_legacy": "yes"}},
	// resolv.conf is systemd-resolved's stub link; the admin has ferry
	// replace it with a plain file. The old greenarrow.conf writes its DNS
	// setting with an "=".
	// It also keeps the spare sshd during the steps that can cut access.
	{name: "resolv-conf-symlink", old: testenv.OldHostIP, resolvLink: true, dnsWithEquals: true, lifeline: true,
		answers: map[string]string{"ssh_port": strconv.Itoa(testenv.OldSSHPort), "resolv_link_action": "replace"}},
}

// TestRealPathGreenArrow runs every variant to the end and checks the end
// state.
func TestRealPathGreenArrow(t *testing.T) {
	for _, c := range realPathCases {
		t.Run(c.name, func(t *testing.T) { runRealPath(t, c) })
	}
}

// downtime is a measured downtime window and the time of each step in it.
type downtime struct {
	window time.Duration
	order  []string
	steps  map[string]time.Duration
}

func (d downtime) String() string {
	parts := make([]string, len(d.order))
	for i, s := range d.order {
		parts[i] = fmt.Sprintf("%s %s", s, d.steps[s].Round(time.Millisecond))
	}
	return fmt.Sprintf("%s (%s)", d.window.Round(time.Millisecond), strings.Join(parts, ", "))
}

func (d *downtime) add(step string, took time.Duration) {
	if d.steps == nil {
		d.steps = map[string]time.Duration{}
	}
	if _, ok := d.steps[step]; !ok {
		d.order = append(d.order, step)
	}
	d.steps[step] += took
}

// rpSim builds a simulated pair for the harness: no merge delay (the run is
// not watched), the ferry binary installed on the new server as the README
// says (/usr/local/bin).
func rpSim(t *testing.T) *sim.Sim {
	t.Helper()
	s, err := sim.Setup(filepath.Join(t.TempDir(), "sim"), sim.Options{Messages: realPathMessages, MergeDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(ferryBin)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(s.NewRoot, "usr/local/bin/ferry")
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	return s
}

// rpAnswerSet is what an admin writes for an unattended run: every answer,
// every destructive step confirmed, every manual step done.
func rpAnswerSet(t *testing.T, c realPathCase, hs *testenv.Hosts) *wizard.AnswerSet {
	t.Helper()
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	set := &wizard.AnswerSet{Answers: map[string]string{
		"ip_change":    "no",
		"backup_dir":   sim.BackupDir,
		"resolvers":    "8.8.8.8 8.8.4.4 1.1.1.1",
		"test_address": rpTestAddr,
		"lifeline":     "no",
	}}
	for k, v := range c.answers {
		set.Answers[k] = v
	}
	if c.lifeline {
		set.Answers[wizard.LifelineKey] = "yes"
	}
	for _, st := range rb.Steps {
		if st.Destructive {
			set.Confirm = append(set.Confirm, st.ID)
		}
		if st.Level == wizard.LevelManual {
			set.Done = append(set.Done, st.ID)
		}
	}
	if c.trustByAnswers {
		set.TrustHostKey = hs.OldHostKeyFingerprint
	}
	return set
}

// stubResolv is systemd-resolved's stub file, which its link points at.
const stubResolv = "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\nnameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n"

// runRealPath runs one variant and checks the end state.
func runRealPath(t *testing.T, c realPathCase) {
	var script *scriptRun
	if c.compare {
		script = prepareScript(t)
	}
	s := rpSim(t)
	if c.resolvLink {
		stub := filepath.Join(s.NewRoot, "run/systemd/resolve/stub-resolv.conf")
		if err := os.MkdirAll(filepath.Dir(stub), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(stub, []byte(stubResolv), 0o644); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(s.NewRoot, "etc/resolv.conf")
		if err := os.Remove(link); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../run/systemd/resolve/stub-resolv.conf", link); err != nil {
			t.Fatal(err)
		}
	}
	if c.dnsWithEquals {
		conf := filepath.Join(s.OldRoot, "var/hvmail/control/greenarrow.conf")
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte("general {\n"), []byte("general {\n    dns_cache_service_run = no\n"), 1)
		if err := os.WriteFile(conf, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if c.lifeline {
		if err := os.MkdirAll(filepath.Join(s.NewRoot, "run/sshd"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshotOld(t, s)
	machineHosts := fileSum(t, "/etc/hosts")

	hs := testenv.StartHosts(t, testenv.HostsOptions{OldRoot: s.OldRoot, NewRoot: s.NewRoot, LegacySSHD: c.legacy, NoKnownHosts: c.trustByAnswers})
	set := rpAnswerSet(t, c, hs)
	b, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.NewRoot, strings.TrimPrefix(rpAnswers, "/")), b, 0o600); err != nil {
		t.Fatal(err)
	}

	if c.busyMergePath {
		// Two commands, so that sh stays (no exec of the last one) with
		// the path in its argv; it dies with the host.
		viewer := hs.New.Command("sh", "-c", "sleep 900; :", "less", "/var/hvmail/libexec/hvmail_queue_merge")
		if err := viewer.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = viewer.Process.Kill(); _ = viewer.Wait() })
	}

	args := []string{"ferry", "run", "--runbook", "greenarrow", "--old", c.old, "--headless", "--answers", rpAnswers, "--state-dir", rpStateDir}
	cmd := hs.New.Command(args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if script != nil {
		// The script's cutover starts when ferry's downtime does, so that
		// both run under the same load of this shared machine.
		cmd.Stdout = io.MultiWriter(&stdout, &lineHook{fn: func(line []byte) {
			if bytes.Contains(line, []byte(`"type":"`+string(wizard.EvDowntimeStart)+`"`)) {
				script.start()
			}
		}})
	}
	code := runOnHost(t, cmd, 8*time.Minute)
	evs := events(t, stdout.Bytes())
	if code != 0 || len(evs) == 0 || evs[len(evs)-1].Type != wizard.EvRunFinished || evs[len(evs)-1].Status != wizard.StatusOK {
		t.Errorf("%s: exit %d\n%s\nstderr:\n%s", strings.Join(args, " "), code, describeRun(evs), lastLines(stderr.String(), 20))
		if c.legacy || c.trustByAnswers {
			t.Logf("old host's sshd log (last lines):\n%s", lastLines(hs.Log(), 15))
		}
	}

	checkRealPathEnd(t, s, c, before)
	if c.lifeline {
		checkLifelines(t, evs)
	}
	if got := fileSum(t, "/etc/hosts"); got != machineHosts {
		t.Errorf("this machine's own /etc/hosts changed during the run")
	}

	var ferry downtime
	st, err := wizard.LoadState(filepath.Join(s.NewRoot, strings.TrimPrefix(rpStateDir, "/")))
	switch {
	case err != nil:
		t.Errorf("journal: %v", err)
	case code != 0 || st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero():
	default:
		ferry.window = st.DowntimeEnd.Sub(st.DowntimeStart)
		for _, ev := range evs {
			if ev.Type == wizard.EvStepFinished && !ev.Time.Before(st.DowntimeStart) && !ev.Time.After(st.DowntimeEnd) {
				ferry.add(ev.Step, ev.Duration)
			}
		}
		t.Logf("ferry's downtime window: %s", ferry)
	}
	if script == nil {
		return
	}
	script.start() // in case ferry never got to its downtime
	sd, err := script.wait()
	if err != nil {
		t.Errorf("the plain script's cutover: %v", err)
		return
	}
	if r, err := script.sim.NewQueueCheck(); err != nil || !r.OK() || r.OldPresent {
		t.Errorf("after the plain script: new queue %s (%v)", r, err)
	}
	if ferry.window <= 0 {
		t.Logf("the plain script's downtime window: %s; ferry's run did not finish, so there is no ratio", sd)
		return
	}
	mf, ms := ferry.window-ferry.steps["merge-queue"], sd.window-sd.steps["merge-queue"]
	t.Logf("downtime window, %d messages, both cutovers at once on two pairs of hosts (measured, not asserted):\n  ferry run:    %s\n  plain script: %s\n  ratio %.2f; without the queue merge %.2f (%s vs %s)",
		realPathMessages, ferry, sd, float64(ferry.window)/float64(sd.window), float64(mf)/float64(ms), mf.Round(time.Millisecond), ms.Round(time.Millisecond))
}

// checkLifelines checks that each step that can cut access and ran had a
// spare sshd up before it started (lifeline_up: its banner was read) and
// stopped after it finished (lifeline_down), with no warning about it.
func checkLifelines(t *testing.T, evs []wizard.Event) {
	t.Helper()
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string][]wizard.EventType{}
	for _, ev := range evs {
		switch ev.Type {
		case wizard.EvLifelineUp, wizard.EvLifelineDown, wizard.EvStepStarted, wizard.EvStepFinished:
			seen[ev.Step] = append(seen[ev.Step], ev.Type)
		case wizard.EvWarning:
			if strings.Contains(ev.Message, "spare sshd") {
				t.Errorf("warning about the spare sshd at %s: %s", ev.Step, ev.Message)
			}
		}
		if ev.Type == wizard.EvLifelineUp {
			t.Logf("%s: %s", ev.Step, ev.Message)
		}
	}
	n := 0
	for _, st := range rb.Steps {
		if st.CutsAccess == "" || len(seen[st.ID]) == 0 {
			continue
		}
		n++
		got := seen[st.ID]
		if got[0] != wizard.EvLifelineUp || got[len(got)-1] != wizard.EvLifelineDown {
			t.Errorf("step %s: %v, want lifeline_up first and lifeline_down last", st.ID, got)
		}
	}
	if n < 3 {
		t.Errorf("only %d steps that can cut access kept a spare sshd; want install-prerequisites, reinstall-packages and dns-resolvers", n)
	}
}

// runOnHost starts cmd, a command on a test host (its output already
// routed by the caller), and waits for it, at most limit: a run that hangs
// is a failure too, so it is killed then (closing the hosts at the end of
// the test kills what is left inside), and its I/O is given up 10 s after
// it ends. It returns the exit code: 0 on success, the command's own code,
// or -1 when it did not end with one (killed, or Wait failed otherwise).
// Starting the command fails the test.
func runOnHost(t *testing.T, cmd *exec.Cmd, limit time.Duration) int {
	t.Helper()
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(limit, func() { _ = cmd.Process.Kill() })
	err := cmd.Wait()
	timer.Stop()
	if err != nil {
		if ee, ok := err.(interface{ ExitCode() int }); ok {
			return ee.ExitCode()
		}
		return -1
	}
	return 0
}

// lineHook calls fn with every complete line written to it.
type lineHook struct {
	buf []byte
	fn  func(line []byte)
}

func (h *lineHook) Write(p []byte) (int, error) {
	h.buf = append(h.buf, p...)
	for {
		i := bytes.IndexByte(h.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		h.fn(h.buf[:i])
		h.buf = h.buf[i+1:]
	}
}

// oldState is what the old tree held before the run, for the checks.
type oldState struct {
	tablespace map[string]string // path under the tablespace dir -> mode and sum
	control    map[string]string // control file -> content
}

func snapshotOld(t *testing.T, s *sim.Sim) oldState {
	t.Helper()
	o := oldState{tablespace: treeSums(t, filepath.Join(s.OldRoot, sim.TablespaceDir)), control: map[string]string{}}
	for _, f := range []string{"greenarrow.conf", "license_key", "bounce.boogie_studio_api_license_key", "me"} {
		b, err := os.ReadFile(filepath.Join(s.OldRoot, "var/hvmail/control", f))
		if err != nil {
			t.Fatal(err)
		}
		o.control[f] = string(b)
	}
	if len(o.tablespace) == 0 {
		t.Fatal("the old tree has no tablespace files to compare")
	}
	return o
}

// checkRealPathEnd reads the two trees and checks what a finished
// migration leaves, independently of what ferry reported.
func checkRealPathEnd(t *testing.T, s *sim.Sim, c realPathCase, before oldState) {
	t.Helper()
	// Every message of the old queue exactly once in the new one, named by
	// its inode, with its envelope; the parked queue gone.
	r, err := s.NewQueueCheck()
	switch {
	case err != nil:
		t.Errorf("new queue: %v", err)
	case !r.OK() || r.OldPresent:
		t.Errorf("new queue: %s", r)
	}

	// The tablespace kept outside /var/hvmail: the same tree on both.
	if got := treeSums(t, filepath.Join(s.NewRoot, sim.TablespaceDir)); !equalMaps(got, before.tablespace) {
		t.Errorf("tablespace %s on the new server differs from the old one's:\nold: %v\nnew: %v", sim.TablespaceDir, before.tablespace, got)
	}
	// The configuration and licence came across.
	for f, want := range before.control {
		if b, err := os.ReadFile(filepath.Join(s.NewRoot, "var/hvmail/control", f)); err != nil || string(b) != want {
			t.Errorf("new server's control/%s = %q, %v; want the old server's %q", f, b, err, want)
		}
	}

	// Services: up and enabled on the new server, down and disabled on the
	// old one.
	for _, w := range []struct{ root, file, want string }{
		{s.NewRoot, "services/greenarrow", "up"}, {s.NewRoot, "services/hvmail-mta", "up"}, {s.NewRoot, "enabled/greenarrow", "on"},
		{s.OldRoot, "services/greenarrow", "down"}, {s.OldRoot, "services/hvmail-mta", "down"}, {s.OldRoot, "enabled/greenarrow", "off"},
	} {
		b, _ := os.ReadFile(filepath.Join(w.root, ".ferry-sim", w.file))
		if f := strings.Fields(string(b)); len(f) == 0 || f[0] != w.want {
			t.Errorf("%s: %s is %q, want %s", filepath.Base(w.root), w.file, strings.TrimSpace(string(b)), w.want)
		}
	}

	// resolv.conf: a plain file listing the chosen resolvers (the link,
	// when there was one, replaced as the answers asked; its target kept).
	resolv := filepath.Join(s.NewRoot, "etc/resolv.conf")
	if fi, err := os.Lstat(resolv); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("new /etc/resolv.conf: %v, %v; want a regular file", fi, err)
	}
	b, _ := os.ReadFile(resolv)
	for _, ns := range []string{"8.8.8.8", "8.8.4.4", "1.1.1.1"} {
		if !strings.Contains(string(b), "nameserver "+ns+"\n") {
			t.Errorf("new /etc/resolv.conf lacks nameserver %s:\n%s", ns, b)
		}
	}
	if c.resolvLink {
		if stub, err := os.ReadFile(filepath.Join(s.NewRoot, "run/systemd/resolve/stub-resolv.conf")); err != nil || string(stub) != stubResolv {
			t.Errorf("the stub file the link pointed at was changed: %q, %v", stub, err)
		}
	}

	// The oldserver line is out of /etc/hosts; the rest is still there.
	hosts, _ := os.ReadFile(filepath.Join(s.NewRoot, "etc/hosts"))
	if strings.Contains(string(hosts), "oldserver") || !strings.Contains(string(hosts), "localhost") {
		t.Errorf("new /etc/hosts:\n%s\nwant the localhost lines and no oldserver line", hosts)
	}
	// root's ssh config still names the old server as the admin wrote it.
	cfg, _ := os.ReadFile(filepath.Join(s.NewRoot, "root/.ssh/config"))
	for _, want := range []string{"Host " + testenv.OldAlias, "HostName " + testenv.OldHostIP, "Port " + strconv.Itoa(testenv.OldSSHPort)} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("new /root/.ssh/config lost %q:\n%s", want, cfg)
		}
	}

	// The test message went out.
	outbox, _ := filepath.Glob(filepath.Join(s.NewRoot, ".ferry-sim/outbox/*"))
	sent := 0
	for _, f := range outbox {
		b, _ := os.ReadFile(f)
		if strings.Contains(string(b), "To: "+rpTestAddr+"\n") && strings.Contains(string(b), "Subject: GreenArrow Test Message\n") {
			sent++
		}
	}
	if sent != 1 {
		t.Errorf("test messages to %s in the new server's outbox: %d, want 1 (%d files)", rpTestAddr, sent, len(outbox))
	}

	// The old server is disarmed: no licence, no queued message, and the
	// queue directories themselves kept.
	for _, f := range []string{"license_key", "bounce.boogie_studio_api_license_key"} {
		if _, err := os.Lstat(filepath.Join(s.OldRoot, "var/hvmail/control", f)); err == nil {
			t.Errorf("old server still has control/%s", f)
		}
	}
	for _, d := range []string{"var/hvmail/qmail-ram/savedqueue", "var/hvmail/qmail-bounce/savedqueue",
		"var/hvmail/qmail-disk/queue/info", "var/hvmail/qmail-disk/queue/mess", "var/hvmail/qmail-disk/queue/remote",
		"var/hvmail/qmail-disk/queue/intd", "var/hvmail/qmail-disk/queue/local", "var/hvmail/qmail-disk/queue/todo",
		"var/hvmail/qmail-disk/queue/bounce"} {
		n, err := sim.CountFiles(filepath.Join(s.OldRoot, d))
		if err != nil || n != 0 {
			t.Errorf("old server's %s: %d files left (%v), want the directory kept and empty", d, n, err)
		}
	}
}

// describeRun says where a headless run stopped: every failed step with
// its message and last output lines, the last waiting step, and how the
// run finished.
func describeRun(evs []wizard.Event) string {
	var b strings.Builder
	output := map[string][]string{}
	lastStarted := ""
	for _, ev := range evs {
		switch ev.Type {
		case wizard.EvStepStarted:
			lastStarted = ev.Step
		case wizard.EvOutput:
			output[ev.Step] = append(output[ev.Step], ev.Message)
		case wizard.EvStepFinished:
			if ev.Status != wizard.StatusOK && ev.Status != wizard.StatusSkipped {
				fmt.Fprintf(&b, "step %s finished %s: %s\n", ev.Step, ev.Status, ev.Message)
				if out := output[ev.Step]; len(out) > 0 {
					fmt.Fprintf(&b, "  its last output lines:\n    %s\n", strings.Join(out[max(0, len(out)-8):], "\n    "))
				}
			}
		case wizard.EvCommand:
			if ev.Exit != nil && *ev.Exit != 0 {
				fmt.Fprintf(&b, "step %s: command on %s exited %d (the step may allow it): %s\n", ev.Step, ev.Host, *ev.Exit, ev.Command)
			}
		case wizard.EvWarning:
			fmt.Fprintf(&b, "step %s warned: %s\n", ev.Step, ev.Message)
		case wizard.EvRunFinished:
			fmt.Fprintf(&b, "run finished %s: %s\n", ev.Status, ev.Message)
		}
	}
	if len(evs) > 0 {
		last := evs[len(evs)-1]
		if last.Type == wizard.EvWaiting {
			fmt.Fprintf(&b, "last event: step %s waits for %s: %s\n", last.Step, last.Need, last.Message)
		}
	}
	fmt.Fprintf(&b, "last step started: %s; %d events", lastStarted, len(evs))
	return b.String()
}

// scriptRun is the vendor's procedure run by hand as a plain script would,
// on a pair of hosts of its own: the preparation, then the cutover (stop on
// old, final migration pass, tablespace copy, queue merge, removal of the
// parked queue, start on new) one command after the other.
type scriptRun struct {
	sim  *sim.Sim
	host *testenv.Host
	once sync.Once
	done chan scriptResult
}

type scriptResult struct {
	d   downtime
	err error
}

// prepareScript builds the script's pair of hosts and runs the
// preparation, up to the first migration pass (untimed).
func prepareScript(t *testing.T) *scriptRun {
	t.Helper()
	s := rpSim(t)
	hs := testenv.StartHosts(t, testenv.HostsOptions{OldRoot: s.OldRoot, NewRoot: s.NewRoot})
	prep := `set -e
echo "` + testenv.OldHostIP + ` oldserver" >>/etc/hosts
yum install -y ruby
mkdir -p /var/migrate
for f in greenarrow-packages.txt greenarrow-repository-access-key.txt hvmail_reinstall_packages postgresql-tablespaces.txt; do
	rsync -a oldserver:` + sim.BackupDir + `/$f /var/migrate/
done
mkdir -p ` + sim.TablespaceDir + `
rsync -a --delete oldserver:` + sim.TablespaceDir + `/ ` + sim.TablespaceDir + `
/var/migrate/hvmail_reinstall_packages /var/migrate/greenarrow-packages.txt
for f in /etc/profile.d/greenarrow-*.sh; do . "$f"; done
/var/hvmail/libexec/hvmail_server_migration --no-exit-on-error
`
	if out, errOut, code := hs.New.Run(t, "", "bash", "-c", prep); code != 0 {
		t.Fatalf("the plain script's preparation: exit %d\n%s\n%s", code, lastLines(out, 20), errOut)
	}
	return &scriptRun{sim: s, host: hs.New, done: make(chan scriptResult, 1)}
}

// scriptCutover prints a time mark after each command.
const scriptCutover = `set -e
for f in /etc/profile.d/greenarrow-*.sh; do . "$f"; done
mark() { echo "mark $1 $(date +%s%N)"; }
mark start
ssh oldserver 'service greenarrow stop && chkconfig greenarrow off'
mark stop-old
last=$(/var/hvmail/libexec/hvmail_server_migration | tail -n 1)
[ "$last" = "No errors were detected." ] || { echo "final pass: $last" >&2; exit 1; }
mark migration-final-pass
rsync -a --delete oldserver:` + sim.TablespaceDir + `/ ` + sim.TablespaceDir + `
mark tablespaces-final
find /var/hvmail/qmail-disk/queue/old/mess -type f | /var/hvmail/libexec/hvmail_queue_merge /var/hvmail/qmail-disk/queue/old /var/hvmail/qmail-disk/queue >/dev/null
mark merge-queue
[ "$(find /var/hvmail/qmail-disk/queue/old/mess -type f | wc -l)" = 0 ]
rm -rf /var/hvmail/qmail-disk/queue/old
mark remove-old-queue
if [ -e /usr/bin/systemctl ]; then systemctl start greenarrow.service; else service greenarrow start; fi
chkconfig greenarrow on
mark start-new
`

// start runs the cutover in the background, once.
func (r *scriptRun) start() {
	r.once.Do(func() {
		go func() {
			d, err := r.cutover()
			r.done <- scriptResult{d, err}
		}()
	})
}

// wait returns the script's downtime window, measured by the script from
// just before the stop to just after the start.
func (r *scriptRun) wait() (downtime, error) {
	res := <-r.done
	return res.d, res.err
}

func (r *scriptRun) cutover() (downtime, error) {
	var d downtime
	cmd := r.host.Command("bash", "-c", scriptCutover)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return d, fmt.Errorf("%v\n%s\n%s", err, lastLines(stdout.String(), 20), stderr.String())
	}
	var first, prev int64
	for _, line := range strings.Split(stdout.String(), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "mark" {
			continue
		}
		ns, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || ns < prev {
			return d, fmt.Errorf("time mark %q is not a later time in nanoseconds", line)
		}
		if first == 0 {
			first = ns
		} else {
			d.add(f[1], time.Duration(ns-prev))
		}
		prev = ns
	}
	if len(d.order) != 6 {
		return d, fmt.Errorf("it reported %d of its 6 commands:\n%s", len(d.order), stdout.String())
	}
	d.window = time.Duration(prev - first)
	return d, nil
}

// treeSums maps every file under dir (relative path) to its mode and the
// SHA-256 of its content.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		}
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Errorf("walk %s: %v", dir, err)
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func fileSum(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
