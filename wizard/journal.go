package wizard

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// Files of a state directory that belong to the journal.
const (
	// JournalFile is the journal's name inside a state directory.
	JournalFile = "journal.jsonl"
	// JournalPrevFile is the rotated copy of the journal: the journal as it
	// was when ferry last opened or closed it, or a step last ended or began
	// to wait, written atomically, so that a lost journal can be restored.
	JournalPrevFile = "journal.prev"
	// MigrationIDFile holds the id of the migration the state directory
	// belongs to (one line); the journal's header carries the same id.
	MigrationIDFile = "migration-id"
)

// JournalFormat is the version of the journal's format this ferry writes
// and reads. A journal without a header is read as format 0 (written
// before the header existed) and given a header on its next opening.
const JournalFormat = 1

// ErrNoJournal is returned when a state directory holds no journal yet.
var ErrNoJournal = errors.New("no journal in this state directory")

// JournalHeader is the first line of a journal: which format it is written
// in, which migration it records (the id also kept in MigrationIDFile), and
// the runbook (id and content hash) the migration began with.
type JournalHeader struct {
	// Format is JournalFormat when written; it is the key that tells a
	// header from an event.
	Format    int       `json:"ferry_journal"`
	Migration string    `json:"migration"`
	Runbook   string    `json:"runbook,omitempty"`
	Hash      string    `json:"hash,omitempty"`
	Created   time.Time `json:"created"`
}

// JournalScan is what reading a journal found.
type JournalScan struct {
	// Header is nil for an empty journal or one written before headers.
	Header *JournalHeader
	Events []Event
	// Good is the length in bytes of the intact part of the file.
	Good int64
	// Torn is the length of a damaged last line without its newline (a
	// crash mid-write); it is not part of Events.
	Torn int
	// NoNewline: the last event is whole but its newline is missing; the
	// event is kept (and counted in Good).
	NoNewline bool
}

// Journal is the append-only record of a migration: a header line, then one
// JSON event per line, each line fsync'd before Append returns, so a crash
// loses at most the event being written. A torn last line (a crash
// mid-write) is tolerated on reading and cut off before the next append.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	dir  string
	path string
	hdr  *JournalHeader
	seq  int64
	now  func() time.Time
}

// NewMigrationID returns a fresh migration id: the UTC date and 12 random
// hex digits ("20261130-3f9a0c71b2e4").
func NewMigrationID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102") + "-" + hex.EncodeToString(b)
}

// ReadMigrationID returns the id recorded in dir's MigrationIDFile, "" when
// there is none.
func ReadMigrationID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, MigrationIDFile))
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return "", nil // dir is a file: the journal's reader says so
	}
	if err != nil {
		return "", fmt.Errorf("migration id: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func writeMigrationID(dir, id string) error {
	if err := remote.WriteFileAtomic(filepath.Join(dir, MigrationIDFile), []byte(id+"\n"), 0o600); err != nil {
		return fmt.Errorf("migration id: %w", err)
	}
	return syncDir(dir)
}

// OpenJournal opens (creating if needed) the journal in dir and returns it
// with the events already in it. A torn last line is reported in torn (its
// length in bytes) and removed from the file; a whole last event missing
// only its newline is kept and the newline added. A journal written before
// headers gets one (the id from MigrationIDFile, or a new one). The journal
// as found is copied to JournalPrevFile. Damage before the last line,
// unknown event types or statuses are errors naming the line.
func OpenJournal(dir string) (j *Journal, events []Event, torn int, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, 0, fmt.Errorf("state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, JournalFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("journal %s: %w", path, err)
	}
	fail := func(err error) (*Journal, []Event, int, error) {
		f.Close()
		return nil, nil, 0, err
	}
	sc, err := ScanJournal(f, path)
	if err != nil {
		return fail(withPrev(err, dir))
	}
	if sc.Torn > 0 {
		if err := f.Truncate(sc.Good); err != nil {
			return fail(fmt.Errorf("journal %s: cutting the torn last line: %w", path, err))
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		return fail(err)
	}
	if sc.NoNewline {
		if _, err := f.Write([]byte("\n")); err != nil {
			return fail(fmt.Errorf("journal %s: ending the last line: %w", path, err))
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	j = &Journal{f: f, dir: dir, path: path, hdr: sc.Header, now: time.Now}
	if n := len(sc.Events); n > 0 {
		j.seq = sc.Events[n-1].Seq
		if j.hdr == nil {
			// Written before headers: rewrite it with one, atomically.
			f.Close()
			if err := upgradeJournal(dir, path, sc.Events); err != nil {
				return nil, nil, 0, err
			}
			if f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o600); err != nil {
				return nil, nil, 0, fmt.Errorf("journal %s: %w", path, err)
			}
			j.f = f
			if j.hdr, err = readHeader(path); err != nil {
				return fail(err)
			}
		}
	}
	if err := syncDir(dir); err != nil {
		return fail(err)
	}
	if err := j.rotate(); err != nil {
		return fail(err)
	}
	return j, sc.Events, sc.Torn, nil
}

// upgradeJournal rewrites a headerless journal with a header in front.
func upgradeJournal(dir, path string, events []Event) error {
	id, err := ReadMigrationID(dir)
	if err != nil {
		return err
	}
	if id == "" {
		id = NewMigrationID()
	}
	h := JournalHeader{Format: JournalFormat, Migration: id, Created: events[0].Time}
	for _, ev := range events {
		if ev.Type == EvRunStarted {
			h.Runbook, h.Hash = ev.Runbook, ev.Hash
			break
		}
	}
	var buf bytes.Buffer
	hb, _ := json.Marshal(h)
	buf.Write(append(hb, '\n'))
	for _, ev := range events {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	}
	if err := remote.WriteFileAtomic(path, buf.Bytes(), 0o600); err != nil {
		return fmt.Errorf("journal %s: adding a header: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		return err
	}
	if old, _ := ReadMigrationID(dir); old == "" {
		return writeMigrationID(dir, id)
	}
	return nil
}

func readHeader(path string) (*JournalHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	sc, err := ScanJournal(f, path)
	if err != nil {
		return nil, err
	}
	return sc.Header, nil
}

// rotate copies the journal, as it is now, to JournalPrevFile (atomically).
// An empty journal is not copied: the copy keeps the last one that held
// something.
// The copy is read through the open file, so a journal deleted or
// replaced under a running ferry is still copied whole.
func (j *Journal) rotate() error {
	fi, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	b := make([]byte, fi.Size())
	if _, err := j.f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("journal %s: reading it to copy it: %w", j.path, err)
	}
	if len(b) == 0 {
		return nil
	}
	prev := filepath.Join(j.dir, JournalPrevFile)
	if err := remote.WriteFileAtomic(prev, b, 0o600); err != nil {
		return fmt.Errorf("journal copy %s: %w", prev, err)
	}
	return syncDir(j.dir)
}

// ReadJournal reads the events of the journal in dir without opening it for
// writing. A torn last line is ignored and its length returned in torn.
func ReadJournal(dir string) (events []Event, torn int, err error) {
	sc, err := InspectJournal(dir)
	if err != nil {
		return nil, 0, err
	}
	return sc.Events, sc.Torn, nil
}

// InspectJournal reads the journal in dir (header and events) without
// changing anything. It returns ErrNoJournal when the file does not exist.
func InspectJournal(dir string) (*JournalScan, error) {
	path := filepath.Join(dir, JournalFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return nil, ErrNoJournal
	}
	if err != nil {
		return nil, fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	sc, err := ScanJournal(f, path)
	return sc, withPrev(err, dir)
}

// knownEvents and knownStatuses are what a journal may hold; anything else
// is an error naming the line, never silently ignored.
var (
	knownEvents = map[EventType]bool{
		EvRunStarted: true, EvRunResumed: true, EvStepStarted: true, EvStepFinished: true,
		EvWaiting: true, EvAnswered: true, EvConfirmed: true, EvSkipped: true, EvCommand: true,
		EvFact: true, EvWarning: true, EvDowntimeStart: true, EvDowntimeEnd: true,
		EvRunFinished: true, EvRunbookChanged: true, EvOverridden: true, EvReopened: true,
		EvLifelineUp: true, EvLifelineDown: true,
	}
	knownStatuses = map[Status]bool{
		"": true, StatusPending: true, StatusRunning: true, StatusOK: true, StatusFailed: true,
		StatusSkipped: true, StatusWaiting: true, StatusInterrupted: true,
	}
)

// checkEvent says what is wrong with a journal event, or "".
func checkEvent(ev *Event, prevSeq int64) string {
	switch {
	case ev.Type == "":
		return "an event without a type"
	case !knownEvents[ev.Type]:
		return fmt.Sprintf("unknown event type %q", ev.Type)
	case !knownStatuses[ev.Status]:
		return fmt.Sprintf("unknown status %q", ev.Status)
	case ev.Seq <= prevSeq:
		return fmt.Sprintf("sequence number %d after %d (events out of order or spliced)", ev.Seq, prevSeq)
	}
	return ""
}

// ScanJournal parses a journal read from r (path names it in errors). Only
// the last line may be damaged, and only when it has no newline (a torn
// write): it is left out and its length returned in Torn. A whole last
// event without its newline is kept (NoNewline). Damage anywhere else, a
// header that is not first, a format newer than JournalFormat, an unknown
// event type or status, or sequence numbers that do not increase are errors
// naming the line.
func ScanJournal(r io.Reader, path string) (*JournalScan, error) {
	var events []Event
	sc, err := scanJournal(r, path, false, func(ev Event, _ []byte) { events = append(events, ev) })
	if sc != nil {
		sc.Events = events
	}
	return sc, err
}

// scanJournal is ScanJournal handing each event to each as it is read,
// with its line (valid only during the call), instead of keeping it
// (sc.Events stays empty). With light, a command event, which changes no
// state, is read only for its sequence number, time, type and status (the
// line is still checked whole): its other fields stay empty.
func scanJournal(r io.Reader, path string, light bool, each func(Event, []byte)) (*JournalScan, error) {
	sc := &JournalScan{}
	br := bufio.NewReaderSize(r, 256<<10)
	line := 0
	var prev int64
	var long []byte // a line longer than br's buffer, gathered
	for {
		// The line in br's buffer when it fits (valid until the next read:
		// each keeps what it needs), else gathered in long.
		b, rerr := br.ReadSlice('\n')
		if rerr == bufio.ErrBufferFull {
			long = append(long[:0], b...)
			for rerr == bufio.ErrBufferFull {
				b, rerr = br.ReadSlice('\n')
				long = append(long, b...)
			}
			b = long
		}
		if len(b) > 0 {
			line++
			complete := b[len(b)-1] == '\n'
			text := bytes.TrimSpace(b)
			if isHeaderLine(text) {
				var h JournalHeader
				herr := json.Unmarshal(text, &h)
				switch {
				case herr != nil && !complete:
					sc.Torn = len(b)
					return sc, nil
				case herr != nil:
					return nil, damaged(path, line, fmt.Sprintf("damaged header: %v", herr))
				case line != 1:
					return nil, damaged(path, line, "a journal header in the middle of the journal (two journals joined?)")
				case h.Format > JournalFormat:
					return nil, damaged(path, line, fmt.Sprintf("written in format %d by a newer ferry; this ferry reads format %d", h.Format, JournalFormat))
				case h.Format < 1 || h.Migration == "":
					return nil, damaged(path, line, "a header without a format or migration id")
				}
				sc.Header = &h
				sc.Good += int64(len(b))
				if !complete {
					sc.NoNewline = true
				}
			} else {
				var (
					ev   Event
					jerr error
					ok   bool
				)
				if light {
					ev, ok = commandHead(text)
				}
				if !ok {
					ev, jerr = decodeEvent(text)
				}
				if len(text) == 0 {
					jerr = errors.New("an empty line")
				}
				if jerr != nil {
					if !complete {
						sc.Torn = len(b)
						return sc, nil
					}
					return nil, damaged(path, line, fmt.Sprintf("damaged line (not at the end, so not a torn write): %v", jerr))
				}
				if bad := checkEvent(&ev, prev); bad != "" {
					return nil, damaged(path, line, bad)
				}
				prev = ev.Seq
				each(ev, text)
				sc.Good += int64(len(b))
				if !complete {
					// A whole event without its newline: keep it; the next
					// opening ends the line.
					sc.NoNewline = true
				}
			}
		}
		if rerr == io.EOF {
			return sc, nil
		}
		if rerr != nil {
			return nil, fmt.Errorf("journal %s: %w", path, rerr)
		}
	}
}

// decodeEvent decodes one event line. The event is made here, so that only
// the lines decoded whole put one on the heap (the light reading of a
// command event does not).
func decodeEvent(text []byte) (Event, error) {
	var ev Event
	err := json.Unmarshal(text, &ev)
	return ev, err
}

// JournalError is a journal ferry will not read: damage before its last
// line, an unknown event type or status, events out of order, a header out
// of place or from a newer ferry. Path and Line (1-based) locate it.
type JournalError struct {
	Path    string
	Line    int
	Problem string
	// Prev describes ferry's copy of the journal (JournalPrevFile) when it
	// reads; "" otherwise.
	Prev string
}

func (e *JournalError) Error() string {
	s := fmt.Sprintf("journal %s:%d: %s", e.Path, e.Line, e.Problem)
	if e.Prev != "" {
		dir := filepath.Dir(e.Path)
		s += fmt.Sprintf("; ferry's copy of the journal, %s, reads: check it, then put it back with cp -p %s %s",
			e.Prev, filepath.Join(dir, JournalPrevFile), e.Path)
	}
	return s
}

// withPrev adds to a *JournalError the description of the journal's copy
// in dir.
func withPrev(err error, dir string) error {
	var je *JournalError
	if errors.As(err, &je) && je.Prev == "" {
		je.Prev = describePrev(dir)
	}
	return err
}

func damaged(path string, line int, problem string) error {
	return &JournalError{Path: path, Line: line, Problem: problem}
}

// commandHead reads a command event line as ferry writes it,
// {"seq":N,"time":"RFC3339","type":"command",...}, for its sequence number,
// time and type only, after checking that the whole line is valid JSON.
// ok is false for any other line (another type, another key order).
func commandHead(text []byte) (ev Event, ok bool) {
	rest, found := bytes.CutPrefix(text, []byte(`{"seq":`))
	if !found {
		return ev, false
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' && i < 18 {
		ev.Seq = ev.Seq*10 + int64(rest[i]-'0')
		i++
	}
	if i == 0 {
		return ev, false
	}
	rest, found = bytes.CutPrefix(rest[i:], []byte(`,"time":"`))
	if !found {
		return ev, false
	}
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return ev, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(rest[:end]))
	if err != nil {
		return ev, false
	}
	if !bytes.HasPrefix(rest[end:], []byte(`","type":"command"`)) || !validJSON(text) {
		return ev, false
	}
	ev.Time, ev.Type = t, EvCommand
	return ev, true
}

// isHeaderLine tells a header line from an event line by its key.
func isHeaderLine(text []byte) bool {
	return bytes.HasPrefix(text, []byte(`{"ferry_journal"`))
}

// Header returns the journal's header, nil until the first line is written.
func (j *Journal) Header() *JournalHeader {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.hdr
}

// EnsureHeader writes the header line of an empty journal: the migration id
// from MigrationIDFile (a new one, written there, when there is none), the
// runbook's id and hash. It does nothing when the journal has a header.
func (j *Journal) EnsureHeader(runbook, hash string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ensureHeader(runbook, hash)
}

func (j *Journal) ensureHeader(runbook, hash string) error {
	if j.hdr != nil {
		return nil
	}
	id, err := ReadMigrationID(j.dir)
	if err != nil {
		return err
	}
	if id == "" {
		id = NewMigrationID()
		if err := writeMigrationID(j.dir, id); err != nil {
			return err
		}
	}
	h := &JournalHeader{Format: JournalFormat, Migration: id, Runbook: runbook, Hash: hash, Created: j.now().UTC()}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: fsync: %w", j.path, err)
	}
	j.hdr = h
	return nil
}

// Append numbers and timestamps ev (when unset), writes it as one line and
// fsyncs the file. The first line of a new journal is its header (see
// EnsureHeader). At a step boundary (a step finished or skipped, a wait,
// the run's end) the journal is copied to JournalPrevFile. It returns the
// event as written.
func (j *Journal) Append(ev Event) (Event, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.ensureHeader(ev.Runbook, ev.Hash); err != nil {
		return ev, err
	}
	j.seq++
	ev.Seq = j.seq
	if ev.Time.IsZero() {
		ev.Time = j.now().UTC()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return ev, err
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return ev, fmt.Errorf("journal %s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return ev, fmt.Errorf("journal %s: fsync: %w", j.path, err)
	}
	switch ev.Type {
	case EvStepFinished, EvSkipped, EvWaiting, EvRunFinished:
		// A step boundary: refresh the copy (a few per step, never per
		// line of a long task).
		if err := j.rotate(); err != nil {
			return ev, err
		}
	}
	return ev, nil
}

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Close copies the journal to JournalPrevFile and closes it. The copy's
// error is returned when closing worked.
func (j *Journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	rerr := j.rotate()
	if err := j.f.Close(); err != nil {
		return err
	}
	return rerr
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
