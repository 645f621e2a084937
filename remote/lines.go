package remote

import (
	"bytes"
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// LineWriter returns an io.Writer that splits what is written to it into
// lines at "\n" and "\r" (rsync ends progress records with "\r"), strips
// terminal control sequences from each, and calls fn once per non-empty
// line. Call Flush (through the returned *Lines) after the command ends to
// deliver a last line without a terminator.
func LineWriter(fn func(line string)) *Lines { return &Lines{fn: fn} }

// Lines is the io.Writer made by LineWriter.
type Lines struct {
	mu  sync.Mutex
	buf []byte
	fn  func(string)
}

// maxLine bounds a line held while waiting for its end.
const maxLine = 64 << 10

// Write implements io.Writer.
func (w *Lines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexAny(w.buf, "\r\n")
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > maxLine {
		w.emit(w.buf)
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// Flush delivers what remains after the last line end.
func (w *Lines) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *Lines) emit(b []byte) {
	s := ansi.Strip(string(b))
	if s != "" {
		w.fn(s)
	}
}
