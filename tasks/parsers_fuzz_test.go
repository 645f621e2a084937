package tasks

// Native fuzz targets for the parsers of what the servers print. Each body
// checks invariants and round trips, not only that nothing panics. Seeds
// come from real outputs kept in testdata. CI runs each target for a few
// seconds (.ci/run); a crasher the fuzzer finds is written to
// testdata/fuzz/NAME/ and replayed by every later `go test`.

import (
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seedLines adds every non-empty line (split at \r and \n) of the files
// matching glob to f, through add.
func seedFiles(f *testing.F, glob string, add func(b []byte)) {
	f.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files %s (%v)", glob, err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		add(b)
	}
}

func splitCRLF(b []byte) []string {
	return strings.FieldsFunc(string(b), func(r rune) bool { return r == '\r' || r == '\n' })
}

// FuzzRsyncOutput feeds rsync output, line by line, to the progress and
// --stats parsers. A parsed record has no negative or non-finite value and
// reads back the same when printed again in rsync's --no-h form; the
// parser's counters never go backwards and never pass their totals.
func FuzzRsyncOutput(f *testing.F) {
	seedFiles(f, "testdata/rsync/*", func(b []byte) {
		lines := splitCRLF(b)
		for _, l := range lines {
			f.Add(l)
		}
		f.Add(strings.Join(lines[:min(len(lines), 30)], "\r"))
	})
	f.Add("999999999999999999P 100% 1.00kB/s 99999999999:00:00")
	f.Fuzz(func(t *testing.T, text string) {
		var p RsyncParser
		var lastDone, lastFiles int64
		now := time.Unix(0, 0)
		for _, line := range splitCRLF([]byte(text)) {
			now = now.Add(time.Second)
			rec, ok := p.Feed(line, now)
			if ok {
				checkRecord(t, line, rec)
			}
			pr := p.Progress()
			if pr.Done < lastDone || pr.FilesDone < lastFiles {
				t.Fatalf("counters went back after %q: done %d -> %d, files %d -> %d", line, lastDone, pr.Done, lastFiles, pr.FilesDone)
			}
			if pr.Done < 0 || pr.Total < pr.Done {
				t.Fatalf("after %q: done %d of %d", line, pr.Done, pr.Total)
			}
			lastDone, lastFiles = pr.Done, pr.FilesDone
		}
		st := p.Stats()
		for _, n := range []int64{st.Files, st.Created, st.Deleted, st.Transferred, st.TotalSize, st.TransferredSize, st.Literal, st.Matched, st.FileListSize, st.BytesSent, st.BytesReceived} {
			if n < 0 {
				t.Fatalf("a negative --stats value: %+v", st)
			}
		}
		fin := p.Final()
		if fin.Done != fin.Total || fin.Done < lastDone || fin.FilesDone != fin.FilesTotal {
			t.Fatalf("final %+v after done %d", fin, lastDone)
		}
	})
}

func checkRecord(t *testing.T, line string, r RsyncRecord) {
	t.Helper()
	if r.Bytes < 0 || r.Percent < 0 || r.Rate < 0 || math.IsInf(r.Rate, 0) || math.IsNaN(r.Rate) || r.Time < 0 ||
		r.Transferred < 0 || r.ToCheck < 0 || r.Files < 0 {
		t.Fatalf("%q parsed to impossible values: %+v", line, r)
	}
	// Printed again as rsync --no-h prints it, the record reads the same.
	h := int64(r.Time / time.Hour)
	again := fmt.Sprintf("%15d %3d%% %10.2fkB/s %4d:%02d:%02d", r.Bytes, r.Percent, r.Rate/1024, h, int64(r.Time/time.Minute)%60, int64(r.Time/time.Second)%60)
	if !r.TimeKnown {
		again = fmt.Sprintf("%15d %3d%% %10.2fkB/s ??:??:??", r.Bytes, r.Percent, r.Rate/1024)
	}
	if r.EndOfFile {
		chk := "to"
		if r.IncRecursive {
			chk = "ir"
		}
		again += fmt.Sprintf(" (xfr#%d, %s-chk=%d/%d)", r.Transferred, chk, r.ToCheck, r.Files)
	}
	back, ok := ParseRsyncProgress(again)
	if !ok {
		t.Fatalf("%q parsed to %+v, printed again as %q, which does not parse", line, r, again)
	}
	if back.Bytes != r.Bytes || back.Percent != r.Percent || back.Time != r.Time || back.TimeKnown != r.TimeKnown ||
		back.EndOfFile != r.EndOfFile || back.Transferred != r.Transferred || back.IncRecursive != r.IncRecursive ||
		back.ToCheck != r.ToCheck || back.Files != r.Files || math.Abs(back.Rate-r.Rate) > 0.01*1024+r.Rate*1e-9 {
		t.Fatalf("%q parsed to %+v; printed again as %q it parses to %+v", line, r, again, back)
	}
}

// FuzzParseTablespaces: a parsed table has rows with a name and no cell
// holding a "|" or a line break, and the rows printed again as psql's
// aligned \db table parse to the same rows.
func FuzzParseTablespaces(f *testing.F) {
	seedFiles(f, "testdata/pg/*.txt", func(b []byte) { f.Add(b) })
	f.Add([]byte("Name|Owner|Location\npg_default|postgres|\n(1 row)\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := ParseTablespaces("f", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f") {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if len(ts) == 0 {
			t.Fatal("no error and no rows")
		}
		var b strings.Builder
		b.WriteString("List of tablespaces\n Name | Owner | Location\n------+-------+---------\n")
		for _, x := range ts {
			for _, c := range []string{x.Name, x.Owner, x.Location} {
				if strings.ContainsAny(c, "|\n") || c != strings.TrimSpace(c) {
					t.Fatalf("cell %q of %+v", c, x)
				}
			}
			if x.Name == "" {
				t.Fatalf("a row without a name: %+v", ts)
			}
			fmt.Fprintf(&b, " %s | %s | %s\n", x.Name, x.Owner, x.Location)
		}
		fmt.Fprintf(&b, "(%d rows)\n", len(ts))
		back, err := ParseTablespaces("again", []byte(b.String()))
		if err != nil {
			t.Fatalf("%+v printed again does not parse: %v\n%s", ts, err, b.String())
		}
		if fmt.Sprint(back) != fmt.Sprint(ts) {
			t.Fatalf("round trip: %+v -> %+v", ts, back)
		}
	})
}

// FuzzCompareVersions: for both families, a version equals itself, the
// order is antisymmetric and transitive, and VersionAtLeast agrees with it.
func FuzzCompareVersions(f *testing.F) {
	for _, s := range [][3]string{
		{"4.1.165-0", "4.1.180-0", "4.1.165-1"},
		{"1:2.3-4", "2.3-4", "1:2.3-4~rc1"},
		{"4.1.180-0.el7", "4.1.180-0.el8", "10.0-1"},
		{"13.14-0+deb11u1", "13.14-0ubuntu0.22.04.1", "13.14"},
		{"2.0~beta", "2.0", "2.0+b1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		for _, fam := range []string{"rhel", "debian"} {
			ab, err1 := CompareVersions(fam, a, b)
			ba, err2 := CompareVersions(fam, b, a)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("%s: %q vs %q: %v, reversed %v", fam, a, b, err1, err2)
			}
			if err1 != nil {
				continue
			}
			if ab != -ba || ab < -1 || ab > 1 {
				t.Fatalf("%s: %q vs %q = %d, reversed %d", fam, a, b, ab, ba)
			}
			if aa, err := CompareVersions(fam, a, a); err != nil || aa != 0 {
				t.Fatalf("%s: %q vs itself = %d, %v", fam, a, aa, err)
			}
			if ok, _ := VersionAtLeast(fam, a, b); ok != (ab >= 0) {
				t.Fatalf("%s: VersionAtLeast(%q, %q) = %v, compare %d", fam, a, b, ok, ab)
			}
			bc, err := CompareVersions(fam, b, c)
			if err != nil {
				continue
			}
			ac, _ := CompareVersions(fam, a, c)
			if ab <= 0 && bc <= 0 && ac > 0 {
				t.Fatalf("%s: %q <= %q <= %q but %q > %q", fam, a, b, c, a, c)
			}
		}
	})
}

var osReleaseKeyShape = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// FuzzParseOSRelease: every key is a shell name, and the fields written
// back in double quotes parse to the same fields; the release-file readers
// give a version made of digits and dots only.
func FuzzParseOSRelease(f *testing.F) {
	seedFiles(f, "testdata/checks/os/*/etc/*", func(b []byte) { f.Add(b) })
	f.Add([]byte("ID='rhel'\nNAME=\"a \\\"b\\\" \\\\ c\"\nVERSION_ID=9.3 # comment\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fields := ParseOSRelease(data)
		var b strings.Builder
		for k, v := range fields {
			if !osReleaseKeyShape.MatchString(k) {
				t.Fatalf("key %q", k)
			}
			if strings.ContainsAny(v, "\n") {
				t.Fatalf("value %q of %s holds a line break", v, k)
			}
			esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "$", `\$`, "`", "\\`").Replace(v)
			fmt.Fprintf(&b, "%s=\"%s\"\n", k, esc)
		}
		back := ParseOSRelease([]byte(b.String()))
		if fmt.Sprint(back) != fmt.Sprint(fields) {
			t.Fatalf("round trip:\n%q\n-> %q\n-> %q", data, fields, back)
		}
		r := OSReleaseFromFields(fields, "f")
		if r.ID == "" || r.PrettyName == "" || r.ID != strings.ToLower(r.ID) {
			t.Fatalf("%+v", r)
		}
		for _, parse := range []func([]byte, string) (OSRelease, error){ParseRedHatRelease, ParseDebianVersion} {
			r, err := parse(data, "f")
			if err != nil {
				continue
			}
			if strings.Trim(r.VersionID, "0123456789.") != "" || r.ID == "" {
				t.Fatalf("%q read as %+v", data, r)
			}
		}
	})
}

// FuzzParseServiceStatus: every service line read keeps its name as the
// base of its path and no negative number; lines are either services or
// kept as unparsed; printed again as svstat lines, the services read the
// same.
func FuzzParseServiceStatus(f *testing.F) {
	seedFiles(f, "testdata/checks/service-status-*", func(b []byte) { f.Add(string(b)) })
	f.Add("run: hvmail-qmail-send: (pid 12) 40s, normally down; run: log: (pid 11) 40s\ndown: x: 3s, normally up\n")
	f.Fuzz(func(t *testing.T, out string) {
		st, err := ParseServiceStatus(out)
		if (err != nil) != (len(st.Services) == 0) {
			t.Fatalf("err %v with %d services", err, len(st.Services))
		}
		nonEmpty := 0
		for _, l := range splitLines([]byte(out)) {
			if strings.TrimSpace(l) != "" {
				nonEmpty++
			}
		}
		if len(st.Services)+len(st.Unparsed) > nonEmpty {
			t.Fatalf("%d services and %d unparsed lines from %d lines", len(st.Services), len(st.Unparsed), nonEmpty)
		}
		var b strings.Builder
		for _, s := range st.Services {
			if s.Name != path.Base(s.Path) || s.Line == "" || s.PID < 0 || s.Seconds < 0 {
				t.Fatalf("%+v", s)
			}
			if s.Problem != "" && s.Up {
				t.Fatalf("up with a problem: %+v", s)
			}
			if s.Problem != "" || strings.ContainsAny(s.Path, " \t:") {
				continue
			}
			state := "down"
			if s.Up {
				state = "up"
			}
			fmt.Fprintf(&b, "%s: %s ", s.Path, state)
			if s.PID > 0 {
				fmt.Fprintf(&b, "(pid %d) ", s.PID)
			}
			fmt.Fprintf(&b, "%d seconds", s.Seconds)
			if s.Normally != "" {
				b.WriteString(", normally " + s.Normally)
			}
			if s.Paused {
				b.WriteString(", paused")
			}
			if s.Want != "" {
				b.WriteString(", want " + s.Want)
			}
			b.WriteString("\n")
		}
		if b.Len() == 0 {
			return
		}
		back, err := ParseServiceStatus(b.String())
		if err != nil || len(back.Unparsed) > 0 {
			t.Fatalf("printed again:\n%s-> %v, unparsed %q", b.String(), err, back.Unparsed)
		}
		i := 0
		for _, s := range st.Services {
			if s.Problem != "" || strings.ContainsAny(s.Path, " \t:") {
				continue
			}
			g := back.Services[i]
			i++
			if g.Path != s.Path || g.Up != s.Up || g.PID != s.PID || g.Seconds != s.Seconds || g.Normally != s.Normally || g.Want != s.Want || g.Paused != s.Paused {
				t.Fatalf("round trip: %+v -> %+v", s, g)
			}
		}
	})
}

// FuzzPackageQueries: whatever rpm, dpkg-query or dpkg -l print, the
// package keeps its name, an installed package has a version its family
// can compare, and a package not installed has no error-free version
// claim.
func FuzzPackageQueries(f *testing.F) {
	seedFiles(f, "testdata/checks/rpm-*", func(b []byte) { f.Add("greenarrow-engine", string(b)) })
	seedFiles(f, "testdata/checks/dpkg-*", func(b []byte) { f.Add("greenarrow-engine", string(b)) })
	f.Add("greenarrow-engine", "install ok installed\t4.1.180-0\tamd64\n")
	f.Add("greenarrow-engine", "greenarrow-engine\t(none)\t4.1.180-0\tx86_64\n")
	f.Fuzz(func(t *testing.T, pkg, out string) {
		for name, parse := range map[string]func(string, string) (PackageInfo, error){
			"rpm -q": ParseRPMQuery, "dpkg-query": ParseDpkgQuery, "dpkg -l": ParseDpkgList,
		} {
			info, err := parse(pkg, out)
			if info.Name != pkg {
				t.Fatalf("%s: name %q, asked %q", name, info.Name, pkg)
			}
			if err != nil || !info.Installed {
				continue
			}
			if info.Version == "" {
				t.Fatalf("%s: installed without a version: %+v", name, info)
			}
			if c, err := CompareVersions(info.Family(), info.Version, info.Version); err != nil || c != 0 {
				t.Fatalf("%s: version %q of %q cannot be compared: %v", name, info.Version, out, err)
			}
		}
	})
}
