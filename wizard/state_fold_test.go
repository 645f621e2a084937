package wizard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// writeLongJournal writes a journal of about n events in dir, the events of
// a long run: 40 steps run three times each (120 passes, whatever n), each
// run journaling its share of the commands it ran, a fact (the same few
// names, overwritten) now and then, an answer, the downtime window, and a
// step left running at the end.
func writeLongJournal(tb testing.TB, dir string, n int) {
	tb.Helper()
	f, err := os.Create(filepath.Join(dir, JournalFile))
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	_ = enc.Encode(JournalHeader{Format: JournalFormat, Migration: "m-bench", Runbook: "bluemind", Created: time.Unix(1_700_000_000, 0).UTC()})
	t := time.Unix(1_700_000_000, 0).UTC()
	seq := int64(0)
	put := func(ev Event) {
		seq++
		t = t.Add(time.Second)
		ev.Seq, ev.Time = seq, t
		if err := enc.Encode(ev); err != nil {
			tb.Fatal(err)
		}
	}
	put(Event{Type: EvRunStarted, Runbook: "bluemind", Hash: "abc"})
	put(Event{Type: EvAnswered, Answers: map[string]string{"old_addr": "192.0.2.10"}})
	zero := 0
	const runs = 120
	perRun := max(1, (n-5)/runs-2)
	for i := range runs {
		step := fmt.Sprintf("step-%02d", i%40)
		put(Event{Type: EvStepStarted, Step: step, Pass: i / 40})
		for c := range perRun {
			if c%100 == 99 {
				put(Event{Type: EvFact, Step: step, Facts: map[string]string{fmt.Sprintf("fact_%d", c%7): fmt.Sprint(c)}})
				continue
			}
			put(Event{Type: EvCommand, Step: step, Host: "old", Command: fmt.Sprintf("find /var/hvmail/queue/old/mess/%d -type f -print0", c%23), Exit: &zero})
		}
		put(Event{Type: EvStepFinished, Step: step, Status: StatusOK, Message: "4 director(ies) in sync", Duration: 3 * time.Second,
			Counters: &tasks.Progress{Unit: "bytes", Done: int64(i) * 1000, Total: int64(i) * 1000, FilesDone: int64(i), FilesTotal: int64(i)}})
	}
	put(Event{Type: EvWarning, Step: "step-03", Message: "some source files vanished during the transfer"})
	put(Event{Type: EvDowntimeStart, Step: "stop-services-old"})
	put(Event{Type: EvStepStarted, Step: "sync-spools-cold"})
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// LoadStateTail folds the journal as it reads it into the very state
// LoadState builds, keeping only the last events.
func TestLoadStateTailMatchesLoadState(t *testing.T) {
	dir := t.TempDir()
	writeLongJournal(t, dir, 3000)
	full, err := LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	tail, err := LoadStateTail(dir, 5)
	if err != nil {
		t.Fatal(err)
	}
	if tail.EventCount != len(full.Events) || full.EventCount != len(full.Events) {
		t.Errorf("event counts %d and %d, journal has %d", tail.EventCount, full.EventCount, len(full.Events))
	}
	if !reflect.DeepEqual(tail.Events, full.Events[len(full.Events)-5:]) {
		t.Errorf("the last events differ:\n%+v\n%+v", tail.Events, full.Events[len(full.Events)-5:])
	}
	a, b := *full, *tail
	a.Events, b.Events = nil, nil
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the states differ:\nfull %+v\ntail %+v", a, b)
	}
	if full.Status("sync-spools-cold") != StatusInterrupted || full.Steps["step-05"].Status != StatusOK || len(full.Steps["step-05"].Passes) == 0 {
		t.Errorf("state read wrong: cold %s, step-05 %+v", full.Status("sync-spools-cold"), full.Steps["step-05"])
	}
	if _, err := LoadStateTail(t.TempDir(), 5); err != ErrNoJournal {
		t.Errorf("no journal: %v, want ErrNoJournal", err)
	}
}

// The engine's copy-and-fold (State.with) gives the state Replay gives for
// the same events, at every prefix, and leaves the state it copies as it
// was.
func TestStateWithMatchesReplay(t *testing.T) {
	dir := t.TempDir()
	writeLongJournal(t, dir, 400)
	evs, _, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	// same compares two states, their events by content.
	same := func(a, b *State) bool {
		x, y := *a, *b
		if len(x.Events) != len(y.Events) || (len(x.Events) > 0 && !reflect.DeepEqual(x.Events, y.Events)) {
			return false
		}
		x.Events, y.Events = nil, nil
		return reflect.DeepEqual(x, y)
	}
	st := Replay(nil)
	for i, ev := range evs {
		before := Replay(evs[:i])
		next := st.with(ev)
		if !same(st, before) {
			t.Fatalf("event %d changed the state it was folded from", i)
		}
		if want := Replay(evs[:i+1]); !same(next, want) {
			t.Fatalf("after event %d (%s): with gives\n%+v\nReplay gives\n%+v", i, ev.Type, next, want)
		}
		st = next
	}
}

// BenchmarkLoadStateTail reads a long journal as an observer does (tail)
// and as ferry status does (status: the continuity check and the state in
// one reading).
// B/op is what it allocates while reading; retained-B what the state it
// returns still holds (the same at 10k and 100k events: memory flat in the
// journal's length). BenchmarkLoadState, the whole history kept, is there
// to compare.
func BenchmarkLoadStateTail(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		dir := b.TempDir()
		writeLongJournal(b, dir, n)
		for _, v := range []struct {
			name string
			load func() (*State, error)
		}{
			{"tail", func() (*State, error) { return LoadStateTail(dir, 20) }},
			{"status", func() (*State, error) { return LoadStateChecked(dir, false, 0) }},
			{"full", func() (*State, error) { return LoadState(dir) }},
		} {
			b.Run(fmt.Sprintf("%s/%dk", v.name, n/1000), func(b *testing.B) {
				b.ReportAllocs()
				var st *State
				for b.Loop() {
					var err error
					if st, err = v.load(); err != nil {
						b.Fatal(err)
					}
				}
				st = nil
				runtime.GC()
				var m0, m1 runtime.MemStats
				runtime.ReadMemStats(&m0)
				st, _ = v.load()
				runtime.GC()
				runtime.ReadMemStats(&m1)
				b.ReportMetric(float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)), "retained-B")
				runtime.KeepAlive(st)
			})
		}
	}
}

// A damaged command event in the middle of the journal is an error for the
// folding reader too, though it reads command events light.
func TestLoadStateTailDamagedCommand(t *testing.T) {
	dir := t.TempDir()
	writeLongJournal(t, dir, 600)
	path := filepath.Join(dir, JournalFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte(`"type":"command"`))
	end := i + bytes.IndexByte(b[i:], '\n')
	b = append(b[:end-1:end-1], b[end:]...) // drop the closing brace
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	var je *JournalError
	if _, err := LoadStateTail(dir, 3); !errors.As(err, &je) {
		t.Fatalf("err = %v, want a JournalError naming the damaged line", err)
	}
}
