package runner

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestMain lets Spawn's child be this test binary: started with ChildEnv
// set, it says its session and its front end, and exits 7.
func TestMain(m *testing.M) {
	if IsChild() {
		sid, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0)
		fmt.Printf("child pid %d sid %d front %q args %q\n", os.Getpid(), sid, Front(), os.Args[1:])
		os.Exit(7)
	}
	os.Exit(m.Run())
}

// TestLaunchArgv: in a systemd scope of the given name (systemd-run
// --scope executes ferry in place, so the process keeps its streams,
// environment and directory), and collected when it ends; without a unit,
// ferry itself.
func TestLaunchArgv(t *testing.T) {
	got := LaunchArgv("ferry-0123456789ab", "/usr/bin/ferry", []string{"run", "--headless"})
	want := []string{"systemd-run", "--scope", "--unit", "ferry-0123456789ab", "--collect", "--quiet",
		"--description", "ferry migration runner", "--", "/usr/bin/ferry", "run", "--headless"}
	if !slices.Equal(got, want) {
		t.Errorf("with a unit:\n got %q\nwant %q", got, want)
	}
	if got := LaunchArgv("", "/usr/bin/ferry", []string{"run"}); !slices.Equal(got, []string{"/usr/bin/ferry", "run"}) {
		t.Errorf("without a unit: %q", got)
	}
}

// TestUnitName: one name per state directory, the same each time, with
// only the characters systemd takes in a unit name unescaped.
func TestUnitName(t *testing.T) {
	a, b := UnitName("/var/lib/ferry"), UnitName("/srv/ferry state")
	if a != UnitName("/var/lib/ferry") || a == b {
		t.Errorf("names %q %q", a, b)
	}
	for _, n := range []string{a, b} {
		if !regexp.MustCompile(`^ferry-[0-9a-f]{12}$`).MatchString(n) {
			t.Errorf("unit name %q", n)
		}
	}
}

// TestSystemdRuns: told by run/systemd/system under the root given.
func TestSystemdRuns(t *testing.T) {
	root := t.TempDir()
	if SystemdRuns(root) {
		t.Fatal("systemd runs under an empty root")
	}
	if err := os.MkdirAll(filepath.Join(root, "run", "systemd", "system"), 0o755); err != nil {
		t.Fatal(err)
	}
	if !SystemdRuns(root) {
		t.Fatal("systemd does not run under a root with run/systemd/system")
	}
}

// TestSpawnInASessionOfItsOwn starts a runner (this binary, TestMain) the
// way ferry does where systemd does not run, as on this test machine: in a
// session of its own (its session id is its pid), the front end in its
// environment, its output appended to the log, whose header says why it
// got no systemd scope; Ready reports its exit with what it printed.
func TestSpawnInASessionOfItsOwn(t *testing.T) {
	if SystemdRuns("/") {
		t.Skip("systemd runs here: Spawn makes a scope unit; this test is for the fallback")
	}
	dir := filepath.Join(t.TempDir(), "state")
	st, err := Spawn(dir, []string{"ferry", "run", "--state-dir", dir}, FrontEnv+"=plain")
	if err != nil {
		t.Fatal(err)
	}
	if st.Unit != "" {
		t.Errorf("unit %q without systemd", st.Unit)
	}
	_, err = st.Ready(filepath.Join(dir, SocketFile), Hello{Role: RoleObserve}, time.Minute)
	gone, ok := err.(*ErrRunnerExited)
	if !ok || gone.Code != 7 {
		t.Fatalf("Ready: %v, want the runner's exit 7", err)
	}
	want := fmt.Sprintf("child pid %d sid %d front \"plain\" args [\"run\" \"--state-dir\" %q]", st.PID, st.PID, dir)
	if !strings.Contains(gone.Log, want) {
		t.Errorf("the runner printed %q, want %q", gone.Log, want)
	}
	b, err := os.ReadFile(filepath.Join(dir, LogFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "ferry runner started in a session of its own: systemd does not run here") {
		t.Errorf("the log's header does not say how the runner was started:\n%s", b)
	}
	if fi, err := os.Stat(filepath.Join(dir, LogFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("log %v %v, want mode 0600", fi.Mode(), err)
	}
}

// TestUnattendedRunnerRefusesEveryDecision: with no Decide (a run that
// answers from its answers file), even the controlling client's decision
// is refused, told back and reported; its interrupt still goes through.
func TestUnattendedRunnerRefusesEveryDecision(t *testing.T) {
	path := filepath.Join(t.TempDir(), SocketFile)
	var refused []string
	interrupted := make(chan struct{}, 1)
	srv, err := Listen(ServerOptions{Path: path, Welcome: Welcome{PID: 1, Unattended: true},
		Interrupt: func() { interrupted <- struct{}{} },
		Refused:   func(who string, d wizard.Decision) { refused = append(refused, who+" "+string(d.Action)) }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Finish(End{}, time.Second)
	c, err := Dial(path, Hello{Role: RoleControl, Who: "ctl"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Welcome.Role != RoleControl || !c.Welcome.Unattended {
		t.Fatalf("welcome %+v", c.Welcome)
	}
	col := collect(c)
	if err := c.Decide(wizard.Decision{Step: "s", Action: wizard.ActQuit}); err != nil {
		t.Fatal(err)
	}
	col.wait(t, "the refusal", func(m Message) bool { return strings.Contains(m.Notice, "answers from its answers file") })
	if len(refused) != 1 || refused[0] != "ctl quit" {
		t.Errorf("refused %v", refused)
	}
	if err := c.Interrupt(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-interrupted:
	case <-time.After(10 * time.Second):
		t.Fatal("the controlling client's interrupt did not reach the runner")
	}
}
