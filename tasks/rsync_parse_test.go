package tasks

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/ferry-migrate/ferry/remote"
)

// rsyncSample reads a raw rsync output kept in tasks/testdata: rsync/NAME,
// or rsync-long/NAME.gz for the long ones (gzipped, and out of the fuzz
// seeds' directory). A missing sample fails the test.
func rsyncSample(t testing.TB, name string) []byte {
	t.Helper()
	if b, err := os.ReadFile(filepath.Join("testdata", "rsync", name)); err == nil {
		return b
	}
	f, err := os.Open(filepath.Join("testdata", "rsync-long", name+".gz"))
	if err != nil {
		t.Fatalf("rsync sample %s is neither in testdata/rsync nor in testdata/rsync-long: %v", name, err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("rsync sample %s: %v", name, err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("rsync sample %s: %v", name, err)
	}
	return b
}

// splitRecords splits raw output at "\r" and "\n", dropping empty records.
func splitRecords(b []byte) []string {
	var out []string
	for _, r := range bytes.FieldsFunc(b, func(r rune) bool { return r == '\r' || r == '\n' }) {
		out = append(out, string(r))
	}
	return out
}

func TestParseRsyncProgressForms(t *testing.T) {
	tests := []struct {
		line string
		want RsyncRecord
	}{
		{"              4   0%    0.00kB/s    0:00:00  ",
			RsyncRecord{Bytes: 4, TimeKnown: true}},
		{"     60,076,980 100%   80.70MB/s    0:00:00 (xfr#12002, to-chk=0/12303)",
			RsyncRecord{Bytes: 60076980, Percent: 100, Rate: 80.70 * (1 << 20), TimeKnown: true, EndOfFile: true, Transferred: 12002, Files: 12303}},
		{"              4   0%    0.00kB/s    0:00:00 (xfr#1, ir-chk=1040/1342)",
			RsyncRecord{Bytes: 4, TimeKnown: true, EndOfFile: true, Transferred: 1, IncRecursive: true, ToCheck: 1040, Files: 1342}},
		{"         60.08M 100%   55.63MB/s    0:00:01 (xfr#12002, to-chk=0/12303)",
			RsyncRecord{Bytes: 60080000, Percent: 100, Rate: 55.63 * (1 << 20), Time: time.Second, TimeKnown: true, EndOfFile: true, Transferred: 12002, Files: 12303}},
		{"       60076980 100%    6.74MB/s    0:00:08 (xfr#12002, to-chk=0/12303)",
			RsyncRecord{Bytes: 60076980, Percent: 100, Rate: 6.74 * (1 << 20), Time: 8 * time.Second, TimeKnown: true, EndOfFile: true, Transferred: 12002, Files: 12303}},
		{"     67,500,000  94%   20.15MB/s    0:00:03 (xfr#16, to-chk=9/28) ",
			RsyncRecord{Bytes: 67500000, Percent: 94, Rate: 20.15 * (1 << 20), Time: 3 * time.Second, TimeKnown: true, EndOfFile: true, Transferred: 16, ToCheck: 9, Files: 28}},
		{"     22,773,760  32%   20.03MB/s  123:04:05  ",
			RsyncRecord{Bytes: 22773760, Percent: 32, Rate: 20.03 * (1 << 20), Time: 123*time.Hour + 4*time.Minute + 5*time.Second, TimeKnown: true}},
		{"      1.234.567  12%   20,03MB/s   ??:??:??  ", // a locale with a decimal comma
			RsyncRecord{Bytes: 1234567, Percent: 12, Rate: 20.03 * (1 << 20)}},
		{"  3.50G  99%    1.00GB/s    0:00:00  ",
			RsyncRecord{Bytes: 3500000000, Percent: 99, Rate: 1 << 30, TimeKnown: true}},
	}
	for _, tt := range tests {
		got, ok := ParseRsyncProgress(tt.line)
		if !ok {
			t.Errorf("ParseRsyncProgress(%q) did not match", tt.line)
			continue
		}
		// Rates are floats: compare them to within a byte per second.
		if d := got.Rate - tt.want.Rate; d > 1 || d < -1 {
			t.Errorf("ParseRsyncProgress(%q) rate = %v, want %v", tt.line, got.Rate, tt.want.Rate)
		}
		got.Rate, tt.want.Rate = 0, 0
		if got != tt.want {
			t.Errorf("ParseRsyncProgress(%q) =\n %+v, want\n %+v", tt.line, got, tt.want)
		}
	}
	for _, line := range []string{
		"",
		">f+++++++++ big.bin",
		"sending incremental file list",
		"Total file size: 71,100,013 bytes",
		"sent 71,118,794 bytes  received 479 bytes  142,238,546.00 bytes/sec",
		"100% done, 3.00MB/s 0:00:01", // not rsync's shape
		"*deleting   a 50% file.txt 1.00MB/s",
	} {
		if r, ok := ParseRsyncProgress(line); ok {
			t.Errorf("ParseRsyncProgress(%q) matched: %+v", line, r)
		}
	}
}

func TestParseRsyncProgressHH(t *testing.T) {
	p := RsyncParser{Base1024: true}
	rec, ok := p.Feed("         57.29M 100%    8.84MB/s    0:00:06 (xfr#12002, to-chk=0/12303)", time.Now())
	const want = 60072919 // 57.29 * 1024 * 1024, rounded
	if !ok || rec.Bytes != want {
		t.Fatalf("-hh record = %+v, %v; want %d bytes", rec, ok, want)
	}
}

// feedSample runs every record of a sample through a parser, one second
// apart, and checks that what it reports never goes backwards.
func feedSample(t *testing.T, name string) (*RsyncParser, []string) {
	t.Helper()
	raw := rsyncSample(t, name)
	var p RsyncParser
	var others []string
	var last Progress
	now := time.Unix(1_700_000_000, 0)
	for _, rec := range splitRecords(raw) {
		now = now.Add(time.Second)
		if _, ok := p.Feed(rec, now); !ok {
			others = append(others, rec)
			continue
		}
		pr := p.Progress()
		if pr.Done < last.Done || pr.Total < last.Total || pr.FilesDone < last.FilesDone || pr.FilesTotal < last.FilesTotal {
			t.Fatalf("%s: counters went backwards at %q: %+v after %+v", name, rec, pr, last)
		}
		if pr.Done > pr.Total || pr.FilesDone > pr.FilesTotal {
			t.Fatalf("%s: done beyond total at %q: %+v", name, rec, pr)
		}
		last = pr
	}
	return &p, others
}

func TestRsyncSamplesParse(t *testing.T) {
	tests := []struct {
		name        string
		records     int // progress records expected, 0: do not check
		finalBytes  int64
		files       int64
		statsFiles  int64
		statsTotal  int64
		otherPrefix []string // every non-progress line starts with one of these
	}{
		{name: "progress2_increcursive.raw", records: 12304, finalBytes: 60076980, files: 12303},
		{name: "progress2_noincrecursive.raw", records: 12006, finalBytes: 60076980, files: 12303},
		{name: "progress2_h.raw", finalBytes: 60080000, files: 12303},
		{name: "progress2_itemize_bwlimit.raw", finalBytes: 71100006, files: 28,
			otherPrefix: []string{">f", "cd", "cL", ".d", "hf"}},
		{name: "progress2_stats_ssh_push.raw", finalBytes: 71000006, files: 28, statsFiles: 28, statsTotal: 71100013,
			otherPrefix: []string{"Number of", "Total", "Literal", "Matched", "File list", "sent", "total size"}},
		{name: "append_verify_resume.raw", finalBytes: 50000006, files: 3, statsFiles: 3, statsTotal: 50000006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, others := feedSample(t, tt.name)
			if tt.records > 0 && p.Records() != tt.records {
				t.Errorf("parsed %d progress records, want %d (regex missed some?)", p.Records(), tt.records)
			}
			pr := p.Progress()
			if pr.Done != tt.finalBytes {
				t.Errorf("last Done = %d, want %d", pr.Done, tt.finalBytes)
			}
			if pr.FilesTotal != tt.files || pr.FilesDone != tt.files {
				t.Errorf("files = %d/%d, want %d/%d", pr.FilesDone, pr.FilesTotal, tt.files, tt.files)
			}
			for _, o := range others {
				if strings.Contains(o, "B/s") && strings.Contains(o, "%") {
					t.Errorf("a progress-looking record was not parsed: %q", o)
				}
				if len(tt.otherPrefix) > 0 && !hasAnyPrefix(o, tt.otherPrefix) {
					t.Errorf("unexpected non-progress line %q", o)
				}
			}
			st := p.Stats()
			if tt.statsFiles > 0 && (st.Files != tt.statsFiles || st.TotalSize != tt.statsTotal) {
				t.Errorf("stats = %+v, want %d files, %d bytes", st, tt.statsFiles, tt.statsTotal)
			}
			fin := p.Final()
			if fin.Done != fin.Total || fin.Done < pr.Done || fin.FilesDone != fin.FilesTotal {
				t.Errorf("Final() = %+v, want Done == Total >= %d and all files", fin, pr.Done)
			}
		})
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// The run that ends at 99% still counts as complete once rsync exits 0, and
// to-chk going back up (hard links, -H) does not move FilesDone back.
func TestRsync99PercentAndToChkBackUp(t *testing.T) {
	p, _ := feedSample(t, "progress2_stats_ssh_push.raw")
	var sawBackUp bool
	prev := int64(-1)
	for _, rec := range splitRecords(rsyncSample(t, "progress2_stats_ssh_push.raw")) {
		r, ok := ParseRsyncProgress(rec)
		if !ok || !r.EndOfFile {
			continue
		}
		if prev == 0 && r.ToCheck > 0 {
			sawBackUp = true
		}
		prev = r.ToCheck
	}
	if !sawBackUp {
		t.Fatal("the sample no longer shows to-chk going back up after 0; the test proves nothing")
	}
	fin := p.Final()
	if fin.Done != 71100013 || fin.Total != 71100013 {
		t.Errorf("Final() bytes = %d/%d, want the stats' total 71100013 both", fin.Done, fin.Total)
	}
	if fin.FilesDone != 28 || fin.FilesTotal != 28 {
		t.Errorf("Final() files = %d/%d, want 28/28", fin.FilesDone, fin.FilesTotal)
	}
	// What rsync sent, from its --stats lines, beside the tree's size.
	if !fin.Sent || fin.Moved != 71000006 || fin.FilesMoved != 22 {
		t.Errorf("Final() sent = %v %d bytes in %d files, want 71000006 bytes in 22 files (--stats)", fin.Sent, fin.Moved, fin.FilesMoved)
	}
}

// With incremental recursion the percentage falls from 99 to 50 when the
// second big file is found; the total then grows but Done and Total never
// fall.
func TestRsyncIncRecursivePercentDrop(t *testing.T) {
	raw := rsyncSample(t, "progress2_increcursive.raw")
	var p RsyncParser
	sawDrop := false
	lastPct := 0
	now := time.Unix(0, 0)
	var last Progress
	for _, rec := range splitRecords(raw) {
		r, ok := p.Feed(rec, now)
		if !ok {
			continue
		}
		if r.Percent < lastPct-10 {
			sawDrop = true
			pr := p.Progress()
			if pr.Total < last.Total || pr.Done < last.Done {
				t.Fatalf("counters fell at %q", rec)
			}
			if pr.Note == "" {
				t.Errorf("no note while incremental recursion still scans: %+v", pr)
			}
		}
		lastPct = r.Percent
		last = p.Progress()
	}
	if !sawDrop {
		t.Fatal("the sample no longer shows the percentage drop; the test proves nothing")
	}
}

func TestParseRsyncStats(t *testing.T) {
	raw := rsyncSample(t, "progress2_stats_ssh_push.raw")
	got := ParseRsyncStats(string(raw))
	want := RsyncStats{Files: 28, Created: 28, Deleted: 0, Transferred: 22, TotalSize: 71100013, TransferredSize: 71000006,
		Literal: 71000006, Matched: 0, BytesSent: 71018759, BytesReceived: 481, Seen: true}
	if got != want {
		t.Errorf("stats of progress2_stats_ssh_push.raw =\n %+v, want\n %+v", got, want)
	}

	got = ParseRsyncStats(string(rsyncSample(t, "stats_local.raw")))
	want = RsyncStats{Files: 28, Created: 28, Transferred: 23, TotalSize: 71100013, TransferredSize: 71100006,
		Literal: 71100006, BytesSent: 71118794, BytesReceived: 479, Seen: true}
	if got != want {
		t.Errorf("stats of stats_local.raw =\n %+v, want\n %+v", got, want)
	}

	hform := "Number of files: 28 (reg: 23, dir: 4, link: 1)\nNumber of deleted files: 1 (reg: 1)\nTotal file size: 71.10M bytes\nTotal bytes sent: 512\n"
	got = ParseRsyncStats(hform)
	if got.Files != 28 || got.Deleted != 1 || got.TotalSize != 71100000 || got.BytesSent != 512 {
		t.Errorf("stats of the -h form = %+v", got)
	}
}

// The lower bound on the total never exceeds the true total, however the
// percentage was truncated.
func TestRsyncTotalLowerBound(t *testing.T) {
	const size = 71100013
	var p RsyncParser
	for ofs := int64(1); ofs <= size; ofs += 997_331 {
		pct := int(100 * ofs / size)
		line := fmt.Sprintf("%15s %3d%%   20.00MB/s    0:00:01  ", humanize.Comma(ofs), pct)
		if _, ok := p.Feed(line, time.Unix(0, ofs)); !ok {
			t.Fatalf("record %q did not parse", line)
		}
		if tot := p.Progress().Total; tot > size {
			t.Fatalf("total estimate %d exceeds the true total %d at %q", tot, size, line)
		}
	}
	if tot := p.Progress().Total; tot < size*98/100 {
		t.Errorf("total estimate %d stays far below the true total %d", tot, size)
	}
}

// BenchmarkRsyncParser measures what ferry spends per line of rsync output:
// splitting, stripping control sequences and parsing, on a real sample of
// 12,006 progress records.
func BenchmarkRsyncParser(b *testing.B) {
	raw := rsyncSample(b, "progress2_noincrecursive.raw")
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		var p RsyncParser
		now := time.Now()
		w := remote.LineWriter(func(line string) {
			if _, ok := p.Feed(line, now); ok {
				_ = p.Progress()
			}
		})
		w.Write(raw)
		w.Flush()
		if p.Records() != 12006 {
			b.Fatalf("%d records", p.Records())
		}
	}
}

// BenchmarkRsyncOutputPath measures the path a transfer's output takes
// (remote.LineBytesWriter splitting 64 KiB reads, RsyncParser.FeedBytes on
// each record, a snapshot every 1,000 records as the sampler takes them):
// per record, and its allocations.
func BenchmarkRsyncOutputPath(b *testing.B) {
	raw := rsyncSample(b, "progress2_noincrecursive.raw")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var p RsyncParser
	now := time.Now()
	w := remote.LineBytesWriter(func(line []byte) {
		if p.FeedBytes(line) && p.Records()%1000 == 0 {
			_ = p.Sample(now)
		}
	})
	for b.Loop() {
		p = RsyncParser{}
		for off := 0; off < len(raw); off += 64 << 10 {
			_, _ = w.Write(raw[off:min(len(raw), off+64<<10)])
		}
		w.Flush()
		if p.Records() != 12006 {
			b.Fatalf("%d records", p.Records())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/12006, "ns/record")
}

// FuzzRsyncProgressScan: wherever the hand-written scanner is sure of a
// line, it agrees with the regular expression, field by field.
func FuzzRsyncProgressScan(f *testing.F) {
	for _, l := range []string{
		"              4   0%    0.00kB/s    0:00:00  ",
		"     60,076,980 100%   80.70MB/s    0:00:00 (xfr#12002, to-chk=0/12303)",
		"     67,500,000  94%   20.15MB/s    0:00:03 (xfr#16, to-chk=9/28) ",
		"              4   0%    0.00kB/s    0:00:00 (xfr#1, ir-chk=1040/1342)",
		"     22,773,760  32%   20.03MB/s  123:04:05  ",
		"         60.08M 100%   55.63MB/s    0:00:01 (xfr#12002, to-chk=0/12303)",
		"      1.234.567  12%   20,03MB/s   ??:??:??  ",
		"  5 1% 1.0kB/s 9999999:00:00",
		"  5 1% 1.0kB/s 0:00:00\t",
		",,, 1% 1.0kB/s 0:00:00",
	} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		got, ok, sure := scanRsyncProgress([]byte(line))
		if !sure {
			return
		}
		want, wantOK := parseRsyncProgressRE(line, 1000)
		if ok != wantOK || (ok && got != want) {
			t.Fatalf("%q: scanner %+v %v, regexp %+v %v", line, got, ok, want, wantOK)
		}
	})
}

// TestRsyncScannerOnSamples: every record of the real samples is read by
// the scanner itself (no fall back to the regexp), as the regexp reads it.
func TestRsyncScannerOnSamples(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "rsync", "*.raw"))
	if len(files) == 0 {
		t.Fatal("no samples in testdata/rsync")
	}
	n := 0
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range splitRecords(raw) {
			want, ok := parseRsyncProgressRE(rec, 1000)
			if !ok {
				continue
			}
			got, gotOK, sure := scanRsyncProgress([]byte(rec))
			if !sure && strings.ContainsAny(rec, "KMGTP") {
				continue // -h forms are the regexp's
			}
			if !sure || !gotOK || got != want {
				t.Fatalf("%s: %q: scanner %+v (ok %v, sure %v), regexp %+v", name, rec, got, gotOK, sure, want)
			}
			n++
		}
	}
	if n < 50 {
		t.Fatalf("only %d records compared", n)
	}
}
