package remote

import (
	"sync"

	"github.com/charmbracelet/x/ansi"
)

// LineWriter returns an io.Writer that splits what is written to it into
// lines at "\n" and "\r" (rsync ends progress records with "\r"), strips
// terminal control sequences from each, and calls fn once per non-empty
// line. Call Flush (through the returned *Lines) after the command ends to
// deliver a last line without a terminator.
func LineWriter(fn func(line string)) *Lines { return &Lines{fn: fn} }

// LineBytesWriter is LineWriter for a reader of many lines (rsync's
// progress records, a verbose restore): fn gets each non-empty line as a
// slice that is valid only until fn returns, so that splitting a large
// block of output allocates nothing per line. A line of printable ASCII
// (the usual case) is passed as it came; any other line is stripped of
// terminal control sequences first, as LineWriter does. Calls to fn never
// overlap.
func LineBytesWriter(fn func(line []byte)) *Lines { return &Lines{fnb: fn} }

// Lines is the io.Writer made by LineWriter and LineBytesWriter.
type Lines struct {
	mu    sync.Mutex
	buf   []byte // the unterminated rest of the last Write
	fn    func(string)
	fnb   func([]byte)
	after func()
}

// AfterWrite sets fn to be called at the end of every Write, once the
// block's lines have been delivered: a reader that samples its state at
// its own pace (a screen's ten updates a second) can do it there, with no
// timer of its own. It returns w.
func (w *Lines) AfterWrite(fn func()) *Lines {
	w.after = fn
	return w
}

// maxLine bounds a line held while waiting for its end.
const maxLine = 64 << 10

// Write implements io.Writer. It scans p in place and copies only an
// unterminated last line, to join it with the next Write.
func (w *Lines) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	if len(w.buf) > 0 {
		// Finish the line held from the last Write.
		i := indexEOL(p)
		if i < 0 {
			w.buf = append(w.buf, p...)
			if len(w.buf) > maxLine {
				w.emit(w.buf)
				w.buf = w.buf[:0]
			}
			if w.after != nil {
				w.after()
			}
			return n, nil
		}
		w.buf = append(w.buf, p[:i]...)
		w.emit(w.buf)
		w.buf = w.buf[:0]
		p = p[i+1:]
	}
	for {
		i := indexEOL(p)
		if i < 0 {
			break
		}
		w.emit(p[:i])
		p = p[i+1:]
	}
	if len(p) > maxLine {
		w.emit(p)
		p = nil
	}
	w.buf = append(w.buf, p...)
	if w.after != nil {
		w.after()
	}
	return n, nil
}

// indexEOL is the index of the first "\r" or "\n" in b, or -1.
func indexEOL(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
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
	if len(b) == 0 {
		return
	}
	if w.fnb != nil {
		if printableASCII(b) {
			w.fnb(b)
			return
		}
		if s := ansi.Strip(string(b)); s != "" {
			w.fnb([]byte(s))
		}
		return
	}
	if s := ansi.Strip(string(b)); s != "" {
		w.fn(s)
	}
}

// printableASCII reports whether every byte of b is printable ASCII, which
// ansi.Strip would leave as it is.
func printableASCII(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
