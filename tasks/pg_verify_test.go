package tasks

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/testenv"
)

func TestCompareCounts(t *testing.T) {
	src := []TableCount{{"public", "a", 10}, {"public", "b", 5}, {"public", "gone", 3}, {"x", "same", 0}}
	dst := []TableCount{{"public", "a", 10}, {"public", "b", 4}, {"public", "extra", 1}, {"x", "same", 0}}
	got := CompareCounts(src, dst)
	want := []CountDiff{
		{Schema: "public", Table: "b", Source: 5, Target: 4},
		{Schema: "public", Table: "extra", Target: 1, Missing: "source"},
		{Schema: "public", Table: "gone", Source: 3, Missing: "target"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if d := CompareCounts(src, src); len(d) != 0 {
		t.Fatalf("equal lists differ: %+v", d)
	}
	if d := CompareCounts(nil, dst); len(d) != len(dst) {
		t.Fatalf("empty source: %+v", d)
	}

	err := &DiffError{Result: VerifyResult{Database: "bj", Source: src, Target: dst, Diffs: got}}
	msg := err.Error()
	for _, w := range []string{"database bj: 3 of 4 tables differ", "public.b: 5 rows on the source, 4 on the target",
		"public.extra: table missing on the source, 1 rows on the target", "public.gone: 3 rows on the source, table missing on the target"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q lacks %q", msg, w)
		}
	}
}

// On a stock server (peer on the socket) the rows are counted with psql run
// as the postgres OS user; any table name reads back exactly.
func TestCountRowsPSQLStock(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgresWith(t, testenv.PostgresOptions{StockHBA: true})
	pg.SQL(t, "postgres", `CREATE DATABASE "bj-data";`)
	pg.SQL(t, "bj-data", `
CREATE SCHEMA "Mail Box";
CREATE TABLE "Mail Box"."Odd ""Name"" | x
y" (v int);
INSERT INTO "Mail Box"."Odd ""Name"" | x
y" SELECT generate_series(1, 7);
CREATE TABLE public.t_flag (id int);
INSERT INTO public.t_flag SELECT generate_series(1, 1500);
CREATE TABLE public.t_empty (x int);`)
	h := pgLocal(t, "new")
	srv := PGServer{OSUser: "postgres", Host: pg.SocketDir, Port: pg.Port, BinDir: pg.BinDir}
	got, err := CountRowsPSQL(context.Background(), h, srv, "bj-data")
	if err != nil {
		t.Fatal(err)
	}
	want := []TableCount{{"Mail Box", "Odd \"Name\" | x\ny", 7}, {"public", "t_empty", 0}, {"public", "t_flag", 1500}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("counted %+v, want %+v", got, want)
	}
	// As root (no OS user), the same login is refused by peer authentication.
	srv.OSUser = ""
	srv.User = "postgres"
	if _, err := CountRowsPSQL(context.Background(), h, srv, "bj-data"); err == nil || !strings.Contains(err.Error(), "Peer authentication failed") {
		t.Fatalf("counting as root on the socket: %v", err)
	}
}

// TestCompareCountsBothDirections: a target with one row fewer and one
// with one row more than the source both differ (a restore run twice into
// a database that was not emptied doubles rows); equal counts do not.
func TestCompareCountsBothDirections(t *testing.T) {
	src := []TableCount{{"public", "t_message", 1000}}
	for _, n := range []int64{0, 999, 1001, 2000} {
		d := CompareCounts(src, []TableCount{{"public", "t_message", n}})
		if len(d) != 1 || d[0].Source != 1000 || d[0].Target != n || d[0].Missing != "" {
			t.Errorf("target with %d rows against 1000: diffs %+v, want one naming both counts", n, d)
		}
	}
	if d := CompareCounts(src, []TableCount{{"public", "t_message", 1000}}); len(d) != 0 {
		t.Errorf("equal counts differ: %+v", d)
	}
}

// TestVerifyFewerAndMoreRowsFail: on two real servers, Verify fails when
// the target holds fewer rows than the source and when it holds more (the
// rows restored twice), counting the target both ways (pgx, and psql as the
// postgres OS user); it passes when they agree.
func TestVerifyFewerAndMoreRowsFail(t *testing.T) {
	t.Parallel()
	src := testenv.StartPostgres(t)
	dst := testenv.StartPostgres(t)
	const schema = `CREATE TABLE t_message (id int); INSERT INTO t_message SELECT generate_series(1, 100);
CREATE TABLE t_flag (id int); INSERT INTO t_flag SELECT generate_series(1, 7);`
	for _, pg := range []*testenv.Postgres{src, dst} {
		pg.SQL(t, "postgres", `CREATE DATABASE "bj-data";`)
		pg.SQL(t, "bj-data", schema)
	}
	ctx := context.Background()
	opts := []VerifyOptions{
		{Database: "bj-data", Source: PGServer{Host: src.Host, Port: src.Port, User: "postgres"}, Target: PGServer{Host: dst.Host, Port: dst.Port, User: "postgres"}},
		{Database: "bj-data", Source: PGServer{Host: src.Host, Port: src.Port, User: "postgres"},
			Target: PGServer{OSUser: "postgres", Host: dst.SocketDir, Port: dst.Port, BinDir: dst.BinDir}, TargetHost: pgLocal(t, "new")},
	}
	check := func(what, want string) {
		t.Helper()
		for i, o := range opts {
			_, err := Verify(ctx, o, nil) // nil: Verify reports to Discard
			var de *DiffError
			switch {
			case want == "" && err != nil:
				t.Errorf("%s (way %d): %v, want equal", what, i, err)
			case want != "" && (!errors.As(err, &de) || len(de.Result.Diffs) != 1 || !strings.Contains(err.Error(), want)):
				t.Errorf("%s (way %d): %v, want one difference: %q", what, i, err, want)
			}
		}
	}
	check("equal", "")
	dst.SQL(t, "bj-data", `DELETE FROM t_message WHERE id = 100;`)
	check("one row fewer", "public.t_message: 100 rows on the source, 99 on the target")
	dst.SQL(t, "bj-data", `INSERT INTO t_message SELECT generate_series(100, 101);`)
	check("one row more", "public.t_message: 100 rows on the source, 101 on the target")
	dst.SQL(t, "bj-data", `DELETE FROM t_message WHERE id = 101; INSERT INTO t_flag SELECT generate_series(1, 7);`)
	check("restored twice", "public.t_flag: 7 rows on the source, 14 on the target")
}

// TestParseCountLine: a line of psql's count output is a JSON array of a
// schema, a table and a whole count; anything else is an error naming
// the line, never a crash or a count of 0.
func TestParseCountLine(t *testing.T) {
	c, err := parseCountLine(`["Mail Box", "Odd \"Name\"", 1500]`)
	if err != nil || c != (TableCount{"Mail Box", `Odd "Name"`, 1500}) {
		t.Fatalf("got %+v, %v", c, err)
	}
	for _, l := range []string{``, `[]`, `["public", "t"]`, `["public", "t", 1, 2]`, `["public", "t", 1.5]`, `["public", "t", "7"]`,
		`[1, "t", 7]`, `["public", 2, 7]`, `{"s": "public"}`, `not json`, `["public", "t", 99999999999999999999]`} {
		if c, err := parseCountLine(l); err == nil || !strings.Contains(err.Error(), "not a schema, a table and a count") {
			t.Errorf("%q: %+v, %v; want an error", l, c, err)
		}
	}
}
