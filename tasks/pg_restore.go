package tasks

import (
	"bufio"
	"cmp"
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
	"sync"
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
	bin := PGServer{BinDir: binDir}.bin("pg_restore")
	a, _, err := listArchive(ctx, h, []string{bin, "--list", h.Path(p)}, "", p)
	return a, err
}

// listArchive runs argv, a `pg_restore --list` of the archive at runbook
// path p (directly or through runuser), on h in dir ("" for the default)
// and parses the listing. It returns the last lines pg_restore wrote on its
// standard error too, for the caller to read a refusal in; the errors are
// ListArchive's.
func listArchive(ctx context.Context, h remote.Host, argv []string, dir, p string) (Archive, string, error) {
	var out strings.Builder
	tail := newPGTail(5)
	res, err := h.Exec(ctx, remote.Cmd{Argv: argv, Dir: dir, Stdout: &out, Stderr: tail})
	if err != nil {
		return Archive{}, "", fmt.Errorf("list archive %s on %s: %w", p, h.Name(), err)
	}
	a, err := listResult(res.ExitCode, out.String(), tail.String(), p)
	return a, tail.String(), err
}

// listResult reads the outcome of a `pg_restore --list` of the archive at p
// that exited with exit and wrote listing on its standard output and msg
// (its last lines) on its standard error.
func listResult(exit int, listing, msg, p string) (Archive, error) {
	if exit != 0 {
		if strings.Contains(msg, "text format dump") {
			return Archive{}, fmt.Errorf("%s is a plain SQL dump, not an archive pg_restore can read; dump with pg_dump -Fc", p)
		}
		return Archive{}, fmt.Errorf("pg_restore cannot read the archive %s (exit status %d): %s", p, exit, msg)
	}
	a, err := ParseTOC(listing)
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

// NamesSQL is the one query MissingOnServer asks: every role, each line
// "r NAME", and every tablespace, "t NAME".
const NamesSQL = "SELECT 'r ' || rolname FROM pg_catalog.pg_roles UNION ALL SELECT 't ' || spcname FROM pg_catalog.pg_tablespace"

// MissingOnServer returns the roles and tablespaces of needs that do not
// exist on the server s, asked with one psql on h (NamesSQL).
func MissingOnServer(ctx context.Context, h remote.Host, s PGServer, needs ArchiveNeeds) (roles, tablespaces []string, err error) {
	lines, err := psqlLines(ctx, h, s, "postgres", NamesSQL)
	if err != nil {
		return nil, nil, err
	}
	var haveRoles, haveSpaces []string
	for _, l := range lines {
		switch kind, name, _ := strings.Cut(l, " "); kind {
		case "r":
			haveRoles = append(haveRoles, name)
		case "t":
			haveSpaces = append(haveSpaces, name)
		}
	}
	for _, r := range needs.Roles {
		if !slices.Contains(haveRoles, r) {
			roles = append(roles, r)
		}
	}
	for _, t := range needs.Tablespaces {
		if !slices.Contains(haveSpaces, t) {
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
	// Server is the PostgreSQL server as seen from Target, and how the
	// client programs log in to it. Its login must be allowed to drop and
	// create databases and to give objects to their owners: in practice a
	// superuser, by default the postgres OS user over the local socket
	// (Server.OSUser "postgres"), who must be able to read File.
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
	// Encoding is the new database's encoding; empty means the archive's.
	// An archive of another encoding is refused.
	Encoding string
	// Jobs is pg_restore's --jobs; 0 means the number of CPUs.
	Jobs int
	// Size (bytes) and SHA256 (hex) are what the dump measured of the
	// archive as it wrote it (DumpResult). When SHA256 is set the file must
	// still match both; when it is empty pg_restore reads the whole archive
	// instead, since `pg_restore -l` reads only the table of contents at its
	// start and passes a file cut short in its data.
	Size   int64
	SHA256 string
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

// RestoreCheck is what CheckRestore learnt about one archive: everything
// RestoreChecked needs to go ahead.
type RestoreCheck struct {
	Options  RestoreOptions
	Database string // the database the archive goes into
	Owner    string // its owner
	Encoding string // its encoding ("" = the server's default)
	Archive  Archive
	Needs    ArchiveNeeds
}

// RestoreCommands returns the three commands of one restore, in the order
// they run: drop the database if it exists, create it empty from template0
// with its owner and encoding, and pg_restore the archive at file into it
// with --jobs=jobs (at least 1), stopping at the first error. file is given
// as it should appear (the executor passes Host.Path of the runbook path,
// a display the runbook path). The password, if any, is never in them.
func RestoreCommands(s PGServer, db, owner, encoding string, jobs int, file string) [][]string {
	drop := DropCommand(s, db)
	create := []string{"--maintenance-db=postgres", "--template=template0"}
	if owner != "" {
		create = append(create, "--owner="+owner)
	}
	if encoding != "" {
		create = append(create, "--encoding="+encoding)
	}
	create = append(create, db)
	restore := s.Argv("pg_restore", "--verbose", "--exit-on-error", "--dbname="+db, "--jobs="+strconv.Itoa(max(jobs, 1)), file)
	return [][]string{drop, s.Argv("createdb", create...), restore}
}

// DropCommand returns the command that drops database db on s if it
// exists (the first of RestoreCommands). The password, if any, is never in
// it.
func DropCommand(s PGServer, db string) []string {
	return s.Argv("dropdb", "--if-exists", "--maintenance-db=postgres", db)
}

// DropDatabase runs DropCommand on h: database db is gone from s when it
// returns nil. Its error names the program and its last lines of output.
func DropDatabase(ctx context.Context, h remote.Host, s PGServer, db string, rep Reporter) error {
	if rep == nil {
		rep = Discard
	}
	if err := CheckDBName(db); err != nil {
		return err
	}
	return runPG(ctx, h, s, DropCommand(s, db), rep)
}

// ArchiveAccessCommands returns the commands that let osUser (the OS user
// the restore runs as) read the archives: the dump directory and files are
// given to the group named like the user (postgres: its primary group on
// Debian and Red Hat) and opened to that group only (0750, 0640). Dump
// makes them root's alone (0700, 0600). No commands when osUser is empty or
// root.
func ArchiveAccessCommands(osUser, dir string, files []string) [][]string {
	if osUser == "" || osUser == "root" || len(files) == 0 {
		return nil
	}
	return [][]string{
		append([]string{"chgrp", "--", osUser, dir}, files...),
		{"chmod", "0750", dir},
		append([]string{"chmod", "0640"}, files...),
	}
}

// CheckRestore checks one archive without changing anything on the target:
// the OS user pg_restore runs as (Server.OSUser) can open it, the file is
// whole (it matches the size and SHA-256 the dump recorded, or
// pg_restore reads it to the end), pg_restore lists it as a custom or
// directory archive (what --jobs needs), it holds the database asked for,
// and every role and tablespace it refers to exists on the target server.
// A missing role or tablespace is a *MissingError.
func CheckRestore(ctx context.Context, o RestoreOptions) (RestoreCheck, error) {
	if o.Target == nil || o.File == "" {
		return RestoreCheck{}, errors.New("restore: the target host and the archive file are required")
	}
	// The archive is listed once. When pg_restore will run as an OS user,
	// the listing is made as that user: it must be able to open the
	// archive, or the restore would fail after the drop.
	argv := []string{o.Server.bin("pg_restore"), "--list", o.Target.Path(o.File)}
	dir := ""
	if o.Server.OSUser != "" {
		argv = append([]string{"runuser", "-u", o.Server.OSUser, "--"}, argv...)
		dir = o.Server.dir()
	}
	arch, msg, err := listArchive(ctx, o.Target, argv, dir, o.File)
	if err != nil {
		if o.Server.OSUser != "" && strings.Contains(msg, "ermission denied") {
			return RestoreCheck{}, fmt.Errorf("the %s OS user, as whom pg_restore runs, cannot read %s: its directory and every parent must let that user in (%s)", o.Server.OSUser, o.File, msg)
		}
		return RestoreCheck{}, err
	}
	if arch.Format != "CUSTOM" && arch.Format != "DIRECTORY" {
		return RestoreCheck{}, fmt.Errorf("%s is a %s archive; a parallel restore needs the custom format (pg_dump -Fc)", o.File, arch.Format)
	}
	if err := checkWhole(ctx, o); err != nil {
		return RestoreCheck{}, err
	}
	db := o.Database
	if db == "" {
		db = arch.Database
	}
	if db != arch.Database && !o.Rename {
		return RestoreCheck{}, fmt.Errorf("%s holds database %q, not %q: each dump goes into its own database", o.File, arch.Database, db)
	}
	if err := CheckDBName(db); err != nil {
		return RestoreCheck{}, fmt.Errorf("%s: %w", o.File, err)
	}
	needs, err := ReadArchiveNeeds(ctx, o.Target, o.Server.BinDir, o.File)
	if err != nil {
		return RestoreCheck{}, err
	}
	if o.Encoding != "" && needs.Encoding != "" && !strings.EqualFold(o.Encoding, needs.Encoding) {
		return RestoreCheck{}, fmt.Errorf("%s holds a %s database; the restore would create %s as %s: change the encoding to the archive's", o.File, needs.Encoding, db, o.Encoding)
	}
	owner := cmp.Or(o.Owner, needs.Owner, o.Server.User)
	if owner != "" && !slices.Contains(needs.Roles, owner) {
		needs.Roles = append(needs.Roles, owner)
		sort.Strings(needs.Roles)
	}
	missRoles, missSpaces, err := MissingOnServer(ctx, o.Target, o.Server, needs)
	if err != nil {
		return RestoreCheck{}, err
	}
	if len(missRoles)+len(missSpaces) > 0 {
		return RestoreCheck{}, &MissingError{File: o.File, Roles: missRoles, Tablespaces: missSpaces}
	}
	return RestoreCheck{Options: o, Database: db, Owner: owner, Encoding: cmp.Or(o.Encoding, needs.Encoding), Archive: arch, Needs: needs}, nil
}

// checkWhole makes sure the archive is the whole file the dump wrote: size
// and SHA-256 (sha256sum on the target) when the dump recorded them,
// otherwise pg_restore reading every data block to the end.
func checkWhole(ctx context.Context, o RestoreOptions) error {
	if o.SHA256 == "" {
		// The listing was read already (CheckRestore): only the data
		// blocks are left to read.
		tail := newPGTail(5)
		res, err := o.Target.Exec(ctx, remote.Cmd{Argv: []string{o.Server.bin("pg_restore"), "--file=/dev/null", o.Target.Path(o.File)}, Stderr: tail})
		if err != nil {
			return fmt.Errorf("read archive %s on %s: %w", o.File, o.Target.Name(), err)
		}
		if res.ExitCode != 0 {
			return fmt.Errorf("%s is cut short or damaged: pg_restore cannot read it to the end (exit status %d): %s", o.File, res.ExitCode, tail)
		}
		return nil
	}
	fi, err := o.Target.Stat(ctx, o.File)
	if err != nil {
		return fmt.Errorf("archive %s: %w", o.File, err)
	}
	if fi.Size != o.Size {
		return fmt.Errorf("%s is not the file the dump wrote: it has %d bytes, the dump wrote %d (cut short or replaced)", o.File, fi.Size, o.Size)
	}
	var out strings.Builder
	tail := newPGTail(3)
	res, err := o.Target.Exec(ctx, remote.Cmd{Argv: []string{"sha256sum", "--", o.Target.Path(o.File)}, Stdout: &out, Stderr: tail})
	if err != nil {
		return fmt.Errorf("checksum of %s on %s: %w", o.File, o.Target.Name(), err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("sha256sum of %s on %s exited with status %d: %s", o.File, o.Target.Name(), res.ExitCode, tail)
	}
	sum, _, _ := strings.Cut(out.String(), " ")
	if !strings.EqualFold(sum, o.SHA256) {
		return fmt.Errorf("%s is not the file the dump wrote: its SHA-256 is %s, the dump's was %s", o.File, sum, o.SHA256)
	}
	return nil
}

// CheckRestores runs CheckRestore on every archive, all of them at once
// (they read different files and change nothing) and all of them even when
// one fails, and returns every problem at once (errors.Join, in the order
// of opts), so that all can be fixed before anything is dropped. Nothing is
// changed.
func CheckRestores(ctx context.Context, opts []RestoreOptions, rep Reporter) ([]RestoreCheck, error) {
	if rep == nil {
		rep = Discard
	}
	checks := make([]RestoreCheck, len(opts))
	found := make([]error, len(opts))
	var files []string
	for _, o := range opts {
		files = append(files, o.File)
	}
	rep.Progress(Progress{Note: "checking the archives " + strings.Join(files, ", ")})
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			checks[i], found[i] = CheckRestore(ctx, o)
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var errs []error
	for i, o := range opts {
		if found[i] != nil {
			errs = append(errs, found[i])
			continue
		}
		c := checks[i]
		rep.Line("info", fmt.Sprintf("%s: whole, database %s, %d items, needs roles %s and tablespaces %s: all present", o.File, c.Database, len(c.Archive.Items), orNone(c.Needs.Roles), orNone(c.Needs.Tablespaces)))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return checks, nil
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "(none)"
	}
	return strings.Join(l, ", ")
}

// Restore checks one archive (CheckRestore) and loads it into its own
// database (RestoreChecked). To restore several archives, check them all
// first with CheckRestores, so that a problem with the last one is found
// before the first database is dropped.
func Restore(ctx context.Context, o RestoreOptions, rep Reporter) (RestoreResult, error) {
	c, err := CheckRestore(ctx, o)
	if err != nil {
		return RestoreResult{}, err
	}
	return RestoreChecked(ctx, c, rep)
}

// RestoreChecked loads a checked archive into its own database with the
// commands of RestoreCommands.
//
// The database is dropped if it exists, created with createdb (owner and
// encoding from the options or the archive, template0) and filled with
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
func RestoreChecked(ctx context.Context, c RestoreCheck, rep Reporter) (RestoreResult, error) {
	start := time.Now()
	if rep == nil {
		rep = Discard
	}
	o := c.Options
	db, owner, arch := c.Database, c.Owner, c.Archive
	result := RestoreResult{Database: db, Owner: owner, Archive: arch, Needs: c.Needs}
	total := int64(len(arch.Items))
	rep.Line("info", fmt.Sprintf("restoring %s (%d items, dumped from PostgreSQL %s) into database %s owned by %s", o.File, total, arch.DumpedFrom, db, owner))
	jobs := o.Jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	cmds := RestoreCommands(o.Server, db, owner, c.Encoding, jobs, o.Target.Path(o.File))

	// Drop and create.
	rep.Progress(Progress{Unit: "items", Total: total, Note: "creating database " + db})
	for _, argv := range cmds[:2] {
		if err := runPG(ctx, o.Target, o.Server, argv, rep); err != nil {
			return result, err
		}
	}

	// Restore, counting items.
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
	res, err := o.Target.Exec(ctx, remote.Cmd{Argv: cmds[2], Env: o.Server.env(), Dir: o.Server.dir(), Stderr: tail})
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
var restoreItemRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?:^|pg_restore: ?)(?:creating [A-Z]|processing data for table |executing [A-Z])`)
})

// restoreItems returns how many item starts a line of pg_restore --verbose
// output holds.
func restoreItems(line string) int {
	return len(restoreItemRe().FindAllStringIndex(strings.TrimLeft(line, " "), -1))
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
	res, err := h.Exec(ctx, remote.Cmd{Argv: argv, Env: s.env(), Dir: s.dir(), Stderr: tail, Stdout: tail})
	prog := argv[0]
	if s.OSUser != "" && len(argv) > 4 {
		prog = argv[4]
	}
	name := prog[strings.LastIndex(prog, "/")+1:]
	if err != nil {
		return fmt.Errorf("%s on %s: %w", name, h.Name(), err)
	}
	if res.ExitCode != 0 {
		return fmt.Errorf("%s %s on %s exited with status %d: %s", name, argv[len(argv)-1], h.Name(), res.ExitCode, tail)
	}
	return nil
}
