package testenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Postgres is a throwaway PostgreSQL cluster listening on 127.0.0.1 and on a
// unix socket in SocketDir, whose superuser is "postgres". By default every
// role is trusted; with PostgresOptions.StockHBA it authenticates as a
// distribution's package sets it up (see StockPgHBA). It is stopped and its
// files are removed when the test ends.
type Postgres struct {
	Host      string // always "127.0.0.1"
	Port      int
	BinDir    string // the server's bin directory (initdb, postgres, pg_dump, psql ...)
	BaseDir   string // the directory holding everything below, removed at the end
	DataDir   string
	SocketDir string

	// Stock is true when the cluster uses StockPgHBA: the helpers then
	// reach it as the postgres OS user over the socket.
	Stock bool

	cred *syscall.Credential // set when the server runs as the postgres user
	uid  int                 // owner of the files (-1: the current user)
	gid  int
	proc *exec.Cmd
	done chan struct{}
	log  string
}

// PostgresBinDir returns the directory of the newest installed PostgreSQL
// server binaries, or "" if none is installed.
func PostgresBinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if isExecutable(filepath.Join(dir, "initdb")) {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	more, _ := filepath.Glob("/usr/pgsql-*/bin")
	dirs = append(dirs, more...)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) {
			return d
		}
	}
	return ""
}

func versionOf(binDir string) int {
	base := filepath.Base(filepath.Dir(binDir))
	base = strings.TrimPrefix(base, "pgsql-")
	n, _ := strconv.Atoi(strings.SplitN(base, ".", 2)[0])
	return n
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// StockPgHBA is the pg_hba.conf Debian's postgresql-common package writes
// for a new cluster (pg_createcluster; the same lines are in
// /etc/postgresql/15/main/pg_hba.conf on Debian 12): peer authentication on
// the unix socket, so only the OS user of the same name logs in there
// without a password, SCRAM passwords over TCP on loopback, and no trust
// line at all.
const StockPgHBA = `local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     peer
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
`

// PostgresOptions changes how StartPostgresWith sets a cluster up.
type PostgresOptions struct {
	// StockHBA writes StockPgHBA instead of trusting every role. It needs
	// root (the server and the helpers' psql run as the postgres OS user,
	// which peer authentication maps to role postgres); the test is
	// skipped otherwise.
	StockHBA bool
}

// StartPostgres runs initdb in a fresh directory and starts postgres on a free
// loopback port, trusting every role. As root (where initdb and postgres
// refuse to run) both run as the "postgres" system user, on a directory that
// user owns. The test is skipped when no PostgreSQL server is installed.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	return StartPostgresWith(t, PostgresOptions{})
}

// StartPostgresWith is StartPostgres with options.
func StartPostgresWith(t testing.TB, opt PostgresOptions) *Postgres {
	t.Helper()
	if opt.StockHBA && os.Geteuid() != 0 {
		t.Skip("SKIPPED: a cluster with the stock pg_hba.conf (peer authentication) needs root, to run psql as the postgres OS user")
	}
	bin := PostgresBinDir()
	if bin == "" {
		t.Skip("SKIPPED: PostgreSQL server binaries (initdb, postgres) are not installed; install the postgresql package to run this test")
	}
	p := &Postgres{Host: "127.0.0.1", BinDir: bin, Stock: opt.StockHBA, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL must run as the postgres user, which does not exist: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.uid, p.gid = uid, gid
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}

	// t.TempDir's parents are private to root; the postgres user must be able
	// to reach the data directory, so make our own world-traversable one.
	base, err := os.MkdirTemp("", "ferry-pg-")
	if err != nil {
		t.Fatalf("temporary directory for PostgreSQL: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	p.BaseDir = base
	p.DataDir = filepath.Join(base, "data")
	p.SocketDir = p.OwnedDir(t, "sock")
	p.log = filepath.Join(base, "postgres.log")

	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", p.DataDir, "-U", "postgres",
		"-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir = base
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	p.chown(t, base) // initdb creates DataDir itself
	if out, err := initdb.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if opt.StockHBA {
		hba := filepath.Join(p.DataDir, "pg_hba.conf")
		if err := os.WriteFile(hba, []byte(StockPgHBA), 0o600); err != nil {
			t.Fatal(err)
		}
		p.chown(t, hba)
	}

	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := pgFreePort()
		if err != nil {
			t.Fatalf("no free loopback port: %v", err)
		}
		if lastErr = p.start(port); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		t.Fatalf("postgres did not start: %v\n%s", lastErr, p.Log())
	}
	t.Cleanup(p.stop)
	return p
}

func (p *Postgres) start(port int) error {
	cmd := exec.Command(filepath.Join(p.BinDir, "postgres"), "-D", p.DataDir,
		"-c", "listen_addresses=127.0.0.1", "-p", strconv.Itoa(port), "-k", p.SocketDir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
		"-c", "logging_collector=off")
	cmd.Dir = p.BaseDir
	logf, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-done:
			return fmt.Errorf("postgres exited during start-up on port %d", port)
		default:
		}
		ready := exec.Command(filepath.Join(p.BinDir, "pg_isready"), "-q", "-h", "127.0.0.1", "-p", strconv.Itoa(port))
		if ready.Run() == nil {
			p.Port, p.proc, p.done = port, cmd, done
			return nil
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("postgres not ready on port %d after 60s", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop asks for a fast shutdown (SIGINT) and waits; it kills after a while.
func (p *Postgres) stop() {
	if p.proc == nil {
		return
	}
	_ = p.proc.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.proc.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Log returns what the server has logged so far.
func (p *Postgres) Log() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// Addr is "127.0.0.1:PORT".
func (p *Postgres) Addr() string { return net.JoinHostPort(p.Host, strconv.Itoa(p.Port)) }

// Env returns PGHOST, PGPORT and PGUSER=postgres for client programs. On a
// stock cluster PGHOST is SocketDir, where only the postgres OS user logs
// in as postgres (peer).
func (p *Postgres) Env() []string {
	host := p.Host
	if p.Stock {
		host = p.SocketDir
	}
	return []string{"PGHOST=" + host, "PGPORT=" + strconv.Itoa(p.Port), "PGUSER=postgres"}
}

// Bin returns the path of the named program in BinDir.
func (p *Postgres) Bin(name string) string { return filepath.Join(p.BinDir, name) }

// ConnString returns a keyword/value connection string for database db as
// the superuser.
func (p *Postgres) ConnString(db string) string {
	return fmt.Sprintf("host=%s port=%d user=postgres dbname='%s' sslmode=disable",
		p.Host, p.Port, strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(db))
}

// OwnedDir creates BaseDir/name owned by the server's user (for a tablespace
// location, say) and returns its path.
func (p *Postgres) OwnedDir(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(p.BaseDir, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p.chown(t, dir)
	return dir
}

func (p *Postgres) chown(t testing.TB, dir string) {
	t.Helper()
	if p.uid >= 0 {
		if err := os.Chown(dir, p.uid, p.gid); err != nil {
			t.Fatalf("chown %s to postgres: %v", dir, err)
		}
	}
}

// SQL runs sql in database db as the superuser with psql (-X, -At,
// ON_ERROR_STOP) and returns its output without the final newline. The test
// fails if psql does.
func (p *Postgres) SQL(t testing.TB, db, sql string) string {
	t.Helper()
	out, err := p.TrySQL(db, sql)
	if err != nil {
		t.Fatalf("psql on %s (db %s): %v\nSQL: %s", p.Addr(), db, err, sql)
	}
	return out
}

// TrySQL is SQL returning the error instead of failing the test. On a
// stock cluster psql runs as the postgres OS user over the socket.
func (p *Postgres) TrySQL(db, sql string) (string, error) {
	cmd := exec.Command(p.Bin("psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, "-f", "-")
	cmd.Env = append(os.Environ(), p.Env()...)
	if p.Stock {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
		cmd.Dir = p.BaseDir
	}
	cmd.Stdin = strings.NewReader(sql)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSuffix(stdout.String(), "\n"), nil
}

// RequirePassword makes the server ask role for its password (SCRAM) on TCP
// connections, so a test can prove a password really travels; other roles
// keep trust authentication. The configuration is reloaded at once.
func (p *Postgres) RequirePassword(t testing.TB, role string) {
	t.Helper()
	hba := filepath.Join(p.DataDir, "pg_hba.conf")
	old, err := os.ReadFile(hba)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("host all %q 127.0.0.1/32 scram-sha-256\n", role)
	if err := os.WriteFile(hba, append([]byte(line), old...), 0o600); err != nil {
		t.Fatal(err)
	}
	p.SQL(t, "postgres", "SELECT pg_reload_conf();")
	// The reload is asynchronous: wait until the rule is in force (the role
	// must exist for this to end).
	deadline := time.Now().Add(30 * time.Second)
	for {
		if p.passwordNeeded(role) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pg_hba.conf change for %s not in force after 30s", role)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// passwordNeeded reports whether a connection as role without a password is
// refused.
func (p *Postgres) passwordNeeded(role string) bool {
	cmd := exec.Command(p.Bin("psql"), "-X", "-w", "-At", "-h", p.Host, "-p", strconv.Itoa(p.Port), "-U", role, "-d", "postgres", "-c", "SELECT 1")
	cmd.Env = append(os.Environ(), "PGPASSWORD=", "PGPASSFILE=/dev/null")
	err := cmd.Run()
	var ee *exec.ExitError
	return errors.As(err, &ee)
}

func pgFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
