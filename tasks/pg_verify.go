package tasks

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ferry-migrate/ferry/remote"
)

// rowCountQuery counts the rows of every ordinary and partitioned table
// exactly, in one statement, on any server from 8.3 on (query_to_xml exists
// since 8.3). Statistics such as pg_stat_user_tables.n_live_tup are
// estimates and can read 0 for a full table, so they are not used.
const rowCountQuery = `SELECT n.nspname::text, c.relname::text,
       (xpath('/row/c/text()',
              query_to_xml('SELECT count(*) AS c FROM ' || quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                           false, true, '')))[1]::text::bigint
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','p')
  AND n.nspname NOT IN ('pg_catalog','information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1,2`

// TableCount is the exact number of rows in one table.
type TableCount struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Rows   int64  `json:"rows"`
}

// CountRows counts the rows of every user table in the database conn is
// connected to, ordered by schema and table.
func CountRows(ctx context.Context, conn *pgx.Conn) ([]TableCount, error) {
	rows, err := conn.Query(ctx, rowCountQuery, pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	var out []TableCount
	for rows.Next() {
		var c TableCount
		if err := rows.Scan(&c.Schema, &c.Table, &c.Rows); err != nil {
			rows.Close()
			return nil, fmt.Errorf("count rows: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	return out, nil
}

// CountRowsPSQLStatement is the statement CountRowsPSQL gives psql: the
// row counts, one JSON array a row.
const CountRowsPSQLStatement = "SELECT json_build_array(q.s, q.t, q.n)::text FROM (" + rowCountQuery + ") AS q(s, t, n)"

// CountRowsPSQL counts the rows of every user table of database db with psql
// run on h as s says (s.Argv: as the postgres OS user over the local socket,
// for a stock server), ordered by schema and table. It exists because on a
// stock pg_hba.conf only the postgres OS user logs in as postgres without a
// password, and only over the socket (peer authentication): ferry's own pgx
// connection comes from root and would be refused. Each row comes back as
// one JSON array, so any schema or table name reads back exactly
// (json_build_array: PostgreSQL 9.4 and later, which a new server runs).
func CountRowsPSQL(ctx context.Context, h remote.Host, s PGServer, db string) ([]TableCount, error) {
	if err := CheckDBName(db); err != nil {
		return nil, err
	}
	// The subquery's ORDER BY carries through the plain projection.
	lines, err := psqlLines(ctx, h, s, db, CountRowsPSQLStatement)
	if err != nil {
		return nil, fmt.Errorf("count rows: %w", err)
	}
	out := make([]TableCount, 0, len(lines))
	for _, l := range lines {
		c, err := parseCountLine(l)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// parseCountLine reads one line CountRowsPSQLStatement makes psql print: a
// JSON array of a schema, a table and a whole count.
func parseCountLine(l string) (TableCount, error) {
	var fields []any
	dec := json.NewDecoder(strings.NewReader(l))
	dec.UseNumber()
	err := dec.Decode(&fields)
	var c TableCount
	var ok1, ok2, ok3 bool
	var n json.Number
	if err == nil && len(fields) == 3 {
		c.Schema, ok1 = fields[0].(string)
		c.Table, ok2 = fields[1].(string)
		n, ok3 = fields[2].(json.Number)
	}
	rows, nerr := n.Int64()
	if !ok1 || !ok2 || !ok3 || nerr != nil {
		return TableCount{}, fmt.Errorf("count rows: psql printed %q, not a schema, a table and a count", l)
	}
	c.Rows = rows
	return c, nil
}

// CountDiff is one table whose row count differs between the two servers,
// or that exists on one only (Missing names the side that lacks it:
// "source" or "target"; its count is then 0).
type CountDiff struct {
	Schema  string `json:"schema"`
	Table   string `json:"table"`
	Source  int64  `json:"source"`
	Target  int64  `json:"target"`
	Missing string `json:"missing,omitempty"`
}

func (d CountDiff) String() string {
	name := d.Schema + "." + d.Table
	switch d.Missing {
	case "target":
		return fmt.Sprintf("%s: %d rows on the source, table missing on the target", name, d.Source)
	case "source":
		return fmt.Sprintf("%s: table missing on the source, %d rows on the target", name, d.Target)
	}
	return fmt.Sprintf("%s: %d rows on the source, %d on the target", name, d.Source, d.Target)
}

// CompareCounts compares two lists of table counts table by table and
// returns the differences, ordered by schema and table.
func CompareCounts(src, dst []TableCount) []CountDiff {
	type key struct{ s, t string }
	target := map[key]int64{}
	for _, c := range dst {
		target[key{c.Schema, c.Table}] = c.Rows
	}
	var diffs []CountDiff
	for _, c := range src {
		k := key{c.Schema, c.Table}
		n, ok := target[k]
		delete(target, k)
		switch {
		case !ok:
			diffs = append(diffs, CountDiff{Schema: c.Schema, Table: c.Table, Source: c.Rows, Missing: "target"})
		case n != c.Rows:
			diffs = append(diffs, CountDiff{Schema: c.Schema, Table: c.Table, Source: c.Rows, Target: n})
		}
	}
	for _, c := range dst {
		if _, ok := target[key{c.Schema, c.Table}]; ok {
			diffs = append(diffs, CountDiff{Schema: c.Schema, Table: c.Table, Target: c.Rows, Missing: "source"})
		}
	}
	sortDiffs(diffs)
	return diffs
}

func sortDiffs(d []CountDiff) {
	slices.SortFunc(d, func(a, b CountDiff) int {
		return cmp.Or(cmp.Compare(a.Schema, b.Schema), cmp.Compare(a.Table, b.Table))
	})
}

// VerifyOptions names one database on both servers.
type VerifyOptions struct {
	Database string
	// Source is the old server's PostgreSQL, reached through SourceVia (the
	// SSH connection) when it is not nil.
	Source    PGServer
	SourceVia Dialer
	// Target is the new server's PostgreSQL. With TargetHost set, its rows
	// are counted by psql run on TargetHost as Target says (CountRowsPSQL:
	// the way a stock server lets the restore in, so the proof reads the
	// server the way the restore wrote it); otherwise ferry connects to it
	// with pgx, directly unless TargetVia is set.
	Target     PGServer
	TargetVia  Dialer
	TargetHost remote.Host
}

// VerifyResult is the outcome of comparing one database.
type VerifyResult struct {
	Database string       `json:"database"`
	Source   []TableCount `json:"source"`
	Target   []TableCount `json:"target"`
	Diffs    []CountDiff  `json:"diffs,omitempty"`
}

// Equal reports whether every table has the same row count on both sides.
func (r VerifyResult) Equal() bool { return len(r.Diffs) == 0 }

// DiffError is returned by Verify when the servers disagree.
type DiffError struct{ Result VerifyResult }

func (e *DiffError) Error() string {
	const show = 10
	var lines []string
	for i, d := range e.Result.Diffs {
		if i == show {
			lines = append(lines, fmt.Sprintf("and %d more", len(e.Result.Diffs)-show))
			break
		}
		lines = append(lines, d.String())
	}
	return fmt.Sprintf("database %s: %d of %d tables differ: %s", e.Result.Database, len(e.Result.Diffs), max(len(e.Result.Source), len(e.Result.Target)), strings.Join(lines, "; "))
}

// Verify counts the rows of every table of one database exactly on both
// servers, the two counts at once, and compares them table by table. It
// returns a *DiffError if any table differs or exists on one side only;
// when a count fails, its error (the source's first) and nothing is
// compared.
func Verify(ctx context.Context, o VerifyOptions, rep Reporter) (VerifyResult, error) {
	if rep == nil {
		rep = Discard
	}
	res := VerifyResult{Database: o.Database}
	count := func(side string, s PGServer, via Dialer) ([]TableCount, error) {
		conn, err := ConnectPG(ctx, s, o.Database, via)
		if err != nil {
			return nil, fmt.Errorf("%s server: %w", side, err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		c, err := CountRows(ctx, conn)
		if err != nil {
			return nil, fmt.Errorf("%s server, database %s: %w", side, o.Database, err)
		}
		return c, nil
	}
	rep.Progress(Progress{Note: fmt.Sprintf("counting rows of %s on both servers", o.Database)})
	// Each side waits on its own server (the old one through SSH), so the
	// two counts run at once: the proof inside the downtime costs the
	// longer of them, not their sum.
	var srcErr, dstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res.Source, srcErr = count("source", o.Source, o.SourceVia)
	}()
	if o.TargetHost != nil {
		if res.Target, dstErr = CountRowsPSQL(ctx, o.TargetHost, o.Target, o.Database); dstErr != nil {
			dstErr = fmt.Errorf("target server, database %s: %w", o.Database, dstErr)
		}
	} else {
		res.Target, dstErr = count("target", o.Target, o.TargetVia)
	}
	<-done
	if srcErr != nil {
		return res, srcErr
	}
	if dstErr != nil {
		return res, dstErr
	}
	res.Diffs = CompareCounts(res.Source, res.Target)
	for _, d := range res.Diffs {
		rep.Line("info", d.String())
	}
	if len(res.Diffs) > 0 {
		return res, &DiffError{Result: res}
	}
	var rows int64
	for _, c := range res.Source {
		rows += c.Rows
	}
	rep.Line("info", fmt.Sprintf("database %s: %d tables, %d rows, the same on both servers", o.Database, len(res.Source), rows))
	return res, nil
}
