package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ferry-migrate/ferry/remote"
)

// PGServer names a PostgreSQL server and a login as seen from the host where
// the client program (or ferry's own connection) starts.
type PGServer struct {
	// OSUser, when set, is the operating-system user the client programs
	// run as: Argv starts them with `runuser -u OSUser --` (ferry runs as
	// root). With OSUser "postgres", an empty Host (the default socket) and
	// no User, this is what the published procedure does after
	// `su - postgres`, and what a stock Debian or Red Hat cluster lets in
	// without a password: pg_hba.conf's "local all postgres peer" line maps
	// the client's OS user to the role of the same name. ferry's own pgx
	// connections cannot use it (they come from root), so counts on such a
	// server go through psql too (CountRowsPSQL).
	OSUser string
	// Host is a host name, an IP address or a unix socket directory. Empty
	// leaves the choice to the client programs (their default socket) and
	// means 127.0.0.1 for ferry's own connections.
	Host string
	// Port is the server's port; 0 means 5432.
	Port int
	// User is the role to log in as; empty leaves it to the client default.
	User string
	// Password, if any, reaches client programs only through PGPASSWORD in
	// the command's environment, never through an argument.
	Password string
	// BinDir is the directory holding pg_dump, pg_restore, psql, createdb
	// and dropdb; empty means they are looked up on the host's PATH.
	BinDir string
}

// bin returns the argv[0] for the named client program.
func (s PGServer) bin(name string) string {
	if s.BinDir == "" {
		return name
	}
	return path.Join(s.BinDir, name)
}

// Argv returns the command line that runs the client program prog (pg_dump,
// pg_restore, psql, createdb, dropdb) against s with args after the
// connection options: prefixed with `runuser -u OSUser --` when OSUser is
// set. The password is never part of it (see Env). Every caller that runs a
// client program, and everything that shows one, builds it here.
func (s PGServer) Argv(prog string, args ...string) []string {
	var argv []string
	if s.OSUser != "" {
		argv = append(argv, "runuser", "-u", s.OSUser, "--")
	}
	argv = append(argv, s.bin(prog))
	argv = append(argv, s.connArgs()...)
	return append(argv, args...)
}

// dir is the working directory for client programs: "/" when they run as
// another OS user, who may not be allowed into ferry's own directory (the
// programs would warn "could not change directory").
func (s PGServer) dir() string {
	if s.OSUser != "" {
		return "/"
	}
	return ""
}

// Env returns the environment settings client programs need (PGPASSWORD
// when there is a password), to be passed as remote.Cmd.Env, never in argv.
// runuser without --login keeps them.
func (s PGServer) Env() []string { return s.env() }

// connArgs are the connection options shared by every client program. The
// "--opt=value" form keeps a value starting with "-" from being read as an
// option; --no-password makes a missing password an error instead of a
// prompt nobody can answer.
func (s PGServer) connArgs() []string {
	args := []string{"--no-password"}
	if s.Host != "" {
		args = append(args, "--host="+s.Host)
	}
	if s.Port != 0 {
		args = append(args, "--port="+strconv.Itoa(s.Port))
	}
	if s.User != "" {
		args = append(args, "--username="+s.User)
	}
	return args
}

// env is the environment for client programs: the password, if any.
func (s PGServer) env() []string {
	if s.Password == "" {
		return nil
	}
	return []string{"PGPASSWORD=" + s.Password}
}

// port returns the port, defaulting to 5432.
func (s PGServer) port() int {
	if s.Port == 0 {
		return 5432
	}
	return s.Port
}

// CheckDBName returns an error naming db if it cannot safely be handed to the
// PostgreSQL client programs as a database name: they read a name holding
// "=" or starting with a postgres:// URI as a whole connection string, and
// one starting with "-" as an option.
func CheckDBName(db string) error {
	switch {
	case db == "":
		return errors.New("database name is empty")
	case strings.ContainsAny(db, "=\x00\n\r"):
		return fmt.Errorf("database name %q holds a character ferry does not accept (=, NUL or a line break)", db)
	case strings.HasPrefix(db, "-"):
		return fmt.Errorf("database name %q starts with '-'", db)
	case strings.HasPrefix(db, "postgres://"), strings.HasPrefix(db, "postgresql://"):
		return fmt.Errorf("database name %q looks like a connection URI", db)
	case len(db) > 63:
		return fmt.Errorf("database name %q is longer than PostgreSQL's 63 bytes", db)
	}
	return nil
}

// Dialer opens network connections from somewhere else: the SSH connection
// to the old server implements it, so that ferry reaches a PostgreSQL server
// that listens only on the old server's loopback interface or socket.
type Dialer interface {
	DialContext(ctx context.Context, network, addr string) (net.Conn, error)
}

// ConnectPG opens a pgx connection to database db on s (host 127.0.0.1 and
// user postgres when s leaves them empty). With a nil via it
// dials directly; otherwise every connection (including pgx's cancel
// requests) goes through via, the host name is resolved on the far side
// (LookupFunc returns it as is), TLS is off (the tunnel already protects the
// link), and a connection that cannot take deadlines, as an SSH channel
// cannot, is wrapped so that context cancellation and timeouts still work.
func ConnectPG(ctx context.Context, s PGServer, db string, via Dialer) (*pgx.Conn, error) {
	if err := CheckDBName(db); err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig("sslmode=disable connect_timeout=15")
	if err != nil {
		return nil, err
	}
	host := s.Host
	if host == "" {
		host = "127.0.0.1"
	}
	cfg.Host = host
	cfg.Port = uint16(s.port())
	cfg.User = s.User
	if cfg.User == "" {
		cfg.User = "postgres"
	}
	cfg.Password = s.Password
	cfg.Database = db
	cfg.TLSConfig = nil
	cfg.Fallbacks = nil
	if via != nil {
		cfg.LookupFunc = func(_ context.Context, h string) ([]string, error) { return []string{h}, nil }
		cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := via.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if c.SetDeadline(time.Time{}) != nil {
				return newDeadlineConn(c, network, addr), nil
			}
			return c, nil
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL at %s port %d as %s, database %s: %w", host, s.port(), cfg.User, db, err)
	}
	return conn, nil
}

// deadlineConn gives deadlines to a connection that has none (an SSH
// channel): pgx talks to one end of an in-memory pipe, which honours
// deadlines, and two goroutines copy between its other end and the channel.
// RemoteAddr reports the real target so that pgx's cancel request, which
// dials RemoteAddr, reaches the server.
type deadlineConn struct {
	net.Conn
	remote pgAddr
}

type pgAddr struct{ network, addr string }

func (a pgAddr) Network() string { return a.network }
func (a pgAddr) String() string  { return a.addr }

func newDeadlineConn(c net.Conn, network, addr string) net.Conn {
	near, far := net.Pipe()
	var once sync.Once
	closeBoth := func() { once.Do(func() { far.Close(); c.Close() }) }
	go func() { _, _ = io.Copy(far, c); closeBoth() }()
	go func() { _, _ = io.Copy(c, far); closeBoth() }()
	return &deadlineConn{Conn: near, remote: pgAddr{network, addr}}
}

func (d *deadlineConn) RemoteAddr() net.Addr { return d.remote }

// PSQLArgv returns the psql command that runs one SQL statement in database
// db on s and prints the result unaligned, without headers (-At), ignoring
// any ~/.psqlrc (-X) and stopping at the first error.
func PSQLArgv(s PGServer, db, sql string) []string {
	return s.Argv("psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "--dbname="+db, "--command="+sql)
}

// psqlLines runs one SQL statement with psql on h against database db and
// returns the output lines (unaligned, tuples only).
func psqlLines(ctx context.Context, h remote.Host, s PGServer, db, sql string) ([]string, error) {
	var out strings.Builder
	tail := newPGTail(10)
	argv := PSQLArgv(s, db, sql)
	res, err := h.Exec(ctx, remote.Cmd{Argv: argv, Env: s.env(), Dir: s.dir(), Stdout: &out, Stderr: tail})
	if err != nil {
		return nil, fmt.Errorf("psql on %s: %w", h.Name(), err)
	}
	if res.ExitCode != 0 {
		return nil, fmt.Errorf("psql on %s (database %s) exited with status %d: %s", h.Name(), db, res.ExitCode, tail)
	}
	var lines []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// pgTail keeps the last few lines written to it, for error messages. It
// also forwards each line to fn, if set.
type pgTail struct {
	mu    sync.Mutex
	lines []string
	max   int
	fn    func(string)
	lw    *remote.Lines
}

func newPGTail(max int) *pgTail { return newPGTailFunc(max, nil) }

func newPGTailFunc(max int, fn func(string)) *pgTail {
	t := &pgTail{max: max, fn: fn}
	t.lw = remote.LineWriter(t.add)
	return t
}

func (t *pgTail) add(line string) {
	t.mu.Lock()
	t.lines = append(t.lines, line)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	t.mu.Unlock()
	if t.fn != nil {
		t.fn(line)
	}
}

func (t *pgTail) Write(p []byte) (int, error) { return t.lw.Write(p) }

// Flush delivers a last line that had no line end.
func (t *pgTail) Flush() { t.lw.Flush() }

// String flushes and returns the kept lines joined by "; ".
func (t *pgTail) String() string {
	t.lw.Flush()
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(t.lines, "; ")
}
