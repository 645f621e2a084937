package testenv_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/testenv"
)

// machineFiles are real files of this machine that no host may change.
var machineFiles = []string{"/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/os-release", "/etc/ssh/sshd_config"}

// digest returns a fingerprint of the machine files (content, mode, mtime).
func digest(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, p := range machineFiles {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", p, err)
			continue
		}
		data, _ := os.ReadFile(p)
		fmt.Fprintf(&b, "%s %v %d %x\n", p, fi.Mode(), fi.ModTime().UnixNano(), sha256.Sum256(data))
	}
	for _, p := range []string{"/var/hvmail", "/var/migrate", "/.ferry-sim", "/root/.ssh/config"} {
		if _, err := os.Lstat(p); err == nil {
			fmt.Fprintf(&b, "%s exists\n", p)
		}
	}
	return b.String()
}

// tree writes a minimal server root: the /etc files a host is told apart by.
func tree(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), name)
	files := map[string]string{
		"etc/hostname":    name + ".example.net\n",
		"etc/hosts":       "127.0.0.1 localhost\n",
		"etc/resolv.conf": "nameserver 203.0.113.53\n",
		"etc/os-release":  "ID=\"rocky\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"" + name + " test host\"\n",
	}
	for p, content := range files {
		f := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestHostsAreTwoServers(t *testing.T) {
	before := digest(t)
	var pids []int
	// Registered first, so it runs last: after the hosts are closed.
	t.Cleanup(func() {
		for _, pid := range pids {
			if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
				t.Errorf("PID 1 of a host (pid %d) is still running after its test ended", pid)
			}
		}
		if got := digest(t); got != before {
			t.Errorf("the machine's own files changed:\nbefore:\n%s\nafter:\n%s", before, got)
		}
	})
	{
		oldRoot, newRoot := tree(t, "old"), tree(t, "new")
		hs := testenv.StartHosts(t, testenv.HostsOptions{OldRoot: oldRoot, NewRoot: newRoot})
		pids = append(pids, hs.Old.Pid(), hs.New.Pid())

		// Each host sees its own tree at the real paths.
		if got := hs.New.MustRun(t, "cat", "/etc/hostname"); got != "new.example.net\n" {
			t.Errorf("new host's /etc/hostname = %q", got)
		}
		if got := hs.New.MustRun(t, "cat", "/proc/sys/kernel/hostname"); got != "new.example.net\n" {
			t.Errorf("new host's UTS name = %q", got)
		}
		if got := hs.New.MustRun(t, "sh", "-c", `. /etc/os-release; echo "$PRETTY_NAME"`); got != "new test host\n" {
			t.Errorf("new host's os-release names %q", got)
		}

		// The system ssh reaches the old host through the vendor's Host
		// oldserver block alone (HostName and Port), as root, by key.
		out, errOut, code := hs.New.Run(t, "", "ssh", "-o", "BatchMode=yes", testenv.OldAlias, "cat /etc/hostname; id -u; echo $PATH")
		if code != 0 {
			t.Fatalf("ssh oldserver from the new host: exit %d: %s\nsshd log:\n%s", code, errOut, hs.Log())
		}
		if want := "old.example.net\n0\n" + testenv.StockPath + "\n"; out != want {
			t.Errorf("ssh oldserver printed %q, want %q", out, want)
		}
		// Only the non-default port answers.
		if _, errOut, code := hs.New.Run(t, "", "ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-p", "22", testenv.OldHostIP, "true"); code == 0 || !strings.Contains(errOut, "refused") {
			t.Errorf("ssh to port 22 of the old host: exit %d, %q; want connection refused", code, errOut)
		}

		// A login's environment, nothing of the test's.
		env := hs.New.MustRun(t, "sh", "-c", `echo "$PATH|$HOME|$(pwd)|${FERRY_ROOT-unset}|${GOFLAGS-unset}"`)
		if want := testenv.StockPath + "|/root|/root|unset|unset\n"; env != want {
			t.Errorf("new host's environment %q, want %q", env, want)
		}

		// Own pid namespace with a fresh /proc, own network with only the
		// link between the hosts.
		self, err := os.Readlink("/proc/self/ns/pid")
		if err != nil {
			t.Fatal(err)
		}
		if got := hs.New.MustRun(t, "readlink", "/proc/self/ns/pid"); strings.TrimSpace(got) == self {
			t.Errorf("the new host shares the test's pid namespace %s", self)
		}
		if got := hs.New.MustRun(t, "cat", "/proc/1/cmdline"); !strings.Contains(got, "ferry-host-new") {
			t.Errorf("PID 1 of the new host is %q, not its init", got)
		}
		addrs := hs.New.MustRun(t, "ip", "-o", "-4", "addr", "show")
		if !strings.Contains(addrs, " "+testenv.NewHostIP+"/24") || strings.Count(addrs, "inet ") != 2 {
			t.Errorf("new host's addresses:\n%s\nwant 127.0.0.1 and %s only", addrs, testenv.NewHostIP)
		}
		if routes := hs.New.MustRun(t, "ip", "route"); strings.Contains(routes, "default") {
			t.Errorf("new host has a default route, traffic could leave the link:\n%s", routes)
		}

		// Writes land in the host's tree, never in the machine's files.
		hs.New.MustRun(t, "sh", "-c", "echo '"+testenv.OldHostIP+" oldserver' >>/etc/hosts && mkdir -p /var/migrate /media/data2 && echo x >/var/migrate/f && echo y >/media/data2/f")
		b, err := os.ReadFile(filepath.Join(newRoot, "etc/hosts"))
		if err != nil || !strings.Contains(string(b), "oldserver") {
			t.Errorf("new tree's etc/hosts = %q, %v; want the line written inside the host", b, err)
		}
		for _, f := range []string{"var/migrate/f", "media/data2/f"} {
			if _, err := os.Stat(filepath.Join(newRoot, f)); err != nil {
				t.Errorf("a file written to /%s inside the host is not in its tree: %v", f, err)
			}
		}
		if got := digest(t); got != before {
			t.Errorf("the machine's own files changed while the hosts ran:\nbefore:\n%s\nafter:\n%s", before, got)
		}
	}
}

// TestHostsLegacySSHD: the old host's sshd offers only what OpenSSH 5.3
// does; a stock client is refused and one allowed the old algorithms gets
// in.
func TestHostsLegacySSHD(t *testing.T) {
	hs := testenv.StartHosts(t, testenv.HostsOptions{OldRoot: tree(t, "old"), NewRoot: tree(t, "new"), LegacySSHD: true})
	_, errOut, code := hs.New.Run(t, "", "ssh", "-o", "BatchMode=yes", testenv.OldAlias, "true")
	if code == 0 || !strings.Contains(errOut, "no matching key exchange method") {
		t.Errorf("a stock ssh client against the legacy sshd: exit %d, %q; want no matching key exchange method", code, errOut)
	}
	out, errOut, code := hs.New.Run(t, "", "ssh", "-o", "BatchMode=yes",
		"-o", "KexAlgorithms=+diffie-hellman-group14-sha1", "-o", "HostKeyAlgorithms=+ssh-rsa", "-o", "PubkeyAcceptedAlgorithms=ssh-rsa",
		testenv.OldAlias, "cat /etc/hostname")
	if code != 0 || out != "old.example.net\n" {
		t.Fatalf("ssh with the legacy algorithms: exit %d, %q, %q\nsshd log:\n%s", code, out, errOut, hs.Log())
	}
	for _, want := range []string{"kex: algorithm: diffie-hellman-group14-sha1", "hmac-sha1", "aes128-ctr"} {
		_, errOut, _ := hs.New.Run(t, "", "ssh", "-v", "-o", "BatchMode=yes",
			"-o", "KexAlgorithms=+diffie-hellman-group14-sha1", "-o", "HostKeyAlgorithms=+ssh-rsa", "-o", "PubkeyAcceptedAlgorithms=ssh-rsa",
			testenv.OldAlias, "true")
		if !strings.Contains(errOut, want) {
			t.Errorf("the legacy session did not use %q:\n%s", want, errOut)
		}
	}
}

// TestHostsRunTheSimulatorsStandIns: on the hosts the vendor stand-ins run
// at root "/" (no FERRY_ROOT), the same files refuse to run on this
// machine, and the vendor's programs are on no PATH until the profile
// scripts are sourced.
func TestHostsRunTheSimulatorsStandIns(t *testing.T) {
	s, err := sim.Setup(filepath.Join(t.TempDir(), "sim"), sim.Options{Messages: 5, MergeDelay: -1})
	if err != nil {
		t.Fatal(err)
	}
	hs := testenv.StartHosts(t, testenv.HostsOptions{OldRoot: s.OldRoot, NewRoot: s.NewRoot})

	out, errOut, code := hs.New.Run(t, "", "ssh", "-o", "BatchMode=yes", testenv.OldAlias, "rpm -q greenarrow-engine && service greenarrow status && ls /var/hvmail/control")
	if code != 0 || !strings.Contains(out, "greenarrow-engine-"+sim.EngineVersion) || !strings.Contains(out, "hvmail-qmail-send: up") || !strings.Contains(out, "license_key") {
		t.Errorf("stand-ins on the old host over ssh: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, _, code := hs.New.Run(t, "", "rpm", "-q", "greenarrow-engine"); code != 1 {
		t.Errorf("rpm -q greenarrow-engine on the new host: exit %d, want 1 (not installed yet)", code)
	}
	if out, _, code := hs.New.Run(t, "", "sh", "-c", "command -v hvmail_check_config"); code == 0 {
		t.Errorf("hvmail_check_config is on the stock PATH of the new host before anything was installed: %s", out)
	}
	// Installing the engine brings its profile scripts; sourcing them puts
	// the vendor's bin directory on PATH, as on a real server.
	hs.New.MustRun(t, "mkdir", "-p", "/var/migrate")
	hs.New.MustRun(t, "scp", "-q", "-o", "BatchMode=yes", testenv.OldAlias+":"+sim.BackupDir+"/hvmail_reinstall_packages", testenv.OldAlias+":"+sim.BackupDir+"/greenarrow-packages.txt", "/var/migrate/")
	hs.New.MustRun(t, "/var/migrate/hvmail_reinstall_packages", "/var/migrate/greenarrow-packages.txt")
	out = hs.New.MustRun(t, "sh", "-c", "for f in /etc/profile.d/greenarrow-*.sh; do . $f; done; echo \"$PATH\"; command -v hvmail_check_config")
	if want := testenv.StockPath + ":/var/hvmail/bin\n/var/hvmail/bin/hvmail_check_config\n"; out != want {
		t.Errorf("after the profile scripts: %q, want %q", out, want)
	}
	if _, err := os.Stat(filepath.Join(s.NewRoot, "var/hvmail/bin/hvmail_check_config")); err != nil {
		t.Errorf("the engine was not installed into the new tree: %v", err)
	}
	// The migration script reaches oldserver with the system ssh and root's
	// own ssh config, once /etc/hosts names it.
	hs.New.MustRun(t, "sh", "-c", "echo '"+testenv.OldHostIP+" oldserver' >>/etc/hosts")
	out, errOut, code = hs.New.Run(t, "", "/var/hvmail/libexec/hvmail_server_migration")
	if code != 0 || !strings.HasSuffix(out, "No errors were detected.\n") {
		t.Errorf("hvmail_server_migration on the new host: exit %d\n%s\n%s", code, out, errOut)
	}
	parked, err := filepath.Glob(filepath.Join(s.NewRoot, sim.QueueDir, "old/mess/*/*"))
	if err != nil || len(parked) != 5 {
		t.Errorf("the old queue parked on the new tree holds %d messages (%v), want 5", len(parked), err)
	}

	// Outside the hosts, the very same files refuse: no FERRY_ROOT and no
	// simulator mounted at /.ferry-sim on this machine.
	for _, prog := range []string{s.OldRoot + "/usr/sbin/service", s.NewRoot + "/var/hvmail/bin/hvmail_check_config"} {
		cmd := exec.Command(prog, "greenarrow", "stop")
		cmd.Env = []string{"PATH=" + testenv.StockPath}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 97 || !strings.Contains(string(out), "refusing to run") {
			t.Errorf("%s outside the hosts: %v, %q; want exit 97 and a refusal", prog, err, out)
		}
	}
}
