package wizard

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/tasks"
)

// leakyExec prints a secret line and an ordinary line holding a secret
// answer, then fails with the answer in its error: the headless output and
// the returned error must hold neither secret.
type leakyExec struct{ fakeExec }

func (l *leakyExec) Prepare(ctx context.Context, s *Step, env *StepEnv) (map[string]string, error) {
	if s.ID == "check-a" {
		env.Report.Line(StreamSecret, "repo-key-0123456789")
	}
	return nil, nil
}

func (l *leakyExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	if s.ID == "hot" {
		pw := env.Secrets["db_password"]
		env.Report.Line("stderr", "connecting with password "+pw+" and key repo-key-0123456789")
		return Outcome{}, errors.New("login refused for password " + pw)
	}
	return l.fakeExec.Run(ctx, s, env)
}

func TestHeadlessOutputHoldsNoSecret(t *testing.T) {
	src := strings.Replace(testRunbook, `      - key: port
        prompt: SSH port
        type: port`, `      - key: port
        prompt: SSH port
        type: port
      - key: db_password
        prompt: database password
        type: secret`, 1)
	rb := mustParse(t, src)
	dir := t.TempDir()
	s, err := OpenSession(SessionOptions{Runbook: rb, StateDir: dir, Exec: &leakyExec{fakeExec{fail: map[string]int{}}}})
	must(t, err)
	defer s.Close()
	var out bytes.Buffer
	err = RunHeadless(context.Background(), s, &AnswerSet{Answers: map[string]string{"port": "22", "db_password": "s3cr3t-pw!\"<>"}}, &out)
	if err == nil {
		t.Fatal("the run did not fail")
	}
	for _, secret := range []string{"repo-key-0123456789", "s3cr3t-pw", `s3cr3t-pw!\"\u003c\u003e`} {
		if strings.Contains(out.String(), secret) {
			t.Errorf("stdout holds %q:\n%s", secret, out.String())
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error holds %q: %v", secret, err)
		}
	}
	journal, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	answers := AnswerSetFromState(s.Engine.State(), rb)
	for _, secret := range []string{"repo-key-0123456789", "s3cr3t-pw"} {
		if strings.Contains(string(journal), secret) {
			t.Errorf("the journal holds %q", secret)
		}
		for k, v := range answers.Answers {
			if strings.Contains(v, secret) {
				t.Errorf("the answers rebuilt from the journal hold %q under %s", secret, k)
			}
		}
	}
	if !strings.Contains(string(journal), "login refused for password (secret)") {
		t.Errorf("the failure is not journaled, masked:\n%s", journal)
	}
	if !strings.Contains(out.String(), `"stream":"secret"`) || !strings.Contains(out.String(), "connecting with password (secret) and key (secret)") {
		t.Errorf("the masked lines are not there:\n%s", out.String())
	}
}

func TestRedactorJSONAndText(t *testing.T) {
	var r Redactor
	r.Add("  ab ")     // too short: not masked
	r.Add("tab\there") // JSON escapes the tab
	r.Add("key-123456")
	if got := r.String("x key-123456 ab y"); got != "x (secret) ab y" {
		t.Errorf("String: %q", got)
	}
	if got := string(r.JSON([]byte(`{"m":"a tab\there and key-123456"}`))); got != `{"m":"a (secret) and (secret)"}` {
		t.Errorf("JSON: %q", got)
	}
}

// TestRedactorEventMasksEveryField: Event masks a secret wherever the
// event holds it (a question's default, a fact, a counter's note, the
// command), and hands an event holding none back unchanged.
func TestRedactorEventMasksEveryField(t *testing.T) {
	var r Redactor
	r.Add("pw-7Hq2\"x")
	ev := Event{Seq: 7, Type: EvWaiting, Step: "login", Command: "psql pw-7Hq2\"x",
		Questions: []Question{{Key: "pw", Prompt: "Password", Default: "pw-7Hq2\"x"}},
		Facts:     map[string]string{"dsn": "user=bj password=pw-7Hq2\"x"},
		Progress:  &tasks.Progress{Unit: "rows", Done: 3, Note: "as pw-7Hq2\"x"}}
	got := r.Event(ev)
	if got.Seq != 7 || got.Type != EvWaiting || got.Step != "login" || got.Progress == nil || got.Progress.Done != 3 {
		t.Fatalf("the event lost its fields: %+v", got)
	}
	for _, s := range []string{got.Command, got.Questions[0].Default, got.Facts["dsn"], got.Progress.Note} {
		if strings.Contains(s, "pw-7Hq2") || !strings.Contains(s, "(secret)") {
			t.Errorf("not masked: %q", s)
		}
	}
	plain := Event{Seq: 8, Type: EvOutput, Message: "nothing secret"}
	if got := r.Event(plain); got.Message != plain.Message || got.Seq != 8 {
		t.Errorf("an event with no secret came back as %+v", got)
	}
}
