package sim

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// testMessages keeps the package's tests fast; the demo uses 3000.
const testMessages = 300

func newSim(t *testing.T, o Options) *Sim {
	t.Helper()
	if o.Messages == 0 {
		o.Messages = testMessages
	}
	if o.MergeDelay == 0 {
		o.MergeDelay = -1
	}
	s, err := Setup(filepath.Join(t.TempDir(), "demo"), o)
	if err != nil {
		t.Fatalf("Setup: %v", err)
	}
	return s
}

type runResult struct {
	code           int
	stdout, stderr string
}

func (r runResult) lastLine() string {
	lines := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	return lines[len(lines)-1]
}

// run runs argv on the host whose root is root, the way ferry does
// (remote.Local: FERRY_ROOT and the root's bin directories first on PATH).
func run(t *testing.T, root string, stdin io.Reader, env []string, argv ...string) runResult {
	t.Helper()
	h, err := remote.NewLocal("sim", root)
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	res, err := h.Exec(context.Background(), remote.Cmd{Argv: argv, Stdin: stdin, Stdout: &out, Stderr: &errb, Env: append(adminEnv(root), env...)})
	if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return runResult{code: res.ExitCode, stdout: out.String(), stderr: errb.String()}
}

// adminEnv is the environment of an admin's shell on the simulated server
// at root once GreenArrow's profile scripts ran, with the engine's libexec
// directory on PATH too, so that the tests call the vendor's programs by
// name. ferry's own hosts do not put these directories on PATH
// (remote.SimEnv): only the profile environment does, as on a real server.
func adminEnv(root string) []string {
	env := remote.SimEnv(root, os.Getenv("PATH"))
	path := strings.TrimPrefix(env[len(env)-1], "PATH=")
	return append(env, "PATH="+root+"/var/hvmail/bin:"+root+"/var/hvmail/libexec:"+path)
}

// mustRun is run that fails the test on a non-zero exit.
func mustRun(t *testing.T, root string, stdin io.Reader, argv ...string) runResult {
	t.Helper()
	r := run(t, root, stdin, nil, argv...)
	if r.code != 0 {
		t.Fatalf("%v exited %d\nstdout:\n%s\nstderr:\n%s", argv, r.code, r.stdout, r.stderr)
	}
	return r
}

// needPrograms skips the test, loudly, when a real program it relies on is
// not installed.
func needPrograms(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("SKIPPING: %s is not installed (%v); install it to run this test", n, err)
		}
	}
}

// installEngine does on the new root what the runbook does before the
// migration script: copy the backup files to /var/migrate and reinstall
// the packages.
func installEngine(t *testing.T, s *Sim) {
	t.Helper()
	for _, f := range []string{"greenarrow-packages.txt", "greenarrow-repository-access-key.txt", "hvmail_reinstall_packages", "postgresql-tablespaces.txt"} {
		b, err := os.ReadFile(s.OldRoot + BackupDir + "/" + f)
		if err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if f == "hvmail_reinstall_packages" {
			mode = 0o755
		}
		if err := writeFile(s.NewRoot+"/var/migrate/"+f, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, s.NewRoot, nil, "/var/migrate/hvmail_reinstall_packages", "/var/migrate/greenarrow-packages.txt")
}

// pointAtOldServer writes what the runbook writes on the new root before the
// migration script runs: the oldserver line and a Host block with the port.
func pointAtOldServer(t *testing.T, s *Sim, srv *Server) {
	t.Helper()
	hosts, err := os.ReadFile(s.NewRoot + "/etc/hosts")
	if err != nil {
		t.Fatal(err)
	}
	hosts = append(hosts, []byte(srv.Addr+" oldserver\n")...)
	if err := writeFile(s.NewRoot+"/etc/hosts", hosts, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := "Host oldserver\n    Port " + strconv.Itoa(srv.Port) + "\n"
	if err := writeFile(s.NewRoot+"/root/.ssh/config", []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
}

func startSSH(t *testing.T, s *Sim) *Server {
	t.Helper()
	srv, err := s.StartSSH(context.Background())
	if err != nil {
		t.Fatalf("StartSSH: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return writeFile(dst, b, 0o644)
}
