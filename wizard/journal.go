package wizard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// JournalFile is the journal's name inside a state directory.
const JournalFile = "journal.jsonl"

// ErrNoJournal is returned when a state directory holds no journal yet.
var ErrNoJournal = errors.New("no journal in this state directory")

// Journal is the append-only record of a migration: one JSON event per
// line, each line fsync'd before Append returns, so a crash loses at most the
// event being written. A torn last line (a crash mid-write) is tolerated on
// reading and cut off before the next append.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  int64
	now  func() time.Time
}

// OpenJournal opens (creating if needed) the journal in dir and returns it
// with the events already in it. A torn last line is reported in torn (its
// length in bytes) and removed from the file.
func OpenJournal(dir string) (j *Journal, events []Event, torn int, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, 0, fmt.Errorf("state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, JournalFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("journal %s: %w", path, err)
	}
	events, good, torn, err := readEvents(f, path)
	if err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	if torn > 0 {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, nil, 0, fmt.Errorf("journal %s: cutting the torn last line: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, nil, 0, err
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	j = &Journal{f: f, path: path, now: time.Now}
	if n := len(events); n > 0 {
		j.seq = events[n-1].Seq
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, nil, 0, err
	}
	return j, events, torn, nil
}

// ReadJournal reads the events of the journal in dir without opening it for
// writing. A torn last line is ignored and its length returned in torn.
func ReadJournal(dir string) (events []Event, torn int, err error) {
	path := filepath.Join(dir, JournalFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, ErrNoJournal
	}
	if err != nil {
		return nil, 0, fmt.Errorf("journal %s: %w", path, err)
	}
	defer f.Close()
	events, _, torn, err = readEvents(f, path)
	return events, torn, err
}

// readEvents parses the journal. good is the length of the intact part. Only
// the last line may be damaged (and only when it has no newline): damage
// anywhere else is an error naming the line.
func readEvents(r io.Reader, path string) (events []Event, good int64, torn int, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		b, rerr := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			complete := b[len(b)-1] == '\n'
			var ev Event
			if jerr := json.Unmarshal(bytes.TrimSpace(b), &ev); jerr != nil || len(bytes.TrimSpace(b)) == 0 {
				if !complete {
					return events, good, len(b), nil
				}
				return nil, 0, 0, fmt.Errorf("journal %s:%d: damaged line (not at the end, so not a torn write): %v", path, line, jerr)
			}
			if !complete {
				// A whole event without its newline: keep it, and let the next
				// append start on a line of its own.
				return append(events, ev), good, len(b), nil
			}
			events = append(events, ev)
			good += int64(len(b))
		}
		if rerr == io.EOF {
			return events, good, 0, nil
		}
		if rerr != nil {
			return nil, 0, 0, fmt.Errorf("journal %s: %w", path, rerr)
		}
	}
}

// Append numbers and timestamps ev (when unset), writes it as one line and
// fsyncs the file. It returns the event as written.
func (j *Journal) Append(ev Event) (Event, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
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
	return ev, nil
}

// Path is the journal file's path.
func (j *Journal) Path() string { return j.path }

// Close closes the journal file.
func (j *Journal) Close() error { return j.f.Close() }

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
