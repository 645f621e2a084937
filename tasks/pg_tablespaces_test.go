package tasks

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTablespaces(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "pg", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	builtIn := []Tablespace{{"pg_default", "postgres", ""}, {"pg_global", "postgres", ""}}
	vendor := []Tablespace{{"data2", "greenarrow", "/media/data2"}, builtIn[0], builtIn[1]}
	mail := append(append([]Tablespace{}, builtIn...), Tablespace{"ts_mail", "postgres", "/srv/pg/ts"})

	tests := []struct {
		name string
		in   string
		want []Tablespace
	}{
		{"vendor example", read("vendor-example.txt"), vendor},
		{"vendor example with CRLF", strings.ReplaceAll(read("vendor-example.txt"), "\n", "\r\n"), vendor},
		{"db+ with wrapped privileges", read("db-plus.txt"), mail},
		{"unaligned", read("db-unaligned.txt"), mail},
		{"no title, no footer", " Name | Owner | Location\n------+-------+---------\n a    | bob   | /x\n", []Tablespace{{"a", "bob", "/x"}}},
		{"one row", "List of tablespaces\n Name | Owner | Location\n---+---+---\n pg_default | postgres |\n(1 row)\n", builtIn[:1]},
		{"byte order mark", "\ufeff Name | Owner | Location\n---+---+---\n a | b | /c\n", []Tablespace{{"a", "b", "/c"}}},
		{"localised header, aligned", " Nom | Propriétaire | Emplacement\n-----+---+---\n a | b | /c\n(1 ligne)\n", []Tablespace{{"a", "b", "/c"}}},
		{"psql -E query echo before the table", "********* QUERY **********\nSELECT spcname AS \"Name\"\n**************************\n  List of tablespaces\n Name | Owner | Location\n---+---+---\n a | b | /c\n", []Tablespace{{"a", "b", "/c"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTablespaces("postgresql-tablespaces.txt", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}

	if got := WithLocation(vendor); !reflect.DeepEqual(got, vendor[:1]) {
		t.Fatalf("WithLocation(vendor example) = %+v", got)
	}
}

func TestParseTablespacesGarbage(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty file", "", "no tablespace table found"},
		{"prose", "hello\nthis is not psql output\n", "no tablespace table found"},
		{"binary", "\x00\x01PGDMP\x02", "no tablespace table found"},
		{"two-column header", " Name | Owner\n---+---\n a | b\n", "line 1"},
		{"pipes but no header", "a|b|c\nd|e|f\n", "line 1"},
		{"stray text in the table", " Name | Owner | Location\n---+---+---\n a | b | /c\nsome words\n", "line 4: not a table row"},
		{"too many cells", " Name | Owner | Location\n---+---+---\n a | b | /c | d\n", "line 3: row has 4 columns"},
		{"row count disagrees", " Name | Owner | Location\n---+---+---\n a | b | /c\n(2 rows)\n", "line 4: says (2 rows) but the table has 1"},
		{"text after the footer", " Name | Owner | Location\n---+---+---\n a | b | /c\n(1 row)\n x | y | z\n", "line 5: unexpected text after the row count"},
		{"header only", " Name | Owner | Location\n---+---+---\n(0 rows)\n", "no rows"},
		// The last line of a file without its newline: nothing after it to read.
		{"header alone, no newline", " Name | Owner | Location", "no rows"},
		{"continuation first", " Name | Owner | Location\n---+---+---\n  | b | /c\n", "line 3: row without a tablespace name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTablespaces("/var/migrate/postgresql-tablespaces.txt", []byte(tc.in))
			if err == nil {
				t.Fatalf("no error; got %+v", got)
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "/var/migrate/postgresql-tablespaces.txt") {
				t.Fatalf("error %q does not name the file and %q", err, tc.want)
			}
		})
	}
}

func TestTablespaceQuery(t *testing.T) {
	tests := []struct {
		version  int
		want     string
		wantNot  string
		describe string
	}{
		{80300, "spclocation", "pg_tablespace_location", "8.3"},
		{90124, "spclocation", "pg_tablespace_location", "9.1.24, the last without the function"},
		{90200, "pg_tablespace_location(oid)", "spclocation", "9.2, the first with it"},
		{150020, "pg_tablespace_location(oid)", "spclocation", "15.20"},
	}
	for _, tc := range tests {
		q := TablespaceQuery(tc.version)
		if !strings.Contains(q, tc.want) || strings.Contains(q, tc.wantNot) {
			t.Errorf("TablespaceQuery(%d) [%s] = %q: want %q and not %q", tc.version, tc.describe, q, tc.want, tc.wantNot)
		}
	}
}
