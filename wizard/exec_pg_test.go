package wizard

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/testenv"
)

// These tests run the BlueMind database steps through the TaskExecutor
// against two real PostgreSQL clusters set up as Debian's package sets up
// a server (testenv.StockPgHBA: peer on the socket, SCRAM over TCP, no
// trust): the old one reached over a real OpenSSH sshd with the BlueMind
// login, the new one as the postgres OS user over its socket.

// pgTraversable opens every directory from dir up to (not including) the
// system's temporary directory to other users, so that the postgres OS user
// reaches the new server's tree (t.TempDir makes them private to root).
func pgTraversable(t *testing.T, dir string) {
	t.Helper()
	stop := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); d != stop && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func pgSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// dropped reports whether a restore outcome ran a dropdb.
func dropped(o Outcome) bool {
	for _, c := range o.Commands {
		if strings.Contains(c.Command, " dropdb ") {
			return true
		}
	}
	return false
}

// restoreDisplay is what the restore step records as run for the given
// step parameters, from the same planner the executor uses.
func restoreDisplay(t *testing.T, b *bmPair, s *Step) []string {
	t.Helper()
	p, err := resolveParams(s.Params, b.env.Data)
	if err != nil {
		t.Fatal(err)
	}
	pl := planPGRestore(b.x, p, b.env)
	var out []string
	for _, argv := range pl.Access {
		out = append(out, tasks.CommandSpec{Argv: argv}.Display())
	}
	for _, o := range pl.Opts {
		for _, argv := range tasks.RestoreCommands(pl.Server, o.Database, o.Owner, o.Encoding, o.Jobs, o.File) {
			out = append(out, tasks.CommandSpec{Argv: argv}.Display())
		}
	}
	return out
}

// shownCommands renders the commands a step's plan shows (Plan), its
// read-only probes left out.
func shownCommands(t *testing.T, s *Step, data TemplateData) []string {
	t.Helper()
	acts, err := Plan(s, data)
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, a := range acts {
		if a.Command() != nil && !a.Probe {
			shown = append(shown, a.String())
		}
	}
	return shown
}

// The commands the runbook shows for the dump and the restore are, word for
// word, those the executor runs with the runbook's own parameters; the
// password is tried before the downtime begins.
func TestBlueMindDatabaseStepsShowWhatRuns(t *testing.T) {
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	nh, err := remote.NewLocal(HostNew, "/")
	if err != nil {
		t.Fatal(err)
	}
	b := &bmPair{x: &TaskExecutor{New: nh}, rb: rb, env: &StepEnv{Data: TemplateData{Params: rb.Params, Family: FamilyDebian,
		Answers: map[string]string{}, Facts: map[string]string{"cpus": "2"}}}}

	s := rb.Step("restore-databases")
	want := restoreDisplay(t, b, s)
	if shown := shownCommands(t, s, b.env.Data); !slices.Equal(shown, want) {
		t.Errorf("the runbook shows\n  %s\nthe restore runs\n  %s", strings.Join(shown, "\n  "), strings.Join(want, "\n  "))
	}
	if len(want) != 9 || !strings.HasPrefix(want[3], "runuser -u postgres -- dropdb --no-password --host=/var/run/postgresql ") {
		t.Errorf("the default restore is not run as the postgres OS user over the local socket: %q", want)
	}

	s = rb.Step("dump-databases")
	p, err := resolveParams(s.Params, b.env.Data)
	if err != nil {
		t.Fatal(err)
	}
	want = nil
	for _, db := range p.list("databases") {
		want = append(want, tasks.CommandSpec{Argv: tasks.DumpArgv(dumpServer(p, b.env), db)}.Display())
	}
	if shown := shownCommands(t, s, b.env.Data); !slices.Equal(shown, want) {
		t.Errorf("the runbook shows\n  %s\nthe dump runs\n  %s", strings.Join(shown, "\n  "), strings.Join(want, "\n  "))
	}

	s = rb.Step("check-db-login")
	if p, err = resolveParams(s.Params, b.env.Data); err != nil {
		t.Fatal(err)
	}
	want = nil
	for _, db := range p.list("databases") {
		want = append(want, tasks.CommandSpec{Argv: tasks.PSQLArgv(dumpServer(p, b.env), db, tasks.LoginSQL)}.Display())
	}
	if shown := shownCommands(t, s, b.env.Data); !slices.Equal(shown, want) {
		t.Errorf("the runbook shows\n  %s\nthe login check runs\n  %s", strings.Join(shown, "\n  "), strings.Join(want, "\n  "))
	}

	login, start := -1, -1
	for i, st := range rb.Steps {
		if st.Kind == "pg-login" && login < 0 {
			login = i
		}
		if st.Downtime == DowntimeStart && start < 0 {
			start = i
		}
	}
	if login < 0 || start < 0 || login > start {
		t.Errorf("the password check (step %d) does not come before the downtime begins (step %d)", login, start)
	}
}

func TestBlueMindDatabasesOnStockPostgres(t *testing.T) {
	t.Parallel()
	stock := testenv.PostgresOptions{StockHBA: true}
	pgOld := testenv.StartPostgresWith(t, stock)
	pgNew := testenv.StartPostgresWith(t, stock)
	pw := "bj-secret-" + pgSecret(t)
	b := newBMPair(t, map[string]string{"db_password": "typo-" + pw})
	// /var/backups exists on a real server, open to all (Debian: 0755).
	if err := os.MkdirAll(filepath.Join(b.newRoot, "var/backups"), 0o755); err != nil {
		t.Fatal(err)
	}
	pgTraversable(t, filepath.Join(b.newRoot, "var/backups"))
	// Every argv of the PostgreSQL programs, logged as they start (the
	// argv watcher below samples every other process's).
	oldBin, newBin := testenv.LogArgv(t, pgOld.BinDir), testenv.LogArgv(t, pgNew.BinDir)
	pgLinks(t, b.oldRoot, oldBin.Dir)
	pgLinks(t, b.newRoot, newBin.Dir)

	// Old: BlueMind's databases owned by bj, which logs in with a password
	// over TCP (the stock rules); one table sits in a tablespace, one grant
	// names another role.
	tsOld := pgOld.OwnedDir(t, "ts_mail")
	pgOld.SQL(t, "postgres", `
CREATE ROLE bj LOGIN PASSWORD '`+pw+`';
CREATE ROLE reader;
CREATE DATABASE bj OWNER bj;
CREATE DATABASE "bj-data" OWNER bj;
CREATE TABLESPACE ts_mail LOCATION '`+tsOld+`';
GRANT CREATE ON TABLESPACE ts_mail TO bj;`)
	pgOld.SQL(t, "bj", `
SET ROLE bj;
CREATE TABLE t_domain (id serial PRIMARY KEY, name text NOT NULL);
INSERT INTO t_domain (name) SELECT 'd' || i || '.example' FROM generate_series(1, 40) i;
CREATE TABLE t_user (id serial PRIMARY KEY, domain int REFERENCES t_domain, login text);
INSERT INTO t_user (domain, login) SELECT 1 + i % 40, 'u' || i FROM generate_series(1, 1200) i;
CREATE TABLE t_empty (x int);`)
	pgOld.SQL(t, "bj-data", `
SET ROLE bj;
CREATE TABLE t_message (id bigserial PRIMARY KEY, body text) TABLESPACE ts_mail;
INSERT INTO t_message (body) SELECT md5(i::text) FROM generate_series(1, 3000) i;
CREATE TABLE t_flag (id int, flag text);
INSERT INTO t_flag SELECT i, 'seen' FROM generate_series(1, 900) i;
GRANT SELECT ON t_flag TO reader;`)
	// New: the setup wizard made role bj and a bj database of its own.
	pgNew.SQL(t, "postgres", `CREATE ROLE bj LOGIN; CREATE DATABASE bj OWNER bj;`)
	pgNew.SQL(t, "bj", `CREATE TABLE t_setup_leftover (x int);`)
	leftover := func() string {
		return pgNew.SQL(t, "bj", `SELECT count(*) FROM pg_class WHERE relname = 't_setup_leftover';`)
	}

	watch := testenv.WatchArgv(t, pw)

	// The password is tried before the downtime: a typo is refused, for
	// each database, naming the role.
	login := b.step(t, "check-db-login", map[string]any{"port": pgOld.Port})
	o, err := b.run(t, login)
	_, lines := b.rep.snapshot()
	noSecret(t, "login with a typo", pw, o, lines, err)
	if err == nil || !strings.Contains(err.Error(), "the password was refused") || !strings.Contains(err.Error(), "databases bj and bj-data") || !strings.Contains(err.Error(), "role bj") {
		t.Fatalf("login with a mistyped password: %v", err)
	}
	b.env.Secrets["db_password"] = pw
	if o, err = b.run(t, login); err != nil || !strings.Contains(o.Message, "bj logs in to bj and bj-data") {
		t.Fatalf("login with the right password: %+v, %v", o, err)
	}
	if len(o.Commands) != 2 || o.Commands[1].Exit != 0 || !strings.HasPrefix(o.Commands[1].Command, "psql --no-password --host=localhost --port=") || !strings.Contains(o.Commands[1].Command, "--dbname=bj-data") {
		t.Errorf("login commands %+v", o.Commands)
	}

	// Dump: the outcome records each archive's size and SHA-256.
	dump := b.step(t, "dump-databases", map[string]any{"port": pgOld.Port})
	b.rep.reset()
	o, err = b.run(t, dump)
	_, lines = b.rep.snapshot()
	noSecret(t, "dump", pw, o, lines, err)
	if err != nil {
		t.Fatalf("dump: %v\n%s", err, strings.Join(lines, "\n"))
	}
	dp, err := resolveParams(dump.Params, b.env.Data)
	if err != nil {
		t.Fatal(err)
	}
	for i, db := range []string{"bj", "bj-data"} {
		want := tasks.CommandSpec{Argv: tasks.DumpArgv(dumpServer(dp, b.env), db)}.Display()
		if len(o.Commands) != 2 || o.Commands[i].Command != want || o.Commands[i].Exit != 0 || !strings.Contains(want, "--port="+strconv.Itoa(pgOld.Port)) {
			t.Errorf("dump commands %+v, want %q for %s", o.Commands, want, db)
		}
	}
	dir := params(b.rb.Params).str("dump_dir")
	archive := func(db string) string { return filepath.Join(b.newRoot, dir, "dump-"+db+".sql") }
	for _, db := range []string{"bj", "bj-data"} {
		data, err := os.ReadFile(archive(db))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if o.Facts[factDumpSHA256(db)] != hex.EncodeToString(sum[:]) || o.Facts[factDumpBytes(db)] != strconv.Itoa(len(data)) {
			t.Errorf("dump of %s: facts %v; the file has %d bytes, SHA-256 %x", db, o.Facts, len(data), sum)
		}
	}
	dumpFacts := o.Facts
	for k, v := range dumpFacts {
		b.env.Data.Facts[k] = v
	}

	restore := b.step(t, "restore-databases", map[string]any{"host": pgNew.SocketDir, "port": pgNew.Port})
	if ok, reason := b.check(t, restore, restore.Precondition); !ok {
		t.Fatalf("restore precondition: %s", reason)
	}
	// The new server lacks the tablespace and the role bj-data needs: both
	// named, and nothing dropped, not even bj, whose archive is fine and
	// comes first.
	b.rep.reset()
	o, err = b.run(t, restore)
	if err == nil || !strings.Contains(err.Error(), "nothing was dropped") || !strings.Contains(err.Error(), "roles reader") || !strings.Contains(err.Error(), "tablespaces ts_mail") || !strings.Contains(err.Error(), "dump-bj-data.sql") {
		t.Fatalf("restore with a role and a tablespace missing: %+v, %v", o, err)
	}
	if leftover() != "1" || dropped(o) {
		t.Fatalf("the refused restore changed the new server (leftover table %s, commands %+v)", leftover(), o.Commands)
	}
	// A dump directory the postgres OS user cannot reach (a parent made
	// private to root): refused before any drop, naming the user.
	backups := filepath.Join(b.newRoot, "var/backups")
	if err := os.Chmod(backups, 0o700); err != nil {
		t.Fatal(err)
	}
	o, err = b.run(t, restore)
	if err == nil || !strings.Contains(err.Error(), "the postgres OS user, as whom pg_restore runs, cannot read") || leftover() != "1" || dropped(o) {
		t.Fatalf("restore from a directory postgres cannot reach: %v (leftover %s)", err, leftover())
	}
	if err := os.Chmod(backups, 0o755); err != nil {
		t.Fatal(err)
	}
	tsNew := pgNew.OwnedDir(t, "ts_mail")
	pgNew.SQL(t, "postgres", `CREATE ROLE reader; CREATE TABLESPACE ts_mail LOCATION '`+tsNew+`';`)

	// A truncated archive, with the dump's checksum known, then without
	// it (the whole archive is read back): refused before any drop.
	whole, err := os.ReadFile(archive("bj-data"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(archive("bj-data"), whole[:len(whole)*2/3], 0o600); err != nil {
		t.Fatal(err)
	}
	for _, known := range []bool{true, false} {
		if !known {
			delete(b.env.Data.Facts, factDumpSHA256("bj-data"))
		}
		o, err = b.run(t, restore)
		if err == nil || !strings.Contains(err.Error(), "nothing was dropped") || !strings.Contains(err.Error(), "dump-bj-data.sql") {
			t.Fatalf("restore of a truncated archive (checksum known: %v): %v", known, err)
		}
		if known && !strings.Contains(err.Error(), "the dump wrote") {
			t.Errorf("the refusal does not say the file differs from what the dump wrote: %v", err)
		}
		if !known && !strings.Contains(err.Error(), "cut short") {
			t.Errorf("the refusal does not say the archive is cut short: %v", err)
		}
		if leftover() != "1" || dropped(o) {
			t.Fatalf("the refused restore changed the new server (checksum known: %v)", known)
		}
	}
	if err := os.WriteFile(archive("bj-data"), whole, 0o600); err != nil {
		t.Fatal(err)
	}
	b.env.Data.Facts[factDumpSHA256("bj-data")] = dumpFacts[factDumpSHA256("bj-data")]

	// Now the restore runs, as the postgres OS user over the socket.
	b.rep.reset()
	o, err = b.run(t, restore)
	_, lines = b.rep.snapshot()
	noSecret(t, "restore", pw, o, lines, err)
	if err != nil {
		t.Fatalf("restore: %v\n%s", err, strings.Join(lines, "\n"))
	}
	var ran []string
	for _, c := range o.Commands {
		if c.Exit != 0 || c.Host != HostNew {
			t.Errorf("restore command %+v", c)
		}
		ran = append(ran, c.Command)
	}
	if want := restoreDisplay(t, b, restore); !slices.Equal(ran, want) {
		t.Errorf("restore recorded\n  %s\nits plan is\n  %s", strings.Join(ran, "\n  "), strings.Join(want, "\n  "))
	}
	if !strings.HasPrefix(ran[3], "runuser -u postgres -- ") {
		t.Errorf("the restore did not run as the postgres OS user: %q", ran[3])
	}
	const counts = `SELECT string_agg(relname || '=' || (xpath('/row/c/text()', query_to_xml('SELECT count(*) AS c FROM ' || quote_ident(relname), false, true, '')))[1]::text, ' ' ORDER BY relname) FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`
	for db, want := range map[string]string{"bj": "t_domain=40 t_empty=0 t_user=1200", "bj-data": "t_flag=900 t_message=3000"} {
		if got := pgNew.SQL(t, db, counts); got != want {
			t.Errorf("new %s after the restore: %s, want %s (each dump in its own database, the leftover gone)", db, got, want)
		}
		if owner := pgNew.SQL(t, "postgres", `SELECT pg_get_userbyid(datdba) || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = '`+db+`'`); owner != "bj UTF8" {
			t.Errorf("new %s: owner and encoding %q, want bj UTF8", db, owner)
		}
	}

	// Row counts: old through SSH with the BlueMind login, new as the
	// postgres OS user over its socket, as the restore wrote it.
	verify := b.step(t, "verify-databases", map[string]any{"port": pgOld.Port, "new_host": pgNew.SocketDir, "new_port": pgNew.Port})
	b.rep.reset()
	o, err = b.run(t, verify)
	_, lines = b.rep.snapshot()
	noSecret(t, "verify", pw, o, lines, err)
	if err != nil || o.Message != "row counts equal in all 5 tables" {
		t.Fatalf("verify after the restore: %+v, %v", o, err)
	}
	pgNew.SQL(t, "bj-data", `DELETE FROM t_flag WHERE id <= 3;`)
	ok, reason := b.check(t, verify, verify.Success)
	if ok || !strings.Contains(reason, "public.t_flag: 900 rows on the source, 897 on the target") || strings.Contains(reason, "database bj:") {
		t.Errorf("verify with 3 rows missing on new: ok=%v, reason %q", ok, reason)
	}
	// Both databases are counted at once; each one that differs is named.
	pgNew.SQL(t, "bj", `DELETE FROM t_user WHERE id <= 2;`)
	ok, reason = b.check(t, verify, verify.Success)
	if ok || !strings.Contains(reason, "public.t_flag: 900 rows on the source, 897 on the target") || !strings.Contains(reason, "public.t_user: 1200 rows on the source, 1198 on the target") {
		t.Errorf("verify with rows missing in both databases: ok=%v, reason %q", ok, reason)
	}

	leaks, _ := watch.Result()
	if len(leaks) > 0 {
		t.Fatalf("the database password appeared in a process's argv: %q", leaks)
	}
	// pg_dump runs on the old server, pg_restore (and the checks of the
	// archives) on the new one.
	oldBin.Check(t, pw, "pg_dump")
	newBin.Check(t, pw, "pg_restore")
}
