package tasks

import (
	"context"
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
