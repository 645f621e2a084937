package tasks

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// Tablespace is one PostgreSQL tablespace. Location is empty for the
// built-in ones (pg_default, pg_global), which live in the data directory.
type Tablespace struct {
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	Location string `json:"location,omitempty"`
}

var (
	psqlRowCountRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\((\d+) [^()|]+\)$`) }) // "(3 rows)", or localised
	psqlSeparatorRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[-+]+$`) })
)

// ParseTablespaces reads the table psql prints for \db or \db+ (the vendor's
// postgresql-tablespaces.txt). It accepts a title line before the header,
// aligned output (with its ----+---- separator) or unaligned output, the
// "(N rows)" footer, empty locations, the extra columns of \db+, cells that
// psql wraps over several lines, and CRLF line ends. name is the file's name,
// used in errors, which give the line number of anything else.
func ParseTablespaces(name string, data []byte) ([]Tablespace, error) {
	text := strings.TrimPrefix(string(data), "\ufeff")
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	bad := func(n int, format string, a ...any) error {
		return fmt.Errorf("%s line %d: %s", name, n+1, fmt.Sprintf(format, a...))
	}

	header := -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || !strings.Contains(t, "|") {
			continue // blank, or the title ("List of tablespaces")
		}
		header = i
		break
	}
	if header < 0 {
		return nil, fmt.Errorf("%s: no tablespace table found (expected the output of psql's \\db: a header line \"Name | Owner | Location\" and one row per tablespace)", name)
	}
	cols := psqlCells(lines[header])
	iName, iOwner, iLoc := 0, 1, 2
	english := false
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "name":
			iName, english = i, true
		case "owner":
			iOwner = i
		case "location":
			iLoc = i
		}
	}
	next := header + 1
	aligned := next < len(lines) && psqlSeparatorRe().MatchString(strings.TrimSpace(lines[next]))
	if aligned {
		next++
	}
	if len(cols) < 3 || (!english && !aligned) {
		return nil, bad(header, "%q is not the header of psql's \\db output (expected \"Name | Owner | Location\")", strings.TrimSpace(lines[header]))
	}

	var out []Tablespace
	footer := -1
	for i := next; i < len(lines); i++ {
		l := lines[i]
		t := strings.TrimSpace(l)
		if t == "" {
			continue
		}
		if m := psqlRowCountRe().FindStringSubmatch(t); m != nil {
			if footer >= 0 {
				return nil, bad(i, "a second row count %q", t)
			}
			n, _ := strconv.Atoi(m[1])
			if n != len(out) {
				return nil, bad(i, "says %s but the table has %d; the file may be cut short", t, len(out))
			}
			footer = i
			continue
		}
		if footer >= 0 {
			return nil, bad(i, "unexpected text after the row count: %q", t)
		}
		if !strings.Contains(l, "|") {
			return nil, bad(i, "not a table row: %q", t)
		}
		cells := psqlCells(l)
		if len(cells) != len(cols) {
			return nil, bad(i, "row has %d columns, the header has %d: %q", len(cells), len(cols), t)
		}
		if cells[iName] == "" {
			// A cell psql wrapped (\db+ access privileges) continues
			// on a line whose other cells are empty.
			if len(out) == 0 {
				return nil, bad(i, "row without a tablespace name: %q", t)
			}
			continue
		}
		out = append(out, Tablespace{Name: cells[iName], Owner: cells[iOwner], Location: cells[iLoc]})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: the tablespace table has no rows (every cluster has at least pg_default and pg_global)", name)
	}
	return out, nil
}

// psqlCells splits a psql table line at "|" and trims each cell.
func psqlCells(line string) []string {
	parts := strings.Split(line, "|")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
	}
	return parts
}

// WithLocation returns the tablespaces that have a location of their own:
// the directories that must be created and copied to the new server.
func WithLocation(ts []Tablespace) []Tablespace {
	var out []Tablespace
	for _, t := range ts {
		if t.Location != "" {
			out = append(out, t)
		}
	}
	return out
}

// TablespaceQuery returns the query listing tablespaces on a server whose
// server_version_num is version: pg_tablespace_location() exists from 9.2
// (90200); before that the location was the column spclocation (8.3 on some
// GreenArrow installs).
func TablespaceQuery(version int) string {
	loc := "pg_catalog.pg_tablespace_location(oid)"
	if version < 90200 {
		loc = "spclocation"
	}
	return "SELECT spcname::text, pg_catalog.pg_get_userbyid(spcowner)::text, COALESCE(" + loc + ", '')::text FROM pg_catalog.pg_tablespace ORDER BY 1"
}

// ServerVersionNum returns the server's server_version_num (150020 for
// 15.20), which every version since 8.2 reports.
func ServerVersionNum(ctx context.Context, conn *pgx.Conn) (int, error) {
	var s string
	if err := conn.QueryRow(ctx, "SHOW server_version_num", pgx.QueryExecModeSimpleProtocol).Scan(&s); err != nil {
		return 0, fmt.Errorf("read server_version_num: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("server_version_num %q is not a number", s)
	}
	return n, nil
}

// LiveTablespaces lists the tablespaces of the server conn is connected to,
// choosing the query by the server's version.
func LiveTablespaces(ctx context.Context, conn *pgx.Conn) ([]Tablespace, error) {
	v, err := ServerVersionNum(ctx, conn)
	if err != nil {
		return nil, err
	}
	rows, err := conn.Query(ctx, TablespaceQuery(v), pgx.QueryExecModeSimpleProtocol)
	if err != nil {
		return nil, fmt.Errorf("list tablespaces: %w", err)
	}
	var out []Tablespace
	for rows.Next() {
		var t Tablespace
		if err := rows.Scan(&t.Name, &t.Owner, &t.Location); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tablespaces: %w", err)
	}
	return out, nil
}
