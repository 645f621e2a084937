package wizard

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/testenv"
)

// The hot phase's rehearsal on two real stock PostgreSQL clusters: the
// dump writes its archives into the rehearsal directory without touching
// the facts the real restore checks; the restore checks them as the real
// one will (a role the new server lacks is named, nothing created), then
// restores each into a scratch database, drops it again, deletes the
// archives, leaves bj alone, and records how long the restore took for
// the forecast.
func TestBlueMindRehearsalOnStockPostgres(t *testing.T) {
	t.Parallel()
	stock := testenv.PostgresOptions{StockHBA: true}
	pgOld := testenv.StartPostgresWith(t, stock)
	pgNew := testenv.StartPostgresWith(t, stock)
	pw := "bj-secret-" + pgSecret(t)
	b := newBMPair(t, map[string]string{"db_password": pw})
	if err := os.MkdirAll(filepath.Join(b.newRoot, "var/backups"), 0o755); err != nil {
		t.Fatal(err)
	}
	pgTraversable(t, filepath.Join(b.newRoot, "var/backups"))
	pgLinks(t, b.oldRoot, pgOld.BinDir)
	pgLinks(t, b.newRoot, pgNew.BinDir)
	pgOld.SQL(t, "postgres", `
CREATE ROLE bj LOGIN PASSWORD '`+pw+`';
CREATE ROLE reader;
CREATE DATABASE bj OWNER bj;
CREATE DATABASE "bj-data" OWNER bj;`)
	pgOld.SQL(t, "bj", `SET ROLE bj; CREATE TABLE t_user (id int); INSERT INTO t_user SELECT generate_series(1, 500);`)
	pgOld.SQL(t, "bj-data", `SET ROLE bj; CREATE TABLE t_flag (id int); INSERT INTO t_flag SELECT generate_series(1, 700); GRANT SELECT ON t_flag TO reader;`)
	pgNew.SQL(t, "postgres", `CREATE ROLE bj LOGIN; CREATE DATABASE bj OWNER bj;`)
	pgNew.SQL(t, "bj", `CREATE TABLE t_setup_leftover (x int);`)

	dump := b.step(t, "rehearse-dump", map[string]any{"port": pgOld.Port})
	o, err := b.run(t, dump)
	if err != nil {
		t.Fatalf("rehearsal dump: %v", err)
	}
	for k := range o.Facts {
		if strings.HasPrefix(k, "dump_") {
			t.Errorf("the rehearsal dump recorded %s, a fact of the real restore", k)
		}
	}
	if o.Facts[factRehearsalSHA256("bj-data")] == "" {
		t.Errorf("the rehearsal dump recorded no checksum of its archive: %v", o.Facts)
	}
	for k, v := range o.Facts {
		b.env.Data.Facts[k] = v
	}
	dir := filepath.Join(b.newRoot, params(b.rb.Params).str("rehearsal_dir"))
	if _, err := os.Stat(filepath.Join(dir, "dump-bj-data.sql")); err != nil {
		t.Fatalf("no rehearsal archive: %v", err)
	}

	restore := b.step(t, "rehearse-restore", map[string]any{"host": pgNew.SocketDir, "port": pgNew.Port})
	scratch := func() string {
		return pgNew.SQL(t, "postgres", `SELECT count(*) FROM pg_database WHERE datname LIKE 'ferry_rehearsal_%'`)
	}
	// The role the grant names is missing on new: found in the hot phase.
	o, err = b.run(t, restore)
	if err == nil || !strings.Contains(err.Error(), "nothing was dropped") || !strings.Contains(err.Error(), "roles reader") {
		t.Fatalf("rehearsal with a role missing: %v", err)
	}
	if scratch() != "0" || dropped(o) {
		t.Fatalf("the refused rehearsal created or dropped databases: %s scratch, %+v", scratch(), o.Commands)
	}
	pgNew.SQL(t, "postgres", `CREATE ROLE reader;`)
	o, err = b.run(t, restore)
	if err != nil {
		t.Fatalf("rehearsal restore: %v", err)
	}
	if !strings.Contains(o.Message, "ferry_rehearsal_bj (") || !strings.Contains(o.Message, "dropped again") {
		t.Errorf("rehearsal message %q", o.Message)
	}
	if scratch() != "0" {
		t.Errorf("%s scratch database(s) left on the new server", scratch())
	}
	if got := pgNew.SQL(t, "bj", `SELECT count(*) FROM pg_class WHERE relname = 't_setup_leftover'`); got != "1" {
		t.Errorf("the rehearsal touched bj on the new server (leftover table count %s)", got)
	}
	for _, f := range []string{"dump-bj.sql", "dump-bj-data.sql"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("the rehearsal left its archive %s", f)
		}
	}
	var drops int
	for _, c := range o.Commands {
		if strings.Contains(c.Command, "dropdb") && strings.HasSuffix(c.Command, " ferry_rehearsal_bj-data") && c.Exit == 0 {
			drops++
		}
	}
	if drops != 2 {
		t.Errorf("want the scratch bj-data dropped before its restore and after it, got %d drops: %+v", drops, o.Commands)
	}
	if v, err := strconv.ParseFloat(o.Facts[FactRehearsalRestore+"rehearse-restore"], 64); err != nil || v <= 0 {
		t.Errorf("no restore time for the forecast: %v", o.Facts)
	}
}
