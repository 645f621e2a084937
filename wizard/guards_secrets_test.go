package wizard_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/report"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestSecretAnswersReachNoFile: a run whose login step asks a secret twice
// (a refused password, then the right one), the answers file saved the
// way ferry run saves it (from the journal, and from an answers file that
// carried the password), and both reports: no file of the state directory
// holds either password, while the answers file keeps the other answers.
func TestSecretAnswersReachNoFile(t *testing.T) {
	const wrong, right = "Wr0ng-pass-5y7Q", "R1ght-pass-9kXe"
	rb, err := wizard.Parse("test.yaml", []byte(downtimeRunbook))
	if err != nil {
		t.Fatal(err)
	}
	secret := wizard.SecretKeys(rb)
	if len(secret) != 1 || !secret["pw"] {
		t.Fatalf("secret keys %v, want pw alone", secret)
	}
	dir := t.TempDir()
	j, past, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	ex := &loginExec{right: right}
	asked := 0
	var e *wizard.Engine
	e = wizard.NewEngine(rb, j, past, ex, func(ev wizard.Event) {
		if ev.Type != wizard.EvWaiting {
			return
		}
		d := wizard.Decision{Step: ev.Step, Action: wizard.ActQuit}
		switch ev.Need {
		case wizard.NeedAnswers:
			asked++
			pw := wrong
			if asked > 1 {
				pw = right
			}
			d.Action, d.Answer = wizard.ActAnswer, map[string]string{"pw": pw}
		case wizard.NeedFailure:
			d.Action = wizard.ActRetry
		case wizard.NeedManual:
			d.Action = wizard.ActDone
		}
		e.Decide(d)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if ex.logins != 2 || asked != 2 {
		t.Fatalf("%d logins after %d questions: the passwords were not both used, the test proves nothing", ex.logins, asked)
	}
	st, err := wizard.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	set := wizard.AnswerSetFromState(st, rb)
	// An answers file given with --answers carries the password too.
	set.Answers["pw"] = right
	set.Answers["port"] = "2222"
	if err := set.Save(dir, secret); err != nil {
		t.Fatal(err)
	}
	for _, f := range report.Formats() {
		var b bytes.Buffer
		if err := report.Write(&b, st, rb, f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "report."+f), b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := wizard.ReadAnswerSet(filepath.Join(dir, wizard.AnswersFile))
	if err != nil || saved.Answers["port"] != "2222" {
		t.Fatalf("the saved answers file lost the other answers: %v %+v", err, saved)
	}
	files := 0
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		for _, pw := range []string{wrong, right} {
			if i := bytes.Index(b, []byte(pw)); i >= 0 {
				t.Errorf("%s holds the password %q at byte %d", filepath.Base(p), pw, i)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d files to scan: the journal, its copy, the answers file and the reports should all be there", files)
	}
}

// loginExec passes every step; the login step passes only with the right
// password and counts the attempts.
type loginExec struct {
	passExec
	mu     sync.Mutex
	right  string
	logins int
}

func (l *loginExec) Run(ctx context.Context, s *wizard.Step, env *wizard.StepEnv) (wizard.Outcome, error) {
	if s.ID == "login" {
		l.mu.Lock()
		l.logins++
		l.mu.Unlock()
		if pw := env.Secrets["pw"]; pw != l.right {
			// A tool that echoes what it was given: the engine masks it.
			env.Report.Line("stderr", "login with "+pw+" refused")
			return wizard.Outcome{Message: "login refused", Warnings: []string{"tried " + pw}}, fmt.Errorf("password %s refused", pw)
		}
	}
	return wizard.Outcome{Message: "fine"}, nil
}
