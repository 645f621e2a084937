package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// appendAll writes events to a real journal in dir and closes it.
func appendAll(t *testing.T, dir string, evs ...Event) {
	t.Helper()
	j, _, _, err := OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if _, err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func loadTail(t *testing.T, dir string) *State {
	t.Helper()
	st, err := LoadStateTail(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestRunLostFromARealJournal: a journal whose last run has no end reads
// as a lost run (when no ferry holds the lock), naming the runner's pid,
// the step under way and the command that resumes; the next run's note
// ends it, and a run that stops journals its end, so it is not lost.
func TestRunLostFromARealJournal(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"check-a", "hot", "stop"}
	appendAll(t, dir,
		Event{Type: EvRunStarted, Runbook: "test", Hash: "h", PID: 4321, Command: "ferry demo greenarrow --dir /x"},
		Event{Type: EvStepStarted, Step: "check-a"},
		Event{Type: EvStepFinished, Step: "check-a", Status: StatusOK},
		Event{Type: EvStepStarted, Step: "hot"},
		Event{Type: EvCommand, Step: "hot", Host: "new", Command: "rsync -a /a /b"})
	st := loadTail(t, dir)
	if !st.RunLost(false) || st.RunLost(true) {
		t.Fatalf("RunLost(false) = %v, RunLost(true) = %v; want true, false", st.RunLost(false), st.RunLost(true))
	}
	if st.LastRun.PID != 4321 || st.LastRun.Command != "ferry demo greenarrow --dir /x" || st.LastRun.N != 1 {
		t.Errorf("LastRun = %+v", st.LastRun)
	}
	if got := st.Unfinished(ids); !slices.Equal(got, []string{"hot"}) {
		t.Errorf("Unfinished = %v, want [hot]", got)
	}
	text := st.LostRunText(ids)
	for _, want := range []string{"run 1 ended without finishing", "pid 4321", "died without a word", st.Updated.UTC().Format("15:04:05"), "hot was under way"} {
		if !strings.Contains(text, want) {
			t.Errorf("LostRunText lacks %q: %s", want, text)
		}
	}

	// The next run journals the lost one first, then its own start.
	appendAll(t, dir, st.LostRunEvent(ids),
		Event{Type: EvRunResumed, Runbook: "test", Hash: "h", PID: 5555})
	st = loadTail(t, dir)
	if st.Runs != 2 || st.LastRun.PID != 5555 || st.LastRun.Command != "ferry demo greenarrow --dir /x" {
		t.Errorf("after the resume: Runs %d, LastRun %+v", st.Runs, st.LastRun)
	}
	if len(st.Unfinished(ids)) != 0 {
		t.Errorf("the step of the lost run still counts as under way in the new run: %v", st.Unfinished(ids))
	}
	evs, _, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var note *Event
	for i := range evs {
		if evs[i].Type == EvRunFinished && evs[i].Lost {
			note = &evs[i]
		}
	}
	if note == nil || note.PID != 4321 || note.Status != StatusInterrupted || !strings.Contains(note.Message, "hot was under way") {
		t.Fatalf("the journal lacks the lost run's note: %+v", note)
	}

	// A run that stops journals its end: not lost.
	appendAll(t, dir, Event{Type: EvRunFinished, Status: StatusInterrupted, Message: "stopped at the admin's request"})
	if st = loadTail(t, dir); st.RunLost(false) {
		t.Error("a run that journaled its stop reads as lost")
	}
}

// TestRunLostInAnOlderJournal: a journal written before ferry recorded the
// runner's pid (no pid key at all) still reads, and its unfinished last run
// reads as lost without a pid.
func TestRunLostInAnOlderJournal(t *testing.T) {
	dir := t.TempDir()
	lines := `{"ferry_journal":1,"migration":"20261130-000000000001","runbook":"test","hash":"h","created":"2026-11-30T10:00:00Z"}
{"seq":1,"time":"2026-11-30T10:00:00Z","type":"run_started","runbook":"test","hash":"h"}
{"seq":2,"time":"2026-11-30T10:00:01Z","type":"waiting","step":"ask-b","need":"answers"}
`
	if err := os.WriteFile(filepath.Join(dir, JournalFile), []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	st := loadTail(t, dir)
	if !st.RunLost(false) || st.LastRun.PID != 0 {
		t.Fatalf("RunLost = %v, LastRun %+v", st.RunLost(false), st.LastRun)
	}
	text := st.LostRunText(nil)
	if !strings.Contains(text, "its runner died without a word (killed, crashed, or the server went down), or a ferry older than this one stopped it") || !strings.Contains(text, "2026-11-30 10:00:01 UTC") || !strings.Contains(text, "ask-b waited for answers to its questions") {
		t.Errorf("LostRunText: %s", text)
	}
}

// TestWaitsCountsTheRepeatChoice: a repeatable step that finished a pass
// and waits for the choice of another pass reads as waiting, though it is
// done; going on ends the wait.
func TestWaitsCountsTheRepeatChoice(t *testing.T) {
	dir := t.TempDir()
	appendAll(t, dir,
		Event{Type: EvRunStarted, Runbook: "test", Hash: "h", PID: 1},
		Event{Type: EvStepStarted, Step: "hot", Pass: 1},
		Event{Type: EvStepFinished, Step: "hot", Status: StatusOK, Duration: time.Minute},
		Event{Type: EvWaiting, Step: "hot", Need: NeedRepeat})
	st := loadTail(t, dir)
	if step, need := st.Waits(nil); step != "hot" || need != NeedRepeat {
		t.Errorf("Waits = %q, %q; want hot, repeat", step, need)
	}
	appendAll(t, dir, Event{Type: EvStepFinished, Step: "hot", Status: StatusOK, Message: "1 pass; going on"})
	if step, _ := loadTail(t, dir).Waits(nil); step != "" {
		t.Errorf("Waits = %q after going on", step)
	}
}

// TestStepCommandsKeepsWhatAKilledRunStarted: in a real journal, the
// started notes of a run that journaled its list with exits give way to
// that list (one list per run), while those of a run whose runner died
// stay, and an older journal without notes reads as before.
func TestStepCommandsKeepsWhatAKilledRunStarted(t *testing.T) {
	dir := t.TempDir()
	exit0, exit1 := 0, 1
	appendAll(t, dir,
		Event{Type: EvRunStarted, Runbook: "test", Hash: "h", PID: 7},
		Event{Type: EvStepStarted, Step: "hot"},
		Event{Type: EvCommand, Step: "hot", Host: "new", Command: "rsync a b", Status: StatusRunning},
		Event{Type: EvCommand, Step: "hot", Host: "new", Command: "rsync a b", Exit: &exit0},
		Event{Type: EvStepFinished, Step: "hot", Status: StatusOK},
		Event{Type: EvStepStarted, Step: "merge"},
		Event{Type: EvCommand, Step: "merge", Host: "new", Command: "merge old new", Status: StatusRunning},
		// The runner dies; the next run journals it and runs the step again.
		Event{Type: EvRunFinished, Status: StatusInterrupted, Lost: true, PID: 7},
		Event{Type: EvRunResumed, Runbook: "test", Hash: "h", PID: 8},
		Event{Type: EvStepStarted, Step: "merge"},
		Event{Type: EvCommand, Step: "merge", Host: "new", Command: "merge old new", Status: StatusRunning},
		Event{Type: EvCommand, Step: "merge", Host: "new", Command: "merge old new", Exit: &exit1},
		Event{Type: EvStepFinished, Step: "merge", Status: StatusFailed})
	evs, _, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range StepCommands(evs) {
		s := ev.Step + ": " + ev.Command
		switch {
		case ev.CommandStarted():
			s += " (started)"
		case ev.Exit != nil:
			s += " exit " + string(rune('0'+*ev.Exit))
		}
		got = append(got, s)
	}
	want := []string{"hot: rsync a b exit 0", "merge: merge old new (started)", "merge: merge old new exit 1"}
	if !slices.Equal(got, want) {
		t.Errorf("StepCommands = %q, want %q", got, want)
	}
	// An older journal: commands at the step's end only, no notes.
	old := []Event{{Type: EvCommand, Step: "hot", Command: "x", Exit: &exit0}, {Type: EvCommand, Step: "hot", Command: "y"}}
	if got := StepCommands(old); len(got) != 2 || got[1].CommandStarted() {
		t.Errorf("an older journal's commands: %+v", got)
	}
}

// TestEngineJournalsEveryEndOfARun: an engine whose admin stops it
// journals the run's end (not lost), with its pid and resume command at
// the start; an engine started on a journal whose last run has no end
// journals that lost run (the dead runner's pid) before its own resume.
func TestEngineJournalsEveryEndOfARun(t *testing.T) {
	rb := mustParse(t, testRunbook)
	dir := t.TempDir()
	quit := func(Event) (Decision, bool) { return Decision{Action: ActQuit}, true }
	if _, err := runEngine(t, dir, rb, &fakeExec{fail: map[string]int{}}, quit); !errors.Is(err, ErrStopped) {
		t.Fatalf("the run ended with %v, want ErrStopped", err)
	}
	st := loadTail(t, dir)
	if st.RunLost(false) || st.LastRun.Status != StatusInterrupted || st.LastRun.PID != os.Getpid() || !strings.Contains(st.LastRun.Message, "stopped at the admin's request") {
		t.Fatalf("after a stop: RunLost %v, LastRun %+v", st.RunLost(false), st.LastRun)
	}

	// A runner (pid 999) resumes and dies before any end.
	appendAll(t, dir, Event{Type: EvRunResumed, Runbook: rb.ID, Hash: rb.Hash, PID: 999},
		Event{Type: EvWaiting, Step: "ask-b", Need: NeedAnswers})
	if _, err := runEngine(t, dir, rb, &fakeExec{fail: map[string]int{}}, defaultScript); err != nil {
		t.Fatal(err)
	}
	evs, _, err := ReadJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(evs, func(ev Event) bool { return ev.Type == EvRunFinished && ev.Lost })
	if i < 0 || i+1 >= len(evs) || evs[i].PID != 999 || evs[i+1].Type != EvRunResumed || evs[i+1].PID != os.Getpid() ||
		!strings.Contains(evs[i].Message, "run 2 ended without finishing: its runner (pid 999)") || !strings.Contains(evs[i].Message, "ask-b waited for answers") {
		t.Fatalf("the lost run is not journaled before the resume: %+v", evs)
	}
	if st := loadTail(t, dir); !st.Finished || st.RunLost(false) {
		t.Errorf("after the run to the end: Finished %v, RunLost %v", st.Finished, st.RunLost(false))
	}
}
