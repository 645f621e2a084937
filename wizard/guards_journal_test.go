package wizard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/tasks"
)

// TestScanJournalWordsTheDamage: an empty line and a line that is not JSON,
// before the last line, are errors naming the line and saying which it
// is.
func TestScanJournalWordsTheDamage(t *testing.T) {
	hdr := `{"ferry_journal":1,"migration":"m"}` + "\n"
	for text, want := range map[string]string{
		hdr + `{"seq":1,"type":"warning"}` + "\n\n" + `{"seq":2,"type":"warning"}` + "\n":      "j:3: damaged line (not at the end, so not a torn write): an empty line",
		hdr + `{"seq":1,"type":"warning"}` + "\n{oops\n" + `{"seq":2,"type":"warning"}` + "\n": "j:3: damaged line (not at the end, so not a torn write): invalid character 'o'",
	} {
		_, err := ScanJournal(strings.NewReader(text), "j")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

// TestCommandHeadAgreesWithJSON: the light reading of a command event
// (sequence number, time, type) gives what the full JSON reading gives for
// every well-formed line, with every digit in the sequence number, and
// declines (ok false, so the full reading decides) anything else.
func TestCommandHeadAgreesWithJSON(t *testing.T) {
	const tail = `,"time":"2026-08-24T01:20:41.123456789Z","type":"command","step":"s","host":"new","command":"rm x","exit":0}`
	for _, seq := range []string{"1", "9", "10", "1234567890", "987654321098765432"} {
		line := []byte(`{"seq":` + seq + tail)
		var want Event
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		got, ok := commandHead(line)
		if !ok || got.Seq != want.Seq || !got.Time.Equal(want.Time) || got.Type != EvCommand {
			t.Errorf("seq %s: %+v, %v; want seq %d at %v", seq, got, ok, want.Seq, want.Time)
		}
	}
	for _, line := range []string{
		`{"seq":` + tail[1:],                                       // no number
		`{"seq":12345678901234567890` + tail,                       // more digits than a count holds
		`{"seq":9223372036854775808` + tail,                        // 19 digits: left to the full reading
		`{"seq":1,"type":"command","time":"2026-08-24T01:20:41Z"}`, // another key order
		`{"seq":1,"time":"yesterday","type":"command"}`,
		`{"seq":1,"time":"2026-08-24T01:20:41Z","type":"warning"}`,
		`{"seq":1,"time":"2026-08-24T01:20:41Z","type":"command"`, // not whole
		`{"seq":1,"time":"2026-08-24T01:20:41Z`,
		`{"seq":12`, // cut after its number (no read past the end)
	} {
		if ev, ok := commandHead([]byte(line)); ok {
			t.Errorf("%s read as %+v", line, ev)
		}
	}
}

// TestRedactorShortestSecret: a secret of minSecretLen bytes is masked; a
// shorter value is not recorded (it would mask ordinary words).
func TestRedactorShortestSecret(t *testing.T) {
	var r Redactor
	four, three := strings.Repeat("k", minSecretLen), strings.Repeat("z", minSecretLen-1)
	r.Add(" " + four + " ")
	r.Add(three)
	if got := r.String("key " + four + " and " + three); strings.Contains(got, four) || !strings.Contains(got, three) {
		t.Fatalf("masked %q: want the %d-byte secret hidden and the shorter value left", got, minSecretLen)
	}
}

// TestRedactorMasksTheLongerSecretWhole: of two secrets, one inside the
// other, the longer is masked whole whichever was recorded first.
func TestRedactorMasksTheLongerSecretWhole(t *testing.T) {
	for _, order := range [][]string{{"pass", "password-42"}, {"password-42", "pass"}} {
		var r Redactor
		for _, v := range order {
			r.Add(v)
		}
		if got := r.String("login password-42, pin pass"); got != "login "+secretMask+", pin "+secretMask {
			t.Errorf("recorded %q: masked %q", order, got)
		}
	}
}

// TestRedactorEventWhoseTypeIsASecret: a secret that equals the event's
// type word (an admin's password "output") masks the type too; the event
// then no longer reads as what it was, and is left out whole, keeping its
// own type and a note, not passed on with "(secret)" as its type. A mutant
// that lived (both a failed decoding and a changed type were needed).
func TestRedactorEventWhoseTypeIsASecret(t *testing.T) {
	var r Redactor
	r.Add(string(EvOutput))
	got := r.Event(Event{Seq: 3, Type: EvOutput, Step: "copy", Message: "a line"})
	if got.Type != EvOutput || got.Seq != 3 || got.Message != "(an event holding a secret, left out)" {
		t.Fatalf("an event whose type is a secret came back as %+v", got)
	}
}

// TestJournalLineLongerThanTheReadBuffer: an event line longer than the
// scanner's 256 KiB buffer (a command's long output line) is gathered
// whole and read back, not taken for a torn line. A mutant that lived.
func TestJournalLineLongerThanTheReadBuffer(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 300<<10)
	if _, err := j.Append(Event{Type: EvRunStarted}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Event{Type: EvWarning, Message: long}); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Event{Type: EvWarning, Message: "after"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	j2, evs, torn, err := OpenJournal(dir)
	if err == nil {
		j2.Close()
	}
	if err != nil || torn != 0 || len(evs) != 3 || evs[1].Message != long || evs[2].Message != "after" {
		t.Fatalf("reopened: %d events, torn %d, %v; want 3, the second's message of %d bytes whole", len(evs), torn, err, len(long))
	}
}

// TestJournalCopyFailureIsReported: when the rotated copy cannot be
// written (its name taken by a directory that holds a file), appending a
// step's end and closing the journal say so instead of going on without
// a copy. Mutants that lived (both errors dropped).
func TestJournalCopyFailureIsReported(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, JournalPrevFile, "in-the-way"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Event{Type: EvStepFinished, Step: "s", Status: StatusOK}); err == nil {
		t.Error("a step's end was journalled without its copy, and no error")
	}
	if err := j.Close(); err == nil {
		t.Error("the journal closed without its copy, and no error")
	}
}

// TestReplayCountsOnlyRunsThatEndOKAsPasses: a pass is a run that ends ok;
// a finish without a run (the admin goes on from a repeatable step) and a
// run that fails are no passes. A mutant that lived (either one counted).
func TestReplayCountsOnlyRunsThatEndOKAsPasses(t *testing.T) {
	st := Replay([]Event{
		{Seq: 1, Type: EvStepStarted, Step: "s"},
		{Seq: 2, Type: EvStepFinished, Step: "s", Status: StatusOK, Counters: &tasks.Progress{Unit: "files", Done: 5}},
		{Seq: 3, Type: EvStepStarted, Step: "s"},
		{Seq: 4, Type: EvStepFinished, Step: "s", Status: StatusFailed},
		{Seq: 5, Type: EvStepFinished, Step: "s", Status: StatusOK},
		{Seq: 6, Type: EvWarning, Step: "s", Message: "slow disk"},
		{Seq: 7, Type: EvWarning, Message: "no step"},
	})
	// A warning names its step when it has one.
	if want := []string{"s: slow disk", "no step"}; !slices.Equal(st.Warnings, want) {
		t.Errorf("warnings %q, want %q", st.Warnings, want)
	}
	if n := len(st.Steps["s"].Passes); n != 1 {
		t.Fatalf("%d passes, want 1 (the run that ended ok)", n)
	}
	// The counters of the last finish that had any are kept.
	if c := st.Steps["s"].Counters; c == nil || c.Done != 5 {
		t.Errorf("counters %+v, want the first run's 5 files kept", c)
	}
}
