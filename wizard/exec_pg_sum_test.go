package wizard

import (
	"sync"
	"testing"

	"github.com/ferry-migrate/ferry/tasks"
)

// recordReporter keeps every snapshot and line it is given.
type recordReporter struct {
	mu    sync.Mutex
	snaps []tasks.Progress
	lines []string
}

func (r *recordReporter) Line(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, stream+": "+text)
}

func (r *recordReporter) Progress(p tasks.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, p)
}

// Two restores reporting in turns add up to one snapshot whose Done never
// goes backwards; their notes are joined and their lines passed on.
func TestSumReporterAddsUpConcurrentRestores(t *testing.T) {
	rec := &recordReporter{}
	sum := &sumReporter{rep: rec, slots: make([]tasks.Progress, 2)}
	a, b := slotReporter{sum, 0}, slotReporter{sum, 1}
	a.Progress(tasks.Progress{Unit: "items", Done: 3, Total: 37, Note: "restoring bj"})
	b.Progress(tasks.Progress{Unit: "items", Done: 1, Total: 21, Note: "restoring bj-data"})
	a.Line("stderr", "pg_restore: creating TABLE")
	a.Progress(tasks.Progress{Unit: "items", Done: 37, Total: 37, Note: "restored bj"})
	b.Progress(tasks.Progress{Unit: "items", Done: 21, Total: 21, Note: "restored bj-data"})

	last := rec.snaps[len(rec.snaps)-1]
	if last.Unit != "items" || last.Done != 58 || last.Total != 58 || last.Note != "restored bj; restored bj-data" {
		t.Errorf("last snapshot %+v, want 58 of 58 items, both notes", last)
	}
	var done []int64
	for i, s := range rec.snaps {
		done = append(done, s.Done)
		if i > 0 && s.Done < rec.snaps[i-1].Done {
			t.Errorf("Done went backwards: %v", done)
		}
	}
	if len(rec.lines) != 1 || rec.lines[0] != "stderr: pg_restore: creating TABLE" {
		t.Errorf("lines %q", rec.lines)
	}
}
