package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The real-path harness: two hosts, "old" and "new", built on this machine
// as Linux namespaces, each with its own file system tree bound over the
// real paths, so that ferry runs on them with root "/" and its real code
// path, as on two servers. The layout follows iproute2's "ip netns exec"
// (lib/namespace.c: a network namespace, a private mount namespace, files
// of the namespace bound over /etc) and golang's syscall tests that start a
// child in new namespaces with SysProcAttr.Cloneflags.

// Addresses and ports of the harness's private link (TEST-NET-1, RFC 5737):
// nothing on it can reach, or be reached from, any real network.
const (
	// NewHostIP is the new host's address on the link between the hosts.
	NewHostIP = "192.0.2.1"
	// OldHostIP is the old host's address on the link between the hosts.
	OldHostIP = "192.0.2.2"
	// OldSSHPort is the non-default port the old host's sshd listens on.
	OldSSHPort = 2222
	// OldAlias is the Host alias of the old server in the new host's
	// /root/.ssh/config, as the vendor's procedure names it.
	OldAlias = "oldserver"
	// StockPath is PATH as a stock distribution gives root at login (it is
	// also OpenSSH's default for root): no vendor directories.
	StockPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// HostsOptions shape the pair of hosts StartHosts builds.
type HostsOptions struct {
	// OldRoot and NewRoot are the trees that become each host's file
	// system (required; sim.Setup's DIR/old and DIR/new fit). In each
	// tree, etc/ and usr/ are laid over the machine's /etc and /usr with
	// overlayfs (the tree's files win, every write lands in the tree);
	// every other top-level directory (var, root, media, tmp, .ferry-sim,
	// run...) replaces the real one. The harness adds what a fresh server
	// has and a tree lacks (tmp, var/tmp, var/log, var/lib, var/run, root,
	// home, media, mnt, opt, srv: so that a directory made there, such as a
	// tablespace's /media/data2, lands in the tree) and the SSH files below.
	// A new top-level directory made inside a host lives only as long as
	// the host. The trees must be on the file system of the test's
	// temporary directory (overlayfs wants its work directory there).
	OldRoot, NewRoot string
	// LegacySSHD restricts the old host's sshd to what a CentOS 6-era
	// OpenSSH 5.3 offers: diffie-hellman-group14-sha1, an RSA host key
	// (ssh-rsa), SHA-1 RSA user signatures, hmac-sha1 and aes128-ctr. Root's
	// key on the new host is then RSA, since OpenSSH 5.3 knows no ed25519.
	LegacySSHD bool
	// NoKnownHosts leaves the old host's key out of the new host's
	// /root/.ssh/known_hosts (ferry must then be told to trust it).
	NoKnownHosts bool
}

// Hosts is a running pair of namespaced hosts.
type Hosts struct {
	Old, New *Host
	// OldHostKeyFingerprint is the SHA256 fingerprint ("SHA256:...") of the
	// host key the old host's sshd offers first (ed25519, or RSA when
	// legacy), as ssh-keygen -l prints it.
	OldHostKeyFingerprint string
	// SSHDLog is the old host's sshd log, as a path outside the hosts.
	SSHDLog string

	sshd     *exec.Cmd
	sshdDone chan error
}

// Host is one namespaced host: PID 1 of its own pid namespace, with its
// own mount, network, UTS and IPC namespaces.
type Host struct {
	// Name is "old" or "new".
	Name string
	// Root is the tree bound over the real paths (outside path).
	Root string
	// IP is the host's address on the link between the hosts.
	IP string
	// Hostname is the host's UTS name (from the tree's etc/hostname).
	Hostname string

	cmd    *exec.Cmd
	done   chan error
	stderr *bytes.Buffer
	once   sync.Once
}

// Pid returns the process id, as seen from outside, of the host's PID 1.
func (h *Host) Pid() int { return h.cmd.Process.Pid }

// Command returns a command that runs argv inside the host, as root logged
// in on it: all of the host's namespaces, its root and a login's
// environment (PATH=StockPath, HOME=/root, working directory /root, no
// other variable of the test's). argv[0] is looked up on the host's PATH.
// Stdin, Stdout and Stderr are the caller's to set. Killing the returned
// process does not kill what it started inside the host; closing the host
// does.
func (h *Host) Command(argv ...string) *exec.Cmd {
	args := append(nsenterArgs(h.Pid()), "/usr/bin/env", "-i", "-C", "/root",
		"PATH="+StockPath, "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/bash", "LANG=C.UTF-8")
	cmd := exec.Command(sysProg("nsenter"), append(args, argv...)...)
	cmd.Env = []string{"PATH=" + StockPath}
	return cmd
}

// Run runs argv inside the host (as Command does) and returns its standard
// output, standard error and exit code. It fails the test only when the
// command cannot be started.
func (h *Host) Run(t testing.TB, stdin string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := h.Command(argv...)
	var o, e bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("host %s: %s: %v", h.Name, strings.Join(argv, " "), err)
	}
	return o.String(), e.String(), code
}

// MustRun runs argv inside the host and fails the test unless it exits 0;
// it returns the standard output.
func (h *Host) MustRun(t testing.TB, argv ...string) string {
	t.Helper()
	out, errOut, code := h.Run(t, "", argv...)
	if code != 0 {
		t.Fatalf("host %s: %s: exit %d\nstdout:\n%s\nstderr:\n%s", h.Name, strings.Join(argv, " "), code, out, errOut)
	}
	return out
}

// nsenterArgs enters every namespace of pid, its root and its working
// directory.
func nsenterArgs(pid int) []string {
	return []string{"--target", strconv.Itoa(pid), "--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd", "--"}
}

// hostInit is PID 1 of a host. It runs already inside the new namespaces
// (SysProcAttr.Cloneflags), builds the host's root on a tmpfs, switches to
// it with pivot_root, prints "ready" and then only reaps orphans. Arguments:
// host name, tree, overlay work directory, mount point for the new root,
// UTS host name, and the mount namespace of the test (to refuse to mount
// anything if the clone did not give a new one).
const hostInit = `set -eu
name=$1 tree=$2 work=$3 mnt=$4 uts=$5 outer=$6
if [ "$(readlink /proc/self/ns/mnt)" = "$outer" ]; then
	echo "host $name: not in a new mount namespace; refusing to mount anything" >&2
	exit 1
fi
mount --make-rprivate /
mount -t tmpfs -o mode=0755 "ferry-$name" "$mnt"
# The tree's own directories: etc and usr laid over the machine's, the
# others in place of the machine's.
for e in "$tree"/* "$tree"/.[!.]*; do
	[ -d "$e" ] && [ ! -L "$e" ] || continue
	n=${e##*/}
	case "$n" in
	proc | sys | dev) continue ;;
	etc | usr)
		mkdir "$mnt/$n" "$work/$n"
		mount -t overlay "ferry-$name-$n" -o "lowerdir=/$n,upperdir=$e,workdir=$work/$n" "$mnt/$n"
		;;
	*)
		mkdir "$mnt/$n"
		mount --bind "$e" "$mnt/$n"
		;;
	esac
done
# The machine's own top-level entries the tree does not replace.
for e in /* /.[!.]*; do
	[ -e "$e" ] || [ -L "$e" ] || continue
	n=${e##*/}
	[ ! -e "$mnt/$n" ] && [ ! -L "$mnt/$n" ] || continue
	if [ -L "$e" ]; then
		ln -s "$(readlink "$e")" "$mnt/$n"
		continue
	fi
	case "$n" in
	bin | sbin | lib | lib32 | lib64 | libx32 | usr | etc)
		mkdir "$mnt/$n"
		mount --rbind "$e" "$mnt/$n"
		mount -o remount,bind,ro "$mnt/$n"
		;;
	dev)
		mkdir "$mnt/dev"
		mount --rbind /dev "$mnt/dev"
		;;
	proc) mkdir "$mnt/proc" ;;
	sys) mkdir "$mnt/sys" ;;
	run)
		mkdir "$mnt/run"
		mount -t tmpfs -o mode=0755 "ferry-$name-run" "$mnt/run"
		;;
	tmp) mkdir "$mnt/$n" ;;
	esac
done
chmod 1777 "$mnt/tmp"
mount -t proc proc "$mnt/proc"
mount -t sysfs -o ro sysfs "$mnt/sys"
mkdir "$mnt/.oldroot"
cd "$mnt"
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
mkdir -p /run/sshd /run/lock
echo "$uts" >/proc/sys/kernel/hostname
echo ready
trap 'exit 0' TERM INT
# PID 1 of the host: wait reaps every child, orphans included.
while :; do
	sleep 3600 &
	wait || :
done
`

// sysProg returns the absolute path of a system program: from the test's
// PATH, else from StockPath (a test may run with /usr/sbin off its PATH);
// the bare name when it is in neither.
func sysProg(name string) string {
	if p, err := exec.LookPath(name); err == nil && filepath.IsAbs(p) {
		return p
	}
	for _, dir := range filepath.SplitList(StockPath) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return name
}

// requireHostsSupport skips the test, loudly, when this machine cannot
// build namespaced hosts.
func requireHostsSupport(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("SKIPPING: the real-path harness builds hosts as namespaces and needs root (euid is %d); CI runs it as root", os.Geteuid())
	}
	for _, prog := range []string{"nsenter", "ip", "mount", "umount", "pivot_root", "ssh", "ssh-keygen", "env"} {
		if p := sysProg(prog); !filepath.IsAbs(p) {
			t.Skipf("SKIPPING: the real-path harness needs %s, found neither on PATH nor in %s; install util-linux, iproute2 and openssh-client", prog, StockPath)
		}
	}
	if _, err := os.Stat(SSHDPath); err != nil {
		t.Skipf("SKIPPING: OpenSSH server %s is not installed (%v); install openssh-server to run the real-path harness", SSHDPath, err)
	}
	if _, err := os.Stat("/proc/self/ns/mnt"); err != nil {
		t.Skipf("SKIPPING: no namespaces on this kernel (%v)", err)
	}
}

// StartHosts builds and starts the old and the new host and stops them
// when the test ends. The old host runs OpenSSH's sshd on OldIP:OldSSHPort
// (root by key only); the new host's /root/.ssh holds root's key, a
// config with the vendor's "Host oldserver" block (HostName OldHostIP, Port
// OldSSHPort) and, unless NoKnownHosts, the old host's key in known_hosts.
// It skips the test when not root or when namespaces cannot be made.
func StartHosts(t testing.TB, o HostsOptions) *Hosts {
	t.Helper()
	requireHostsSupport(t)
	if o.OldRoot == "" || o.NewRoot == "" {
		t.Fatal("StartHosts: OldRoot and NewRoot are required")
	}
	work := t.TempDir()
	hs := &Hosts{SSHDLog: filepath.Join(o.OldRoot, "var/log/sshd.log")}
	for _, root := range []string{o.OldRoot, o.NewRoot} {
		if err := skeleton(root); err != nil {
			t.Fatalf("host tree %s: %v", root, err)
		}
	}
	if err := hs.sshFiles(t, o); err != nil {
		t.Fatalf("ssh files of the hosts: %v", err)
	}

	var err error
	if hs.Old, err = startHost(t, "old", o.OldRoot, OldHostIP, work); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hs.Old.close)
	if hs.New, err = startHost(t, "new", o.NewRoot, NewHostIP, work); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hs.New.close)

	// One veth pair, created straight into the two network namespaces: it
	// never exists in the machine's own.
	if out, err := exec.Command(sysProg("ip"), "link", "add", "eth0", "netns", strconv.Itoa(hs.New.Pid()), "type", "veth",
		"peer", "name", "eth0", "netns", strconv.Itoa(hs.Old.Pid())).CombinedOutput(); err != nil {
		t.Fatalf("link between the hosts: ip link add: %v: %s", err, out)
	}
	for _, h := range []*Host{hs.Old, hs.New} {
		script := "ip link set lo up && ip addr add " + h.IP + "/24 dev eth0 && ip link set eth0 up"
		cmd := exec.Command(sysProg("nsenter"), "--target", strconv.Itoa(h.Pid()), "--net", "--", "/bin/sh", "-c", script)
		cmd.Env = []string{"PATH=" + StockPath}
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("host %s: network: %v: %s", h.Name, err, out)
		}
	}
	if err := hs.startSSHD(t); err != nil {
		t.Fatal(err)
	}
	return hs
}

// skeleton adds to a tree what a fresh server has and the tree lacks.
func skeleton(root string) error {
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{"tmp", 0o1777}, {"var/tmp", 0o1777}, {"var/log", 0o755}, {"var/lib", 0o755}, {"var/cache", 0o755}, {"var/spool", 0o755},
		{"root", 0o700}, {"etc", 0o755}, {"usr", 0o755}, {"home", 0o755}, {"media", 0o755}, {"mnt", 0o755}, {"opt", 0o755}, {"srv", 0o755}} {
		p := filepath.Join(root, d.path)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.MkdirAll(p, 0o755); err != nil {
			return err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return err
		}
	}
	for link, target := range map[string]string{"var/run": "/run", "var/lock": "/run/lock"} {
		p := filepath.Join(root, link)
		if _, err := os.Lstat(p); err == nil {
			continue
		}
		if err := os.Symlink(target, p); err != nil {
			return err
		}
	}
	return nil
}

// startHost starts PID 1 of a host in new namespaces and waits until it
// has built the host's root.
func startHost(t testing.TB, name, root, ip, work string) (*Host, error) {
	t.Helper()
	uts := name
	if b, err := os.ReadFile(filepath.Join(root, "etc/hostname")); err == nil && strings.TrimSpace(string(b)) != "" {
		uts = strings.TrimSpace(string(b))
	}
	outer, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		return nil, fmt.Errorf("host %s: own mount namespace: %w", name, err)
	}
	hostWork := filepath.Join(work, name)
	mnt := filepath.Join(work, name+"-root")
	for _, d := range []string{hostWork, mnt} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	h := &Host{Name: name, Root: root, IP: ip, Hostname: uts, done: make(chan error, 1), stderr: &bytes.Buffer{}}
	h.cmd = exec.Command("/bin/sh", "-c", hostInit, "ferry-host-"+name, name, root, hostWork, mnt, uts, outer)
	h.cmd.Env = []string{"PATH=" + StockPath, "LANG=C"}
	h.cmd.Stderr = h.stderr
	h.cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC,
		// Should the test process die, the host goes with it: PID 1 gone,
		// the kernel kills the rest of its pid namespace.
		Pdeathsig: syscall.SIGKILL,
	}
	stdout, err := h.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := h.cmd.Start(); err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOSPC) {
			t.Skipf("SKIPPING: this machine refuses new namespaces for the real-path harness: %v", err)
		}
		return nil, fmt.Errorf("host %s: start: %w", name, err)
	}
	go func() { h.done <- h.cmd.Wait() }()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		ok := sc.Scan() && sc.Text() == "ready"
		ready <- ok
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case ok := <-ready:
		if ok {
			return h, nil
		}
	case <-time.After(30 * time.Second):
	}
	h.close()
	if strings.Contains(h.stderr.String(), "unknown filesystem type") {
		t.Skipf("SKIPPING: this kernel lacks a file system the real-path harness mounts (overlay, tmpfs, proc or sysfs):\n%s", h.stderr.String())
	}
	return nil, fmt.Errorf("host %s: its root could not be built:\n%s", name, h.stderr.String())
}

// close kills PID 1 of the host; the kernel then kills every process of
// its pid namespace, and its mounts and network namespace go away.
func (h *Host) close() {
	h.once.Do(func() {
		_ = h.cmd.Process.Kill()
		<-h.done
	})
}

// sshFiles writes the SSH side of both trees: the old host's sshd
// configuration and host keys, root's key on the new host (authorised on
// the old one), the new host's ~/.ssh/config and known_hosts.
func (hs *Hosts) sshFiles(t testing.TB, o HostsOptions) error {
	etcSSH := filepath.Join(o.OldRoot, "etc/ssh")
	oldSSH := filepath.Join(o.OldRoot, "root/.ssh")
	newSSH := filepath.Join(o.NewRoot, "root/.ssh")
	for _, d := range []string{etcSSH, oldSSH, newSSH} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.Chmod(etcSSH, 0o755); err != nil {
		return err
	}
	hostTypes := []string{"ed25519", "ecdsa", "rsa"}
	if o.LegacySSHD {
		hostTypes = []string{"rsa"}
	}
	conf := []string{
		"# sshd of the old test host, written by ferry's testenv.",
		"Port " + strconv.Itoa(OldSSHPort),
	}
	for _, typ := range hostTypes {
		f := filepath.Join(etcSSH, "ssh_host_"+typ+"_key")
		if _, err := os.Stat(f); err != nil {
			keygen(t, typ, f)
		}
		conf = append(conf, "HostKey /etc/ssh/ssh_host_"+typ+"_key")
	}
	conf = append(conf,
		"PermitRootLogin prohibit-password",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"UsePAM no",
		"PidFile /run/sshd.pid",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
	)
	if o.LegacySSHD {
		conf = append(conf, legacyLines...)
	}
	if err := os.WriteFile(filepath.Join(etcSSH, "sshd_config"), []byte(strings.Join(conf, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	fp, err := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", filepath.Join(etcSSH, "ssh_host_"+hostTypes[0]+"_key.pub")).Output()
	if err != nil {
		return fmt.Errorf("ssh-keygen -l: %w", err)
	}
	if f := strings.Fields(string(fp)); len(f) >= 2 {
		hs.OldHostKeyFingerprint = f[1]
	}

	userType, userKey := "ed25519", "id_ed25519"
	if o.LegacySSHD {
		userType, userKey = "rsa", "id_rsa"
	}
	keyFile := filepath.Join(newSSH, userKey)
	if _, err := os.Stat(keyFile); err != nil {
		keygen(t, userType, keyFile)
	}
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(oldSSH, "authorized_keys"), pub, 0o600); err != nil {
		return err
	}
	// The vendor's step 6: a non-default port goes into root's ssh config.
	cfg := fmt.Sprintf("Host %s\n    HostName %s\n    Port %d\n", OldAlias, OldHostIP, OldSSHPort)
	if err := os.WriteFile(filepath.Join(newSSH, "config"), []byte(cfg), 0o600); err != nil {
		return err
	}
	if !o.NoKnownHosts {
		// As ssh records a host reached through HostName on a non-22 port.
		hk, err := os.ReadFile(filepath.Join(etcSSH, "ssh_host_"+hostTypes[0]+"_key.pub"))
		if err != nil {
			return err
		}
		f := strings.Fields(string(hk))
		line := fmt.Sprintf("[%s]:%d %s %s\n", OldHostIP, OldSSHPort, f[0], f[1])
		if err := os.WriteFile(filepath.Join(newSSH, "known_hosts"), []byte(line), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// startSSHD runs sshd in the old host (in the foreground, so that the
// harness owns it) and waits until it listens.
func (hs *Hosts) startSSHD(t testing.TB) error {
	t.Helper()
	_ = os.Remove(hs.SSHDLog)
	args := append(nsenterArgs(hs.Old.Pid()), SSHDPath, "-D", "-E", "/var/log/sshd.log")
	cmd := exec.Command(sysProg("nsenter"), args...)
	cmd.Env = []string{"PATH=" + StockPath}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	// A connection left open keeps an sshd child holding the stderr pipe:
	// Wait does not wait on it longer than this.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("old host: start sshd: %w", err)
	}
	hs.sshd, hs.sshdDone = cmd, make(chan error, 1)
	go func() { hs.sshdDone <- cmd.Wait() }()
	t.Cleanup(func() {
		// Closing the old host kills sshd; this only reaps nsenter.
		hs.Old.close()
		select {
		case <-hs.sshdDone:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			select {
			case <-hs.sshdDone:
			case <-time.After(10 * time.Second):
				t.Errorf("old host: sshd was not reaped 10s after it was killed; its log:\n%s", hs.Log())
			}
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-hs.sshdDone:
			hs.sshdDone <- err
			return fmt.Errorf("old host: sshd exited at once (%v): %s%s", err, stderr.String(), hs.Log())
		default:
		}
		if strings.Contains(hs.Log(), "Server listening on") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("old host: sshd does not listen after 15s: %s%s", stderr.String(), hs.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Log returns what the old host's sshd has logged so far, for failure
// messages.
func (hs *Hosts) Log() string {
	b, _ := os.ReadFile(hs.SSHDLog)
	return string(b)
}
