package tasks

import (
	"cmp"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/testenv"
)

func TestParseTOC(t *testing.T) {
	listing := `;
; Archive created at 2026-11-22 03:05:38 UTC
;     dbname: bj-data
;     TOC Entries: 14
;     Compression: -1
;     Format: CUSTOM
;     Dumped from database version: 15.18 (Debian 15.18-0+deb12u1)
;     Dumped by pg_dump version: 15.18 (Debian 15.18-0+deb12u1)
;
;
; Selected TOC Entries:
;
215; 1259 16389 TABLE public t_message bj
3356; 0 0 SEQUENCE OWNED BY public t_message_id_seq bj
3348; 0 16389 TABLE DATA public t_message bj
`
	a, err := ParseTOC(strings.ReplaceAll(listing, "\n", "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Archive{Database: "bj-data", Format: "CUSTOM", TOCEntries: 14,
		DumpedFrom: "15.18 (Debian 15.18-0+deb12u1)", DumpedBy: "15.18 (Debian 15.18-0+deb12u1)",
		Items: []TOCItem{{215, "TABLE public t_message bj"}, {3356, "SEQUENCE OWNED BY public t_message_id_seq bj"}, {3348, "TABLE DATA public t_message bj"}}}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("got %+v\nwant %+v", a, want)
	}
	if _, err := ParseTOC("; dbname: x\nnot a toc line\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("garbage listing: %v", err)
	}
	if _, err := ParseTOC("; dbname: x\n"); err == nil {
		t.Fatal("a listing without a Format line was accepted")
	}
}

// TestParseTOCEntryBoundaries pins where an entry line's parts end: a
// number without the ";" after it is no entry (both halves of the check
// are needed: "215" converts), and the tableoid and oid are dropped only
// when a description follows them (two fields are kept whole, three lose
// the first two). Mutants that lived.
func TestParseTOCEntryBoundaries(t *testing.T) {
	if _, err := ParseTOC("; Format: CUSTOM\n215\n"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bare number as an entry line: %v, want an error naming line 2", err)
	}
	a, err := ParseTOC("; Format: CUSTOM\n7; 1259 16389\n8; 1259 16390 TABLE\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := []TOCItem{{7, " 1259 16389"}, {8, "TABLE"}}; !reflect.DeepEqual(a.Items, want) {
		t.Errorf("items %+v, want %+v", a.Items, want)
	}
}

// TestParseArchiveSQLNameEnds pins where a name ends: after a quoted name
// the list goes on from the character after its closing quote (a quoted
// role first, a plain one after it, both read), and an empty name (an
// OWNER TO with nothing before its ";") is no role at all, not one named
// ";". Mutants that lived.
func TestParseArchiveSQLNameEnds(t *testing.T) {
	n, err := ParseArchiveSQL(strings.NewReader("GRANT SELECT ON TABLE public.t TO \"Other One\", reader;\nALTER TABLE public.t OWNER TO ;\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Other One", "reader"}; !reflect.DeepEqual(n.Roles, want) {
		t.Errorf("roles %q, want %q", n.Roles, want)
	}
}

// TestMissingErrorWords: the refusal names only what is missing, roles,
// tablespaces or both (no empty "roles" part). Mutants that lived.
func TestMissingErrorWords(t *testing.T) {
	const tail = ", missing on the target server: create them first (nothing was changed)"
	for _, c := range []struct {
		e    MissingError
		want string
	}{
		{MissingError{File: "/d/a.sql", Roles: []string{"bj", "reader"}}, "the archive /d/a.sql needs roles bj, reader" + tail},
		{MissingError{File: "/d/a.sql", Tablespaces: []string{"ts_mail"}}, "the archive /d/a.sql needs tablespaces ts_mail" + tail},
		{MissingError{File: "/d/a.sql", Roles: []string{"bj"}, Tablespaces: []string{"ts_mail"}}, "the archive /d/a.sql needs roles bj and tablespaces ts_mail" + tail},
	} {
		if got := c.e.Error(); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.e, got, c.want)
		}
	}
}

// TestRestoreCommands: createdb gets --owner and --encoding only when
// they are known (an archive dumped in LATIN1 is not created UTF8), and
// pg_restore runs with at least one job. Mutants that lived.
func TestRestoreCommands(t *testing.T) {
	s := PGServer{Host: "/var/run/postgresql", Port: 5432}
	cmds := RestoreCommands(s, "bj-data", "bj", "LATIN1", 0, "/var/backups/dump-bj-data.sql")
	if len(cmds) != 3 {
		t.Fatalf("%d commands, want 3: %q", len(cmds), cmds)
	}
	create, restore := strings.Join(cmds[1], " "), strings.Join(cmds[2], " ")
	for _, want := range []string{" --owner=bj ", " --encoding=LATIN1 ", " --template=template0 "} {
		if !strings.Contains(create, want) {
			t.Errorf("createdb %q lacks %q", create, want)
		}
	}
	if !strings.HasSuffix(create, " bj-data") || !strings.Contains(restore, " --jobs=1 ") || !strings.HasSuffix(restore, " /var/backups/dump-bj-data.sql") {
		t.Errorf("createdb %q, pg_restore %q", create, restore)
	}
	cmds = RestoreCommands(s, "bj", "", "", 3, "/var/backups/dump-bj.sql")
	create, restore = strings.Join(cmds[1], " "), strings.Join(cmds[2], " ")
	if strings.Contains(create, "--owner") || strings.Contains(create, "--encoding") || !strings.Contains(restore, " --jobs=3 ") {
		t.Errorf("with no owner or encoding known and 3 jobs: createdb %q, pg_restore %q", create, restore)
	}
}

// TestCheckRestoreRequiresTargetAndFile: either one missing is refused
// before anything runs. A mutant that lived (both had to be missing).
func TestCheckRestoreRequiresTargetAndFile(t *testing.T) {
	h := pgLocal(t, "new")
	for _, o := range []RestoreOptions{{Target: h}, {File: "/var/backups/dump-bj.sql"}} {
		if _, err := CheckRestore(context.Background(), o); err == nil || !strings.Contains(err.Error(), "are required") {
			t.Errorf("CheckRestore(target %v, file %q): %v, want a refusal", o.Target != nil, o.File, err)
		}
	}
}

// TestCheckRestoreArchiveRefusals checks archives of a real cluster
// without restoring them. pg_dump's tar format is read by pg_restore but
// cannot be restored in parallel: refused, naming the format (only custom
// and directory archives pass). A custom archive of a UTF8 database asked
// to be created as LATIN1 is refused naming both; asked as "utf8" the
// encoding passes, and an owner the server lacks is a missing role.
// Mutants that lived (tar let through when only the directory format was
// refused; the encoding check reversed; an owner never checked).
func TestCheckRestoreArchiveRefusals(t *testing.T) {
	t.Parallel()
	pg := testenv.StartPostgres(t)
	pg.SQL(t, "postgres", "CREATE DATABASE bj ENCODING 'UTF8' TEMPLATE template0;")
	pg.SQL(t, "bj", "CREATE TABLE t (x int); INSERT INTO t VALUES (1);")
	dir := t.TempDir()
	dump := func(format string) string {
		file := filepath.Join(dir, "dump-bj."+format)
		cmd := exec.Command(pg.Bin("pg_dump"), "-F"+format, "-f", file, "-d", "bj")
		cmd.Env = append(os.Environ(), pg.Env()...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("pg_dump -F%s: %v\n%s", format, err, out)
		}
		return file
	}
	server := PGServer{Host: pg.Host, Port: pg.Port, User: "postgres", BinDir: pg.BinDir}
	check := func(o RestoreOptions) error {
		o.Target, o.Server = pgLocal(t, "new"), server
		_, err := CheckRestore(context.Background(), o)
		return err
	}
	if err := check(RestoreOptions{File: dump("t")}); err == nil || !strings.Contains(err.Error(), "is a TAR archive") {
		t.Errorf("CheckRestore of a tar archive: %v, want a refusal naming TAR", err)
	}
	custom := dump("c")
	if err := check(RestoreOptions{File: custom, Encoding: "LATIN1"}); err == nil || !strings.Contains(err.Error(), "holds a UTF8 database; the restore would create bj as LATIN1") {
		t.Errorf("CheckRestore of a UTF8 archive as LATIN1: %v, want a refusal naming both", err)
	}
	var miss *MissingError
	if err := check(RestoreOptions{File: custom, Encoding: "utf8", Owner: "ghost"}); !errors.As(err, &miss) || !reflect.DeepEqual(miss.Roles, []string{"ghost"}) {
		t.Errorf("CheckRestore as utf8 for an owner the server lacks: %v, want role ghost missing", err)
	}
	if err := check(RestoreOptions{File: custom, Encoding: "utf8"}); err != nil {
		t.Errorf("CheckRestore of a whole custom archive: %v", err)
	}
}

// TestRunPGNamesTheProgram: a client program that fails is named by its
// own name with its last argument and its error output, whether it runs
// directly (its argv[0], however many arguments follow) or through
// runuser as an OS user (the program after "--"). A mutant that lived
// (the fifth argument taken for the program without runuser).
func TestRunPGNamesTheProgram(t *testing.T) {
	h := pgLocal(t, "new")
	script := "echo boom >&2; exit 3"
	for _, c := range []struct {
		s    PGServer
		argv []string
	}{
		{PGServer{}, []string{"/bin/sh", "-c", script, "sh", "last"}},
		{PGServer{OSUser: "root"}, []string{"runuser", "-u", "root", "--", "/bin/sh", "-c", script, "sh", "last"}},
	} {
		err := runPG(context.Background(), h, c.s, c.argv, Discard)
		if want := "sh last on new exited with status 3: boom"; err == nil || err.Error() != want {
			t.Errorf("runPG(%q, OS user %q) = %v, want %q", c.argv, c.s.OSUser, err, want)
		}
	}
}

// TestParseArchiveSQLCutShort: a script cut off inside a quoted name (an
// archive cut short) gives the name as far as it goes, and no crash. A
// mutant that lived (reading one byte past the end).
func TestParseArchiveSQLCutShort(t *testing.T) {
	n, err := ParseArchiveSQL(strings.NewReader("ALTER TABLE public.t OWNER TO \"cut sh"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"cut sh"}; !reflect.DeepEqual(n.Roles, want) {
		t.Errorf("roles %q, want %q", n.Roles, want)
	}
}

func TestParseArchiveSQL(t *testing.T) {
	sql := `SET client_encoding = 'UTF8';
CREATE DATABASE "bj-data" WITH TEMPLATE = template0 ENCODING = 'LATIN1' LOCALE_PROVIDER = libc LOCALE = 'C.UTF-8';
ALTER DATABASE "bj-data" OWNER TO bj;
\connect -reuse-previous=on "dbname='bj-data'"
ALTER SCHEMA "Mail Box" OWNER TO "Big ""Boss""";
SET default_tablespace = ts_mail;
CREATE TABLE public.t (id int);
ALTER TABLE public.t OWNER TO bj;
SET default_tablespace = '';
SET default_tablespace = "Fast Disk";
GRANT SELECT ON TABLE public.t TO reader;
GRANT SELECT,INSERT ON TABLE public.t TO writer, "Other One" WITH GRANT OPTION;
REVOKE ALL ON TABLE public.t FROM PUBLIC;
REVOKE ALL ON SCHEMA public FROM revoked;
GRANT ALL ON SCHEMA public TO PUBLIC;
`
	n, err := ParseArchiveSQL(strings.NewReader(sql))
	if err != nil {
		t.Fatal(err)
	}
	want := ArchiveNeeds{Owner: "bj", Encoding: "LATIN1",
		Roles:       []string{"Big \"Boss\"", "Other One", "bj", "reader", "revoked", "writer"},
		Tablespaces: []string{"Fast Disk", "ts_mail"}}
	if !reflect.DeepEqual(n, want) {
		t.Fatalf("got %+v\nwant %+v", n, want)
	}
}

func TestRestoreItemLines(t *testing.T) {
	// Lines pg_restore 15 --verbose prints, serial and parallel.
	counted := []string{
		`pg_restore: creating TABLE "public.t_message"`,
		`pg_restore: creating SEQUENCE OWNED BY "public.t_message_id_seq"`,
		`pg_restore: processing data for table "public.t_message"`,
		`pg_restore: executing SEQUENCE SET t_message_id_seq`,
		`pg_restore: creating ACL "public.TABLE t_other"`,
	}
	ignored := []string{
		`pg_restore: connecting to database for restore`,
		`pg_restore: processing item 215 TABLE t_message`,
		`pg_restore: launching item 3348 TABLE DATA t_message`,
		`pg_restore: finished item 3348 TABLE DATA t_message`,
		`pg_restore: entering main parallel loop`,
		`pg_restore: error: could not execute query: ERROR:  relation "x" already exists`,
	}
	for _, l := range counted {
		if restoreItems(l) != 1 {
			t.Errorf("not counted once: %q", l)
		}
	}
	for _, l := range ignored {
		if restoreItems(l) != 0 {
			t.Errorf("counted: %q", l)
		}
	}
	// Parallel workers interleave their prefixes and messages.
	interleaved := map[string]int{
		`pg_restore: pg_restore: processing data for table "public.t_user"`: 1,
		`pg_restore:pg_restore: executing SEQUENCE SET t_domain_id_seq`:     1,
		`creating INDEX "public.t_flag_id"`:                                 1,
		` finished item 3359 TABLE DATA t_user`:                             0,
		`pg_restore: creating TABLE "a"pg_restore: creating TABLE "b"`:      2,
	}
	for l, want := range interleaved {
		if got := restoreItems(l); got != want {
			t.Errorf("restoreItems(%q) = %d, want %d", l, got, want)
		}
	}
	if !restoreChatter(" finished item 3359 TABLE DATA t_user") || !restoreChatter("pg_restore:") {
		t.Errorf("interleaved bookkeeping is shown")
	}
	if restoreChatter(ignored[5]) {
		t.Errorf("an error line is treated as chatter")
	}
}

// TestBlueMindDumpRestoreVerify runs the BlueMind cold-phase database steps
// against two real clusters: both dumps at once, restores into their own
// databases (after a refused attempt while a role and the tablespace are
// missing), and the row-count comparison, while checking that the password
// never shows in any process's argv or in what the tasks report.
func TestBlueMindDumpRestoreVerify(t *testing.T) {
	t.Parallel()
	src, pw := bjSource(t)
	dst := testenv.StartPostgres(t)
	rpw := "rpw-" + pgRandom(t)
	dst.SQL(t, "postgres", "CREATE ROLE restorer SUPERUSER LOGIN PASSWORD '"+rpw+"';")
	dst.RequirePassword(t, "restorer")

	oldHost, newHost := pgLocal(t, "old"), pgLocal(t, "new")
	ctx := context.Background()
	dir := t.TempDir()
	// Every argv of the PostgreSQL programs, logged as they start; the
	// watchers sample every other process's.
	srcBin, dstBin := testenv.LogArgv(t, src.BinDir), testenv.LogArgv(t, dst.BinDir)
	watch := testenv.WatchArgv(t, pw)
	rwatch := testenv.WatchArgv(t, rpw)

	// Dump both databases at once.
	srcServer := PGServer{Host: src.Host, Port: src.Port, User: "bj", Password: pw, BinDir: srcBin.Dir}
	dumpRep := &pgRecorder{}
	files := map[string]string{"bj": filepath.Join(dir, "dump-bj.sql"), "bj-data": filepath.Join(dir, "dump-bj-data.sql")}
	results, err := DumpAll(ctx, []DumpOptions{
		{Source: oldHost, Server: srcServer, Database: "bj", Target: newHost, File: files["bj"], CheckBinDir: dst.BinDir},
		{Source: oldHost, Server: srcServer, Database: "bj-data", Target: newHost, File: files["bj-data"], CheckBinDir: dst.BinDir},
	}, dumpRep)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range results {
		fi, err := os.Stat(files[r.Database])
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() != r.Bytes || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: file has %d bytes mode %v, the dump counted %d (want mode 0600)", r.Database, fi.Size(), fi.Mode().Perm(), r.Bytes)
		}
		if r.Archive.Database != r.Database || len(r.Archive.Items) == 0 {
			t.Errorf("%s: archive %+v", r.Database, r.Archive)
		}
		sum += r.Bytes
	}
	last, lines, backward := dumpRep.snapshot()
	if last.Unit != "bytes" || last.Done != sum || backward != "" {
		t.Errorf("dump progress ended at %+v (backward: %q), want %d bytes in all", last, backward, sum)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("dump directory holds %d entries, want the two archives only", len(ents))
	}
	pgNoSecret(t, lines, pw)

	dstServer := PGServer{Host: dst.Host, Port: dst.Port, User: "restorer", Password: rpw, BinDir: dstBin.Dir}

	// Role bj and tablespace ts_mail are missing on the target: refused,
	// nothing created.
	_, err = Restore(ctx, RestoreOptions{Target: newHost, Server: dstServer, File: files["bj-data"], Jobs: 2}, Discard)
	var miss *MissingError
	if !errors.As(err, &miss) || !reflect.DeepEqual(miss.Roles, []string{"bj"}) || !reflect.DeepEqual(miss.Tablespaces, []string{"ts_mail"}) {
		t.Fatalf("restore with role and tablespace missing: %v", err)
	}
	if !strings.Contains(err.Error(), "ts_mail") || !strings.Contains(err.Error(), files["bj-data"]) {
		t.Errorf("message does not name the tablespace and the file: %v", err)
	}
	if got := dst.SQL(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'bj-data';"); got != "0" {
		t.Fatal("the refused restore created the database")
	}

	// A dump cannot land in another dump's database by mistake.
	_, err = Restore(ctx, RestoreOptions{Target: newHost, Server: dstServer, File: files["bj-data"], Database: "bj"}, Discard)
	if err == nil || !strings.Contains(err.Error(), `holds database "bj-data", not "bj"`) {
		t.Fatalf("restoring bj-data into bj: %v", err)
	}

	loc := dst.OwnedDir(t, "ts_mail")
	dst.SQL(t, "postgres", "CREATE ROLE bj LOGIN; CREATE ROLE reader; CREATE TABLESPACE ts_mail LOCATION '"+loc+"';")

	// bj twice: a re-run replaces the database. Serially (jobs 1) every
	// item start is counted from pg_restore's output; in parallel the
	// workers' lines may interleave. Jobs 0 means one per CPU.
	jobs := []int{1, 2, 0}
	ranJobs := restoreJobs(t, dstBin)
	for i, db := range []string{"bj", "bj-data", "bj"} {
		rep := &pgRecorder{}
		res, err := Restore(ctx, RestoreOptions{Target: newHost, Server: dstServer, File: files[db], Jobs: jobs[i]}, rep)
		if err != nil {
			t.Fatalf("restore %s: %v", db, err)
		}
		last, lines, backward := rep.snapshot()
		total := int64(len(res.Archive.Items))
		if res.Database != db || res.Owner != "bj" || res.Items != total || (jobs[i] == 1 && res.Counted != total) || res.Counted == 0 || last.Unit != "items" || last.Done != total || last.Total != total || backward != "" {
			t.Errorf("restore %s: result %+v, last progress %+v (backward: %q); want %d items\nreported lines:\n%s", db, res, last, backward, total, strings.Join(lines, "\n"))
		}
		pgNoSecret(t, lines, rpw)
		// pg_restore ran with the jobs asked for, one per CPU for 0
		// (mutants that lived: 1 taken for one per CPU, 0 for 1).
		want := "--jobs=" + strconv.Itoa(cmp.Or(jobs[i], runtime.NumCPU()))
		if n := restoreJobs(t, dstBin)[want]; n != ranJobs[want]+1 {
			t.Errorf("restore %s with Jobs %d: pg_restore ran with %v before and %v after, want one more %s", db, jobs[i], ranJobs, restoreJobs(t, dstBin), want)
		}
		ranJobs = restoreJobs(t, dstBin)
	}
	if got := dst.SQL(t, "postgres", "SELECT datname || ':' || pg_get_userbyid(datdba) FROM pg_database WHERE datname LIKE 'bj%' ORDER BY 1;"); got != "bj-data:bj\nbj:bj" && got != "bj:bj\nbj-data:bj" {
		t.Errorf("databases on the target: %q", got)
	}
	if got := dst.SQL(t, "bj-data", "SELECT tablespace FROM pg_tables WHERE tablename = 't_message';"); got != "ts_mail" {
		t.Errorf("t_message is in tablespace %q on the target, want ts_mail", got)
	}

	// Verify: the source through a dialer without deadlines, as through SSH.
	for _, db := range []string{"bj", "bj-data"} {
		res, err := Verify(ctx, VerifyOptions{Database: db, Source: srcServer, SourceVia: &pgNoDeadlineDialer{}, Target: dstServer}, Discard)
		if err != nil {
			t.Fatalf("verify %s: %v", db, err)
		}
		if len(res.Source) < 2 || !reflect.DeepEqual(res.Source, res.Target) {
			t.Errorf("verify %s: source %+v target %+v", db, res.Source, res.Target)
		}
	}
	dst.SQL(t, "bj-data", `DELETE FROM t_flag WHERE id <= 10; DROP TABLE "Mail Box"."Odd ""Name""";`)
	_, err = Verify(ctx, VerifyOptions{Database: "bj-data", Source: srcServer, Target: dstServer}, Discard)
	var de *DiffError
	if !errors.As(err, &de) || len(de.Result.Diffs) != 2 ||
		!strings.Contains(err.Error(), "public.t_flag: 1500 rows on the source, 1490 on the target") ||
		!strings.Contains(err.Error(), `Mail Box.Odd "Name": 7 rows on the source, table missing on the target`) {
		t.Fatalf("verify after changing the target: %v", err)
	}

	leaks, _ := watch.Result()
	rleaks, _ := rwatch.Result()
	if len(leaks)+len(rleaks) > 0 {
		t.Fatalf("a password appeared in a process's argv: %q %q", leaks, rleaks)
	}
	for _, secret := range []string{pw, rpw} {
		srcBin.Check(t, secret, "pg_dump")
		dstBin.Check(t, secret, "pg_restore")
	}
}

// restoreJobs counts the --jobs arguments of the pg_restore runs log holds.
func restoreJobs(t *testing.T, log *testenv.ArgvLog) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, r := range log.Runs(t) {
		for _, a := range r.Args {
			if r.Prog == "pg_restore" && strings.HasPrefix(a, "--jobs=") {
				n[a]++
			}
		}
	}
	return n
}

func pgNoSecret(t *testing.T, lines []string, secret string) {
	t.Helper()
	for _, l := range lines {
		if strings.Contains(l, secret) {
			t.Fatalf("a reported line holds the password: %q", l)
		}
	}
}
