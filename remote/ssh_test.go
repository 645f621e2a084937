package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/ferry-migrate/ferry/testenv"
)

// dialAlias connects to the harness's sshd through its ssh config alias.
func dialAlias(t *testing.T, s *testenv.SSHD, mod func(*SSHOptions)) *SSH {
	t.Helper()
	o := SSHOptions{Name: "old", Addr: s.Alias, ConfigFile: s.SSHConfig}
	if mod != nil {
		mod(&o)
	}
	h, err := DialSSH(context.Background(), o)
	if err != nil {
		t.Fatalf("DialSSH: %v\nsshd log:\n%s", err, s.Log())
	}
	t.Cleanup(func() { h.Close() })
	return h
}

func run(t *testing.T, h Host, c Cmd) (string, string, Result) {
	t.Helper()
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	res, err := h.Exec(context.Background(), c)
	if err != nil {
		t.Fatalf("Exec %q: %v (stderr %q)", c.Argv, err, errb.String())
	}
	return out.String(), errb.String(), res
}

// procWith returns the PIDs whose command line contains all of words.
func procWith(words ...string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		all := true
		for _, w := range words {
			all = all && bytes.Contains(b, []byte(w))
		}
		if all {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSSH(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	h := dialAlias(t, srv, nil)

	t.Run("AliasWithNonDefaultPort", func(t *testing.T) {
		if h.Port() != srv.Port || srv.Port == 22 {
			t.Fatalf("port %d, want the config's %d", h.Port(), srv.Port)
		}
		if got := h.Destination(); got != "root@127.0.0.1" {
			t.Fatalf("Destination %q, want root@127.0.0.1 (the resolved HostName, not the alias)", got)
		}
		out, _, res := run(t, h, Cmd{Argv: []string{"id", "-u"}})
		if strings.TrimSpace(out) != "0" || res.ExitCode != 0 {
			t.Fatalf("id -u: %q exit %d", out, res.ExitCode)
		}
		if len(h.LegacyAlgorithms()) != 0 {
			t.Fatalf("modern server reached with legacy algorithms %v", h.LegacyAlgorithms())
		}
	})

	t.Run("ExitCodeAndStreams", func(t *testing.T) {
		var outLines, errLines []string
		var mu sync.Mutex
		ow := LineWriter(func(l string) { mu.Lock(); outLines = append(outLines, l); mu.Unlock() })
		ew := LineWriter(func(l string) { mu.Lock(); errLines = append(errLines, l); mu.Unlock() })
		res, err := h.Exec(context.Background(), Cmd{
			Argv:   []string{"sh", "-c", "echo out1; echo err1 >&2; printf 'out2\\033[31m red\\033[0m\\n'; echo err2 >&2; exit 3"},
			Stdout: ow, Stderr: ew,
		})
		ow.Flush()
		ew.Flush()
		if err != nil {
			t.Fatal(err)
		}
		if res.ExitCode != 3 || res.Signal != "" {
			t.Fatalf("result %+v, want exit 3", res)
		}
		if strings.Join(outLines, "|") != "out1|out2 red" || strings.Join(errLines, "|") != "err1|err2" {
			t.Fatalf("stdout %q stderr %q", outLines, errLines)
		}
	})

	t.Run("StreamsWhileRunning", func(t *testing.T) {
		// The command waits for a line on stdin that the test only sends
		// once it has seen the first output line: output must stream.
		pr, pw := io.Pipe()
		seen := make(chan struct{})
		var once sync.Once
		w := LineWriter(func(l string) {
			if l == "ready" {
				once.Do(func() { close(seen) })
			}
		})
		var out bytes.Buffer
		go func() {
			<-seen
			fmt.Fprintln(pw, "go on")
			pw.Close()
		}()
		res, err := h.Exec(context.Background(), Cmd{
			Argv:   []string{"sh", "-c", "echo ready; read x; echo \"got $x\" >&2"},
			Stdout: w, Stderr: &out, Stdin: pr,
		})
		if err != nil || res.ExitCode != 0 || strings.TrimSpace(out.String()) != "got go on" {
			t.Fatalf("exit %+v err %v stderr %q", res, err, out.String())
		}
	})

	t.Run("KilledBySignal", func(t *testing.T) {
		_, _, res := run(t, h, Cmd{Argv: []string{"sh", "-c", "kill -TERM $$"}})
		if res.ExitCode != 143 || res.Signal != "TERM" {
			t.Fatalf("result %+v, want 143 TERM", res)
		}
	})

	t.Run("NotFound", func(t *testing.T) {
		res, err := h.Exec(context.Background(), Cmd{Argv: []string{"ferry-no-such-program"}})
		if err == nil || res.ExitCode != 127 || !strings.Contains(err.Error(), "ferry-no-such-program") {
			t.Fatalf("missing program: %+v %v", res, err)
		}
	})

	t.Run("EnvNeverInArgv", func(t *testing.T) {
		secret := fmt.Sprintf("s3cret-%d", rand.Int64())
		value := secret + " 'single' \"double\" $(echo no) `echo no` \\ back\nsecond line"
		pr, pw := io.Pipe()
		defer pw.Close()
		var out bytes.Buffer
		done := make(chan error, 1)
		go func() {
			_, err := h.Exec(context.Background(), Cmd{
				Argv:   []string{"sh", "-c", "printf '%s' \"$FERRY_TEST_SECRET\"; read x"},
				Env:    []string{"FERRY_TEST_SECRET=" + value, "OTHER=1"},
				Stdout: &out, Stdin: pr,
			})
			done <- err
		}()
		// Wait until the command runs (it waits on stdin), then look.
		waitFor(t, "the command to run", func() bool { return len(procWith("FERRY_TEST_SECRET", "read x")) > 0 })
		if pids := procWith(secret); len(pids) > 0 {
			t.Fatalf("the secret is in the command line of pids %v", pids)
		}
		pw.Close()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if out.String() != value {
			t.Fatalf("the command saw %q, want %q", out.String(), value)
		}
	})

	t.Run("BadEnv", func(t *testing.T) {
		_, err := h.Exec(context.Background(), Cmd{Argv: []string{"true"}, Env: []string{"BAD KEY=topsecret"}})
		if err == nil || strings.Contains(err.Error(), "topsecret") || !strings.Contains(err.Error(), "BAD KEY") {
			t.Fatalf("bad env entry: %v", err)
		}
	})

	t.Run("CancelKillsRemoteProcessGroup", func(t *testing.T) {
		// sleep is a child of sh: the whole group must go.
		pids, n := cancelMidCommand(t, h, func(n string) string { return "sleep " + n + "; echo never" })
		for _, pid := range pids {
			if alive(pid) {
				t.Fatalf("remote process %d (sleep %s) still runs after cancel", pid, n)
			}
		}
	})

	t.Run("DialContext", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() { _, _ = io.Copy(c, c); c.Close() }()
			}
		}()
		c, err := h.DialContext(context.Background(), "tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if c.RemoteAddr().String() != l.Addr().String() {
			t.Fatalf("RemoteAddr %v, want %v", c.RemoteAddr(), l.Addr())
		}
		if _, err := c.Write([]byte("ping\n")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 5)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
			t.Fatalf("echo: %q %v", buf, err)
		}
		_ = c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		_, err = c.Read(buf)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v, want a timeout", err)
		}
	})

	t.Run("SystemSSH", func(t *testing.T) {
		if _, err := exec.LookPath("ssh"); err != nil {
			t.Skipf("SKIPPING: the ssh client is not installed: %v", err)
		}
		if err := h.CheckSystemSSH(context.Background()); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ssh", append(h.SystemSSHArgs(), h.Destination(), "echo", "via-system-ssh")...).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "via-system-ssh" {
			t.Fatalf("system ssh: %v %s", err, out)
		}
		if _, err := exec.LookPath("rsync"); err != nil {
			t.Skipf("SKIPPING rsync part: rsync is not installed: %v", err)
		}
		src := filepath.Join(t.TempDir(), "f")
		dst := filepath.Join(t.TempDir(), "g")
		if err := os.WriteFile(src, []byte("through rsync -e"), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err = exec.Command("rsync", "-e", h.RsyncShell(), src, h.Destination()+":"+dst).CombinedOutput()
		if err != nil {
			t.Fatalf("rsync -e %q: %v %s", h.RsyncShell(), err, out)
		}
		if b, _ := os.ReadFile(dst); string(b) != "through rsync -e" {
			t.Fatalf("rsync copied %q", b)
		}
	})

	t.Run("Files", func(t *testing.T) { testFiles(t, h, "/") })

	t.Run("Root", func(t *testing.T) {
		root := t.TempDir()
		hr := dialAlias(t, srv, func(o *SSHOptions) { o.Root = root })
		testFiles(t, hr, root)
		bin := filepath.Join(root, "usr", "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "greet"), []byte("#!/bin/sh\necho \"stand-in $FERRY_ROOT $(pwd)\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(root, "work"), 0o755); err != nil {
			t.Fatal(err)
		}
		want := "stand-in " + root + " " + root + "/work\n"
		for _, argv0 := range []string{"greet", "/usr/bin/greet"} {
			out, _, _ := run(t, hr, Cmd{Argv: []string{argv0}, Dir: "/work"})
			if out != want {
				t.Fatalf("%s: %q, want %q", argv0, out, want)
			}
		}
		if got := hr.Path("/../../etc/passwd"); got != root+"/etc/passwd" {
			t.Fatalf("Path escapes the root: %q", got)
		}
	})
}

// testFiles exercises ReadFile, WriteFile and Stat on h, whose root is root.
func testFiles(t *testing.T, h Host, root string) {
	ctx := context.Background()
	dir := t.TempDir()
	rel := dir
	if root != "/" {
		dir = filepath.Join(root, "etc")
		rel = "/etc"
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := make([]byte, 0, 600)
	for i := 0; i < 600; i++ {
		data = append(data, byte(i))
	}
	p := rel + "/new file's name"
	if err := h.WriteFile(ctx, p, data, 0o640); err != nil {
		t.Fatal(err)
	}
	got, err := h.ReadFile(ctx, p)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadFile: %v, %d bytes, equal=%v", err, len(got), bytes.Equal(got, data))
	}
	real := filepath.Join(dir, "new file's name")
	fi, err := os.Stat(real)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("new file mode: %v %v", fi.Mode(), err)
	}
	// An existing file keeps its mode and owner.
	if err := os.Chmod(real, 0o604); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(real, 1234, 5678); err != nil {
		t.Fatal(err)
	}
	if err := h.WriteFile(ctx, p, []byte("second"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := h.Stat(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != 0o604 || st.UID != 1234 || st.GID != 5678 || st.Size != 6 || st.Name != "new file's name" {
		t.Fatalf("after rewrite: %+v", st)
	}
	loc, err := NewLocal("here", root)
	if err != nil {
		t.Fatal(err)
	}
	lst, err := loc.Stat(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if lst != st {
		t.Fatalf("SSH Stat %+v differs from Local Stat %+v", st, lst)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left behind: %v", ents)
	}
	// Symlink: lstat semantics.
	if err := os.Symlink("new file's name", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	st, err = h.Stat(ctx, rel+"/link")
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode&fs.ModeSymlink == 0 || st.LinkTarget != "new file's name" {
		t.Fatalf("symlink stat: %+v", st)
	}
	st, err = h.Stat(ctx, rel)
	if err != nil || !st.IsDir() {
		t.Fatalf("dir stat: %+v %v", st, err)
	}
	// Missing files.
	if _, err := h.Stat(ctx, rel+"/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a missing file: %v", err)
	}
	if _, err := h.ReadFile(ctx, rel+"/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadFile of a missing file: %v", err)
	}
	if err := h.WriteFile(ctx, rel+"/no/such/dir/f", []byte("x"), 0o644); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("WriteFile into a missing directory: %v", err)
	}
}

func TestSSHHostKeyChanged(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	other := testenv.StartSSHD(t, testenv.SSHDOptions{})
	otherKey, err := os.ReadFile(other.HostKeyFiles[0] + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(otherKey))
	kh := filepath.Join(t.TempDir(), "known_hosts")
	content := fmt.Sprintf("# first line\n[127.0.0.1]:%d %s %s\n", srv.Port, f[0], f[1])
	if err := os.WriteFile(kh, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	trusted := false
	err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: srv.Alias, ConfigFile: srv.SSHConfig, KnownHostsFile: kh,
		TrustUnknown: func(string, ssh.PublicKey, string) bool { trusted = true; return true }})
	var ce *HostKeyChangedError
	if !errors.As(err, &ce) {
		t.Fatalf("dial with a changed key: %v, want HostKeyChangedError", err)
	}
	if ce.File != kh || ce.Line != 2 || !strings.Contains(err.Error(), kh+" line 2") || trusted {
		t.Fatalf("error %+v (%v); trust asked=%v", ce, err, trusted)
	}
	if b, _ := os.ReadFile(kh); string(b) != content {
		t.Fatalf("known_hosts was changed: %q", b)
	}
}

func TestSSHPartialKnownHosts(t *testing.T) {
	for _, typ := range []string{"ed25519", "rsa"} {
		t.Run(typ, func(t *testing.T) {
			srv := testenv.StartSSHD(t, testenv.SSHDOptions{HostKeyTypes: []string{"ed25519", "rsa"}, KnownHostsTypes: []string{typ}})
			h := dialAlias(t, srv, nil)
			out, _, _ := run(t, h, Cmd{Argv: []string{"echo", "ok"}})
			if out != "ok\n" {
				t.Fatalf("output %q", out)
			}
		})
	}
}

func TestSSHUnknownHostKey(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	kh := filepath.Join(t.TempDir(), "sub", "known_hosts")
	o := SSHOptions{Name: "old", Addr: "127.0.0.1", Port: srv.Port, ConfigFile: "none", KnownHostsFile: kh, IdentityFiles: []string{srv.UserKey}}

	err := dialFails(context.Background(), o)
	var ue *UnknownHostKeyError
	if !errors.As(err, &ue) {
		t.Fatalf("no TrustUnknown: %v, want UnknownHostKeyError", err)
	}
	out, err := exec.Command("ssh-keygen", "-lf", srv.HostKeyFiles[0]+".pub").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), ue.Fingerprint) || ue.KeyType != "ssh-ed25519" || ue.HostPort != fmt.Sprintf("127.0.0.1:%d", srv.Port) {
		t.Fatalf("unknown key error %+v; ssh-keygen says %s", ue, out)
	}

	var asked []string
	o.TrustUnknown = func(hp string, _ ssh.PublicKey, fp string) bool { asked = append(asked, hp+" "+fp); return false }
	if err := dialFails(context.Background(), o); !errors.As(err, &ue) || len(asked) != 1 {
		t.Fatalf("declined: %v, asked %v", err, asked)
	}
	if _, err := os.Stat(kh); !os.IsNotExist(err) {
		t.Fatalf("known_hosts written without consent: %v", err)
	}

	o.TrustUnknown = func(string, ssh.PublicKey, string) bool { return true }
	h, err := DialSSH(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	b, _ := os.ReadFile(kh)
	if !strings.HasPrefix(string(b), fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", srv.Port)) {
		t.Fatalf("known_hosts after consent: %q", b)
	}

	o.TrustUnknown = nil
	h, err = DialSSH(context.Background(), o)
	if err != nil {
		t.Fatalf("second connection with the recorded key: %v", err)
	}
	h.Close()
}

func TestSSHLegacy(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{Legacy: true})
	err := dialFails(context.Background(), SSHOptions{Name: "old", Addr: srv.Alias, ConfigFile: srv.SSHConfig})
	if err == nil || !strings.Contains(err.Error(), "legacy") {
		t.Fatalf("legacy server without AllowLegacy: %v, want an error that mentions legacy algorithms", err)
	}
	var warnings []string
	h := dialAlias(t, srv, func(o *SSHOptions) {
		o.AllowLegacy = true
		o.Warn = func(m string) { warnings = append(warnings, m) }
	})
	out, _, _ := run(t, h, Cmd{Argv: []string{"echo", "legacy-ok"}})
	if out != "legacy-ok\n" {
		t.Fatalf("output %q", out)
	}
	w := strings.Join(warnings, "\n")
	for _, a := range []string{"diffie-hellman-group14-sha1", "ssh-rsa", "hmac-sha1"} {
		if !strings.Contains(w, a) {
			t.Fatalf("warning %q does not name %s", w, a)
		}
	}
	if err := h.CheckSystemSSH(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestSSHConnectTimeout(t *testing.T) {
	// A listener that accepts but never speaks SSH.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	key := filepath.Join(t.TempDir(), "k")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	port := l.Addr().(*net.TCPAddr).Port
	err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: port, ConfigFile: "none",
		IdentityFiles: []string{key}, KnownHostsFile: filepath.Join(t.TempDir(), "kh"), ConnectTimeout: 200 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "did not finish within") {
		t.Fatalf("silent server: %v, want a handshake timeout", err)
	}
}

func TestSSHKeepaliveClosesDeadPeer(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	// A proxy that can be frozen: it stops forwarding but keeps the
	// sockets open, as a peer that vanished from the network.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	frozen := make(chan struct{})
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", srv.Port))
			if err != nil {
				c.Close()
				return
			}
			mu.Lock()
			conns = append(conns, c, u)
			mu.Unlock()
			pump := func(dst, src net.Conn) {
				buf := make([]byte, 32<<10)
				for {
					n, err := src.Read(buf)
					if err != nil {
						return
					}
					select {
					case <-frozen:
						<-make(chan struct{}) // hold forever, like a dead link
					default:
					}
					if _, err := dst.Write(buf[:n]); err != nil {
						return
					}
				}
			}
			go pump(u, c)
			go pump(c, u)
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	port := l.Addr().(*net.TCPAddr).Port
	kh := filepath.Join(t.TempDir(), "kh")
	khData, _ := os.ReadFile(srv.KnownHosts)
	if err := os.WriteFile(kh, bytes.ReplaceAll(khData, []byte(strconv.Itoa(srv.Port)), []byte(strconv.Itoa(port))), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := DialSSH(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: port, ConfigFile: "none",
		IdentityFiles: []string{srv.UserKey}, KnownHostsFile: kh, Keepalive: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	close(frozen)
	done := make(chan error, 1)
	go func() {
		_, err := h.Exec(context.Background(), Cmd{Argv: []string{"sleep", "30"}})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || h.Lost() == nil || !strings.Contains(err.Error(), "keepalive") && !strings.Contains(h.Lost().Error(), "keepalive") {
			t.Fatalf("Exec on a dead link: %v (lost: %v)", err, h.Lost())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Exec on a dead link did not fail")
	}
}

func TestSSHUnknownAlias(t *testing.T) {
	err := dialFails(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: 1, ConfigFile: "none",
		IdentityFiles: []string{"/nonexistent/key"}})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/key") {
		t.Fatalf("missing identity file: %v", err)
	}
}

func TestParseStatAndMode(t *testing.T) {
	fi, err := parseStat("a1ff 7 42 0 0 2024-03-01 10:20:30.123456789 +0100\ntarget\n")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode != fs.ModeSymlink|0o777 || fi.LinkTarget != "target" || fi.Inode != 42 || fi.ModTime.UnixNano() != time.Date(2024, 3, 1, 9, 20, 30, 123456789, time.UTC).UnixNano() {
		t.Fatalf("parsed %+v", fi)
	}
	if _, err := parseStat("garbage"); err == nil {
		t.Fatal("garbage stat output accepted")
	}
	if m := unixMode(syscall.S_IFDIR | 0o1777); m != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Fatalf("mode %v", m)
	}
}

func TestSSHAgent(t *testing.T) {
	for _, p := range []string{"ssh-agent", "ssh-add"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("SKIPPING: %s is not installed: %v", p, err)
		}
	}
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agentCmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = agentCmd.Process.Kill(); _ = agentCmd.Wait() })
	waitFor(t, "the agent socket", func() bool { _, err := os.Stat(sock); return err == nil })
	// The socket file appears just before the agent listens: retry.
	var addErr error
	var addOut []byte
	waitFor(t, "ssh-add to succeed", func() bool {
		add := exec.Command("ssh-add", srv.UserKey)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		addOut, addErr = add.CombinedOutput()
		return addErr == nil
	})
	if addErr != nil {
		t.Fatalf("ssh-add: %v %s", addErr, addOut)
	}
	// No key files at all: HOME without .ssh, no config, no IdentityFiles.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("SSH_AUTH_SOCK", sock)
	h, err := DialSSH(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: srv.Port, ConfigFile: "none", KnownHostsFile: srv.KnownHosts})
	if err != nil {
		t.Fatalf("login with the agent's key: %v", err)
	}
	defer h.Close()
	out, _, _ := run(t, h, Cmd{Argv: []string{"echo", "agent-ok"}})
	if out != "agent-ok\n" {
		t.Fatalf("output %q", out)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	err = dialFails(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: srv.Port, ConfigFile: "none", KnownHostsFile: srv.KnownHosts})
	if err == nil || !strings.Contains(err.Error(), "no SSH key") {
		t.Fatalf("no key anywhere: %v", err)
	}
	// The error says how to get a key onto the old server.
	if want := fmt.Sprintf("`ssh-keygen -t ed25519` and install it with `ssh-copy-id -p %d root@127.0.0.1`", srv.Port); !strings.HasSuffix(err.Error(), want+" (one password login)") {
		t.Errorf("no key anywhere: %v\nwant it to end with %s", err, want)
	}
}

func TestSystemSSHArgsSpacedKnownHosts(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	dir := filepath.Join(t.TempDir(), "with space")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, "known hosts")
	b, _ := os.ReadFile(srv.KnownHosts)
	if err := os.WriteFile(kh, b, 0o600); err != nil {
		t.Fatal(err)
	}
	h := dialAlias(t, srv, func(o *SSHOptions) { o.KnownHostsFile = kh })
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skipf("SKIPPING: the ssh client is not installed: %v", err)
	}
	if err := h.CheckSystemSSH(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSSHRecordAlias: the verified key is recorded for the "oldserver"
// alias, so the system ssh given that name checks the same key; a
// different key already recorded for the alias is refused.
func TestSSHRecordAlias(t *testing.T) {
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	b, err := os.ReadFile(srv.KnownHosts)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(kh, b, 0o600)
	h, err := DialSSH(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: srv.Port, ConfigFile: "none", KnownHostsFile: kh, IdentityFiles: []string{srv.UserKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	added, err := h.RecordAlias("oldserver")
	if err != nil || !added {
		t.Fatalf("RecordAlias: %v %v", added, err)
	}
	again, err := h.RecordAlias("oldserver")
	if err != nil || again {
		t.Fatalf("second RecordAlias added a line again: %v %v", again, err)
	}
	// The system ssh, told the alias stands for 127.0.0.1, accepts the key in
	// strict batch mode.
	args := []string{"-F", "/dev/null", "-p", fmt.Sprint(srv.Port), "-i", srv.UserKey, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + kh, "-o", "HostKeyAlias=[oldserver]:" + fmt.Sprint(srv.Port), "root@127.0.0.1", "true"}
	if out, err := exec.Command("ssh", args...).CombinedOutput(); err != nil {
		t.Fatalf("system ssh with the alias: %v: %s", err, out)
	}
	// Another key recorded for the alias: refused, the file untouched.
	other := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(other, []byte(fmt.Sprintf("[oldserver]:%d ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n", srv.Port)+string(b)), 0o600)
	h2, err := DialSSH(context.Background(), SSHOptions{Name: "old", Addr: "127.0.0.1", Port: srv.Port, ConfigFile: "none", KnownHostsFile: other, IdentityFiles: []string{srv.UserKey}})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	var ce *HostKeyChangedError
	if _, err := h2.RecordAlias("oldserver"); !errors.As(err, &ce) {
		t.Fatalf("a conflicting alias key: %v, want HostKeyChangedError", err)
	}
}

// dialFails dials like DialSSH, for the tests that expect the dial to
// fail: a client it got all the same is closed at once, so that a failing
// test ends instead of leaving sshd a session to wait on.
func dialFails(ctx context.Context, o SSHOptions) error {
	h, err := DialSSH(ctx, o)
	if h != nil {
		h.Close()
	}
	return err
}
