package wizard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// mergeWaitRecorder is a Reporter that, at each progress report, lets the
// earlier merge move on by removing one parked message itself (when move
// is set): the earlier merge's pace is then tied to the wait's own checks,
// not to the machine's load.
type mergeWaitRecorder struct {
	mu       sync.Mutex
	move     bool
	mess     string
	progress []tasks.Progress
	lines    []string
}

func (r *mergeWaitRecorder) Line(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, text)
}

func (r *mergeWaitRecorder) Progress(p tasks.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.progress = append(r.progress, p)
	if !r.move {
		return
	}
	files, _ := filepath.Glob(filepath.Join(r.mess, "0", "*"))
	if len(files) > 0 {
		_ = os.Remove(files[0])
	}
}

// startEarlierMerge lays out a parked queue of n messages under a host
// root and starts a stand-in for a merge a killed ferry left behind: it runs
// (by the merge program's exact path) until the parked queue is empty. The
// process is killed when the test ends.
func startEarlierMerge(t *testing.T, n int) (h *remote.Local, mess string) {
	t.Helper()
	root := t.TempDir()
	mess = filepath.Join(root, "q/old/mess")
	for _, d := range []string{mess + "/0", root + "/q/old/info/0", root + "/q/old/todo", root + "/opt"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(mess, "0", fmt.Sprint(1000+i)), []byte("msg"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	prog := filepath.Join(root, "opt/merge")
	script := "#!/bin/sh\nwhile [ -n \"$(ls " + mess + "/0)\" ]; do sleep 0.05; done\n"
	if err := os.WriteFile(prog, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(prog)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	h, err := remote.NewLocal(HostNew, root)
	if err != nil {
		t.Fatal(err)
	}
	// Wait until the stand-in shows in the process listing.
	for i := 0; ; i++ {
		pids, err := tasks.RunningProgram(context.Background(), h, "/opt/merge")
		if err == nil && len(pids) > 0 {
			break
		}
		if i == 200 {
			t.Fatalf("the earlier merge stand-in never showed in the process listing: %v %v", pids, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return h, mess
}

// TestWaitForEarlierMergeFollowsAMovingMerge: an earlier merge that keeps
// merging is waited for past the stall limit (here shorter than the whole
// wait), and the wait reports the parked queue going down as progress of
// the count before the first attempt.
func TestWaitForEarlierMergeFollowsAMovingMerge(t *testing.T) {
	defer func(d time.Duration) { mergeStallLimit = d }(mergeStallLimit)
	mergeStallLimit = 500 * time.Millisecond
	h, mess := startEarlierMerge(t, 4)
	rec := &mergeWaitRecorder{move: true, mess: mess}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := waitForEarlierMerge(ctx, h, "/opt/merge", "/q/old", 10, rec); err != nil {
		t.Fatalf("a merge that kept moving was given up on: %v", err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.progress) < 4 {
		t.Fatalf("%d progress reports while 4 messages were merged, want one per check: %+v", len(rec.progress), rec.progress)
	}
	first := rec.progress[0]
	if first.Total != 10 || first.Remaining != 4 || first.Done != 6 {
		t.Errorf("first report %+v, want 6 of 10 done, 4 left", first)
	}
	for i := 1; i < len(rec.progress); i++ {
		if rec.progress[i].Remaining >= rec.progress[i-1].Remaining && rec.progress[i-1].Remaining > 0 {
			t.Errorf("report %d: %d left after %d: the count did not go down", i, rec.progress[i].Remaining, rec.progress[i-1].Remaining)
		}
	}
	if !strings.Contains(strings.Join(rec.lines, "\n"), "an earlier /opt/merge is still running") {
		t.Errorf("no line says an earlier merge runs: %q", rec.lines)
	}
}

// TestWaitForEarlierMergeGivesUpOnAStalledMerge: an earlier merge that
// merges nothing for the stall limit is named (pid, messages left) and the
// wait ends with an error instead of hanging.
func TestWaitForEarlierMergeGivesUpOnAStalledMerge(t *testing.T) {
	defer func(d time.Duration) { mergeStallLimit = d }(mergeStallLimit)
	mergeStallLimit = 500 * time.Millisecond
	h, mess := startEarlierMerge(t, 3)
	rec := &mergeWaitRecorder{mess: mess}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	err := waitForEarlierMerge(ctx, h, "/opt/merge", "/q/old", 0, rec)
	if err == nil {
		t.Fatal("a merge that merged nothing was waited for until it ended")
	}
	for _, w := range []string{"has merged nothing for", "3 messages left in /q/old"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error lacks %q: %v", w, err)
		}
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, p := range rec.progress {
		if p.Remaining != 3 || p.Total != 0 {
			t.Errorf("report %+v: want 3 left and no total (the count before the first attempt is unknown)", p)
		}
	}
}

// TestWholeQueueCountsEarlierAttempts: a resumed merge's progress is shown
// against the whole parked queue (150 before the first attempt, 50 found by
// this one), as its final counters are; a first attempt's passes through.
func TestWholeQueueCountsEarlierAttempts(t *testing.T) {
	rec := &mergeWaitRecorder{}
	w := wholeQueue{rec, 150}
	w.Progress(tasks.Progress{Unit: "messages", Done: 10, Total: 50, Remaining: 40})
	wholeQueue{rec, 50}.Progress(tasks.Progress{Unit: "messages", Done: 10, Total: 50, Remaining: 40})
	wholeQueue{rec, 0}.Progress(tasks.Progress{Unit: "messages", Done: 1, Total: 50, Remaining: 49})
	want := []tasks.Progress{
		{Unit: "messages", Done: 110, Total: 150, Remaining: 40},
		{Unit: "messages", Done: 10, Total: 50, Remaining: 40},
		{Unit: "messages", Done: 1, Total: 50, Remaining: 49},
	}
	for i, p := range rec.progress {
		if p != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, p, want[i])
		}
	}
}
