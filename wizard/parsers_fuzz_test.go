package wizard

// Native fuzz targets for what ferry reads from files an admin or a crash
// may have damaged: the journal, the answers file and a runbook. Each body
// checks invariants and round trips, not only that nothing panics. CI runs
// each target for a few seconds (.ci/run); a crasher the fuzzer finds is
// written to testdata/fuzz/NAME/ and replayed by every later `go test`.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/assets"
)

func readSeed(f *testing.F, p string) []byte {
	f.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzScanJournal: what the reader accepts is consistent (the intact part
// and the torn tail add up to the input; sequence numbers increase; types
// and statuses are known), reads the same when written again, and reads
// the same when cut to its intact part, as OpenJournal cuts it.
func FuzzScanJournal(f *testing.F) {
	real := readSeed(f, "testdata/journal/demo-finished.jsonl")
	f.Add(real)
	lines := bytes.SplitAfter(real, []byte("\n"))
	f.Add(bytes.Join(lines[:10], nil))
	f.Add(append(bytes.Join(lines[:10], nil), lines[10][:len(lines[10])/2]...)) // torn
	f.Add(bytes.TrimSuffix(bytes.Join(lines[:12], nil), []byte("\n")))          // no newline
	f.Add(bytes.Join(lines[1:8], nil))                                          // no header
	f.Add([]byte(`{"ferry_journal":1,"migration":"m"}` + "\n" + `{"seq":1,"type":"step_finished","status":"done"}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := ScanJournal(bytes.NewReader(data), "j")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "journal j") {
				t.Fatalf("the error does not name the journal: %v", err)
			}
			return
		}
		switch {
		case sc.Torn > 0 && (sc.NoNewline || sc.Good+int64(sc.Torn) != int64(len(data))):
			t.Fatalf("good %d + torn %d != %d (no newline %v)", sc.Good, sc.Torn, len(data), sc.NoNewline)
		case sc.Torn == 0 && sc.Good != int64(len(data)):
			t.Fatalf("good %d of %d bytes, nothing torn", sc.Good, len(data))
		}
		var prev int64
		var again bytes.Buffer
		if sc.Header != nil {
			if sc.Header.Format != JournalFormat || sc.Header.Migration == "" {
				t.Fatalf("header %+v", sc.Header)
			}
			b, _ := json.Marshal(sc.Header)
			again.Write(append(b, '\n'))
		}
		for _, ev := range sc.Events {
			if ev.Seq <= prev || !knownEvents[ev.Type] || !knownStatuses[ev.Status] {
				t.Fatalf("accepted %+v after seq %d", ev, prev)
			}
			prev = ev.Seq
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("%+v does not marshal: %v", ev, err)
			}
			again.Write(append(b, '\n'))
		}
		back, err := ScanJournal(bytes.NewReader(again.Bytes()), "again")
		if err != nil {
			t.Fatalf("written again, the journal does not read: %v\n%s", err, again.Bytes())
		}
		if sameEvents(back, sc) != "" {
			t.Fatalf("written again: %s", sameEvents(back, sc))
		}
		cut, err := ScanJournal(bytes.NewReader(data[:sc.Good]), "cut")
		if err != nil || cut.Torn != 0 || sameEvents(cut, sc) != "" {
			t.Fatalf("cut to its intact part: %v, torn %d, %s", err, cut.Torn, sameEvents(cut, sc))
		}
		st := Replay(sc.Events)
		for id, r := range st.Steps {
			if !knownStatuses[r.Status] || r.Status == StatusRunning {
				t.Fatalf("step %s replayed as %q", id, r.Status)
			}
		}
	})
}

// sameEvents says how two scans differ in header and events, "" if not.
func sameEvents(a, b *JournalScan) string {
	ha, _ := json.Marshal(a.Header)
	hb, _ := json.Marshal(b.Header)
	if !bytes.Equal(ha, hb) {
		return "header " + string(ha) + " != " + string(hb)
	}
	if len(a.Events) != len(b.Events) {
		return "event counts differ"
	}
	for i := range a.Events {
		ea, _ := json.Marshal(a.Events[i])
		eb, _ := json.Marshal(b.Events[i])
		if !bytes.Equal(ea, eb) {
			return string(ea) + " != " + string(eb)
		}
	}
	return ""
}

// FuzzParseAnswerSet: an accepted answers file marshals and reads back to
// the same set, validates against the built-in runbook without a panic,
// and a valid one names only steps that exist.
func FuzzParseAnswerSet(f *testing.F) {
	f.Add(readSeed(f, "testdata/answers-demo.json"))
	f.Add([]byte(`{"answers":{"port":"22"},"confirm":["stop"],"skip":{"x":"y"},"repeat":{"hot":2},"trust_host_key":"SHA256:x"}`))
	f.Add([]byte(`{"answers":{}} {"answers":{}}`))
	f.Add([]byte("{\n\"answers\": {\"a\": 1}\n}"))
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseAnswerSet("a.json", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "answers file a.json") {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseAnswerSet("again", b)
		if err != nil {
			t.Fatalf("%s does not read back: %v", b, err)
		}
		if b2, _ := json.Marshal(back); !bytes.Equal(b, b2) {
			t.Fatalf("round trip: %s -> %s", b, b2)
		}
		if a.Validate(rb) != nil {
			return
		}
		for _, list := range [][]string{a.Confirm, a.Done, a.Rerun} {
			for _, id := range list {
				if rb.Step(id) == nil {
					t.Fatalf("valid, yet %q is no step", id)
				}
			}
		}
		for id, n := range a.Repeat {
			if s := rb.Step(id); s == nil || !s.Repeatable || n < 1 {
				t.Fatalf("valid, yet repeat %q %d", id, n)
			}
		}
	})
}

// FuzzParseRunbook: an accepted runbook has unique step ids in known
// phases, its hash is the hash of its bytes, and what was read, written
// again as a runbook (in JSON, which is YAML too), is accepted and reads
// the same. (yaml.v3's own encoder is not used: it writes some multi-line
// strings back with another value.)
func FuzzParseRunbook(f *testing.F) {
	for _, name := range assets.Names() {
		b, err := assets.Runbook(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(testRunbook))
	f.Fuzz(func(t *testing.T, data []byte) {
		rb, err := Parse("r.yaml", data)
		if err != nil {
			var re *RunbookError
			if !asRunbookError(err, &re) || re.File != "r.yaml" {
				t.Fatalf("not a RunbookError naming the file: %v", err)
			}
			return
		}
		sum := sha256.Sum256(data)
		if rb.Hash != hex.EncodeToString(sum[:]) || len(rb.Steps) == 0 {
			t.Fatalf("hash %s, %d steps", rb.Hash, len(rb.Steps))
		}
		seen := map[string]bool{}
		for i := range rb.Steps {
			s := &rb.Steps[i]
			if s.ID == "" || seen[s.ID] || rb.Step(s.ID) != s || rb.Phase(s.Phase) == nil || s.Line < 1 {
				t.Fatalf("step %d %+v", i, s)
			}
			seen[s.ID] = true
		}
		again, err := runbookText(rb)
		if err != nil {
			t.Fatal(err)
		}
		rb2, err := Parse("r.yaml", again)
		if err != nil {
			t.Fatalf("written again, the runbook is refused: %v\n%s", err, again)
		}
		j1, _ := json.Marshal(withoutSource(rb))
		j2, _ := json.Marshal(withoutSource(rb2))
		if !bytes.Equal(j1, j2) {
			i := 0
			for i < len(j1) && i < len(j2) && j1[i] == j2[i] {
				i++
			}
			from := max(0, i-80)
			t.Fatalf("written again, the runbook reads differently from byte %d:\n%s\n%s\nwritten again:\n%s",
				i, j1[from:min(len(j1), i+80)], j2[from:min(len(j2), i+80)], again)
		}
	})
}

// runbookText writes rb as runbook source: its JSON form with the source
// fields left out and each command back in its YAML shape (a list of words
// or a shell line).
func runbookText(rb *Runbook) ([]byte, error) {
	b, err := json.Marshal(rb)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	delete(m, "file")
	delete(m, "hash")
	steps, _ := m["steps"].([]any)
	for _, s := range steps {
		cmds, _ := s.(map[string]any)["commands"].(map[string]any)
		for _, list := range cmds {
			l, _ := list.([]any)
			for i, c := range l {
				cm, _ := c.(map[string]any)
				if argv, ok := cm["argv"]; ok {
					l[i] = argv
				} else {
					l[i] = cm["shell"]
				}
			}
		}
	}
	return json.Marshal(m)
}

func asRunbookError(err error, target **RunbookError) bool {
	re, ok := err.(*RunbookError)
	*target = re
	return ok
}

func withoutSource(rb *Runbook) Runbook {
	c := *rb
	c.File, c.Hash = "", ""
	return c
}
