package tasks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/sim"
)

// Postfix is a vendor-side program here: these tests run the proof of the
// tables against the simulator's postconf and postmap stand-ins, whose
// tables carry their type and file format and fail to open as a real
// postmap fails on a table its library cannot read.

const testMainCF = `# main.cf as BlueMind writes it, one table as cdb
myhostname = mail.example.net
virtual_mailbox_domains = hash:/etc/postfix/virtual_domains
virtual_alias_maps = hash:/etc/postfix/virtual_alias,
    hash:/etc/postfix/old_alias
transport_maps = proxy:hash:/etc/postfix/transport
relay_recipient_maps = cdb:/etc/postfix/relay_recipients
`

// postfixRoot builds a simulated server with Debian's Postfix minus cdb,
// main.cf above and these tables:
//   - virtual_domains: copied, readable: proven as it is;
//   - virtual_alias: copied in a file format this Postfix cannot open;
//   - old_alias: copied from an older source, its value is stale;
//   - transport: the source holds only comments: readable, nothing to look up;
//   - relay_recipients: main.cf uses cdb, which this Postfix lacks.
func postfixRoot(t *testing.T) (remote.Host, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "new")
	pf := sim.DebianPostfix
	pf.Types = nil
	for _, ty := range sim.DebianPostfix.Types {
		if ty != "cdb" {
			pf.Types = append(pf.Types, ty)
		}
	}
	if err := sim.SetupPostfixRoot(root, pf); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"main.cf":               testMainCF,
		"virtual_domains-flat":  "# domains\nexample.net OK\nexample.org OK\n",
		"virtual_domains.db":    sim.PostfixTable("hash", "bdb-5.3", "example.net OK\nexample.org OK\n"),
		"virtual_alias-flat":    "alias1@example.net user1@example.net,\n    user2@example.net\n",
		"virtual_alias.db":      sim.PostfixTable("hash", "bdb-4.8", "alias1@example.net user1@example.net, user2@example.net\n"),
		"old_alias-flat":        "Postmaster@example.net admin@example.net\n",
		"old_alias.db":          sim.PostfixTable("hash", "bdb-5.3", "postmaster@example.net root@example.net\n"),
		"transport-flat":        "# nothing routed elsewhere\n",
		"transport.db":          sim.PostfixTable("hash", "bdb-5.3", ""),
		"relay_recipients-flat": "user1@example.net OK\n",
		"relay_recipients.cdb":  sim.PostfixTable("cdb", "cdb-0.75", "user1@example.net OK\n"),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, "etc/postfix", name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := remote.NewLocal("new", root)
	if err != nil {
		t.Fatal(err)
	}
	return h, root
}

func testMaps() []PostfixMap {
	var out []PostfixMap
	for _, n := range []string{"virtual_domains", "virtual_alias", "old_alias", "transport", "relay_recipients"} {
		out = append(out, PostfixMap{Table: "/etc/postfix/" + n, Source: "/etc/postfix/" + n + "-flat"})
	}
	return out
}

func problems(rp PostfixMapsReport) map[string]string {
	out := map[string]string{}
	for _, r := range rp.Results {
		if r.Problem != "" {
			out[filepath.Base(r.Map.Table)] = r.Problem
		}
	}
	return out
}

// Without rebuilding, every table the new Postfix cannot use is named, at
// once, with its reason; the good ones pass.
func TestPostfixMapsNamesEveryUnusableTable(t *testing.T) {
	h, root := postfixRoot(t)
	before, _ := os.ReadFile(root + "/etc/postfix/virtual_alias.db")
	rp, err := CheckPostfixMaps(context.Background(), PostfixMapsOptions{Host: h, Maps: testMaps()}, nil)
	var pe *PostfixMapsError
	if !errors.As(err, &pe) {
		t.Fatalf("want a PostfixMapsError, got %v", err)
	}
	got := problems(rp)
	want := map[string]string{
		"virtual_alias":    "Invalid argument",
		"old_alias":        `returned "root@example.net", the source says "admin@example.net"`,
		"relay_recipients": "main.cf uses it as cdb:, a table type this Postfix does not support",
	}
	if len(got) != len(want) || len(pe.Failed) != len(want) {
		t.Errorf("problems %v, want exactly %v", got, want)
	}
	for table, text := range want {
		if !strings.Contains(got[table], text) {
			t.Errorf("%s: problem %q, want it to say %q", table, got[table], text)
		}
		if !strings.Contains(err.Error(), "/etc/postfix/"+table+":") {
			t.Errorf("the error does not name %s: %v", table, err)
		}
	}
	for _, r := range rp.Results {
		if r.Rebuilt {
			t.Errorf("%s was rebuilt without Rebuild", r.Map.Table)
		}
		switch filepath.Base(r.Map.Table) {
		case "virtual_domains":
			if r.Key != "example.net" || r.Type != "hash" {
				t.Errorf("virtual_domains looked up %q as %s", r.Key, r.Type)
			}
		case "transport":
			if r.Key != "" || r.Problem != "" {
				t.Errorf("transport (no entry): key %q, problem %q", r.Key, r.Problem)
			}
		}
	}
	if after, _ := os.ReadFile(root + "/etc/postfix/virtual_alias.db"); string(after) != string(before) {
		t.Error("a table changed without Rebuild")
	}
	// Every lookup is in the commands, with the table's path as main.cf
	// names it.
	var lookups []string
	for _, argv := range rp.Commands {
		if len(argv) > 1 && argv[0] == "postmap" {
			lookups = append(lookups, strings.Join(argv, " "))
		}
	}
	if len(lookups) != 4 || lookups[0] != "postmap -q example.net hash:/etc/postfix/virtual_domains" {
		t.Errorf("lookups: %q", lookups)
	}
}

// With Rebuild, the unreadable and the stale tables are built again from
// their sources by the server's postmap and then answer; a table whose
// type the server lacks stays named.
func TestPostfixMapsRebuildsFromTheSource(t *testing.T) {
	h, root := postfixRoot(t)
	rp, err := CheckPostfixMaps(context.Background(), PostfixMapsOptions{Host: h, Maps: testMaps(), Rebuild: true}, nil)
	var pe *PostfixMapsError
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || filepath.Base(pe.Failed[0].Map.Table) != "relay_recipients" {
		t.Fatalf("want only relay_recipients named, got %v", err)
	}
	rebuilt := map[string]bool{}
	for _, r := range rp.Results {
		rebuilt[filepath.Base(r.Map.Table)] = r.Rebuilt
	}
	if !rebuilt["virtual_alias"] || !rebuilt["old_alias"] || rebuilt["virtual_domains"] || rebuilt["transport"] {
		t.Errorf("rebuilt: %v", rebuilt)
	}
	b, err := os.ReadFile(root + "/etc/postfix/virtual_alias.db")
	if err != nil || !strings.Contains(string(b), "bdb-5.3") || !strings.Contains(string(b), "alias1@example.net user1@example.net, user2@example.net") {
		t.Errorf("virtual_alias.db after the rebuild: %v\n%s", err, b)
	}
	if _, err := os.Stat(root + "/etc/postfix/virtual_alias-flat.db"); err == nil {
		t.Error("the table postmap built beside the source was left there")
	}
	if b, _ := os.ReadFile(root + "/etc/postfix/old_alias-flat"); string(b) != "Postmaster@example.net admin@example.net\n" {
		t.Errorf("the rebuild changed the source: %q", b)
	}
	// The proof after the rebuild holds on its own.
	if _, err := CheckPostfixMaps(context.Background(), PostfixMapsOptions{Host: h, Maps: testMaps()[:4]}, nil); err != nil {
		t.Errorf("after the rebuild: %v", err)
	}
}

func TestFirstMapEntry(t *testing.T) {
	for _, c := range []struct{ src, key, value string }{
		{"# c\n\nKey value\n", "Key", "value"},
		{"a@x b@x,\n    c@x\n  d@x\nnext v\n", "a@x", "b@x, c@x d@x"},
		{"-opt v\nk v w\n", "k", "v w"},
		{"# only comments\n", "", ""},
	} {
		k, v, ok := FirstMapEntry([]byte(c.src))
		if k != c.key || v != c.value || ok != (c.key != "") {
			t.Errorf("FirstMapEntry(%q) = %q %q %v, want %q %q", c.src, k, v, ok, c.key, c.value)
		}
	}
	refs := ParseTableTypes("virtual_alias_maps = hash:/etc/postfix/a, proxy:lmdb:/etc/postfix/b\nmydestination = localhost\n")
	if refs["/etc/postfix/a"] != "hash" || refs["/etc/postfix/b"] != "lmdb" || len(refs) != 2 {
		t.Errorf("ParseTableTypes: %v", refs)
	}
}
