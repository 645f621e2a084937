package tasks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// countFilesScript counts the regular files under "$1" the way
// "find DIR -type f | wc -l" does, except that a name holding a newline
// counts once: find ends each name with a NUL and only the NULs are counted.
// The directory comes in as a positional parameter, so it is never parsed by
// the shell.
const countFilesScript = `cd -- "$1" && find . -type f -print0 | tr -cd '\000' | wc -c`

// CountFilesScript is the sh script CountFiles runs on a host that is not
// the local machine, with the directory as its one argument ($1).
const CountFilesScript = countFilesScript

// CountFiles returns how many regular files lie under the runbook directory
// dir on h, at any depth; symbolic links are not followed nor counted.
//
// On the local machine it reads directories without looking at each file
// (the type comes with the directory entry), so polling a million-file tree
// every second stays affordable. On another host it runs find there.
func CountFiles(ctx context.Context, h remote.Host, dir string) (int64, error) {
	if l, ok := h.(*remote.Local); ok {
		n, err := countLocal(ctx, l.Path(dir))
		if err != nil {
			return n, fmt.Errorf("count files under %s on %s: %w", dir, h.Name(), err)
		}
		return n, nil
	}
	var out strings.Builder
	tail := newLineTail(5)
	r, err := h.Exec(ctx, remote.Cmd{
		Argv:   []string{"sh", "-c", countFilesScript, "sh", h.Path(dir)},
		Stdout: &out,
		Stderr: remote.LineWriter(tail.add),
	})
	if err != nil {
		return 0, fmt.Errorf("count files under %s on %s: %w", dir, h.Name(), err)
	}
	if errs := tail.lines(); r.ExitCode != 0 || len(errs) > 0 {
		return 0, fmt.Errorf("count files under %s on %s: exit %d: %s", dir, h.Name(), r.ExitCode, strings.Join(errs, "; "))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("count files under %s on %s: unexpected output %q", dir, h.Name(), out.String())
	}
	return n, nil
}

// countLocal walks dir with unsorted directory reads.
func countLocal(ctx context.Context, dir string) (int64, error) {
	var n int64
	stack := []string{dir}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		d := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f, err := os.Open(d)
		if err != nil {
			return n, err
		}
		for {
			ents, err := f.ReadDir(1024)
			for _, e := range ents {
				switch t := e.Type(); {
				case t.IsDir():
					stack = append(stack, filepath.Join(d, e.Name()))
				case t.IsRegular():
					n++
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return n, err
			}
		}
		f.Close()
	}
	return n, nil
}

// FileCountMismatchError is returned by CheckFileCount when the count is not
// the expected one.
type FileCountMismatchError struct {
	Dir           string
	Got, Expected int64
}

func (e *FileCountMismatchError) Error() string {
	return fmt.Sprintf("%s holds %d files, expected %d", e.Dir, e.Got, e.Expected)
}

// CheckFileCount counts the files under dir and, when expect is not nil,
// fails with a *FileCountMismatchError unless the count equals *expect.
func CheckFileCount(ctx context.Context, h remote.Host, dir string, expect *int64) (int64, error) {
	n, err := CountFiles(ctx, h, dir)
	if err != nil {
		return n, err
	}
	if expect != nil && n != *expect {
		return n, &FileCountMismatchError{Dir: dir, Got: n, Expected: *expect}
	}
	return n, nil
}

// WatchOptions shapes WatchFiles.
type WatchOptions struct {
	// Interval between counts; zero means one second.
	Interval time.Duration
	// Window is how far back the rate looks; zero means DefaultRateWindow.
	Window time.Duration
	// StopAtZero ends the watch once no file is left.
	StopAtZero bool
	// Note is copied into every Progress.
	Note string
}

// FileCount is one reading of a watched directory.
type FileCount struct {
	At        time.Time
	Remaining int64
	// Rate is how many files per second go away (0 when the count does not
	// fall), over recent readings.
	Rate float64
	// ETA is when, at that rate, none is left; zero when unknown.
	ETA time.Duration
}

// WatchFileCount counts the files under dir every interval and hands each
// reading to fn, until ctx ends (then it returns the last count and nil, or
// -1 and the error when no count had finished), until the count reaches
// zero with StopAtZero, or until a count fails.
func WatchFileCount(ctx context.Context, h remote.Host, dir string, o WatchOptions, fn func(FileCount)) (int64, error) {
	every := o.Interval
	if every <= 0 {
		every = time.Second
	}
	rates := NewRateEstimator(o.Window)
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := int64(-1)
	for {
		n, err := CountFiles(ctx, h, dir)
		if err != nil {
			if ctx.Err() != nil && last >= 0 {
				return last, nil
			}
			return last, err
		}
		now := time.Now()
		last = n
		rates.Add(now, n)
		c := FileCount{At: now, Remaining: n, Rate: max(0, -rates.Rate())}
		if eta, ok := ETA(n, c.Rate); ok {
			c.ETA = eta
		}
		fn(c)
		if o.StopAtZero && n == 0 {
			return 0, nil
		}
		select {
		case <-ctx.Done():
			return last, nil
		case <-tick.C:
		}
	}
}

// WatchFiles is WatchFileCount reporting to rep: Progress with Unit "files",
// Remaining, Rate (files per second going away) and ETA. Remaining is the
// real count: if files arrive while it is watched, it rises.
func WatchFiles(ctx context.Context, h remote.Host, dir string, o WatchOptions, rep Reporter) (int64, error) {
	return WatchFileCount(ctx, h, dir, o, func(c FileCount) {
		rep.Progress(Progress{Unit: "files", Remaining: c.Remaining, Rate: c.Rate, ETA: c.ETA, Note: o.Note})
	})
}
