package wizard

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

var fullAnswers = &AnswerSet{Answers: map[string]string{"port": "2222"}, Confirm: []string{"stop"}, Done: []string{"manual"}, Repeat: map[string]int{"hot": 2}}

// runWith opens a session on dir with exec and runs it headless to its end.
func runWith(t *testing.T, dir string, x *fakeExec, o SessionOptions) error {
	t.Helper()
	o.Runbook, o.StateDir, o.Exec = mustParse(t, testRunbook), dir, x
	s, err := OpenSession(o)
	if err != nil {
		return err
	}
	defer s.Close()
	return RunHeadless(context.Background(), s, fullAnswers, io.Discard)
}

// finished runs the test runbook to its end in a new state directory, with
// the answers file ferry saves beside the journal.
func finished(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := runWith(t, dir, &fakeExec{fail: map[string]int{}}, SessionOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fullAnswers.Save(dir, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

// halfFinished stops the test runbook after the destructive step (the
// manual step is not done), as a lost connection would.
func halfFinished(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	rb := mustParse(t, testRunbook)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: &fakeExec{fail: map[string]int{}}})
	if err != nil {
		t.Fatal(err)
	}
	set := &AnswerSet{Answers: map[string]string{"port": "2222"}, Confirm: []string{"stop"}}
	err = RunHeadless(context.Background(), s, set, io.Discard)
	s.Close()
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || nh.Step != "manual" {
		t.Fatalf("the half run stopped with %v, want at the manual step", err)
	}
	st, _ := LoadState(dir)
	if st.Status("stop") != StatusOK {
		t.Fatalf("stop = %s after the half run", st.Status("stop"))
	}
	return dir
}

// TestLostJournalNeverRestartsAMigration: a finished or half-finished
// migration whose journal is deleted, emptied or replaced by another
// migration's is refused before any step (the executor sees nothing), the
// error names what was found and how to go on; --start-over begins afresh
// and restoring journal.prev resumes without running anything again.
func TestLostJournalNeverRestartsAMigration(t *testing.T) {
	other := finished(t)
	otherJournal, err := os.ReadFile(filepath.Join(other, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	damage := map[string]func(t *testing.T, dir string){
		"deleted": func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, JournalFile))) },
		"emptied": func(t *testing.T, dir string) { must(t, os.WriteFile(filepath.Join(dir, JournalFile), nil, 0o600)) },
		"replaced": func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, JournalFile), otherJournal, 0o600))
		},
	}
	for _, state := range []string{"finished", "half-finished"} {
		for name, hurt := range damage {
			t.Run(state+"/"+name, func(t *testing.T) {
				var dir string
				if state == "finished" {
					dir = finished(t)
				} else {
					dir = halfFinished(t)
				}
				before, _ := LoadState(dir)
				hurt(t, dir)
				x := &fakeExec{fail: map[string]int{}}
				err := runWith(t, dir, x, SessionOptions{})
				var lost *LostJournalError
				if !errors.As(err, &lost) {
					t.Fatalf("err = %v, want a LostJournalError", err)
				}
				if len(x.ran) != 0 || x.checks != 0 {
					t.Fatalf("the executor was used before the refusal: ran %v, %d checks", x.ran, x.checks)
				}
				msg := err.Error()
				for _, want := range []string{MigrationIDFile, JournalPrevFile, "--start-over", "cp -p"} {
					if !strings.Contains(msg, want) {
						t.Errorf("the refusal does not name %q:\n%s", want, msg)
					}
				}
				if name == "replaced" && !strings.Contains(msg, "not of migration "+before.Migration) {
					t.Errorf("the refusal does not say whose journal it is:\n%s", msg)
				}

				// Restoring ferry's copy: the migration goes on where it was;
				// nothing that ran runs again.
				b, err := os.ReadFile(filepath.Join(dir, JournalPrevFile))
				must(t, err)
				must(t, os.WriteFile(filepath.Join(dir, JournalFile), b, 0o600))
				restored := &fakeExec{fail: map[string]int{}}
				if err := runWith(t, dir, restored, SessionOptions{}); err != nil {
					t.Fatalf("after restoring %s: %v", JournalPrevFile, err)
				}
				for _, id := range restored.ran {
					if before.Status(id) == StatusOK && id != "hot" || id == "stop" {
						t.Errorf("step %s ran again after the journal was restored (was %s)", id, before.Status(id))
					}
				}
				after, _ := LoadState(dir)
				if after.Migration != before.Migration || !after.Finished {
					t.Errorf("after restoring: migration %q (was %q), finished %v", after.Migration, before.Migration, after.Finished)
				}

				// --start-over: a new migration, from the first step.
				hurt(t, dir)
				fresh := &fakeExec{fail: map[string]int{}}
				if err := runWith(t, dir, fresh, SessionOptions{StartOver: true}); err != nil {
					t.Fatalf("--start-over: %v", err)
				}
				if len(fresh.ran) == 0 || fresh.ran[0] != "check-a" {
					t.Errorf("--start-over ran %v, want it to begin at check-a", fresh.ran)
				}
				st, _ := LoadState(dir)
				if st.Migration == "" || st.Migration == before.Migration {
					t.Errorf("--start-over kept migration id %q", st.Migration)
				}
				aside, _ := filepath.Glob(filepath.Join(dir, "superseded-*", MigrationIDFile))
				if len(aside) != 1 {
					t.Errorf("the earlier migration id was not moved aside: %v", aside)
				}
			})
		}
	}
}

// TestHostEvidenceAloneStopsAFreshStateDir: a state directory that is gone
// entirely while the new server still holds the parked queue is refused;
// ferry's backups of /etc/hosts alone are not enough.
func TestHostEvidenceAloneStopsAFreshStateDir(t *testing.T) {
	x := &fakeExec{fail: map[string]int{}}
	weak := []Evidence{{What: "2 backup(s) of /etc/hosts made by ferry"}}
	if err := runWith(t, t.TempDir(), x, SessionOptions{HostEvidence: weak}); err != nil {
		t.Fatalf("weak evidence alone stopped a fresh run: %v", err)
	}
	x = &fakeExec{fail: map[string]int{}}
	strong := append(weak, Evidence{What: "/q/old on new: the old server's queue, parked there", Decisive: true})
	err := runWith(t, t.TempDir(), x, SessionOptions{HostEvidence: strong})
	var lost *LostJournalError
	if !errors.As(err, &lost) || !strings.Contains(err.Error(), "/q/old on new") || !strings.Contains(err.Error(), "is missing") {
		t.Fatalf("err = %v, want a LostJournalError naming the parked queue", err)
	}
	if len(x.ran) != 0 {
		t.Fatalf("steps ran: %v", x.ran)
	}
}

// TestFailedFirstOpenIsNotEvidence: a first run that stops before its
// first event (bad answers file, say) leaves a lock and an empty journal;
// the next run must not take that for a lost migration.
func TestFailedFirstOpenIsNotEvidence(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireLock(dir)
	must(t, err)
	l.Release()
	must(t, os.WriteFile(filepath.Join(dir, JournalFile), nil, 0o600))
	if err := runWith(t, dir, &fakeExec{fail: map[string]int{}}, SessionOptions{}); err != nil {
		t.Fatalf("a lock and an empty journal stopped the run: %v", err)
	}
}

func TestJournalHeaderAndMigrationID(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	must(t, err)
	must(t, j.EnsureHeader("test", "abc"))
	_, err = j.Append(Event{Type: EvRunStarted, Runbook: "test", Hash: "abc"})
	must(t, err)
	must(t, j.Close())
	b, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	first, _, _ := strings.Cut(string(b), "\n")
	id, _ := ReadMigrationID(dir)
	if !strings.HasPrefix(first, `{"ferry_journal":1,"migration":"`+id+`","runbook":"test","hash":"abc"`) || id == "" {
		t.Fatalf("first line %q, migration id %q", first, id)
	}
	prev, _ := os.ReadFile(filepath.Join(dir, JournalPrevFile))
	if !bytes.Equal(prev, b) {
		t.Errorf("%s differs from the journal after Close", JournalPrevFile)
	}
	sc, err := InspectJournal(dir)
	if err != nil || sc.Header == nil || sc.Header.Migration != id || len(sc.Events) != 1 {
		t.Fatalf("inspect: %v %+v", err, sc)
	}
}

// TestJournalWithoutHeaderGetsOne: a journal written before headers is
// read, and given a header (and an id file) on its next opening.
func TestJournalWithoutHeaderGetsOne(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, JournalFile), []byte(
		`{"seq":1,"time":"2026-01-01T00:00:00Z","type":"run_started","runbook":"test","hash":"h"}`+"\n"+
			`{"seq":2,"time":"2026-01-01T00:00:01Z","type":"warning","message":"x"}`+"\n"), 0o600))
	j, past, _, err := OpenJournal(dir)
	must(t, err)
	if len(past) != 2 || j.Header() == nil || j.Header().Runbook != "test" {
		t.Fatalf("events %d, header %+v", len(past), j.Header())
	}
	_, err = j.Append(Event{Type: EvWarning, Message: "y"})
	must(t, err)
	j.Close()
	sc, err := InspectJournal(dir)
	must(t, err)
	id, _ := ReadMigrationID(dir)
	if sc.Header == nil || sc.Header.Migration != id || len(sc.Events) != 3 || sc.Events[2].Seq != 3 {
		t.Fatalf("after the upgrade: %+v (id %q)", sc, id)
	}
}

// TestJournalIsStrict: unknown statuses and event types, a header in the
// middle, a newer format and sequence numbers going back are errors naming
// the line.
func TestJournalIsStrict(t *testing.T) {
	const hdr = `{"ferry_journal":1,"migration":"m1","created":"2026-01-01T00:00:00Z"}` + "\n"
	cases := map[string]struct{ text, line, words string }{
		"unknown status": {hdr + `{"seq":1,"type":"run_started"}` + "\n" + `{"seq":2,"type":"step_finished","step":"x","status":"done"}` + "\n", ":3", `unknown status "done"`},
		"unknown type":   {hdr + `{"seq":1,"type":"run_started"}` + "\n" + `{"seq":2,"type":"step_exploded"}` + "\n", ":3", `unknown event type "step_exploded"`},
		"no type":        {hdr + `{"seq":1}` + "\n", ":2", "without a type"},
		"seq back":       {hdr + `{"seq":2,"type":"warning"}` + "\n" + `{"seq":2,"type":"warning"}` + "\n", ":3", "sequence number 2 after 2"},
		"two headers":    {hdr + `{"seq":1,"type":"warning"}` + "\n" + hdr, ":3", "header in the middle"},
		"newer format":   {`{"ferry_journal":9,"migration":"m"}` + "\n", ":1", "format 9"},
		"unknown last":   {hdr + `{"seq":1,"type":"warning"}` + "\n" + `{"seq":2,"type":"bogus"}`, ":3", `unknown event type "bogus"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := ScanJournal(strings.NewReader(c.text), "j")
			if err == nil || !strings.Contains(err.Error(), "j"+c.line+":") || !strings.Contains(err.Error(), c.words) {
				t.Fatalf("err = %v, want one naming line %s and %q", err, c.line, c.words)
			}
		})
	}
}

// TestJournalKeepsAWholeLastEventWithoutNewline: the event is kept in
// memory and on disk, and the next append starts a line of its own.
func TestJournalKeepsAWholeLastEventWithoutNewline(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	must(t, err)
	j.Append(Event{Type: EvRunStarted, Runbook: "x", Hash: "h"})
	j.Append(Event{Type: EvStepStarted, Step: "a"})
	j.Append(Event{Type: EvStepFinished, Step: "a", Status: StatusOK})
	j.Close()
	path := filepath.Join(dir, JournalFile)
	b, _ := os.ReadFile(path)
	must(t, os.WriteFile(path, bytes.TrimSuffix(b, []byte("\n")), 0o600))

	st, err := LoadState(dir)
	if err != nil || st.Status("a") != StatusOK || st.Torn != 0 {
		t.Fatalf("read: %v, a=%s, torn %d", err, st.Status("a"), st.Torn)
	}
	j, past, torn, err := OpenJournal(dir)
	if err != nil || len(past) != 3 || torn != 0 {
		t.Fatalf("open: %v, %d events, torn %d", err, len(past), torn)
	}
	_, err = j.Append(Event{Type: EvWarning, Message: "after"})
	must(t, err)
	j.Close()
	evs, torn, err := ReadJournal(dir)
	if err != nil || torn != 0 || len(evs) != 4 || evs[2].Status != StatusOK || evs[3].Seq != 4 {
		t.Fatalf("after the next append: %v torn=%d %+v", err, torn, evs)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestDamagedJournalPointsAtTheCopy: an unknown status in the middle of a
// journal stops the session with a *JournalError naming the line, and the
// error offers ferry's copy, which reads.
func TestDamagedJournalPointsAtTheCopy(t *testing.T) {
	dir := finished(t)
	path := filepath.Join(dir, JournalFile)
	b, err := os.ReadFile(path)
	must(t, err)
	lines := strings.SplitAfter(string(b), "\n")
	at := 4
	for strings.Contains(lines[at], `"status"`) {
		at++
	}
	lines[at] = strings.Replace(lines[at], `"type":"`, `"status":"exploded","type":"`, 1)
	must(t, os.WriteFile(path, []byte(strings.Join(lines, "")), 0o600))
	x := &fakeExec{fail: map[string]int{}}
	err = runWith(t, dir, x, SessionOptions{})
	var je *JournalError
	if !errors.As(err, &je) || je.Line != at+1 || !strings.Contains(err.Error(), `unknown status "exploded"`) {
		t.Fatalf("err = %v, want a JournalError at line %d", err, at+1)
	}
	if je.Prev == "" || !strings.Contains(err.Error(), "cp -p "+filepath.Join(dir, JournalPrevFile)) {
		t.Errorf("the error does not offer the copy: %v", err)
	}
	if len(x.ran) != 0 {
		t.Errorf("steps ran: %v", x.ran)
	}
	if _, err := LoadState(dir); !errors.As(err, &je) {
		t.Errorf("LoadState: %v", err)
	}
}

// TestJournalDeletedUnderARunningFerry: the copy is made through the open
// file, so a journal deleted while ferry runs neither stops the run nor
// loses a line: journal.prev holds every event.
func TestJournalDeletedUnderARunningFerry(t *testing.T) {
	dir := t.TempDir()
	j, _, _, err := OpenJournal(dir)
	must(t, err)
	must(t, j.EnsureHeader("test", "h"))
	_, err = j.Append(Event{Type: EvRunStarted, Runbook: "test", Hash: "h"})
	must(t, err)
	must(t, os.Remove(filepath.Join(dir, JournalFile)))
	for _, ev := range []Event{{Type: EvStepStarted, Step: "a"}, {Type: EvStepFinished, Step: "a", Status: StatusOK}} {
		if _, err := j.Append(ev); err != nil {
			t.Fatalf("append after the journal was deleted: %v", err)
		}
	}
	must(t, j.Close())
	f, err := os.Open(filepath.Join(dir, JournalPrevFile))
	must(t, err)
	defer f.Close()
	sc, err := ScanJournal(f, JournalPrevFile)
	if err != nil || sc.Header == nil || len(sc.Events) != 3 || sc.Events[2].Status != StatusOK {
		t.Fatalf("the copy: %v %+v", err, sc)
	}
}

// TestHostEvidenceKnowsFerrysOwnHostsLine: on a new server (a local root),
// the oldserver line ferry added with its comment is decisive by itself and
// names the migration; the same line without the comment and without
// ferry's backups is not; the parked queue is.
func TestHostEvidenceKnowsFerrysOwnHostsLine(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	must(t, err)
	root := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(root, "etc"), 0o755))
	h, err := remote.NewLocal(HostNew, root)
	must(t, err)
	put := func(hosts string) {
		must(t, os.WriteFile(filepath.Join(root, "etc/hosts"), []byte("127.0.0.1 localhost\n"+hosts), 0o644))
	}
	decisive := func() (bool, string) {
		var all []string
		d := false
		for _, e := range HostEvidence(context.Background(), h, rb) {
			d = d || e.Decisive
			all = append(all, e.What)
		}
		return d, strings.Join(all, "; ")
	}
	put("192.0.2.7 oldserver\n")
	if d, what := decisive(); d {
		t.Errorf("a hand-written oldserver line is decisive: %s", what)
	}
	put("192.0.2.7 oldserver # " + HostsNote("20261130-abc") + "\n")
	if d, what := decisive(); !d || !strings.Contains(what, "line 2") || !strings.Contains(what, "migration 20261130-abc") {
		t.Errorf("ferry's own line: decisive %v, %s", d, what)
	}
	put("")
	must(t, os.MkdirAll(filepath.Join(root, "var/hvmail/qmail-disk/queue/old"), 0o755))
	if d, what := decisive(); !d || !strings.Contains(what, "parked") {
		t.Errorf("the parked queue: decisive %v, %s", d, what)
	}
}
