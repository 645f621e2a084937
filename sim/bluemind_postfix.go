package sim

import (
	"fmt"
	"os"
	"strings"

	"al.essio.dev/pkg/shellescape"
)

// A simulated server's Postfix is two stand-ins, postconf and postmap
// (standins/postconf.sh, standins/postmap.sh). A simulated table file
// (TABLE.db for hash and btree, TABLE.lmdb, TABLE.cdb) is text: a first
// line "#ferry-sim-postfix-table TYPE FORMAT", then one "key value" line
// per entry. A server's Postfix supports some table types and reads and
// writes some file formats; a table of another type or format fails as a
// real postmap fails on a table its library cannot open.

// postfixScripts are Postfix's programs, on both roots of a BlueMind pair.
var postfixScripts = []script{
	{"/usr/sbin/postconf", "postconf.sh"},
	{"/usr/sbin/postmap", "postmap.sh"},
}

// PostfixOptions describe a simulated server's Postfix.
type PostfixOptions struct {
	// Types are the table types `postconf -m` lists.
	Types []string
	// Formats are the TYPE:FORMAT pairs its postmap reads; the first pair
	// of a type is the format it writes.
	Formats []string
}

// DebianPostfix is the Postfix of Debian 10 and 12 (postconf -m of
// postfix 3.4 and 3.7 with the usual plugin packages): Berkeley DB 5.3
// hash and btree tables, LMDB and CDB among others.
var DebianPostfix = PostfixOptions{
	Types: []string{"btree", "cidr", "environ", "fail", "hash", "inline", "internal", "ldap", "lmdb", "memcache", "mysql",
		"nis", "pcre", "pgsql", "pipemap", "proxy", "randmap", "regexp", "socketmap", "sqlite", "static", "tcp", "texthash", "unionmap", "unix"},
	Formats: []string{"hash:bdb-5.3", "btree:bdb-5.3", "lmdb:lmdb-0.9", "cdb:cdb-0.75"},
}

// postfixConf is the part of sim.conf the Postfix stand-ins read.
func postfixConf(o PostfixOptions) string {
	return fmt.Sprintf("sim_postfix_types=%s\nsim_postfix_formats=%s\n",
		shellescape.Quote(strings.Join(o.Types, " ")), shellescape.Quote(strings.Join(o.Formats, " ")))
}

// PostfixTable returns the content of a simulated table file of type typ
// in format (as "bdb-5.3") holding the entries of the text source src
// ("key value" lines; keys folded to lower case, comments and blank lines
// left out).
func PostfixTable(typ, format, src string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "#ferry-sim-postfix-table %s %s\n", typ, format)
	for _, l := range strings.Split(src, "\n") {
		f := strings.Fields(l)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		fmt.Fprintf(&b, "%s %s\n", strings.ToLower(f[0]), strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), f[0])))
	}
	return b.String()
}

// SetupPostfixRoot makes dir (an empty or missing directory) a minimal
// simulated server holding only the given Postfix's postconf and postmap,
// for tests of what ferry does with Postfix tables. Files under it are
// runbook paths: dir+"/etc/postfix/main.cf" is /etc/postfix/main.cf.
func SetupPostfixRoot(dir string, o PostfixOptions) error {
	conf := "# Settings of ferry's simulator for its stand-ins. Not part of the simulated server.\nsim_family=debian\nsim_merge_delay=0\nsim_old_root=''\n" + postfixConf(o)
	if err := rootFiles(dir, map[string]string{
		rootMarker:             "This directory is the root of a server simulated by ferry's sim package.\n",
		"/.ferry-sim/sim.conf": conf,
	}, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(dir+"/etc/postfix", 0o755); err != nil {
		return err
	}
	return installScripts(dir, postfixScripts)
}
