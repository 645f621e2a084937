package sim

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The PostgreSQL clusters of a simulated BlueMind pair are real: initdb,
// pg_ctl and postgres of the machine's PostgreSQL installation, with their
// data directory, socket directory and log under each root. As on a stock
// Debian server they run as the postgres OS user and use the pg_hba.conf
// a distribution writes (peer authentication on the socket, SCRAM
// passwords over TCP, no trust line), so ferry reaches the new cluster as
// the postgres OS user over the socket, as the runbook says by default.
// That needs ferry to run as root (runuser); the simulator refuses to build
// a BlueMind pair otherwise.
//
// The old cluster listens on 127.0.0.1 at a port picked once and kept in
// DIR/sim/pg-old-port (the runbook's db_port: the demo hands it over as
// that parameter), and on its socket. The new cluster listens on its socket
// only, at port 5432 (PGNewPort), so that it clashes with no other server
// of the machine.

// pgInstall is the PostgreSQL installation the clusters run on.
type pgInstall struct {
	binDir  string // holds initdb, pg_ctl, postgres
	version string // major version ("15")
	osUser  string // the OS user the clusters run as
}

// findPG finds the newest installed PostgreSQL server programs.
func findPG() (pgInstall, error) {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	more, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(more, func(i, j int) bool { return pgMajor(more[i]) > pgMajor(more[j]) })
	dirs = append(dirs, more...)
	rh, _ := filepath.Glob("/usr/pgsql-*/bin")
	dirs = append(dirs, rh...)
	for _, d := range dirs {
		ok := true
		for _, p := range []string{"initdb", "pg_ctl", "postgres"} {
			if fi, err := os.Stat(filepath.Join(d, p)); err != nil || fi.Mode()&0o111 == 0 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		out, err := exec.Command(filepath.Join(d, "postgres"), "--version").Output()
		if err != nil {
			continue
		}
		// "postgres (PostgreSQL) 15.8 (Debian 15.8-0+deb12u1)"
		f := strings.Fields(string(out))
		if len(f) < 3 {
			continue
		}
		major := strings.SplitN(f[2], ".", 2)[0]
		return pgInstall{binDir: d, version: major, osUser: "postgres"}, nil
	}
	return pgInstall{}, errors.New("the simulated BlueMind servers need a PostgreSQL server installation (initdb, pg_ctl, postgres), and none was found: install the postgresql package")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(strings.SplitN(filepath.Base(filepath.Dir(binDir)), ".", 2)[0])
	return n
}

// pgIDs returns the uid and gid of the postgres OS user.
func pgIDs(name string) (int, int, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, fmt.Errorf("the clusters run as the %s OS user, which does not exist: %w", name, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// maxSocketPath is the longest unix socket path Linux takes (sun_path
// holds 108 bytes with the final NUL).
const maxSocketPath = 107

// checkPGReach refuses what would keep the clusters from working: ferry
// not running as root, a simulator directory the postgres OS user cannot
// reach (every directory above it must let others through), a socket path
// longer than Linux takes.
func (s *Sim) checkPGReach() error {
	if os.Geteuid() != 0 {
		return errors.New("the simulated BlueMind servers run real PostgreSQL clusters as the postgres OS user, as a stock server does, and ferry reaches the new one as that user (runuser): run as root")
	}
	for d := filepath.Dir(s.Dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("the postgres OS user cannot pass through %s (mode %v), above the simulator directory: choose another directory, or let others through (chmod o+x)", d, fi.Mode().Perm())
		}
		if d == "/" {
			break
		}
	}
	for _, root := range []string{s.OldRoot, s.NewRoot} {
		if p := root + PGSocketDir + "/.s.PGSQL.65535"; len(p) > maxSocketPath {
			return fmt.Errorf("the clusters' socket path %s is longer than the %d bytes Linux allows: choose a shorter directory", p, maxSocketPath)
		}
	}
	return nil
}

// pgOldPortFile keeps the old cluster's TCP port.
func (s *Sim) pgOldPortFile() string { return filepath.Join(s.SimDir, "pg-old-port") }

// OldPGPort returns the loopback TCP port of the old server's cluster (the
// runbook's db_port for this pair), or an error when the pair has none.
func (s *Sim) OldPGPort() (int, error) {
	b, err := os.ReadFile(s.pgOldPortFile())
	if err != nil {
		return 0, fmt.Errorf("sim: the old cluster's port: %w", err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("sim: %s holds %q, not a port", s.pgOldPortFile(), strings.TrimSpace(string(b)))
	}
	return p, nil
}

// pgOldPort returns the recorded port, or picks a free one and records it.
func (s *Sim) pgOldPort() (int, error) {
	if p, err := s.OldPGPort(); err == nil {
		return p, nil
	} else if _, serr := os.Stat(s.pgOldPortFile()); !errors.Is(serr, fs.ErrNotExist) {
		return 0, err
	}
	ln, err := listenNewPort()
	if err != nil {
		return 0, err
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p, writeFile(s.pgOldPortFile(), []byte(strconv.Itoa(p)+"\n"), 0o644)
}

// stockHBA is the pg_hba.conf Debian's postgresql-common writes for a new
// cluster: peer on the socket, SCRAM over loopback TCP, no trust line.
const stockHBA = `# Written by ferry's simulator as Debian's postgresql-common writes it.
local   all             postgres                                peer
local   all             all                                     peer
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
local   replication     all                                     peer
host    replication     all             127.0.0.1/32            scram-sha-256
host    replication     all             ::1/128                 scram-sha-256
`

// pgctl runs the root's bm-pgctl stand-in (start, stop, halt, resume,
// status), the one place that drives a simulated cluster.
func pgctl(root, action string) error {
	cmd := exec.Command(root+"/.ferry-sim/bin/bm-pgctl", action)
	cmd.Env = append(os.Environ(), "FERRY_ROOT="+root)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("bm-pgctl %s under %s: %w: %s", action, root, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// asPostgres runs argv as the postgres OS user (runuser), from "/".
func asPostgres(osUser string, stdin string, argv ...string) (string, error) {
	cmd := exec.Command("runuser", append([]string{"-u", osUser, "--"}, argv...)...)
	cmd.Dir = "/"
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// psqlScript runs sql in database db of the cluster under root, as the
// postgres OS user over the cluster's socket, stopping at the first error.
func psqlScript(root string, port int, osUser, db, sql string) (string, error) {
	return asPostgres(osUser, sql, "psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1",
		"--host="+root+PGSocketDir, "--port="+strconv.Itoa(port), "--username=postgres", "--dbname="+db, "--file=-")
}

// initBlueMindClusters creates, fills and stops both clusters.
func (s *Sim) initBlueMindClusters(pg pgInstall) error {
	uid, gid, err := pgIDs(pg.osUser)
	if err != nil {
		return err
	}
	oldPort, err := s.OldPGPort()
	if err != nil {
		return err
	}
	for _, c := range []struct {
		root string
		port int
		sql  map[string]string
		pw   string
	}{
		{s.OldRoot, oldPort, oldBlueMindSQL, BlueMindDBPassword},
		{s.NewRoot, PGNewPort, newBlueMindSQL, "new-install-pw"},
	} {
		data := c.root + pgDataDir(pg.version)
		for _, d := range []string{c.root + "/var/lib/postgresql", c.root + PGSocketDir, c.root + "/var/log/postgresql"} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return err
			}
			if err := os.Chown(d, uid, gid); err != nil {
				return err
			}
		}
		if err := os.Chmod(c.root+PGSocketDir, 0o2775); err != nil {
			return err
		}
		_ = os.RemoveAll(data)
		if _, err := asPostgres(pg.osUser, "", filepath.Join(pg.binDir, "initdb"), "-D", data, "-U", "postgres",
			"-E", "UTF8", "--locale=C", "--no-sync", "--auth-local=peer", "--auth-host=scram-sha-256"); err != nil {
			return err
		}
		if err := os.WriteFile(data+"/pg_hba.conf", []byte(stockHBA), 0o600); err != nil {
			return err
		}
		if err := os.Chown(data+"/pg_hba.conf", uid, gid); err != nil {
			return err
		}
		if err := pgctl(c.root, "start"); err != nil {
			return err
		}
		setup := fmt.Sprintf("CREATE ROLE %s LOGIN PASSWORD '%s';\n", BlueMindDBUser, c.pw)
		for _, db := range BlueMindDatabases {
			setup += fmt.Sprintf("CREATE DATABASE %q OWNER %s TEMPLATE template0 ENCODING 'UTF8';\n", db, BlueMindDBUser)
		}
		_, err := psqlScript(c.root, c.port, pg.osUser, "postgres", setup)
		for _, db := range BlueMindDatabases {
			if err != nil {
				break
			}
			_, err = psqlScript(c.root, c.port, pg.osUser, db, "SET ROLE "+BlueMindDBUser+";\n"+c.sql[db])
		}
		if serr := pgctl(c.root, "halt"); err == nil {
			err = serr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// The old server's databases: a directory, mailboxes and calendars in bj;
// message records and bodies in bj-data. Row counts are fixed (the seed
// does not change them).
var oldBlueMindSQL = map[string]string{
	"bj": `
CREATE TABLE t_domain (id serial PRIMARY KEY, name text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now());
INSERT INTO t_domain (name) SELECT 'domain' || g || '.example.net' FROM generate_series(1, 4) g;
INSERT INTO t_domain (name) VALUES ('example.net');
CREATE TABLE t_directory_entry (id serial PRIMARY KEY, domain_id int NOT NULL REFERENCES t_domain, kind text NOT NULL,
  email text NOT NULL, displayname text NOT NULL);
INSERT INTO t_directory_entry (domain_id, kind, email, displayname)
  SELECT 1 + g % 5, CASE WHEN g % 10 = 0 THEN 'GROUP' ELSE 'USER' END, 'user' || g || '@example.net', 'User ' || g
  FROM generate_series(1, 600) g;
CREATE TABLE t_mailbox (id serial PRIMARY KEY, entry_id int NOT NULL REFERENCES t_directory_entry, quota bigint, routing text);
INSERT INTO t_mailbox (entry_id, quota, routing) SELECT g, 1073741824, 'internal' FROM generate_series(1, 540) g;
CREATE TABLE t_calendar_event (id bigserial PRIMARY KEY, owner_id int NOT NULL REFERENCES t_directory_entry,
  summary text NOT NULL, dtstart timestamptz NOT NULL, duration interval NOT NULL);
INSERT INTO t_calendar_event (owner_id, summary, dtstart, duration)
  SELECT 1 + g % 600, 'Meeting ' || g, timestamptz '2026-01-05 09:00+00' + g * interval '37 minutes', interval '30 minutes'
  FROM generate_series(1, 4000) g;
CREATE INDEX ON t_calendar_event (owner_id, dtstart);
CREATE TABLE t_settings (key text PRIMARY KEY, value text);
INSERT INTO t_settings VALUES ('external-url', 'mail.example.net'), ('default-domain', 'example.net');
CREATE VIEW v_users AS SELECT email, displayname FROM t_directory_entry WHERE kind = 'USER';
`,
	"bj-data": `
CREATE TABLE t_message_body (guid text PRIMARY KEY, subject text, size int NOT NULL, preview text);
INSERT INTO t_message_body SELECT md5(g::text), 'Subject ' || g, 1000 + g % 70000, repeat('preview text ', 5)
  FROM generate_series(1, 8000) g;
CREATE TABLE t_mailbox_record (id bigserial PRIMARY KEY, mailbox int NOT NULL, imap_uid int NOT NULL,
  body_guid text NOT NULL REFERENCES t_message_body, flags int NOT NULL DEFAULT 0);
INSERT INTO t_mailbox_record (mailbox, imap_uid, body_guid, flags)
  SELECT 1 + g % 540, g, md5((1 + g % 8000)::text), g % 4 FROM generate_series(1, 12000) g;
CREATE INDEX ON t_mailbox_record (mailbox, imap_uid);
CREATE TABLE t_conversation (id bigserial PRIMARY KEY, mailbox int NOT NULL, messages int[] NOT NULL);
INSERT INTO t_conversation (mailbox, messages) SELECT 1 + g % 540, ARRAY[g, g + 1] FROM generate_series(1, 3000) g;
CREATE TABLE t_empty (id int);
`,
}

// The new server's databases right after BlueMind's setup wizard: the
// schema's start and one domain. The restore replaces them.
var newBlueMindSQL = map[string]string{
	"bj": `
CREATE TABLE t_domain (id serial PRIMARY KEY, name text NOT NULL UNIQUE, created timestamptz NOT NULL DEFAULT now());
INSERT INTO t_domain (name) VALUES ('global.virt');
`,
	"bj-data": `
CREATE TABLE t_message_body (guid text PRIMARY KEY, subject text, size int NOT NULL, preview text);
`,
}

// Clusters are the running clusters of a simulated BlueMind pair.
type Clusters struct{ roots []string }

// StartClusters starts the pair's clusters: those whose simulated service
// is up (a demo resuming the pair as it left it), or both when all is
// true (a test reading both databases). Stop stops them again.
func (s *Sim) StartClusters(all bool) (*Clusters, error) {
	c := &Clusters{roots: []string{s.OldRoot, s.NewRoot}}
	for _, root := range c.roots {
		action := "resume"
		if all {
			action = "start"
		}
		if err := pgctl(root, action); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Stop stops every cluster of the pair that runs, whoever started it,
// leaving the simulated service state as it is (so a later StartClusters
// resumes it). It returns the first error; it tries every cluster.
func (c *Clusters) Stop() error {
	var first error
	for _, root := range c.roots {
		if err := pgctl(root, "halt"); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// PGSocket returns the real socket directory of the cluster under root
// (OldRoot or NewRoot).
func PGSocket(root string) string { return root + PGSocketDir }

// TableCounts returns the exact row count of every ordinary table of
// database db in the cluster under root (OldRoot with OldPGPort, NewRoot
// with PGNewPort), by schema-qualified name, read as the postgres OS user
// over the socket. The cluster must run.
func TableCounts(root string, port int, db string) (map[string]int64, error) {
	list, err := psqlScript(root, port, "postgres", db,
		`SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1;`)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, t := range strings.Fields(list) {
		n, err := psqlScript(root, port, "postgres", db, "SELECT count(*) FROM "+t+";")
		if err != nil {
			return nil, err
		}
		v, err := strconv.ParseInt(strings.TrimSpace(n), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("count of %s in %s: %q", t, db, n)
		}
		out[t] = v
	}
	return out, nil
}
