package tasks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/testenv"
)

// bjSource starts a "source" cluster shaped like a BlueMind server: role bj
// with a password (required on TCP), databases bj and bj-data owned by it,
// and a tablespace ts_mail with its own directory holding one of bj-data's
// tables. It returns the cluster and the password.
func bjSource(t *testing.T) (*testenv.Postgres, string) {
	t.Helper()
	pg := testenv.StartPostgres(t)
	pw := "pw-" + pgRandom(t)
	loc := pg.OwnedDir(t, "ts_mail")
	pg.SQL(t, "postgres", `
CREATE ROLE bj LOGIN PASSWORD '`+pw+`';
CREATE ROLE reader;
CREATE DATABASE bj OWNER bj;
CREATE DATABASE "bj-data" OWNER bj;
CREATE TABLESPACE ts_mail LOCATION '`+loc+`';
GRANT CREATE ON TABLESPACE ts_mail TO bj;`)
	pg.RequirePassword(t, "bj")
	pg.SQL(t, "bj", `
SET ROLE bj;
CREATE TABLE t_domain (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO t_domain (name) SELECT 'd' || i || '.example' FROM generate_series(1, 50) i;
CREATE TABLE t_user (id serial PRIMARY KEY, domain int REFERENCES t_domain, login text);
INSERT INTO t_user (domain, login) SELECT 1 + i % 50, 'u' || i FROM generate_series(1, 2500) i;
CREATE TABLE t_empty (x int);
GRANT SELECT ON t_user TO reader;`)
	pg.SQL(t, "bj-data", `
SET ROLE bj;
CREATE TABLE t_message (id bigserial PRIMARY KEY, body text) TABLESPACE ts_mail;
INSERT INTO t_message (body) SELECT md5(i::text) FROM generate_series(1, 4000) i;
CREATE TABLE t_flag (id int, flag text);
INSERT INTO t_flag SELECT i, 'seen' FROM generate_series(1, 1500) i;
CREATE INDEX t_flag_id ON t_flag (id);
CREATE SCHEMA "Mail Box";
CREATE TABLE "Mail Box"."Odd ""Name""" (v int);
INSERT INTO "Mail Box"."Odd ""Name""" SELECT generate_series(1, 7);`)
	return pg, pw
}

func pgRandom(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func pgLocal(t *testing.T, name string) *remote.Local {
	t.Helper()
	h, err := remote.NewLocal(name, "/")
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// pgRecorder is a Reporter that keeps everything and checks that counters
// never go backwards.
type pgRecorder struct {
	mu       sync.Mutex
	lines    []string
	last     Progress
	reports  int
	backward string
}

func (r *pgRecorder) Line(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, stream+": "+text)
}

func (r *pgRecorder) Progress(p Progress) {
	r.mu.Lock()
	if p.Done < r.last.Done && r.backward == "" {
		r.backward = strconv.FormatInt(r.last.Done, 10) + " -> " + strconv.FormatInt(p.Done, 10)
	}
	r.last = p
	r.reports++
	r.mu.Unlock()
}

func (r *pgRecorder) snapshot() (Progress, []string, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last, append([]string(nil), r.lines...), r.backward
}

func TestCheckDBName(t *testing.T) {
	for _, ok := range []string{"bj", "bj-data", "Mail Box", "x_1"} {
		if err := CheckDBName(ok); err != nil {
			t.Errorf("CheckDBName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-bj", "host=evil", "postgresql://h/db", "a\nb", strings.Repeat("x", 64)} {
		err := CheckDBName(bad)
		if err == nil {
			t.Errorf("CheckDBName(%q) accepted it", bad)
		} else if bad != "" && !strings.Contains(err.Error(), strconv.Quote(bad)) {
			t.Errorf("CheckDBName(%q) = %v: does not name the input", bad, err)
		}
	}
}

// pgNoDeadlineDialer dials TCP and hands back connections whose deadlines do
// not work, as an SSH channel's do not.
type pgNoDeadlineDialer struct {
	mu    sync.Mutex
	dials []string
}

type pgNoDeadlineConn struct{ net.Conn }

var errPGNoDeadline = errors.New("deadline not supported")

func (pgNoDeadlineConn) SetDeadline(time.Time) error      { return errPGNoDeadline }
func (pgNoDeadlineConn) SetReadDeadline(time.Time) error  { return errPGNoDeadline }
func (pgNoDeadlineConn) SetWriteDeadline(time.Time) error { return errPGNoDeadline }
func (pgNoDeadlineConn) RemoteAddr() net.Addr             { return &net.TCPAddr{IP: net.IPv4zero} }

func (d *pgNoDeadlineDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dials = append(d.dials, network+" "+addr)
	d.mu.Unlock()
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return pgNoDeadlineConn{c}, nil
}

func TestConnectPGThroughDialer(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	d := &pgNoDeadlineDialer{}
	ctx := context.Background()
	conn, err := ConnectPG(ctx, PGServer{Host: "127.0.0.1", Port: pg.Port, User: "postgres"}, "postgres", d)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	v, err := ServerVersionNum(ctx, conn)
	if err != nil || v < 90200 {
		t.Fatalf("server_version_num = %d, %v", v, err)
	}
	if got := conn.PgConn().Conn().RemoteAddr().String(); got != pg.Addr() {
		t.Fatalf("RemoteAddr through the wrapper = %s, want %s", got, pg.Addr())
	}
	ts, err := LiveTablespaces(ctx, conn)
	if err != nil || len(ts) != 2 || ts[0].Name != "pg_default" || ts[0].Location != "" {
		t.Fatalf("LiveTablespaces = %+v, %v", ts, err)
	}

	// Cancellation must work although the dialed connection has no
	// deadlines: the query is cut short and the connection closed.
	qctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = conn.Exec(qctx, "SELECT pg_sleep(30)")
	if err == nil {
		t.Fatal("pg_sleep(30) with a cancelled context succeeded")
	}
	if !conn.IsClosed() {
		t.Fatal("the connection is still open after a cancelled query")
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, dial := range d.dials {
		if dial != "tcp "+pg.Addr() {
			t.Fatalf("dialed %q; want only tcp %s (no lookup, no second attempt elsewhere)", dial, pg.Addr())
		}
	}
}

func TestLiveTablespacesWithLocation(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	loc := pg.OwnedDir(t, "ts")
	pg.SQL(t, "postgres", "CREATE TABLESPACE ts_mail LOCATION '"+loc+"';")
	ctx := context.Background()
	conn, err := ConnectPG(ctx, PGServer{Host: pg.Host, Port: pg.Port}, "postgres", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	ts, err := LiveTablespaces(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	got := WithLocation(ts)
	if len(got) != 1 || got[0] != (Tablespace{"ts_mail", "postgres", loc}) {
		t.Fatalf("tablespaces with a location = %+v, want ts_mail at %s", got, loc)
	}
}
