package tasks

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// Archive is what `pg_restore -l` says about a pg_dump archive.
type Archive struct {
	Database   string    `json:"database"`    // "; dbname: X"
	Format     string    `json:"format"`      // "CUSTOM", "DIRECTORY", "TAR"
	TOCEntries int       `json:"toc_entries"` // the header's count, including entries never listed
	DumpedFrom string    `json:"dumped_from,omitempty"`
	DumpedBy   string    `json:"dumped_by,omitempty"`
	Items      []TOCItem `json:"-"` // the listed entries: what a restore works through
}

// TOCItem is one listed entry of an archive's table of contents, for
// example "215; 1259 16389 TABLE public t_message bj".
type TOCItem struct {
	ID   int
	Desc string // the rest of the line after "ID; tableoid oid "
}

// ParseTOC reads the output of `pg_restore -l`.
func ParseTOC(text string) (Archive, error) {
	var a Archive
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if strings.HasPrefix(line, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, ";")), ":")
			if !ok {
				continue
			}
			v = strings.TrimSpace(v)
			switch strings.TrimSpace(k) {
			case "dbname":
				a.Database = v
			case "Format":
				a.Format = v
			case "TOC Entries":
				a.TOCEntries, _ = strconv.Atoi(v)
			case "Dumped from database version":
				a.DumpedFrom = v
			case "Dumped by pg_dump version":
				a.DumpedBy = v
			}
			continue
		}
		idText, rest, ok := strings.Cut(line, ";")
		id, err := strconv.Atoi(strings.TrimSpace(idText))
		if !ok || err != nil {
			return a, fmt.Errorf("archive listing line %d is not a table-of-contents entry: %q", n, line)
		}
		// Skip "tableoid oid" to keep the description.
		f := strings.Fields(rest)
		desc := rest
		if len(f) > 2 {
			desc = strings.Join(f[2:], " ")
		}
		a.Items = append(a.Items, TOCItem{ID: id, Desc: desc})
	}
	if err := sc.Err(); err != nil {
		return a, err
	}
	if a.Format == "" {
		return a, errors.New("archive listing has no \"Format:\" header line")
	}
	return a, nil
}

// ListArchive runs `pg_restore -l` on h for the archive at runbook path p
// and parses the listing. binDir is where pg_restore is ("" = PATH).
func ListArchive(ctx context.Context, h remote.Host, binDir, p string) (Archive, error) {
	var out strings.Builder
	tail := newPGTail(5)
	bin := PGServer{BinDir: binDir}.bin("pg_restore")
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{bin, "--list", h.Path(p)}, Stdout: &out, Stderr: tail})
	if err != nil {
		return Archive{}, fmt.Errorf("list archive %s on %s: %w", p, h.Name(), err)
	}
	if res.ExitCode != 0 {
		msg := tail.String()
		if strings.Contains(msg, "text format dump") {
			return Archive{}, fmt.Errorf("%s is a plain SQL dump, not an archive pg_restore can read; dump with pg_dump -Fc", p)
		}
		return Archive{}, fmt.Errorf("pg_restore cannot read the archive %s (exit status %d): %s", p, res.ExitCode, msg)
	}
	a, err := ParseTOC(out.String())
	if err != nil {
		return a, fmt.Errorf("%s: %w", p, err)
	}
	return a, nil
}

// ArchiveNeeds is what an archive requires of the server it is restored on,
// read from its schema as pg_restore would replay it.
type ArchiveNeeds struct {
	Owner       string   `json:"owner,omitempty"`    // owner of the dumped database
	Encoding    string   `json:"encoding,omitempty"` // encoding of the dumped database
	Roles       []string `json:"roles"`              // roles owning objects or named in grants
	Tablespaces []string `json:"tablespaces"`        // tablespaces objects are placed in
}

// ParseArchiveSQL reads the SQL script `pg_restore --schema-only --create -f -`
// writes and collects the roles and tablespaces it refers to.
func ParseArchiveSQL(r io.Reader) (ArchiveNeeds, error) {
	var n ArchiveNeeds
	roles := map[string]bool{}
	spaces := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "SET default_tablespace = "):
			v := strings.TrimSuffix(strings.TrimPrefix(line, "SET default_tablespace = "), ";")
			if v != "''" {
				if name, _ := sqlIdent(v); name != "" {
					spaces[name] = true
				}
			}
		case strings.HasPrefix(line, "CREATE DATABASE "):
			if _, after, ok := strings.Cut(line, "ENCODING = '"); ok {
				n.Encoding, _, _ = strings.Cut(after, "'")
			}
		case strings.HasPrefix(line, "GRANT "), strings.HasPrefix(line, "REVOKE "):
			kw := " TO "
			if strings.HasPrefix(line, "REVOKE ") {
				kw = " FROM "
			}
			i := strings.LastIndex(line, kw)
			if i < 0 {
				continue
			}
			list := strings.TrimSuffix(line[i+len(kw):], ";")
			list, _, _ = strings.Cut(list, " WITH GRANT OPTION")
			list, _, _ = strings.Cut(list, " GRANTED BY ")
			for list != "" {
				name, rest := sqlIdent(strings.TrimSpace(list))
				if name != "" && !strings.EqualFold(name, "PUBLIC") {
					roles[name] = true
				}
				rest = strings.TrimSpace(rest)
				if !strings.HasPrefix(rest, ",") {
					break
				}
				list = rest[1:]
			}
		}
		if i := strings.Index(line, " OWNER TO "); i >= 0 && strings.HasPrefix(line, "ALTER ") {
			name, _ := sqlIdent(line[i+len(" OWNER TO "):])
			if name != "" {
				roles[name] = true
				if strings.HasPrefix(line, "ALTER DATABASE ") {
					n.Owner = name
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	n.Roles = pgSortedKeys(roles)
	n.Tablespaces = pgSortedKeys(spaces)
	return n, nil
}

// sqlIdent reads one SQL identifier, plain or double-quoted, from the start
// of s and returns it unquoted with the rest of s.
func sqlIdent(s string) (string, string) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '"' {
				if i+1 < len(s) && s[i+1] == '"' {
					b.WriteByte('"')
					i++
					continue
				}
				return b.String(), s[i+1:]
			}
			b.WriteByte(s[i])
		}
		return b.String(), ""
	}
	end := strings.IndexAny(s, " ,;")
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

func pgSortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ReadArchiveNeeds runs `pg_restore --schema-only --create -f -` on h for the
// archive at runbook path p and parses what it needs.
func ReadArchiveNeeds(ctx context.Context, h remote.Host, binDir, p string) (ArchiveNeeds, error) {
	pr, pw := io.Pipe()
	type parsed struct {
		n   ArchiveNeeds
		err error
	}
	ch := make(chan parsed, 1)
	go func() {
		n, err := ParseArchiveSQL(pr)
		_, _ = io.Copy(io.Discard, pr)
		ch <- parsed{n, err}
	}()
	tail := newPGTail(5)
	bin := PGServer{BinDir: binDir}.bin("pg_restore")
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{bin, "--schema-only", "--create", "--file=-", h.Path(p)}, Stdout: pw, Stderr: tail})
	pw.Close()
	got := <-ch
	if err != nil {
		return ArchiveNeeds{}, fmt.Errorf("read the schema of %s on %s: %w", p, h.Name(), err)
	}
	if res.ExitCode != 0 {
		return ArchiveNeeds{}, fmt.Errorf("pg_restore cannot read the schema of %s (exit status %d): %s", p, res.ExitCode, tail)
	}
	if got.err != nil {
		return ArchiveNeeds{}, fmt.Errorf("read the schema of %s: %w", p, got.err)
	}
	return got.n, nil
}

// MissingOnServer returns the roles and tablespaces of needs that do not
// exist on the server s, asked with psql on h.
func MissingOnServer(ctx context.Context, h remote.Host, s PGServer, needs ArchiveNeeds) (roles, tablespaces []string, err error) {
	have, err := psqlLines(ctx, h, s, "postgres", "SELECT rolname FROM pg_catalog.pg_roles")
	if err != nil {
		return nil, nil, err
	}
	for _, r := range needs.Roles {
		if !slices.Contains(have, r) {
			roles = append(roles, r)
		}
	}
	have, err = psqlLines(ctx, h, s, "postgres", "SELECT spcname FROM pg_catalog.pg_tablespace")
	if err != nil {
		return nil, nil, err
	}
	for _, t := range needs.Tablespaces {
		if !slices.Contains(have, t) {
			tablespaces = append(tablespaces, t)
		}
	}
	return roles, tablespaces, nil
}

// MissingError says which roles and tablespaces an archive needs that the
// target server lacks. Nothing has been changed when it is returned.
type MissingError struct {
	File        string
	Roles       []string
	Tablespaces []string
}

func (e *MissingError) Error() string {
	var parts []string
	if len(e.Roles) > 0 {
		parts = append(parts, "roles "+strings.Join(e.Roles, ", "))
	}
	if len(e.Tablespaces) > 0 {
		parts = append(parts, "tablespaces "+strings.Join(e.Tablespaces, ", "))
	}
	return fmt.Sprintf("the archive %s needs %s, missing on the target server: create them first (nothing was changed)", e.File, strings.Join(parts, " and "))
}

// RestoreOptions says which archive goes into which database.
type RestoreOptions struct {
	// Target is the server the archive is on and pg_restore runs on (the
	// new server).
	Target remote.Host
	// Server is the PostgreSQL server as seen from Target. Its User must be
	// allowed to drop and create databases and to give objects to their
	// owners: in practice a superuser.
	Server PGServer
	// File is the archive's runbook path on Target.
	File string
	// Database is the database to restore into; empty means the one named
	// in the archive. A different name is refused unless Rename is set: it
	// is how one dump ends up in another's database.
	Database string
	Rename   bool
	// Owner owns the new database; empty means the archive's database owner,
	// or Server.User when the archive does not say.
	Owner string
	// Jobs is pg_restore's --jobs; 0 means the number of CPUs.
	Jobs int
}

// RestoreResult describes a finished restore.
type RestoreResult struct {
	Database string        `json:"database"`
	Owner    string        `json:"owner"`
	Archive  Archive       `json:"archive"`
	Needs    ArchiveNeeds  `json:"needs"`
	Items    int64         `json:"items"`   // items restored: all listed items once pg_restore succeeded
	Counted  int64         `json:"counted"` // item starts seen in pg_restore's output
	Duration time.Duration `json:"duration"`
}

// Restore loads one custom-format archive into its own database.
//
// The archive is checked first: pg_restore must read it, it must be custom
// or directory format (what --jobs needs), its database name must match, and
// every role and tablespace it refers to must exist on the target; if not,
// Restore says which are missing before changing anything.
//
// Then the database is dropped if it exists, created with createdb (owner
// and encoding from the archive, template0) and filled with
// `pg_restore --exit-on-error --jobs=N -d NAME` without --create. ferry does
// not use `pg_restore --create -d postgres` because that replays the source's
// CREATE DATABASE with its LOCALE, which need not exist on a new server of
// another distribution (the reason for this migration), and because it would
// restore into whatever name the archive holds rather than the one checked
// here. It never combines createdb with --create on the same database, which
// always fails with "already exists" (see DESIGN.md, "Hazards"). Settings
// made with ALTER DATABASE on the old server are not carried over.
//
// Progress counts the archive items pg_restore reports starting (Unit
// "items"), against the number of entries `pg_restore -l` lists, and reaches
// that number when pg_restore succeeds.
func Restore(ctx context.Context, o RestoreOptions, rep Reporter) (RestoreResult, error) {
	start := time.Now()
	if rep == nil {
		rep = Discard
	}
	if o.Target == nil || o.File == "" {
		return RestoreResult{}, errors.New("restore: the target host and the archive file are required")
	}
	arch, err := ListArchive(ctx, o.Target, o.Server.BinDir, o.File)
	if err != nil {
		return RestoreResult{}, err
	}
	if arch.Format != "CUSTOM" && arch.Format != "DIRECTORY" {
		return RestoreResult{}, fmt.Errorf("%s is a %s archive; a parallel restore needs the custom format (pg_dump -Fc)", o.File, arch.Format)
	}
	db := o.Database
	if db == "" {
		db = arch.Database
	}
	if db != arch.Database && !o.Rename {
		return RestoreResult{}, fmt.Errorf("%s holds database %q, not %q: each dump goes into its own database", o.File, arch.Database, db)
	}
	if err := CheckDBName(db); err != nil {
		return RestoreResult{}, fmt.Errorf("%s: %w", o.File, err)
	}
	needs, err := ReadArchiveNeeds(ctx, o.Target, o.Server.BinDir, o.File)
	if err != nil {
		return RestoreResult{}, err
	}
	owner := o.Owner
	if owner == "" {
		owner = needs.Owner
	}
	if owner == "" {
		owner = o.Server.User
	}
	if owner != "" && !slices.Contains(needs.Roles, owner) {
		needs.Roles = append(needs.Roles, owner)
		sort.Strings(needs.Roles)
	}
	missRoles, missSpaces, err := MissingOnServer(ctx, o.Target, o.Server, needs)
	if err != nil {
		return RestoreResult{}, err
	}
	if len(missRoles)+len(missSpaces) > 0 {
		return RestoreResult{}, &MissingError{File: o.File, Roles: missRoles, Tablespaces: missSpaces}
	}
	result := RestoreResult{Database: db, Owner: owner, Archive: arch, Needs: needs}
	total := int64(len(arch.Items))
	rep.Line("info", fmt.Sprintf("restoring %s (%d items, dumped from PostgreSQL %s) into database %s owned by %s", o.File, total, arch.DumpedFrom, db, owner))

	// Drop and create.
	rep.Progress(Progress{Unit: "items", Total: total, Note: "creating database " + db})
	drop := append([]string{o.Server.bin("dropdb")}, o.Server.connArgs()...)
	drop = append(drop, "--if-exists", "--maintenance-db=postgres", db)
	if err := runPG(ctx, o.Target, o.Server, drop, rep); err != nil {
		return result, err
	}
	create := append([]string{o.Server.bin("createdb")}, o.Server.connArgs()...)
	create = append(create, "--maintenance-db=postgres", "--template=template0")
	if owner != "" {
		create = append(create, "--owner="+owner)
	}
	if needs.Encoding != "" {
		create = append(create, "--encoding="+needs.Encoding)
	}
	create = append(create, db)
	if err := runPG(ctx, o.Target, o.Server, create, rep); err != nil {
		return result, err
	}

	// Restore, counting items.
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	var done atomic.Int64
	note := "restoring " + db
	tail := newPGTailFunc(10, func(line string) {
		if k := restoreItems(line); k > 0 {
			n := done.Add(int64(k))
			rep.Progress(Progress{Unit: "items", Done: min(n, total), Total: total, Note: note})
			return
		}
		if !restoreChatter(line) {
			rep.Line("stderr", line)
		}
	})
	argv := append([]string{o.Server.bin("pg_restore")}, o.Server.connArgs()...)
	argv = append(argv, "--verbose", "--exit-on-error", "--dbname="+db)
	if jobs > 1 {
		argv = append(argv, "--jobs="+strconv.Itoa(jobs))
	}
	argv = append(argv, o.Target.Path(o.File))
	res, err := o.Target.Exec(ctx, remote.Cmd{Argv: argv, Env: o.Server.env(), Stderr: tail})
	tail.Flush()
	result.Counted = done.Load()
	result.Duration = time.Since(start)
	if err != nil {
		return result, fmt.Errorf("pg_restore of %s into %s: %w", o.File, db, err)
	}
	if res.ExitCode != 0 {
		return result, fmt.Errorf("pg_restore of %s into %s exited with status %d: %s", o.File, db, res.ExitCode, tail)
	}
	// pg_restore --exit-on-error exited 0: every item is in.
	result.Items = total
	rep.Progress(Progress{Unit: "items", Done: total, Total: total, Note: "restored " + db})
	rep.Line("info", fmt.Sprintf("restored %s into %s: %d items in %s", o.File, db, total, result.Duration.Round(time.Millisecond)))
	return result, nil
}

// restoreItemRe matches the message pg_restore --verbose prints as it starts
// an archive item. PostgreSQL 15 prints exactly one per listed item, serial
// or parallel: "creating TABLE ...", "processing data for table ...",
// "executing SEQUENCE SET ...". Parallel workers share stderr and write the
// "pg_restore: " prefix and the message separately, so their lines can
// interleave ("pg_restore: pg_restore: creating ...", or a message on a line
// of its own); matching the messages themselves, anywhere in a line, counts
// them all the same.
var restoreItemRe = regexp.MustCompile(`(?:^|pg_restore: ?)(?:creating [A-Z]|processing data for table |executing [A-Z])`)

// restoreItems returns how many item starts a line of pg_restore --verbose
// output holds.
func restoreItems(line string) int {
	return len(restoreItemRe.FindAllStringIndex(strings.TrimLeft(line, " "), -1))
}

// restoreChatter reports whether a verbose line is bookkeeping not worth
// showing ("launching item ...", "finished item ...").
func restoreChatter(line string) bool {
	msg := strings.TrimLeft(strings.ReplaceAll(line, "pg_restore:", ""), " ")
	if msg == "" {
		return true
	}
	for _, p := range []string{"processing item ", "launching item ", "finished item ", "entering main parallel loop", "finished main parallel loop", "connecting to database"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// runPG runs a PostgreSQL client program with s's password in its
// environment and fails with its last lines of error output.
func runPG(ctx context.Context, h remote.Host, s PGServer, argv []string, rep Reporter) error {
	tail := newPGTailFunc(10, func(l string) { rep.Line("stderr", l) })
	res, err := h.Exec(ctx, remote.Cmd{Argv: argv, Env: s.env(), Stderr: tail, Stdout: tail})
	name := argv[0][strings.LastIndex(argv[0], "/")+1:]
	if err != nil {
		return fmt.Errorf("%s on %s: %w", name, h.Name(), err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s %s on %s exited with status %d: %s", name, argv[len(argv)-1], h.Name(), res.ExitCode, tail)
	}
	return nil
}
