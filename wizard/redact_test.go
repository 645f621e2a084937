package wizard

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
