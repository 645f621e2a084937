package wizard

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

var updatePlain = flag.Bool("update-plain", false, "rewrite testdata/plain.golden from the plain printer's output")

// plainEvents is a run of testRunbook as the plain printer may meet it,
// at fixed times: every kind of event, program text with escape sequences
// and control characters, a step printing more output than the head
// keeps, and progress more often than the printer writes it.
func plainEvents() []Event {
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	zero, one := 0, 1
	evs := []Event{
		{Time: at(0), Type: EvRunStarted, Runbook: "test", Message: "A test procedure"},
		{Time: at(0), Type: EvFact, Facts: map[string]string{"old_addr": "192.0.2.10"}, Message: "from the command line"},
		{Time: at(0), Type: EvFact, Facts: map[string]string{"profile_env": strings.Repeat("PATH=/x:", 20)}},
		{Time: at(1), Type: EvStepStarted, Step: "check-a", Pass: 1, Message: "A check"},
		{Time: at(1), Type: EvCommand, Step: "check-a", Host: "new", Command: "id -u", Exit: &zero},
		{Time: at(1), Type: EvOutput, Step: "check-a", Stream: "stdout", Message: "\x1b[1;31mred\x1b[0m and \x1b]0;title\x07bold\x07 text\r"},
		{Time: at(1.23), Type: EvStepFinished, Step: "check-a", Status: StatusOK, Message: "running as root", Duration: 230 * time.Millisecond},
		{Time: at(2), Type: EvWaiting, Step: "ask-b", Need: NeedAnswers, Questions: []Question{{Key: "port", Prompt: "SSH port", Type: "port"}}},
		{Time: at(2), Type: EvAnswered, Step: "ask-b", Actor: "answers file a.json (root)", Answers: map[string]string{"port": "22"}},
		{Time: at(2), Type: EvStepStarted, Step: "ask-b", Pass: 1, Message: "Asks a port"},
		{Time: at(2), Type: EvStepFinished, Step: "ask-b", Status: StatusOK},
		{Time: at(3), Type: EvStepStarted, Step: "hot", Pass: 2, Message: "Hot pass"},
		{Time: at(3), Type: EvOutput, Step: "hot", Stream: "info", Message: "parked queue: 150 messages"},
	}
	for i := 1; i <= PlainOutputHead+PlainOutputTail+5; i++ {
		stream := "stdout"
		if i%10 == 0 {
			stream = "stderr"
		}
		evs = append(evs, Event{Time: at(3 + float64(i)/10), Type: EvOutput, Step: "hot", Stream: stream, Message: fmt.Sprintf("file %d", i)})
	}
	for _, s := range []float64{4, 8, 8.5, 13, 14} {
		evs = append(evs, Event{Time: at(s), Type: EvProgress, Step: "hot", Progress: &tasks.Progress{
			Unit: "bytes", Done: int64(s * 1e8), Total: 2e9, FilesDone: int64(s * 100), FilesTotal: 2000, Rate: 1e8, ETA: 7 * time.Second}})
	}
	evs = append(evs,
		Event{Time: at(15), Type: EvStepFinished, Step: "hot", Status: StatusOK, Message: "copied", Duration: 12 * time.Second,
			Counters: &tasks.Progress{Unit: "bytes", Done: 2e9, Total: 2e9, FilesDone: 2000, FilesTotal: 2000}},
		Event{Time: at(16), Type: EvWaiting, Step: "stop", Need: NeedConfirm, Word: "old1", Message: `Stop the service, on the old server: type "old1" to go ahead`},
		Event{Time: at(16), Type: EvConfirmed, Step: "stop", Actor: "answers file a.json (root)", Message: "allowed by the answers file's confirm list (the word was old1)"},
		Event{Time: at(16), Type: EvDowntimeStart, Step: "stop", Message: "downtime begins"},
		Event{Time: at(16), Type: EvStepStarted, Step: "stop", Pass: 1, Message: "Stop the service"},
		Event{Time: at(17), Type: EvCommand, Step: "stop", Host: "old", Command: "service x stop", Exit: &one},
		Event{Time: at(17), Type: EvOutput, Step: "stop", Stream: "stderr", Message: "x: \x1b[33mnot running\x1b[m"},
		Event{Time: at(17), Type: EvProgress, Step: "stop", Progress: &tasks.Progress{Unit: "messages", Done: 97, Total: 150, Remaining: 53, Rate: 4.25}},
		Event{Time: at(22), Type: EvProgress, Step: "stop", Progress: &tasks.Progress{Unit: "messages", Done: 140, Total: 150, Remaining: 10, Rate: 42}},
		Event{Time: at(23), Type: EvWarning, Step: "stop", Message: "the service was not running"},
		Event{Time: at(24), Type: EvStepFinished, Step: "stop", Status: StatusFailed, Message: "service x stop: exit 1", Duration: 8 * time.Second},
		Event{Time: at(25), Type: EvSkipped, Step: "manual", Message: "done before ferry ran", Actor: "answers file a.json (root)"},
		Event{Time: at(26), Type: EvOverridden, Step: "start", Actor: "root", Message: "tested by hand"},
		Event{Time: at(26), Type: EvStepStarted, Step: "start", Pass: 1, Message: "Start on new"},
		Event{Time: at(27), Type: EvStepFinished, Step: "start", Status: StatusOK, Duration: 61 * time.Second},
		Event{Time: at(27), Type: EvDowntimeEnd, Step: "start", Message: "downtime ends"},
		Event{Time: at(28), Type: EvRunFinished, Status: StatusOK, Message: "every step is done"},
	)
	return evs
}

// TestPlainPrinterGolden: the plain printer's output for a fixed run is
// the golden file (rewrite it with -update-plain after a change meant),
// holds no escape byte or other control character, and keeps what the
// head and tail of a long output promise.
func TestPlainPrinterGolden(t *testing.T) {
	var out bytes.Buffer
	print := PlainPrinter(&out, mustParse(t, testRunbook))
	for _, ev := range plainEvents() {
		print(ev)
	}
	got := out.Bytes()
	golden := filepath.Join("testdata", "plain.golden")
	if *updatePlain {
		must(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("plain output differs from %s (run with -update-plain if the change is meant):\n%s", golden, got)
	}
	for i, b := range got {
		if (b < 0x20 && b != '\n') || b == 0x7f {
			t.Fatalf("control byte %#x at %d in:\n%s", b, i, got)
		}
	}
	text := string(got)
	for _, want := range []string{
		"09:00:01 [1/6] check-a:   out| red and bold text\n", // escapes stripped, text kept
		"file 1\n", "file 40\n", // the head
		"... 5 output lines left out (the first 40 are above, the last 10 follow)",
		"file 46\n", "file 55\n", // the tail
		"[3/6] hot: started on the new server: Hot pass (pass 2)",
		"[4/6] stop: FAILED in 8s: service x stop: exit 1",
		"DOWNTIME ENDS after 11s",
		"learnt profile_env=" + strings.Repeat("PATH=/x:", 15) + "...\n", // a long fact cut
		"run finished: done: every step is done",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
	for _, never := range []string{"file 41\n", "file 45\n"} {
		if strings.Contains(text, never) {
			t.Errorf("%q is past the head and before the tail, yet written:\n%s", never, text)
		}
	}
	// Progress: at most one line per PlainProgressEvery of the events'
	// clock, counted from the step's start (3 s): 8 s and 13 s are written,
	// 4 s, 8.5 s and 14 s are not.
	if n := strings.Count(text, "hot: so far: "); n != 2 {
		t.Errorf("%d counter lines for hot, want 2:\n%s", n, text)
	}
}

// TestPlainUnattendedStopsNamingTheKey: a run with the plain printer and
// no answer for a question ends with a NeedsHumanError (exit 3) whose
// message names the step and the key to put under "answers"; the output
// shows the step waiting, in plain lines, not JSON.
func TestPlainUnattendedStopsNamingTheKey(t *testing.T) {
	rb := mustParse(t, testRunbook)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: t.TempDir(), Exec: &fakeExec{fail: map[string]int{}}})
	must(t, err)
	defer s.Close()
	var out bytes.Buffer
	err = RunUnattended(context.Background(), s, nil, PlainPrinter(&out, rb))
	var nh *NeedsHumanError
	if !errors.As(err, &nh) || !errors.Is(err, ErrNeedsHuman) {
		t.Fatalf("err = %v, want a NeedsHumanError", err)
	}
	msg := err.Error()
	for _, want := range []string{"step ask-b", `put "answers": {"port": "..."} in an answers file`, "port: a TCP port number", "--answers FILE"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
	text := out.String()
	if !strings.Contains(text, "[2/6] ask-b: waits for answers to its questions: port (SSH port)") || strings.Contains(text, "{") {
		t.Errorf("plain output:\n%s", text)
	}
}

// TestPlainUnattendedMasksSecrets: the plain printer gets the events as
// RunUnattended masks them for JSON: a secret line is replaced by a note
// and a secret answer is masked in an ordinary line and in the failure.
func TestPlainUnattendedMasksSecrets(t *testing.T) {
	src := strings.Replace(testRunbook, `      - key: port
        prompt: SSH port
        type: port`, `      - key: port
        prompt: SSH port
        type: port
      - key: db_password
        prompt: database password
        type: secret`, 1)
	rb := mustParse(t, src)
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: t.TempDir(), Exec: &leakyExec{fakeExec{fail: map[string]int{}}}})
	must(t, err)
	defer s.Close()
	var out bytes.Buffer
	err = RunUnattended(context.Background(), s, &AnswerSet{Answers: map[string]string{"port": "22", "db_password": "s3cr3t-pw!\"<>"}}, PlainPrinter(&out, rb))
	if err == nil {
		t.Fatal("the run did not fail")
	}
	text := out.String()
	for _, secret := range []string{"repo-key-0123456789", "s3cr3t-pw"} {
		if strings.Contains(text, secret) || strings.Contains(err.Error(), secret) {
			t.Errorf("%q shown:\n%s\nerror: %v", secret, text, err)
		}
	}
	for _, want := range []string{"check-a:   secret| (a secret line, shown on ferry's own screen only, never in this output)",
		"hot:   err| connecting with password (secret) and key (secret)", "hot: FAILED"} {
		if !strings.Contains(text, want) {
			t.Errorf("no %q in:\n%s", want, text)
		}
	}
}

// TestAnswersFileFieldNamesTheField: for every need an answers file can
// settle, the words name the file's field and the step (or the key).
func TestAnswersFileFieldNamesTheField(t *testing.T) {
	for _, c := range []struct {
		ev   Event
		set  *AnswerSet
		want string
	}{
		{Event{Step: "ip", Need: NeedAnswers, Questions: []Question{{Key: "a", Prompt: "A?", Type: "yesno"}, {Key: "b", Prompt: "B?", Type: "text"}}},
			&AnswerSet{Answers: map[string]string{"a": "yes"}}, `put "answers": {"b": "..."} in an answers file (b: a non-empty text)`},
		{Event{Step: "ip", Need: NeedAnswers, Questions: []Question{{Key: "m", Prompt: "Mode?", Type: "choice", Choices: []string{"x", "y"}}}},
			nil, `"answers": {"m": "..."} in an answers file (m: one of x, y)`},
		{Event{Step: "stop", Need: NeedConfirm, Word: "old1"}, nil, `put "confirm": ["stop"] in an answers file (or add "stop" to its "confirm" list)`},
		{Event{Step: "sync", Need: NeedConfirm, Word: DeletionsWord(5200)}, nil, `put "confirm_deletions": {"sync": 5200} in an answers file`},
		{Event{Step: "move", Need: NeedManual, Word: "old1"}, nil, `"done": ["move"]`},
		{Event{Step: "move", Need: NeedManual, Word: "old1"}, nil, `"move" in its "confirm" list`},
		{Event{Step: "merge", Need: NeedResume}, nil, `"rerun_interrupted": ["merge"]`},
		{Event{Need: NeedChanged}, nil, `put "continue_changed_runbook": true in an answers file`},
		{Event{Step: "ssh", Need: NeedTrust, Message: "offers the ssh-ed25519 host key SHA256:AbC+/9=, which is not"}, nil, `put "trust_host_key": "SHA256:AbC+/9=" in an answers file`},
		{Event{Step: "disarm", Need: NeedGate}, nil, `put "override": {"disarm": "the reason"} in an answers file`},
	} {
		if got := AnswersFileField(c.ev, c.set); !strings.Contains(got, c.want) {
			t.Errorf("%s %s: %q, want it to hold %q", c.ev.Need, c.ev.Step, got, c.want)
		}
	}
	for _, need := range []string{NeedRepeat, NeedFailure} {
		if got := AnswersFileField(Event{Step: "x", Need: need}, nil); got != "" {
			t.Errorf("%s: %q, want nothing (an unattended run decides it)", need, got)
		}
	}
	if got := AnswersFileField(Event{Step: "x", Need: NeedAnswers, Questions: []Question{{Key: "a"}}, Answers: map[string]string{"a": "1"}}, nil); got != "" {
		t.Errorf("a question whose answer is in use: %q, want nothing", got)
	}
}

// The learnt line tells what ferry found about the servers: no empty value,
// none of the ssh plumbing built from them; a fact event with nothing else
// prints no line.
func TestPlainLearntLeavesThePlumbingOut(t *testing.T) {
	var out bytes.Buffer
	print := PlainPrinter(&out, mustParse(t, testRunbook))
	print(Event{Type: EvFact, Step: "check-a", Facts: map[string]string{"old_name": "mail-old.example.net", "old_host": "",
		"old_ssh_legacy": "", FactOldSSHCommand: "ssh -F /dev/null -p 22 -o UserKnownHostsFile=/x", FactOldDestination: "root@192.0.2.10"}})
	print(Event{Type: EvFact, Step: "check-a", Facts: map[string]string{"old_ssh_legacy": "", FactMergeParkedAtStart + "merge": "3000"}})
	got := out.String()
	if !strings.Contains(got, "learnt old_name=mail-old.example.net\n") || strings.Count(got, "learnt") != 1 {
		t.Errorf("plain facts:\n%s\nwant one line, learnt old_name=mail-old.example.net alone", got)
	}
}
