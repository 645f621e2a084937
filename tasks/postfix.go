package tasks

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/ferry-migrate/ferry/remote"
)

// Postfix lookup tables copied from another server
//
// A hashed table (TABLE.db, TABLE.lmdb, TABLE.cdb) is a binary file built by
// the postmap of one server. Copied to a server whose Postfix lacks that
// table type (a distribution that dropped Berkeley DB), or whose library
// cannot read the file, it breaks mail routing from the moment Postfix
// starts. The proof here asks the server's own Postfix: `postconf -m` lists
// the table types it supports, `postconf -n` says with which type main.cf
// uses each table, and `postmap -q KEY TYPE:TABLE` looks up one entry of
// the table's text source, whose value must come back. A table that fails
// can be built again from its source with that server's postmap.

// PostfixMap is one Postfix lookup table to prove.
type PostfixMap struct {
	// Table is the runbook path of the table as main.cf names it after
	// "TYPE:", without the type's file suffix (/etc/postfix/virtual_alias).
	Table string
	// Source is the runbook path of the text the table is built from
	// ("KEY VALUE" lines; BlueMind keeps it as TABLE-flat).
	Source string
}

// PostfixMapsOptions says which tables to prove on which server.
type PostfixMapsOptions struct {
	// Host is the server whose Postfix must read the tables.
	Host remote.Host
	// Maps are the tables, in the order they are reported.
	Maps []PostfixMap
	// DefaultType is the type of a table main.cf does not name (default
	// "hash", the type BlueMind's main.cf gives its tables).
	DefaultType string
	// Rebuild lets a table that fails its lookup be built again from its
	// source with the server's postmap, and looked up once more.
	Rebuild bool
}

// PostfixMapResult is what the proof found for one table.
type PostfixMapResult struct {
	Map PostfixMap
	// Type is the table type the lookup used (from postconf -n, else the
	// default).
	Type string
	// Key is the key looked up ("" when the source holds no entry: then a
	// key no table holds is looked up, and "not found" proves the table
	// readable).
	Key string
	// Rebuilt is true when the table was built again from its source.
	Rebuilt bool
	// Problem is empty when the table is proven usable, else why not.
	Problem string
}

// PostfixMapsReport is what CheckPostfixMaps did.
type PostfixMapsReport struct {
	// Results has one entry per table, in the order of the options' Maps
	// (fewer when the proof stopped on an error).
	Results []PostfixMapResult
	// Commands are the argvs that ran, in order, as handed to the host.
	Commands [][]string
	// Exits are their exit codes.
	Exits []int
}

// PostfixMapsError names every table the server's Postfix cannot use.
type PostfixMapsError struct{ Failed []PostfixMapResult }

func (e *PostfixMapsError) Error() string {
	var parts []string
	for _, r := range e.Failed {
		parts = append(parts, r.Map.Table+": "+r.Problem)
	}
	return fmt.Sprintf("%d Postfix table(s) cannot be used on this server: %s", len(e.Failed), strings.Join(parts, "; "))
}

// PostconfTypesArgv is the command listing the table types Postfix supports.
var PostconfTypesArgv = []string{"postconf", "-m"}

// PostconfSettingsArgv is the command printing main.cf's explicit settings.
var PostconfSettingsArgv = []string{"postconf", "-n"}

// PostmapQueryArgv is the lookup of key in table tbl of type typ.
func PostmapQueryArgv(typ, tbl, key string) []string {
	return []string{"postmap", "-q", key, typ + ":" + tbl}
}

// PostmapBuildArgv builds a table of type typ from the text file src: the
// table is written next to it, src plus the type's suffix.
func PostmapBuildArgv(typ, src string) []string { return []string{"postmap", typ + ":" + src} }

// PostfixTableSuffix returns the file suffix postmap gives a table of type
// typ, or "" for a type ferry does not rebuild (several files, or none).
func PostfixTableSuffix(typ string) string {
	switch typ {
	case "hash", "btree":
		return ".db"
	case "lmdb":
		return ".lmdb"
	case "cdb":
		return ".cdb"
	}
	return ""
}

// RebuildArgvs returns the commands that build table m of type typ again
// from its source: postmap on the source, whose output (the source's path
// plus suf, the type's file suffix: PostfixTableSuffix) is then renamed
// over the table's file when the two paths differ (BlueMind's TABLE-flat).
func RebuildArgvs(typ, suf string, m PostfixMap) [][]string {
	out := [][]string{PostmapBuildArgv(typ, m.Source)}
	if m.Source != m.Table {
		out = append(out, []string{"mv", "-f", m.Source + suf, m.Table + suf})
	}
	return out
}

// absentKey is looked up in a table whose source holds no entry.
const absentKey = "ferry-probe.invalid"

// tableRef finds "TYPE:/path" in postconf output (proxy:TYPE:/path too).
var tableRef = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`([a-z0-9_]+):(/[^\s,]+)`) })

// ParsePostconfTypes reads `postconf -m`: one table type per line.
func ParsePostconfTypes(out string) map[string]bool {
	types := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.ContainsAny(t, " \t") {
			types[t] = true
		}
	}
	return types
}

// ParseTableTypes reads `postconf -n` ("name = value" lines) and returns,
// for each table path a value names as TYPE:PATH, its type.
func ParseTableTypes(out string) map[string]string {
	refs := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		_, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		for _, m := range tableRef().FindAllStringSubmatch(v, -1) {
			refs[m[2]] = m[1]
		}
	}
	return refs
}

// FirstMapEntry returns the first entry of a Postfix table's text source:
// its key and its value (continuation lines, which start with white space,
// joined with one space). Blank and comment lines are skipped, and so are
// keys that postmap would read as an option. ok is false when the source
// holds no entry.
func FirstMapEntry(src []byte) (key, value string, ok bool) {
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		f := strings.Fields(t)
		if strings.HasPrefix(f[0], "-") {
			continue
		}
		value = strings.TrimSpace(strings.TrimPrefix(t, f[0]))
		for _, c := range lines[i+1:] {
			ct := strings.TrimSpace(c)
			if ct == "" || strings.HasPrefix(ct, "#") || (c[0] != ' ' && c[0] != '\t') {
				break
			}
			value += " " + ct
		}
		return f[0], value, true
	}
	return "", "", false
}

// postfixRun runs argv on h and returns stdout, the last stderr line and
// the exit code.
func postfixRun(ctx context.Context, h remote.Host, argv []string) (string, string, int, error) {
	var out, errb bytes.Buffer
	res, err := h.Exec(ctx, remote.Cmd{Argv: argv, Stdout: &out, Stderr: &errb})
	if err != nil {
		return "", "", res.ExitCode, fmt.Errorf("%s on %s: %w", strings.Join(argv, " "), h.Name(), err)
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	return out.String(), strings.TrimSpace(lines[len(lines)-1]), res.ExitCode, nil
}

// CheckPostfixMaps proves that the Postfix of o.Host can use every table of
// o.Maps (see the package comment above), rebuilding a failing one when
// o.Rebuild allows. It returns what ran and one result per table, and a
// *PostfixMapsError naming every table still unusable; another error means
// the proof could not run (postconf missing, a connection lost). Each
// table's outcome is reported as a line on rep's "info" stream.
func CheckPostfixMaps(ctx context.Context, o PostfixMapsOptions, rep Reporter) (PostfixMapsReport, error) {
	if rep == nil {
		rep = discard{}
	}
	h := o.Host
	var rp PostfixMapsReport
	run := func(argv []string) (string, string, int, error) {
		out, reason, code, err := postfixRun(ctx, h, argv)
		rp.Commands = append(rp.Commands, argv)
		rp.Exits = append(rp.Exits, code)
		return out, reason, code, err
	}
	out, reason, code, err := run(PostconfTypesArgv)
	if err != nil {
		return rp, err
	}
	if code != 0 {
		return rp, fmt.Errorf("postconf -m on %s exited with status %d: %s", h.Name(), code, reason)
	}
	types := ParsePostconfTypes(out)
	out, reason, code, err = run(PostconfSettingsArgv)
	if err != nil {
		return rp, err
	}
	if code != 0 {
		return rp, fmt.Errorf("postconf -n on %s exited with status %d: %s", h.Name(), code, reason)
	}
	refs := ParseTableTypes(out)
	def := o.DefaultType
	if def == "" {
		def = "hash"
	}
	var supported []string
	for t := range types {
		supported = append(supported, t)
	}
	sort.Strings(supported)

	var bad []PostfixMapResult
	for _, m := range o.Maps {
		r := PostfixMapResult{Map: m, Type: def}
		if t, ok := refs[m.Table]; ok {
			r.Type = t
		}
		src, rerr := h.ReadFile(ctx, m.Source)
		key, value, has := FirstMapEntry(src)
		if has {
			r.Key = key
		}
		lookup := func() (string, error) {
			k := key
			if !has {
				k = absentKey
			}
			out, reason, code, err := run(PostmapQueryArgv(r.Type, m.Table, k))
			if err != nil {
				return "", err
			}
			got := strings.TrimRight(out, "\n")
			switch {
			case !has && code == 1 && got == "" && reason == "":
				return "", nil // not found, and nothing went wrong reading the table
			case !has:
				return fmt.Sprintf("postmap -q could not read it (exit status %d): %s", code, orText(reason, "no message")), nil
			case code == 0 && got == value:
				return "", nil
			case code == 0:
				return fmt.Sprintf("postmap -q %s returned %q, the source says %q", key, got, value), nil
			case code == 1 && reason == "":
				return fmt.Sprintf("postmap -q %s found nothing, the source has that key", key), nil
			}
			return fmt.Sprintf("postmap -q %s failed (exit status %d): %s", key, code, orText(reason, "no message")), nil
		}
		switch {
		case rerr != nil:
			r.Problem = fmt.Sprintf("its source %s cannot be read (%v), so no entry can be looked up", m.Source, rerr)
		case !types[r.Type]:
			r.Problem = fmt.Sprintf("main.cf uses it as %s:, a table type this Postfix does not support (postconf -m lists %s)", r.Type, strings.Join(supported, " "))
		default:
			p, err := lookup()
			if err != nil {
				return rp, err
			}
			r.Problem = p
			if p != "" && o.Rebuild && has {
				if rb := rebuildMap(run, r.Type, m); rb != "" {
					r.Problem = p + "; rebuilding it failed: " + rb
				} else {
					r.Rebuilt = true
					p2, err := lookup()
					if err != nil {
						return rp, err
					}
					if p2 == "" {
						r.Problem = ""
					} else {
						r.Problem = p + "; after a rebuild from " + m.Source + ": " + p2
					}
				}
			}
		}
		rep.Line("info", describeMapResult(r))
		rp.Results = append(rp.Results, r)
		if r.Problem != "" {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		return rp, &PostfixMapsError{Failed: bad}
	}
	return rp, nil
}

// rebuildMap builds table m of type typ again from its source with the
// server's postmap (RebuildArgvs). It returns why it failed, or "".
func rebuildMap(run func([]string) (string, string, int, error), typ string, m PostfixMap) string {
	suf := PostfixTableSuffix(typ)
	if suf == "" {
		return "ferry rebuilds hash, btree, lmdb and cdb tables only, not " + typ
	}
	for _, argv := range RebuildArgvs(typ, suf, m) {
		_, reason, code, err := run(argv)
		if err != nil {
			return err.Error()
		}
		if code != 0 {
			return fmt.Sprintf("%s exited with status %d: %s", strings.Join(argv, " "), code, orText(reason, "no message"))
		}
	}
	return ""
}

func describeMapResult(r PostfixMapResult) string {
	name := path.Base(r.Map.Table)
	switch {
	case r.Problem != "":
		return fmt.Sprintf("%s (%s): %s", name, r.Type, r.Problem)
	case r.Rebuilt:
		return fmt.Sprintf("%s (%s): rebuilt from %s; postmap -q %s now answers", name, r.Type, r.Map.Source, r.Key)
	case r.Key == "":
		return fmt.Sprintf("%s (%s): readable (its source holds no entry)", name, r.Type)
	}
	return fmt.Sprintf("%s (%s): postmap -q %s answers as the source says", name, r.Type, r.Key)
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}
