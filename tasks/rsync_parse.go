package tasks

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RsyncRecord is one record of rsync's --info=progress2 output: a snapshot of
// the whole transfer, not of one file.
type RsyncRecord struct {
	// Bytes is how many bytes of file data have been transferred so far.
	Bytes int64
	// Percent is rsync's own percentage, truncated: it may end at 99, and on
	// a pass that skips unchanged files it ends well below 100.
	Percent int
	// Rate is rsync's rate in bytes per second (rsync prints it 1024-based).
	Rate float64
	// Time is the time left on an interim record and the elapsed time on an
	// end-of-file record; TimeKnown is false when rsync printed ??:??:??.
	Time      time.Duration
	TimeKnown bool
	// EndOfFile is set on the records ending in "(xfr#N, to-chk=R/T)".
	EndOfFile bool
	// Transferred is N in xfr#N: files transferred so far.
	Transferred int64
	// IncRecursive is set for "ir-chk": the file list is still growing.
	IncRecursive bool
	// ToCheck and Files are R and T in to-chk=R/T: entries of the file list
	// still to check, and the entries known.
	ToCheck, Files int64
}

// rsyncProgressRE matches a progress2 record. It accepts the forms printed
// with -h (unit suffix), --no-h (bare digits), the default (thousands
// separators) and a locale whose decimal point is a comma.
var rsyncProgressRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^\s*([\d,.]+[KMGTP]?)\s+(\d+)%\s+([\d.,]+)([kMGT]B/s)\s+(\d+:\d\d:\d\d|\?\?:\?\?:\?\?)(?:\s+\(xfr#(\d+), (ir|to)-chk=(\d+)/(\d+)\))?\s*$`)
})

// ParseRsyncProgress parses one progress2 record (a line already split at
// "\r" and "\n"). Numbers with a unit suffix (-h) are read as powers of
// 1000; use RsyncParser with Base1024 for -hh output.
func ParseRsyncProgress(line string) (RsyncRecord, bool) {
	return parseRsyncProgress(line, 1000)
}

func parseRsyncProgress(line string, base float64) (RsyncRecord, bool) {
	// Cheap rejection first: every record holds "%" and "B/s".
	if !strings.Contains(line, "B/s") || !strings.Contains(line, "%") {
		return RsyncRecord{}, false
	}
	if r, ok, sure := scanRsyncProgress([]byte(line)); sure {
		return r, ok
	}
	return parseRsyncProgressRE(line, base)
}

// parseRsyncProgressBytes is parseRsyncProgress for a line held in a byte
// slice: the usual records (rsync's default number format) are read
// without allocating; any other form goes through the regular expression.
func parseRsyncProgressBytes(line []byte, base float64) (RsyncRecord, bool) {
	if !bytes.Contains(line, []byte("B/s")) || bytes.IndexByte(line, '%') < 0 {
		return RsyncRecord{}, false
	}
	if r, ok, sure := scanRsyncProgress(line); sure {
		return r, ok
	}
	return parseRsyncProgressRE(string(line), base)
}

// rsyncRateScale is the factor of the unit prefix rsync prints before
// "B/s" in a progress record (k, M, G, T, each read as a power of 1024 by
// both readers of the record), and whether c is one of those.
func rsyncRateScale(c byte) (float64, bool) {
	switch c {
	case 'k':
		return 1 << 10, true
	case 'M':
		return 1 << 20, true
	case 'G':
		return 1 << 30, true
	case 'T':
		return 1 << 40, true
	}
	return 1, false
}

// parseRsyncProgressRE reads a record with rsyncProgressRE: every form
// rsync prints, at the cost of a few allocations.
func parseRsyncProgressRE(line string, base float64) (RsyncRecord, bool) {
	m := rsyncProgressRE().FindStringSubmatch(line)
	if m == nil {
		return RsyncRecord{}, false
	}
	var r RsyncRecord
	var ok bool
	if r.Bytes, ok = parseRsyncNumber(m[1], base); !ok {
		return RsyncRecord{}, false
	}
	r.Percent, _ = strconv.Atoi(m[2])
	rate, err := strconv.ParseFloat(strings.ReplaceAll(m[3], ",", "."), 64)
	if err != nil {
		return RsyncRecord{}, false
	}
	scale, _ := rsyncRateScale(m[4][0]) // the expression allows k, M, G, T only
	r.Rate = rate * scale
	if !strings.HasPrefix(m[5], "?") {
		parts := strings.Split(m[5], ":")
		h, err := strconv.Atoi(parts[0])
		if err != nil || h > maxRsyncHours {
			return RsyncRecord{}, false // no time rsync prints
		}
		mi, _ := strconv.Atoi(parts[1])
		s, _ := strconv.Atoi(parts[2])
		r.Time = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
		r.TimeKnown = true
	}
	if m[6] != "" {
		r.EndOfFile = true
		r.Transferred, _ = strconv.ParseInt(m[6], 10, 64)
		r.IncRecursive = m[7] == "ir"
		r.ToCheck, _ = strconv.ParseInt(m[8], 10, 64)
		r.Files, _ = strconv.ParseInt(m[9], 10, 64)
	}
	return r, true
}

// scanRsyncProgress reads a progress2 record in rsync's default form
// (byte count with thousands separators or bare digits, a rate with a
// decimal point) by hand, without allocating. sure is false when the line
// holds anything else (a unit suffix, a decimal comma, a tab, a number too
// long to read safely): rsyncProgressRE then decides. When sure, ok and the
// record are what rsyncProgressRE would give.
func scanRsyncProgress(b []byte) (r RsyncRecord, ok, sure bool) {
	i := 0
	// spaces skips blanks; any other white space makes the line unsure.
	spaces := func() (n int, plain bool) {
		for i < len(b) {
			switch b[i] {
			case ' ':
				n++
				i++
			case '\t', '\n', '\f', '\r':
				return n, false
			default:
				return n, true
			}
		}
		return n, true
	}
	// digits reads a run of decimal digits; more than 18 makes it unsure.
	digits := func() (v int64, n int) {
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if n == 18 {
				return v, -1
			}
			v = v*10 + int64(b[i]-'0')
			n++
			i++
		}
		return v, n
	}
	if _, plain := spaces(); !plain {
		return r, false, false
	}
	// Bytes: digits and commas.
	start, seen := i, 0
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] == ',') {
		if b[i] != ',' {
			if seen == 18 {
				return r, false, false
			}
			r.Bytes = r.Bytes*10 + int64(b[i]-'0')
			seen++
		}
		i++
	}
	if i == start || seen == 0 {
		return r, false, false
	}
	if n, plain := spaces(); !plain || n == 0 {
		return r, false, false
	}
	pct, n := digits()
	if n <= 0 || n > 9 || i >= len(b) || b[i] != '%' {
		return r, false, false
	}
	r.Percent = int(pct)
	i++
	if n, plain := spaces(); !plain || n == 0 {
		return r, false, false
	}
	// Rate: digits "." digits, then the unit.
	rs := i
	if _, n := digits(); n <= 0 || i >= len(b) || b[i] != '.' {
		return r, false, false
	}
	i++
	if _, n := digits(); n <= 0 {
		return r, false, false
	}
	rate, err := strconv.ParseFloat(string(b[rs:i]), 64)
	if err != nil || i+4 > len(b) || string(b[i+1:i+4]) != "B/s" {
		return r, false, false
	}
	scale, ok := rsyncRateScale(b[i])
	if !ok {
		return r, false, false
	}
	r.Rate = rate * scale
	i += 4
	if n, plain := spaces(); !plain || n == 0 {
		return r, false, false
	}
	// Time: H:MM:SS or ??:??:??.
	if i+8 <= len(b) && string(b[i:i+8]) == "??:??:??" {
		i += 8
	} else {
		h, n := digits()
		if n <= 0 || i+6 > len(b) || b[i] != ':' || !isDigit(b[i+1]) || !isDigit(b[i+2]) || b[i+3] != ':' || !isDigit(b[i+4]) || !isDigit(b[i+5]) {
			return r, false, false
		}
		if h > maxRsyncHours {
			return RsyncRecord{}, false, true // no time rsync prints
		}
		mi := int64(b[i+1]-'0')*10 + int64(b[i+2]-'0')
		sec := int64(b[i+4]-'0')*10 + int64(b[i+5]-'0')
		i += 6
		r.Time = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(sec)*time.Second
		r.TimeKnown = true
	}
	n, plain := spaces()
	if !plain {
		return r, false, false
	}
	if i == len(b) {
		return r, true, true
	}
	if n == 0 || !bytes.HasPrefix(b[i:], []byte("(xfr#")) {
		return r, false, false
	}
	i += 5
	if r.Transferred, n = digits(); n <= 0 || !bytes.HasPrefix(b[i:], []byte(", ")) {
		return r, false, false
	}
	i += 2
	switch {
	case bytes.HasPrefix(b[i:], []byte("ir-chk=")):
		r.IncRecursive = true
	case bytes.HasPrefix(b[i:], []byte("to-chk=")):
	default:
		return r, false, false
	}
	i += 7
	if r.ToCheck, n = digits(); n <= 0 || i >= len(b) || b[i] != '/' {
		return r, false, false
	}
	i++
	if r.Files, n = digits(); n <= 0 || i >= len(b) || b[i] != ')' {
		return r, false, false
	}
	i++
	if _, plain := spaces(); !plain || i != len(b) {
		return r, false, false
	}
	r.EndOfFile = true
	return r, true, true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// maxRsyncHours is the largest hour count a progress record may hold: a
// million hours (over a century) is far beyond any transfer, and far below
// where a time.Duration overflows.
const maxRsyncHours = 1_000_000

// parseRsyncNumber reads a number as rsync prints it: "71,100,006" (or
// "71.100.006" where the locale's decimal point is a comma), "71100006", or
// with -h "71.10M" / "71,10M" in units of base.
func parseRsyncNumber(s string, base float64) (int64, bool) {
	if s == "" {
		return 0, false
	}
	mult := 0
	switch s[len(s)-1] {
	case 'K':
		mult = 1
	case 'M':
		mult = 2
	case 'G':
		mult = 3
	case 'T':
		mult = 4
	case 'P':
		mult = 5
	}
	if mult > 0 {
		f, err := strconv.ParseFloat(strings.ReplaceAll(s[:len(s)-1], ",", "."), 64)
		if err != nil {
			return 0, false
		}
		for range mult {
			f *= base
		}
		// Beyond int64 (or NaN) is no count rsync prints.
		if !(f >= 0 && f < math.MaxInt64) {
			return 0, false
		}
		return int64(f + 0.5), true
	}
	digits := strings.NewReplacer(",", "", ".", "").Replace(s)
	n, err := strconv.ParseInt(digits, 10, 64)
	return n, err == nil
}

// RsyncStats is what rsync's --stats summary says about a finished transfer.
// A field rsync did not print stays zero; Seen tells whether any was found.
type RsyncStats struct {
	Files           int64 // Number of files (every entry: files, dirs, links ...)
	Created         int64 // Number of created files
	Deleted         int64 // Number of deleted files
	Transferred     int64 // Number of regular files transferred
	TotalSize       int64 // Total file size, bytes
	TransferredSize int64 // Total transferred file size, bytes
	Literal         int64 // Literal data, bytes sent as they are
	Matched         int64 // Matched data, bytes found in the destination already
	FileListSize    int64 // File list size, bytes
	BytesSent       int64 // Total bytes sent
	BytesReceived   int64 // Total bytes received
	Seen            bool
}

// rsyncStatsFields maps the label of each --stats line to its field.
var rsyncStatsFields = map[string]func(*RsyncStats) *int64{
	"Number of files":                     func(s *RsyncStats) *int64 { return &s.Files },
	"Number of created files":             func(s *RsyncStats) *int64 { return &s.Created },
	"Number of deleted files":             func(s *RsyncStats) *int64 { return &s.Deleted },
	"Number of regular files transferred": func(s *RsyncStats) *int64 { return &s.Transferred },
	"Total file size":                     func(s *RsyncStats) *int64 { return &s.TotalSize },
	"Total transferred file size":         func(s *RsyncStats) *int64 { return &s.TransferredSize },
	"Literal data":                        func(s *RsyncStats) *int64 { return &s.Literal },
	"Matched data":                        func(s *RsyncStats) *int64 { return &s.Matched },
	"File list size":                      func(s *RsyncStats) *int64 { return &s.FileListSize },
	"Total bytes sent":                    func(s *RsyncStats) *int64 { return &s.BytesSent },
	"Total bytes received":                func(s *RsyncStats) *int64 { return &s.BytesReceived },
}

// ParseLine reads one line of the --stats summary into s and reports
// whether it was one. Numbers with a unit suffix are read as powers of 1000.
func (s *RsyncStats) ParseLine(line string) bool { return s.parseLine(line, 1000) }

func (s *RsyncStats) parseLine(line string, base float64) bool {
	label, rest, ok := strings.Cut(strings.TrimSpace(line), ": ")
	if !ok {
		return false
	}
	field := rsyncStatsFields[label]
	if field == nil {
		return false
	}
	word, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	n, ok := parseRsyncNumber(word, base)
	if !ok {
		return false
	}
	*field(s) = n
	s.Seen = true
	return true
}

// ParseRsyncStats reads every --stats line found in text.
func ParseRsyncStats(text string) RsyncStats {
	var s RsyncStats
	for _, line := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == '\r' }) {
		s.ParseLine(line)
	}
	return s
}

// RsyncParser follows the output of one rsync run. Feed it every line of
// rsync's standard output; it keeps the counters of the transfer, which
// never go backwards, and the --stats summary.
type RsyncParser struct {
	// Base1024 reads unit suffixes as powers of 1024 (rsync -hh).
	Base1024 bool

	done, total           int64
	filesDone, filesTotal int64
	incRecursive          bool
	lastRate              float64
	lastETA               time.Duration
	rates                 *RateEstimator
	// fileRates follows the files done, for an ETA by files: with many
	// small files the time goes to the files, not the bytes.
	fileRates *RateEstimator
	stats     RsyncStats
	records   int
}

func (p *RsyncParser) base() float64 {
	if p.Base1024 {
		return 1024
	}
	return 1000
}

// Feed takes one line of output. It returns the record and true for a
// progress record, and false for any other line (a --stats line is
// remembered all the same). now is when the line came, for the rate.
func (p *RsyncParser) Feed(line string, now time.Time) (RsyncRecord, bool) {
	rec, ok := parseRsyncProgress(line, p.base())
	if !ok {
		p.stats.parseLine(line, p.base())
		return RsyncRecord{}, false
	}
	p.add(rec)
	p.sampleRate(now)
	return rec, true
}

// FeedBytes is Feed for the hot path of a transfer: the line is a slice
// valid only during the call (remote.LineBytesWriter), a progress record
// is read without allocating, and the rate is not sampled: call Sample for
// that, at the screen's pace. It reports whether the line was a progress
// record.
func (p *RsyncParser) FeedBytes(line []byte) bool {
	rec, ok := parseRsyncProgressBytes(line, p.base())
	if !ok {
		// Every --stats line holds ": "; most other lines do not.
		if bytes.Contains(line, []byte(": ")) {
			p.stats.parseLine(string(line), p.base())
		}
		return false
	}
	p.add(rec)
	return true
}

// Sample records the byte count as of now for the rate and returns the
// current snapshot (Progress).
func (p *RsyncParser) Sample(now time.Time) Progress {
	if p.records > 0 {
		p.sampleRate(now)
	}
	return p.Progress()
}

func (p *RsyncParser) sampleRate(now time.Time) {
	if p.rates == nil {
		p.rates = NewRateEstimator(DefaultRateWindow)
		p.fileRates = NewRateEstimator(DefaultRateWindow)
	}
	p.rates.Add(now, p.done)
	p.fileRates.Add(now, p.filesDone)
}

// add folds a progress record into the counters.
func (p *RsyncParser) add(rec RsyncRecord) {
	p.records++
	p.done = max(p.done, rec.Bytes)
	// The percentage is truncated, so the total is more than
	// 100*bytes/(percent+1): a lower bound that only grows, and exact at
	// 100%.
	if rec.Percent >= 100 {
		p.total = max(p.total, rec.Bytes)
	} else if rec.Bytes > 0 {
		p.total = max(p.total, int64(float64(rec.Bytes)*100/float64(rec.Percent+1))+1)
	}
	p.total = max(p.total, p.done)
	if rec.EndOfFile {
		p.incRecursive = rec.IncRecursive
		p.filesTotal = max(p.filesTotal, rec.Files)
		p.filesDone = max(p.filesDone, rec.Files-rec.ToCheck)
	}
	p.lastRate = rec.Rate
	if !rec.EndOfFile && rec.TimeKnown {
		p.lastETA = rec.Time
	}
}

// Records is how many progress records were fed.
func (p *RsyncParser) Records() int { return p.records }

// Stats is the --stats summary seen so far.
func (p *RsyncParser) Stats() RsyncStats { return p.stats }

// Progress is the current snapshot in bytes.
func (p *RsyncParser) Progress() Progress {
	pr := Progress{Unit: "bytes", Done: p.done, Total: p.total, FilesDone: p.filesDone, FilesTotal: p.filesTotal}
	rate := 0.0
	if p.rates != nil {
		rate = p.rates.Rate()
	}
	if rate <= 0 {
		rate = p.lastRate
	}
	pr.Rate = rate
	if eta, ok := ETA(p.total-p.done, rate); ok {
		pr.ETA = eta
	} else {
		pr.ETA = p.lastETA
	}
	// The files left tell too: a tree of many small files is nearly all
	// bytes done long before it is done. The longer of the two estimates
	// stands (only once the file list is complete).
	if p.fileRates != nil && p.filesTotal > 0 && !p.incRecursive {
		if eta, ok := ETA(p.filesTotal-p.filesDone, p.fileRates.Rate()); ok && eta > pr.ETA {
			pr.ETA = eta
		}
	}
	if p.incRecursive {
		pr.Note = "scanning: the total still grows"
	}
	return pr
}

// Final is the snapshot once rsync has finished successfully: the tree is in
// step, so every byte and every entry counts as done. Bytes of files that were
// already up to date count as done too, which is why Done may jump at the end.
func (p *RsyncParser) Final() Progress {
	pr := p.Progress()
	total := max(p.total, p.stats.TotalSize, p.done, p.stats.TransferredSize)
	pr.Done, pr.Total = total, total
	files := max(p.filesTotal, p.filesDone, p.stats.Files)
	pr.FilesDone, pr.FilesTotal = files, files
	pr.ETA = 0
	pr.Note = ""
	if p.stats.Seen {
		pr.Sent, pr.Moved, pr.FilesMoved = true, p.stats.TransferredSize, p.stats.Transferred
	}
	return pr
}
