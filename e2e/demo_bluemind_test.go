package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestDemoBlueMindRunsToTheEnd runs `ferry demo bluemind --headless` and
// then checks the end state without ferry: every spool tree equal on both
// roots by rsync's own checksum comparison, every table's row count equal in
// both real clusters (started here by hand, on their sockets only), the
// clusters stopped when the demo ended, and the report closing the downtime
// window.
func TestDemoBlueMindRunsToTheEnd(t *testing.T) {
	pgBin, dir := blueMindDir(t)
	oldRoot, newRoot := filepath.Join(dir, "old"), filepath.Join(dir, "new")

	out, errb, code := ferry(t, "demo", "bluemind", "--headless", "--dir", dir)
	if code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s\nlast events:\n%s", code, errb, tail(out, 8))
	}
	evs := events(t, out)
	if last := evs[len(evs)-1]; last.Type != wizard.EvRunFinished || last.Status != wizard.StatusOK {
		t.Fatalf("last event %+v", last)
	}
	clustersStopped(t, oldRoot, newRoot)
	// Run again on the finished migration: it resumes the clusters, has
	// nothing left to do, ends 0 and stops them again.
	if _, errb, code := ferry(t, "demo", "bluemind", "--headless", "--dir", dir); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, errb)
	}
	clustersStopped(t, oldRoot, newRoot)

	checkBlueMindEnd(t, pgBin, oldRoot, newRoot)

	// The downtime window is closed, in the journal and the report.
	st, err := wizard.LoadState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() || st.DowntimeEnd.Before(st.DowntimeStart) {
		t.Fatalf("downtime window in the journal: %v to %v", st.DowntimeStart, st.DowntimeEnd)
	}
	rep, errb, code := ferry(t, "report", "--state-dir", filepath.Join(dir, "state"))
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errb)
	}
	text := string(rep)
	took := st.DowntimeEnd.Sub(st.DowntimeStart).Round(time.Second).String()
	if !strings.Contains(text, "Downtime lasted "+took) || strings.Contains(text, "still open") {
		t.Errorf("the report does not show a closed downtime window of %s:\n%s", took, text)
	}
	for _, step := range []string{"stop-services-old", "restart-new"} {
		if !strings.Contains(text, "("+step+")") {
			t.Errorf("the report's downtime window does not name %s", step)
		}
	}
	// The forecast was recorded before the window opened, and the report
	// shows it beside the measured window.
	if fc, err := strconv.ParseFloat(st.Facts[wizard.FactDowntimeForecast], 64); err != nil || fc <= 0 {
		t.Errorf("no downtime forecast in the journal: %q", st.Facts[wizard.FactDowntimeForecast])
	}
	if !strings.Contains(text, "| Forecast | forecast before the window began: expected downtime ") || !strings.Contains(text, "; measured ") {
		t.Errorf("the report shows no forecast beside the window:\n%s", text)
	}
}

// blueMindDir skips the test where the BlueMind demo cannot run, and
// returns the PostgreSQL bin directory and a demo directory the postgres
// OS user can reach. Should a demo die and leave a cluster running there,
// the test stops it at its end.
func blueMindDir(t *testing.T) (string, string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIPPED: the BlueMind demo runs PostgreSQL as the postgres OS user, which needs root")
	}
	pgBin := pgBinDir(t)
	// DIR's parents must let the postgres OS user through.
	base, err := os.MkdirTemp("", "ferry-e2e-bm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "demo")
	oldRoot, newRoot := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	// Should the demo die and leave a cluster running, this test stops it.
	t.Cleanup(func() {
		for _, root := range []string{oldRoot, newRoot} {
			m, _ := filepath.Glob(root + "/var/lib/postgresql/*/main/postmaster.pid")
			for _, pid := range m {
				_ = exec.Command("runuser", "-u", "postgres", "--", pgBin+"/pg_ctl", "-D", filepath.Dir(pid), "-m", "immediate", "-w", "stop").Run()
			}
		}
	})

	return pgBin, dir
}

// checkBlueMindEnd checks the end state of a BlueMind migration on the
// simulated pair without ferry: every spool tree equal on both roots by
// rsync's own checksum comparison, and every table's row count equal in
// both real clusters (started here by hand, on their sockets only).
func checkBlueMindEnd(t *testing.T, pgBin, oldRoot, newRoot string) {
	t.Helper()
	// Every spool tree equal: rsync compares every file by checksum and
	// lists any difference (content, size, mode, owner, hard links, extra
	// or missing files).
	for _, sp := range []string{"/var/spool/cyrus", "/var/spool/bm-hsm", "/var/spool/bm-elasticsearch", "/var/spool/bm-docs", "/var/spool/bm-filehosting"} {
		n := countFiles(t, oldRoot+sp)
		if n == 0 {
			t.Errorf("old %s holds no file: the comparison would prove nothing", sp)
		}
		cmd := exec.Command("rsync", "-anc", "-H", "--delete", "--itemize-changes", oldRoot+sp+"/", newRoot+sp+"/")
		diff, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("rsync -anc %s: %v\n%s", sp, err, diff)
		}
		if len(bytes.TrimSpace(diff)) != 0 {
			t.Errorf("%s differs between old and new (%d files on old):\n%s", sp, n, tail(diff, 10))
		}
	}

	// Row counts equal per table, read from both clusters directly.
	oldAll, newAll := rowCounts(t, pgBin, oldRoot), rowCounts(t, pgBin, newRoot)
	for _, db := range []string{"bj", "bj-data"} {
		oldCounts, newCounts := oldAll[db], newAll[db]
		if len(oldCounts) < 4 {
			t.Errorf("%s on old has %d tables: the fixture is missing", db, len(oldCounts))
		}
		var rows int64
		for table, n := range oldCounts {
			rows += n
			if m, ok := newCounts[table]; !ok || m != n {
				t.Errorf("%s.%s: %d rows on old, %d on new (present: %v)", db, table, n, m, ok)
			}
		}
		for table := range newCounts {
			if _, ok := oldCounts[table]; !ok {
				t.Errorf("%s.%s is on new only", db, table)
			}
		}
		if rows < 1000 {
			t.Errorf("%s on old holds %d rows in all: the fixture is missing", db, rows)
		}
	}

}

// clustersStopped fails the test if a cluster under one of the roots runs.
func clustersStopped(t *testing.T, roots ...string) {
	t.Helper()
	for _, root := range roots {
		if _, err := os.Stat(dataDir(t, root) + "/postmaster.pid"); err == nil {
			t.Errorf("a PostgreSQL cluster under %s still runs after the demo ended", root)
		}
	}
}

// pgBinDir returns the bin directory of the installed PostgreSQL server
// (the newest), skipping the test when there is none.
func pgBinDir(t *testing.T) string {
	t.Helper()
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(d + "/pg_ctl"); err == nil {
			return d
		}
	}
	t.Skip("SKIPPED: no PostgreSQL server installed (/usr/lib/postgresql/*/bin/pg_ctl); install postgresql to run this test")
	return ""
}

// dataDir is the cluster data directory under a simulated root.
func dataDir(t *testing.T, root string) string {
	t.Helper()
	m, _ := filepath.Glob(root + "/var/lib/postgresql/*/main")
	if len(m) != 1 {
		t.Fatalf("want one cluster under %s, found %v", root, m)
	}
	return m[0]
}

// asPostgres runs argv as the postgres OS user and returns its stdout.
func asPostgres(t *testing.T, argv ...string) string {
	t.Helper()
	cmd := exec.Command("runuser", append([]string{"-u", "postgres", "--"}, argv...)...)
	cmd.Dir = "/"
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, e.String())
	}
	return o.String()
}

// rowCounts starts the cluster under root on its socket only (no TCP),
// counts the rows of every table of bj and bj-data as the postgres OS
// user, and stops the cluster again. It returns the counts by database and
// table.
func rowCounts(t *testing.T, bin, root string) map[string]map[string]int64 {
	t.Helper()
	data, sock := dataDir(t, root), root+"/var/run/postgresql"
	asPostgres(t, bin+"/pg_ctl", "-D", data, "-w", "-t", "60", "-l", filepath.Join(root, "var/log/postgresql/e2e.log"),
		"-o", "-p 5432 -k "+sock+" -c listen_addresses=''", "start")
	defer asPostgres(t, bin+"/pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
	psql := func(db, sql string) string {
		return asPostgres(t, bin+"/psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "--host="+sock, "--port=5432",
			"--username=postgres", "--dbname="+db, "--command="+sql)
	}
	all := map[string]map[string]int64{}
	for _, db := range []string{"bj", "bj-data"} {
		out := map[string]int64{}
		tables := psql(db, "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
		for _, table := range strings.Fields(tables) {
			n, err := strconv.ParseInt(strings.TrimSpace(psql(db, "SELECT count(*) FROM "+table)), 10, 64)
			if err != nil {
				t.Fatalf("count of %s in %s under %s: %v", table, db, root, err)
			}
			out[table] = n
		}
		all[db] = out
	}
	return all
}

// countFiles counts the regular files under dir (sim.CountFiles), failing
// the test when it cannot.
func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n, err := sim.CountFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestDemoBlueMindSurvivesKill9DuringTheRestore kills ferry while
// pg_restore writes bj-data on the new server, inside the downtime, and
// runs the same command again once the killed ferry's restore has ended:
// the clusters the killed demo left running are taken over, the restore
// (destructive, safe to run again) runs again from a fresh database, and
// the end state is the same as an uninterrupted run's.
func TestDemoBlueMindSurvivesKill9DuringTheRestore(t *testing.T) {
	pgBin, dir := blueMindDir(t)
	oldRoot, newRoot := filepath.Join(dir, "old"), filepath.Join(dir, "new")
	cmd := exec.Command(ferryBin, "demo", "bluemind", "--headless", "--dir", dir)
	killed := killDemoAt(t, cmd, func(line string) bool {
		// The kill point is the line ferry prints as it begins bj-data's
		// drop, create and restore (or, failing that, a progress sample of
		// it): on an idle machine the small demo database can be restored
		// between two progress samples, so a progress count alone may
		// never be seen.
		return strings.Contains(line, `"step":"restore-databases"`) &&
			(strings.Contains(line, `dump-bj-data.sql (`) && strings.Contains(line, `restoring `) ||
				strings.Contains(line, `"type":"progress"`) && strings.Contains(line, `restoring bj-data"`))
	})
	if !killed {
		t.Fatal("the run ended before the restore of bj-data began")
	}
	st, err := wizard.LoadState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Status("restore-databases") != wizard.StatusInterrupted {
		t.Fatalf("restore-databases is %s after kill -9, want interrupted", st.Status("restore-databases"))
	}
	// The killed ferry's pg_restore goes on alone; the admin starts ferry
	// again once it has ended (a restore still connected to bj-data would
	// keep dropdb from dropping it).
	dump := newRoot + "/var/backups/ferry-bluemind/dump-bj-data.sql"
	for deadline := time.Now().Add(2 * time.Minute); processWithArg(t, dump); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the killed ferry's pg_restore still runs after two minutes")
		}
	}
	out, errb, code := ferry(t, "demo", "bluemind", "--headless", "--dir", dir)
	if code != 0 {
		t.Fatalf("resumed run exit %d\n%s\n%s", code, errb, tail(out, 8))
	}
	st, err = wizard.LoadState(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Status("restore-databases") != wizard.StatusOK || st.DowntimeEnd.IsZero() {
		t.Errorf("after the resumed run: restore-databases %s, downtime end %v", st.Status("restore-databases"), st.DowntimeEnd)
	}
	clustersStopped(t, oldRoot, newRoot)
	checkBlueMindEnd(t, pgBin, oldRoot, newRoot)
}

// processWithArg reports whether a process has arg among its arguments.
func processWithArg(t *testing.T, arg string) bool {
	t.Helper()
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for _, a := range bytes.Split(b, []byte{0}) {
			if string(a) == arg {
				return true
			}
		}
	}
	return false
}
