package sim

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// A simulated BlueMind pair (Options.Product "bluemind"): an old Debian 10
// server running BlueMind with its spools, mail store, configuration and a
// real PostgreSQL cluster holding bj and bj-data; a new Debian 12 server
// with the same BlueMind release freshly installed (its setup wizard run,
// its own small spools and settings, an empty bj and bj-data). Only
// BlueMind's programs (bmctl, bm-cli) and the distribution's service
// manager are stand-ins; PostgreSQL, rsync and the ssh client are real.

// Product names for Options.Product.
const (
	ProductGreenArrow = "greenarrow"
	ProductBlueMind   = "bluemind"
)

// BlueMind facts of the simulated pair.
const (
	// BlueMindVersion is the bm-core version installed on both servers, as
	// dpkg-query prints it.
	BlueMindVersion = "4.9.2-1"
	// BlueMindExternalURL is the external-url of /etc/bm/bm.ini on both.
	BlueMindExternalURL = "mail.example.net"
	// BlueMindDBUser is the role that owns bj and bj-data (the runbook's
	// db_user).
	BlueMindDBUser = "bj"
	// BlueMindDBPassword is the password of BlueMindDBUser on the old
	// server's cluster (as /etc/bm/bm.ini holds it on a real server). It is
	// the simulator's, not a secret of anyone's.
	BlueMindDBPassword = "sim-bj-Pa55"
	// PGSocketDir is the runbook path of the clusters' socket directory
	// (the runbook's new_pg_host), on both roots.
	PGSocketDir = "/var/run/postgresql"
	// PGNewPort is the port of the new server's cluster (socket only: it
	// listens on no TCP address, so that its port clashes with nothing).
	PGNewPort = 5432
)

// BlueMindDatabases are the databases the pair holds (the runbook's
// databases).
var BlueMindDatabases = []string{"bj", "bj-data"}

// BlueMindSpools are the runbook paths of the spools and the mail store
// (the runbook's cold_spools), each filled with files on the old server.
var BlueMindSpools = []string{
	"/var/spool/cyrus",
	"/var/spool/bm-hsm",
	"/var/spool/bm-elasticsearch",
	"/var/spool/bm-docs",
	"/var/spool/bm-filehosting",
}

// pgDataDir is the runbook path of a root's cluster data directory (where
// Debian's postgresql-common keeps a version 15 "main" cluster).
func pgDataDir(version string) string { return "/var/lib/postgresql/" + version + "/main" }

func debianOld() platform {
	return platform{
		osRelease: `PRETTY_NAME="Debian GNU/Linux 10 (buster)"
NAME="Debian GNU/Linux"
VERSION_ID="10"
VERSION="10 (buster)"
VERSION_CODENAME=buster
ID=debian
HOME_URL="https://www.debian.org/"
`,
		extra: map[string]string{
			"/etc/debian_version":     "10.13\n",
			"/etc/network/interfaces": "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n",
		},
		arch: "amd64",
	}
}

// bmSimConf is sim.conf for a BlueMind root: the shared settings and how
// the bm-pgctl stand-in runs the root's real cluster.
func (s *Sim) bmSimConf(oldRoot string, pg pgInstall, port int, listen string) string {
	var b strings.Builder
	b.WriteString("# Settings of ferry's simulator for its stand-ins. Not part of the simulated server.\n")
	fmt.Fprintf(&b, "sim_family=%s\n", shellescape.Quote(s.Options.Family))
	b.WriteString("sim_merge_delay=0\n")
	fmt.Fprintf(&b, "sim_old_root=%s\n", shellescape.Quote(oldRoot))
	fmt.Fprintf(&b, "sim_pg_bindir=%s\n", shellescape.Quote(pg.binDir))
	fmt.Fprintf(&b, "sim_pg_data=%s\n", shellescape.Quote(pgDataDir(pg.version)))
	fmt.Fprintf(&b, "sim_pg_port=%d\n", port)
	fmt.Fprintf(&b, "sim_pg_listen=%s\n", shellescape.Quote(listen))
	fmt.Fprintf(&b, "sim_pg_user=%s\n", shellescape.Quote(pg.osUser))
	b.WriteString(postfixConf(DebianPostfix))
	return b.String()
}

// bmRoot writes what both BlueMind roots share: the marker, the stand-ins'
// state, the system and BlueMind stand-ins, the base /etc files.
func (s *Sim) bmRoot(root, hostname string, p platform, packages []string, simConf string) error {
	if err := writeFile(root+rootMarker, []byte("This directory is the root of a server simulated by ferry's sim package.\n"), 0o644); err != nil {
		return err
	}
	for _, d := range []string{"services", "enabled", "outbox", "repo"} {
		if err := os.MkdirAll(filepath.Join(root, ".ferry-sim", d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"/etc/os-release":      p.osRelease,
		"/etc/hostname":        hostname + "\n",
		"/etc/resolv.conf":     "nameserver 192.0.2.53\n",
		"/etc/hosts":           localhostLines,
		"/.ferry-sim/packages": strings.Join(packages, "\n") + "\n",
		"/.ferry-sim/sim.conf": simConf,
	}
	for k, v := range p.extra {
		files[k] = v
	}
	if err := rootFiles(root, files, 0o644); err != nil {
		return err
	}
	for _, d := range []string{"/root", "/tmp", "/var/backups", "/var/log", "/usr/bin", "/usr/sbin", "/var/spool"} {
		if err := os.MkdirAll(root+d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(root+"/root", 0o700); err != nil {
		return err
	}
	if err := os.Chmod(root+"/tmp", 0o1777); err != nil {
		return err
	}
	if err := installScripts(root, systemScripts); err != nil {
		return err
	}
	if err := installScripts(root, postfixScripts); err != nil {
		return err
	}
	return installScripts(root, blueMindScripts)
}

// bmPackages are the packages of a BlueMind server: bm-core, two plugins
// and PostgreSQL.
func bmPackages(pgVersion string, extra ...string) []string {
	out := []string{
		pkgLine("bm-core", BlueMindVersion, "amd64"),
		pkgLine("bm-plugin-core-ldap-import", BlueMindVersion, "amd64"),
		pkgLine("bm-plugin-admin-console-signature", BlueMindVersion, "amd64"),
		pkgLine("postfix", "3.4.23-0+deb10u1", "amd64"),
		pkgLine("postgresql-"+pgVersion, pgVersion+".0-1", "amd64"),
	}
	return append(out, extra...)
}

// bmConfig returns the configuration files the runbook copies, as a
// server named host with database password pw holds them.
func bmConfig(host, pw, tag string) map[string]string {
	return map[string]string{
		"/etc/bm/bm.ini": "[global]\nhost = 127.0.0.1\nhz-member-address = 127.0.0.1\ndbtype = PGSQL\ndb-host = localhost\ndb = bj\nuser = " + BlueMindDBUser +
			"\npassword = " + pw + "\nexternal-url = " + BlueMindExternalURL + "\n",
		"/etc/bm/mcast.id":                                     tag + "-mcast-0f4e2a\n",
		"/etc/bm/server.uid":                                   tag + "-uid-77a1c0\n",
		"/etc/bm/bm-core.tok":                                  tag + "-token-93ab1f\n",
		"/etc/bm/default/bm-core.ini":                          "# heap of bm-core (MB)\nMEM=2048\n",
		"/etc/nginx/sw.htpasswd":                               "admin:$apr1$" + tag + "$Xy0w8v7u6t5s4r3q2p1o0.\n",
		"/etc/ssl/certs/bm_cert.pem":                           "-----BEGIN CERTIFICATE-----\n" + tag + " certificate of " + host + "\n-----END CERTIFICATE-----\n",
		"/var/lib/bm-ca/ca-cert.pem":                           "-----BEGIN CERTIFICATE-----\n" + tag + " BlueMind CA\n-----END CERTIFICATE-----\n",
		"/var/lib/bm-ca/ca-key.pem":                            "-----BEGIN PRIVATE KEY-----\n" + tag + " BlueMind CA key\n-----END PRIVATE KEY-----\n",
		"/var/lib/bm-ca/index.txt":                             "V\t301231235959Z\t\t01\tunknown\t/CN=" + host + "\n",
		"/usr/share/bm-elasticsearch/config/elasticsearch.yml": "cluster.name: bluemind-" + tag + "\nnode.name: " + host + "\npath.data: /var/spool/bm-elasticsearch/data\n",
		"/etc/postfix/main.cf":                                 "myhostname = " + host + "\nmynetworks = 127.0.0.0/8 192.0.2.0/24\nvirtual_mailbox_domains = hash:/etc/postfix/virtual_domains\nvirtual_mailbox_maps = hash:/etc/postfix/virtual_mailbox\nvirtual_alias_maps = hash:/etc/postfix/virtual_alias\ntransport_maps = hash:/etc/postfix/transport\n",
		"/etc/postfix/master.cf":                               "smtp      inet  n       -       y       -       -       smtpd\nsubmission inet n       -       y       -       -       smtpd\n",
	}
}

// postfixMaps are the Postfix lookup tables BlueMind writes: NAME-flat is
// the source, NAME.db the hash table built from it (a simulated table, see
// bluemind_postfix.go).
var postfixMaps = []string{"master_relay_transport", "transport", "virtual_alias", "virtual_domains", "virtual_mailbox"}

func postfixMapFiles(users int) map[string]string {
	flat := map[string]string{
		"master_relay_transport": "example.net smtp:[127.0.0.1]:2500\n",
		"transport":              "example.net lmtp:unix:/var/lib/cyrus/socket/lmtp\n",
		"virtual_domains":        "example.net OK\n",
	}
	var alias, mbox strings.Builder
	for i := 1; i <= users; i++ {
		fmt.Fprintf(&alias, "alias%d@example.net user%d@example.net\n", i, i)
		fmt.Fprintf(&mbox, "user%d@example.net OK\n", i)
	}
	flat["virtual_alias"], flat["virtual_mailbox"] = alias.String(), mbox.String()
	out := map[string]string{}
	for _, m := range postfixMaps {
		out["/etc/postfix/"+m+"-flat"] = flat[m]
		out["/etc/postfix/"+m+".db"] = PostfixTable("hash", "bdb-5.3", flat[m])
	}
	return out
}

// bmUsers is how many mailboxes the simulated mail store holds.
const bmUsers = 20

func (s *Sim) buildBlueMind() error {
	pg, err := findPG()
	if err != nil {
		return err
	}
	if err := s.checkPGReach(); err != nil {
		return err
	}
	oldPort, err := s.pgOldPort()
	if err != nil {
		return err
	}
	// The old server.
	old := s.OldRoot
	if err := s.bmRoot(old, OldHostname, debianOld(), bmPackages(pg.version), s.bmSimConf("", pg, oldPort, "127.0.0.1")); err != nil {
		return fmt.Errorf("old root: %w", err)
	}
	if err := rootFiles(old, bmConfig(OldHostname, BlueMindDBPassword, "old"), 0o644); err != nil {
		return err
	}
	if err := rootFiles(old, postfixMapFiles(bmUsers), 0o644); err != nil {
		return err
	}
	if err := s.bmSpools(old); err != nil {
		return fmt.Errorf("old root spools: %w", err)
	}
	now := time.Now().Unix()
	up := func(root string, names ...string) error {
		m := map[string]string{}
		for _, n := range names {
			m["/.ferry-sim/services/"+n] = fmt.Sprintf("up %d\n", now-86400*30)
			m["/.ferry-sim/enabled/"+n] = "on\n"
		}
		return rootFiles(root, m, 0o644)
	}
	if err := up(old, "bluemind", "postfix"); err != nil {
		return err
	}
	// The new server: BlueMind installed, its setup wizard run.
	nw := s.NewRoot
	np := newPlatform("debian")
	if err := s.bmRoot(nw, NewHostname, np, bmPackages(pg.version), s.bmSimConf(s.OldRoot, pg, PGNewPort, "")); err != nil {
		return fmt.Errorf("new root: %w", err)
	}
	if err := rootFiles(nw, bmConfig(NewHostname, "new-install-pw", "new"), 0o644); err != nil {
		return err
	}
	if err := rootFiles(nw, postfixMapFiles(1), 0o644); err != nil {
		return err
	}
	// A fresh install's spools: the directories and a few files of its own.
	for _, d := range BlueMindSpools {
		if err := writeFile(nw+d+"/.fresh-install", []byte("written by the new server's setup wizard\n"), 0o644); err != nil {
			return err
		}
	}
	if err := up(nw, "bluemind", "postfix"); err != nil {
		return err
	}
	// A real cluster per server, with the databases.
	if err := s.initBlueMindClusters(pg); err != nil {
		return err
	}
	return nil
}

// bmSpools fills the spools and the mail store of root with files: many
// small ones, some of a few tens of kilobytes, and in the mail store
// messages hard-linked into a second mailbox as Cyrus's single-instance
// store does.
func (s *Sim) bmSpools(root string) error {
	rng := rand.New(rand.NewPCG(uint64(s.Options.Seed), 23))
	files := s.Options.Files
	// About half the files are messages in the mail store.
	msgs := files / 2
	per := max(msgs/bmUsers, 1)
	for u := 1; u <= bmUsers; u++ {
		box := fmt.Sprintf("%s/var/spool/cyrus/data/example_net/domain/e/example.net/u/user%d", root, u)
		for _, f := range []string{"cyrus.header", "cyrus.index", "cyrus.cache"} {
			if err := writeFile(box+"/"+f, randomBytes(rng, 256+rng.IntN(512)), 0o600); err != nil {
				return err
			}
		}
		for m := 1; m <= per; m++ {
			body := fmt.Sprintf("From: sender%d@example.org\r\nTo: user%d@example.net\r\nSubject: message %d\r\nMessage-ID: <%d.%d@example.org>\r\n\r\n", m, u, m, u, m)
			body += strings.Repeat(fmt.Sprintf("line %d of message %d of user %d\r\n", m, m, u), 10+rng.IntN(60))
			if err := writeFile(fmt.Sprintf("%s/%d.", box, m), []byte(body), 0o600); err != nil {
				return err
			}
		}
		// A few messages also delivered to the shared box, as hard links.
		shared := fmt.Sprintf("%s/var/spool/cyrus/data/example_net/domain/e/example.net/u/shared%d", root, u%3)
		if err := os.MkdirAll(shared, 0o700); err != nil {
			return err
		}
		link := fmt.Sprintf("%s/u%d-1.", shared, u)
		_ = os.Remove(link)
		if err := os.Link(box+"/1.", link); err != nil {
			return err
		}
	}
	if err := writeFile(root+"/var/spool/cyrus/meta/example_net/domain/e/example.net/mailboxes.db", randomBytes(rng, 8192), 0o600); err != nil {
		return err
	}
	rest := files - msgs
	spread := []struct {
		dir   string
		share int // of rest, in tenths
		size  int
	}{
		{"/var/spool/bm-hsm/snappy/user/example.net", 4, 1024},
		{"/var/spool/bm-elasticsearch/data/nodes/0/indices/mailspool", 3, 2048},
		{"/var/spool/bm-docs/example.net", 2, 4096},
		{"/var/spool/bm-filehosting/example.net", 1, 8192},
	}
	for _, sp := range spread {
		n := max(rest*sp.share/10, 1)
		for i := 0; i < n; i++ {
			p := fmt.Sprintf("%s%s/%02x/%05d", root, sp.dir, i%32, i)
			if err := writeFile(p, randomBytes(rng, sp.size/2+rng.IntN(sp.size)), 0o640); err != nil {
				return err
			}
		}
	}
	return nil
}
