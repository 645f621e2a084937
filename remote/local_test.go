package remote

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLocalExecExitCodeAndEnv(t *testing.T) {
	l, err := NewLocal("new", "/")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	res, err := l.Exec(context.Background(), Cmd{
		Argv:   []string{"sh", "-c", `printf '%s' "$FERRY_LOCAL_TEST"; exit 7`},
		Env:    []string{"FERRY_LOCAL_TEST=a value with 'quotes'"},
		Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 7 || out.String() != "a value with 'quotes'" {
		t.Fatalf("exit %d output %q", res.ExitCode, out.String())
	}
	res, err = l.Exec(context.Background(), Cmd{Argv: []string{"sh", "-c", "kill -TERM $$"}})
	if err != nil || res.ExitCode != 143 || res.Signal != "TERM" {
		t.Fatalf("killed by TERM: %+v %v", res, err)
	}
	if _, err := l.Exec(context.Background(), Cmd{}); err == nil {
		t.Fatal("empty argv accepted")
	}
}

// cancelMidCommand starts the shell line made by script (given a unique
// number) on h, waits until a "sleep NUMBER" it starts runs, cancels, and
// checks Exec returns context.Canceled. It returns the sleep's pids and the
// number, for the caller to check they are gone.
func cancelMidCommand(t *testing.T, h Host, script func(n string) string) ([]int, string) {
	t.Helper()
	n := strconv.Itoa(1000000 + rand.IntN(8000000))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.Exec(ctx, Cmd{Argv: []string{"sh", "-c", script(n)}})
		done <- err
	}()
	var pids []int
	waitFor(t, "sleep "+n+" to start", func() bool { pids = procWith("sleep\x00" + n); return len(pids) > 0 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Exec after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Exec did not return after cancel")
	}
	return pids, n
}

func TestLocalCancelKillsProcessGroup(t *testing.T) {
	l, _ := NewLocal("new", "/")
	// The sleep is a grandchild: only a group kill reaches it.
	pids, n := cancelMidCommand(t, l, func(n string) string { return "sleep " + n + " & wait" })
	waitFor(t, "sleep "+n+" to end", func() bool {
		for _, p := range pids {
			if alive(p) {
				return false
			}
		}
		return true
	})
}

func TestLocalRootMapping(t *testing.T) {
	root := t.TempDir()
	l, err := NewLocal("old", root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewLocal("old", "relative/root"); err == nil {
		t.Fatal("relative root accepted")
	}
	for in, want := range map[string]string{
		"/etc/hosts":             root + "/etc/hosts",
		"../../../etc/passwd":    root + "/etc/passwd",
		"/var/../../../../etc/x": root + "/etc/x",
		"/var/spool/":            root + "/var/spool/",
		"/":                      root,
	} {
		if got := l.Path(in); got != want {
			t.Errorf("Path(%q) = %q, want %q", in, got, want)
		}
	}
	if got := JoinRoot("/", "../etc/hosts"); got != "/etc/hosts" {
		t.Errorf("JoinRoot(/, ../etc/hosts) = %q", got)
	}
	bin := filepath.Join(root, "usr", "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\necho \"stand-in $FERRY_ROOT\"\n"
	if err := os.WriteFile(filepath.Join(bin, "greet"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, argv0 := range []string{"greet", "/usr/bin/greet", "/../../usr/bin/greet"} {
		var out bytes.Buffer
		if _, err := l.Exec(context.Background(), Cmd{Argv: []string{argv0}, Stdout: &out}); err != nil {
			t.Fatalf("%s: %v", argv0, err)
		}
		if out.String() != "stand-in "+root+"\n" {
			t.Fatalf("%s printed %q", argv0, out.String())
		}
	}
}

func TestWriteFileAtomicKeepsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hosts")
	if err := WriteFileAtomic(p, []byte("one\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("new file: %v %v", fi.Mode(), err)
	}
	if err := os.Chmod(p, 0o604); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(p, []byte("two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, _ = os.Stat(p)
	b, _ := os.ReadFile(p)
	if fi.Mode().Perm() != 0o604 || string(b) != "two\n" {
		t.Fatalf("rewritten file: mode %v content %q", fi.Mode(), b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestLocalStat(t *testing.T) {
	root := t.TempDir()
	l, _ := NewLocal("new", root)
	if err := os.Symlink("target", filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	st, err := l.Stat(context.Background(), "/link")
	if err != nil || st.Mode&fs.ModeSymlink == 0 || st.LinkTarget != "target" || st.Inode == 0 {
		t.Fatalf("symlink: %+v %v", st, err)
	}
	if _, err := l.Stat(context.Background(), "/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
	if _, err := l.ReadFile(context.Background(), "/missing"); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), root) {
		t.Fatalf("missing read: %v", err)
	}
}

func TestSimArgvMapsServerPathsOnlyOnASimulatedRoot(t *testing.T) {
	root := "/tmp/demo/new"
	for _, c := range []struct{ in, want []string }{
		{[]string{"sh", "-c", `date | /var/hvmail/bin/mailsubj "Test" a@b.c`}, []string{"sh", "-c", `date | /tmp/demo/new/var/hvmail/bin/mailsubj "Test" a@b.c`}},
		{[]string{"grep", "dns-nameservers", "/etc/network/interfaces"}, []string{"grep", "dns-nameservers", root + "/etc/network/interfaces"}},
		{[]string{"sh", "-c", "cat /etc/os-release 2> /dev/null"}, []string{"sh", "-c", "cat " + root + "/etc/os-release 2> /dev/null"}},
		{[]string{"/usr/bin/find", "/var/hvmail/qmail-ram/savedqueue", "-type", "f", "-delete"}, []string{root + "/usr/bin/find", root + "/var/hvmail/qmail-ram/savedqueue", "-type", "f", "-delete"}},
		{[]string{"echo", "/proc/1", "--file=/dev/null", "a /tmp/x"}, []string{"echo", "/proc/1", "--file=/dev/null", "a /tmp/x"}},
		// A word that is one path is mapped whatever it names, the root too.
		{[]string{"rsync", "-a", "/src/", "/"}, []string{"rsync", "-a", root + "/src/", root}},
		// Already mapped (Host.Path), or the simulator's own files: as they are.
		{[]string{"rm", "-rf", root + "/var/x", "/tmp/demo/sim/ssh/id_ed25519"}, []string{"rm", "-rf", root + "/var/x", "/tmp/demo/sim/ssh/id_ed25519"}},
		// An option value and each element of a PATH-style list.
		{[]string{"env", "PATH=/usr/bin:/var/hvmail/bin", "--dir=/var/migrate"}, []string{"env", "PATH=" + root + "/usr/bin:" + root + "/var/hvmail/bin", "--dir=" + root + "/var/migrate"}},
		// Another server's path in an rsync operand is that server's business.
		{[]string{"rsync", "-a", "root@192.0.2.7:/var/hvmail/", ":/etc/hosts", "/var/hvmail/"}, []string{"rsync", "-a", "root@192.0.2.7:/var/hvmail/", ":/etc/hosts", root + "/var/hvmail/"}},
	} {
		if got := simArgv(root, c.in); !slices.Equal(got, c.want) {
			t.Errorf("simArgv(%q)\n = %q\nwant %q", c.in, got, c.want)
		}
		if got := simArgv("/", c.in); !slices.Equal(got, c.in) {
			t.Errorf("on a real root simArgv changed %q to %q", c.in, got)
		}
	}
}

func TestLinkMapsAPeersOperandsUnderItsRoot(t *testing.T) {
	l, _ := NewLocal("new", "/tmp/demo/new")
	peer := fakePeer{"root@192.0.2.7", "/tmp/demo/old"}
	argv := []string{"rsync", "-a", "--relative", "root@192.0.2.7:/./etc/bm/*", ":/var/lib/bm-ca/./x", "root@192.0.2.8:/etc/x", "/"}
	if got := l.Argv(argv); got[3] != argv[3] || got[4] != argv[4] {
		t.Errorf("before Link the operands were mapped: %q", got)
	}
	Link(l, peer)
	want := []string{"rsync", "-a", "--relative", "root@192.0.2.7:/tmp/demo/old/./etc/bm/*", ":/tmp/demo/old/var/lib/bm-ca/./x", "root@192.0.2.8:/etc/x", "/tmp/demo/new"}
	if got := WithEnv(l, []string{"A=b"}).(*Local).Argv(argv); !slices.Equal(got, want) {
		t.Errorf("after Link\n got %q\nwant %q", got, want)
	}
	// An operand a caller already mapped is left alone.
	if got := l.Argv([]string{"rsync", "root@192.0.2.7:/tmp/demo/old/var/x/"}); got[1] != "root@192.0.2.7:/tmp/demo/old/var/x/" {
		t.Errorf("a mapped operand was mapped again: %q", got[1])
	}
	real, _ := NewLocal("new", "/")
	Link(real, fakePeer{"root@192.0.2.7", "/"})
	if got := real.Argv(argv); !slices.Equal(got, argv) {
		t.Errorf("a real host changed %q to %q", argv, got)
	}
}

type fakePeer struct{ dest, root string }

func (f fakePeer) Destination() string { return f.dest }
func (f fakePeer) Root() string        { return f.root }

func TestObserveSeesEveryCommand(t *testing.T) {
	l, _ := NewLocal("new", "/")
	var seen [][]string
	h := Observe(l, func(host string, argv []string) { seen = append(seen, append([]string{host}, argv...)) })
	if _, ok := h.(*Local); !ok {
		t.Fatalf("Observe of a *Local is a %T", h)
	}
	if _, err := h.Exec(context.Background(), Cmd{Argv: []string{"true", "x"}}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || !slices.Equal(seen[0], []string{"new", "true", "x"}) {
		t.Errorf("observed %q", seen)
	}
}
