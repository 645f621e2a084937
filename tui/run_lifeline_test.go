package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// The lifeline question says what can cut the access above its form; the
// spare sshd is shown while it runs and no longer once it is stopped.
func TestRunShowsTheLifeline(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 40, preflightDone()...)
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "dns", Need: wizard.NeedAnswers, Time: runAt(time.Minute),
		Questions: []wizard.Question{wizard.LifelineQuestion()},
		Message:   "Rewriting /etc/resolv.conf can cut your SSH access to this server: ferry can keep a spare sshd on another port until the step ends"})
	scr := runScreen(m)
	if !strings.Contains(scr, "can cut your SSH access") || !strings.Contains(scr, "Keep a spare sshd") {
		t.Fatalf("the lifeline question does not say why it is asked:\n%s", scr)
	}
	up := "spare sshd on port 2222 until this step ends (pid 4242, it answers SSH-2.0-OpenSSH_9.2p1): if your session drops, log in again with ssh -p 2222"
	start := runAt(50 * time.Second)
	feed(m,
		wizard.Event{Type: wizard.EvAnswered, Step: "dns", Answers: map[string]string{wizard.LifelineKey: "2222"}, Time: start},
		wizard.Event{Type: wizard.EvLifelineUp, Step: "dns", Message: up, Time: start},
		wizard.Event{Type: wizard.EvStepStarted, Step: "dns", Pass: 1, Time: start})
	scr = runScreen(m)
	if !strings.Contains(scr, "Lifeline: spare sshd on port 2222 until this step ends") {
		t.Fatalf("the running spare sshd is not shown while the step runs:\n%s", scr)
	}
	feed(m,
		wizard.Event{Type: wizard.EvStepFinished, Step: "dns", Status: wizard.StatusOK, Time: runT0},
		wizard.Event{Type: wizard.EvLifelineDown, Step: "dns", Message: "spare sshd on port 2222 stopped (logins made through it stay open)", Time: runT0})
	if scr = runScreen(m); strings.Contains(scr, "Lifeline:") {
		t.Errorf("the spare sshd is still shown after it was stopped:\n%s", scr)
	}
}
