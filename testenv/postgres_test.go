package testenv

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestStartPostgres(t *testing.T) {
	t.Parallel()
	pg := StartPostgres(t)
	if got := pg.SQL(t, "postgres", "SELECT 6*7;"); got != "42" {
		t.Fatalf("SELECT 6*7 = %q, want 42", got)
	}
	if got := pg.SQL(t, "postgres", "SHOW port;"); got != strconv.Itoa(pg.Port) {
		t.Fatalf("server port %q, want %d", got, pg.Port)
	}
	if _, err := pg.TrySQL("postgres", "SELECT * FROM no_such_table;"); err == nil {
		t.Fatal("a failing statement did not make TrySQL fail")
	}
	// The unix socket lives in SocketDir.
	out, err := exec.Command(pg.Bin("psql"), "-X", "-At", "-h", pg.SocketDir, "-p", strconv.Itoa(pg.Port), "-U", "postgres", "-d", "postgres", "-c", "SELECT 1").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "1" {
		t.Fatalf("psql through the socket in %s: %v %s", pg.SocketDir, err, out)
	}
	// A tablespace location owned by the server's user works.
	loc := pg.OwnedDir(t, "ts")
	pg.SQL(t, "postgres", "CREATE TABLESPACE ts1 LOCATION '"+loc+"';")

	pg.SQL(t, "postgres", "CREATE ROLE secret LOGIN PASSWORD 'pw-xyz';")
	pg.RequirePassword(t, "secret")
	cmd := exec.Command(pg.Bin("psql"), "-X", "-w", "-At", "-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", "secret", "-d", "postgres", "-c", "SELECT current_user")
	cmd.Env = []string{"PGPASSWORD=pw-xyz"}
	out, err = cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "secret" {
		t.Fatalf("login with the password: %v %s", err, out)
	}
	cmd = exec.Command(pg.Bin("psql"), "-X", "-w", "-At", "-h", pg.Host, "-p", strconv.Itoa(pg.Port), "-U", "secret", "-d", "postgres", "-c", "SELECT 1")
	cmd.Env = []string{"PGPASSWORD=wrong"}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("a wrong password was accepted: %s", out)
	}
}

func TestTwoClusters(t *testing.T) {
	t.Parallel()
	a, b := StartPostgres(t), StartPostgres(t)
	if a.Port == b.Port || a.DataDir == b.DataDir {
		t.Fatalf("two clusters share port %d or data dir %s", a.Port, a.DataDir)
	}
	a.SQL(t, "postgres", "CREATE DATABASE only_on_a;")
	if got := b.SQL(t, "postgres", "SELECT count(*) FROM pg_database WHERE datname = 'only_on_a';"); got != "0" {
		t.Fatalf("database made on one cluster is visible on the other: %s", got)
	}
}

// A stock cluster lets the postgres OS user in over the socket (peer),
// refuses root there and anyone over TCP without a password.
func TestStartPostgresStockHBA(t *testing.T) {
	t.Parallel()
	pg := StartPostgresWith(t, PostgresOptions{StockHBA: true})
	if got := pg.SQL(t, "postgres", "SELECT current_user;"); got != "postgres" {
		t.Fatalf("psql through the helper logged in as %q", got)
	}
	if got := pg.SQL(t, "postgres", "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method = 'trust';"); got != "0" {
		t.Fatalf("the stock pg_hba.conf has %s trust line(s)", got)
	}
	port := strconv.Itoa(pg.Port)
	// Root on the socket as role postgres: peer refuses (root is not postgres).
	out, err := exec.Command(pg.Bin("psql"), "-X", "-w", "-At", "-h", pg.SocketDir, "-p", port, "-U", "postgres", "-d", "postgres", "-c", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Peer authentication failed") {
		t.Fatalf("root on the socket as postgres: %v %s", err, out)
	}
	// TCP without a password: refused.
	cmd := exec.Command(pg.Bin("psql"), "-X", "-w", "-At", "-h", pg.Host, "-p", port, "-U", "postgres", "-d", "postgres", "-c", "SELECT 1")
	cmd.Env = []string{"PGPASSFILE=/dev/null"}
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("TCP login without a password was accepted: %s", out)
	}
	// runuser -u postgres on the socket: accepted, as the published procedure's su - postgres.
	out, err = exec.Command("runuser", "-u", "postgres", "--", pg.Bin("psql"), "-X", "-w", "-At", "-h", pg.SocketDir, "-p", port, "-d", "postgres", "-c", "SELECT current_user").CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "postgres") {
		t.Fatalf("runuser -u postgres psql on the socket: %v %s", err, out)
	}
}
