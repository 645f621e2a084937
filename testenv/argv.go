package testenv

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ArgvWatch polls every process's /proc/PID/cmdline for a secret while a
// test runs, and notes which programs it has seen, so that a test can prove
// a password never reaches any argv (and that the programs it cares about
// were really running while it looked).
type ArgvWatch struct {
	secret     []byte
	stop, done chan struct{}

	mu      sync.Mutex
	leaks   []string
	seen    map[string]bool
	waiters map[string]chan struct{}
}

// WatchArgv starts watching for secret; the watch stops at the end of the
// test at the latest.
func WatchArgv(t testing.TB, secret string) *ArgvWatch {
	w := &ArgvWatch{secret: []byte(secret), stop: make(chan struct{}), done: make(chan struct{}),
		seen: map[string]bool{}, waiters: map[string]chan struct{}{}}
	go w.loop()
	t.Cleanup(w.finish)
	return w
}

func (w *ArgvWatch) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil {
				continue
			}
			b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil || len(b) == 0 {
				continue
			}
			prog := filepath.Base(string(bytes.SplitN(b, []byte{0}, 2)[0]))
			w.mu.Lock()
			if bytes.Contains(b, w.secret) {
				w.leaks = append(w.leaks, strings.ReplaceAll(string(b), "\x00", " "))
			}
			if !w.seen[prog] {
				w.seen[prog] = true
				if ch, ok := w.waiters[prog]; ok {
					close(ch)
				}
			}
			w.mu.Unlock()
		}
	}
}

// Saw returns a channel closed once a process running prog has been
// examined.
func (w *ArgvWatch) Saw(prog string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.waiters[prog]
	if !ok {
		ch = make(chan struct{})
		w.waiters[prog] = ch
		if w.seen[prog] {
			close(ch)
		}
	}
	return ch
}

// Forget makes the watch wait for prog anew (for a second run of it).
func (w *ArgvWatch) Forget(prog string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.seen, prog)
	delete(w.waiters, prog)
}

func (w *ArgvWatch) finish() {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
}

// Result stops the watch and returns the command lines that held the
// secret and the programs seen.
func (w *ArgvWatch) Result() (leaks []string, seen map[string]bool) {
	w.finish()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.leaks, w.seen
}
