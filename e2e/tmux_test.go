package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// tmuxSession is the real ferry binary in a real terminal.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

func startTmux(t *testing.T, width, height int, command string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("SKIPPED: tmux is not installed, so the terminal UI cannot be driven (apt-get install tmux)")
	}
	s := &tmuxSession{t: t, socket: fmt.Sprintf("ferry-e2e-%d", os.Getpid()), name: "ferry"}
	s.tmux("new-session", "-d", "-s", s.name, "-x", fmt.Sprint(width), "-y", fmt.Sprint(height), command)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

// typeWord reads the confirmation word a destructive step asks for.
var typeWord = regexp.MustCompile(`Type (\S+) and press enter`)

// answerDemo answers what the GreenArrow demo's screen scr asks at step
// the way its admin would (the demo's own answers), through act (which
// sends keys once per key name); it reports whether it did.
func answerDemo(scr, step string, act func(key string, k ...string)) bool {
	switch {
	case typeWord.MatchString(scr):
		act(step+"confirm", typeWord.FindStringSubmatch(scr)[1], "Enter")
	case strings.Contains(scr, "then press d"):
		act(step+"done", "d", "y")
	case strings.Contains(scr, "continue (c)"):
		act(step+"repeat", "c")
	case strings.Contains(scr, "Backup directory on the old server"):
		act(step+"backup", "/root/greenarrow-backup", "Enter")
	case strings.Contains(scr, "public resolvers ("):
		act(step+"resolvers", "Down", "Enter")
	case strings.Contains(scr, "E-mail address for the test message"):
		act(step+"mail", "postmaster@example.net", "Enter")
	case strings.Contains(scr, "Are IP addresses"):
		act(step+"ip", "Enter")
	case strings.Contains(scr, "Keep a spare sshd"):
		// The simulated new server has no sshd of its own to spare.
		act(step+"lifeline", "no", "Enter")
	default:
		return false
	}
	return true
}

// killRunnerAtEnd makes sure the detached runner of the migration in
// stateDir (which outlives the terminal on purpose) does not outlive the
// test.
func killRunnerAtEnd(t *testing.T, stateDir string) {
	t.Cleanup(func() {
		if pid, held := wizard.LockHeld(stateDir); held && pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %v: %v: %s", args, err, out)
	}
	return string(out)
}

func (s *tmuxSession) screen() string { return s.tmux("capture-pane", "-p", "-t", s.name) }

func (s *tmuxSession) keys(k ...string) { s.tmux(append([]string{"send-keys", "-t", s.name}, k...)...) }

var (
	stepHeader = regexp.MustCompile(`step (\d+)/(\d+)`)
	mergeLine  = regexp.MustCompile(`([\d,]+) remaining · ([\d,]+) of ([\d,]+) merged`)
)

// TestDemoInTmux plays the whole GreenArrow demo as a person would, at
// 100x30: reading the screen, answering, confirming with the typed word,
// and watching the queue counter move.
func TestDemoInTmux(t *testing.T) {
	dir := t.TempDir()
	exitFile := filepath.Join(dir, "exit")
	s := startTmux(t, 100, 30, fmt.Sprintf("%s demo greenarrow --dir %s --messages 1500; echo $? > %s; sleep 300", ferryBin, filepath.Join(dir, "demo"), exitFile))
	killRunnerAtEnd(t, filepath.Join(dir, "demo", "state"))

	// The word names the server the step acts on (the old one's name, or
	// the new one's): read from the screen, and both kinds seen.
	words := map[string]bool{}
	acted := map[string]time.Time{}
	// act sends keys once per step and kind of prompt (the screen may not
	// have caught up yet when it is read again).
	act := func(key string, k ...string) {
		if at, ok := acted[key]; ok && time.Since(at) < 4*time.Second {
			return
		}
		acted[key] = time.Now()
		s.keys(k...)
	}
	merged := map[string]bool{}
	sawDowntime := false
	// The backup directory is first answered wrong: the step fails, r
	// retries, the question comes back pre-filled and is corrected.
	const wrongBackup, rightBackup = "/root/backup", "/root/greenarrow-backup"
	backupAnswers := 0
	deadline := time.Now().Add(5 * time.Minute)
	var scr string
	for time.Now().Before(deadline) {
		time.Sleep(300 * time.Millisecond)
		scr = s.screen()
		step := "?"
		if m := stepHeader.FindStringSubmatch(scr); m != nil {
			step = m[1]
		}
		if m := mergeLine.FindStringSubmatch(scr); m != nil {
			merged[m[2]] = true
		}
		if strings.Contains(scr, "⏱ downtime") {
			sawDowntime = true
		}
		switch {
		case strings.Contains(scr, "The migration is done"):
			s.keys("q")
			for i := 0; i < 50; i++ {
				if b, err := os.ReadFile(exitFile); err == nil {
					if code := strings.TrimSpace(string(b)); code != "0" {
						t.Fatalf("ferry demo exited %s; last screen:\n%s", code, scr)
					}
					if len(merged) < 3 {
						t.Errorf("the queue counter was seen at %d value(s) only: %v", len(merged), merged)
					}
					if !sawDowntime {
						t.Error("the downtime clock never showed")
					}
					if !words["mail-old.example.net"] || !words["mail-new.example.net"] {
						t.Errorf("confirmation words typed %v: want the old server's name and the new one's", words)
					}
					checkMigrated(t, filepath.Join(dir, "demo"))
					// The demo made DIR itself: 0755, so that a postgres
					// OS user (the BlueMind pair's) gets through it.
					if fi, err := os.Stat(filepath.Join(dir, "demo")); err != nil {
						t.Error(err)
					} else if fi.Mode().Perm() != 0o755 {
						t.Errorf("the demo directory it made has mode %v, want 0755", fi.Mode().Perm())
					}
					if backupAnswers != 2 {
						t.Errorf("the backup directory was answered %d time(s), want 2 (wrong, then corrected)", backupAnswers)
					}
					// The report shows the correction, with who and when.
					out, errb, code := ferry(t, "report", "--state-dir", filepath.Join(dir, "demo", "state"))
					if code != 0 {
						t.Fatalf("ferry report exited %d: %s", code, errb)
					}
					change := regexp.MustCompile(`\| \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \| [^|]*backup-files-present[^|]* \| (\w[^|]*) \| ` + "`backup_dir`" + ` \| ` +
						regexp.QuoteMeta(rightBackup) + ` \(after a failure: backup_dir changed from "` + regexp.QuoteMeta(wrongBackup) + `" to "` + regexp.QuoteMeta(rightBackup) + `"\) \|`)
					if m := change.FindStringSubmatch(string(out)); m == nil || strings.TrimSpace(m[1]) == "admin" {
						t.Errorf("the report does not show the corrected backup directory with who and when:\n%s", out)
					}
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Fatalf("ferry did not exit after the last key; screen:\n%s", s.screen())
		case typeWord.MatchString(scr):
			word := typeWord.FindStringSubmatch(scr)[1]
			words[word] = true
			act(step+"confirm", word, "Enter")
		case strings.Contains(scr, "Backup directory on the old server"):
			if _, ok := acted[step+"backup"]; !ok {
				backupAnswers++
				act(step+"backup", wrongBackup, "Enter")
			} else if _, ok := acted[step+"retry"]; ok {
				if _, ok := acted[step+"backup-fixed"]; !ok {
					backupAnswers++
				}
				// The field holds the answer that failed: clear it first.
				act(step+"backup-fixed", "C-u", rightBackup, "Enter")
			}
		case strings.Contains(scr, "r: retry") && backupAnswers == 1:
			act(step+"retry", "r")
		case answerDemo(scr, step, act):
		case strings.Contains(scr, "retry") && strings.Contains(scr, "failed"):
			t.Fatalf("a step failed in the demo:\n%s", scr)
		}
	}
	t.Fatalf("the demo did not finish in time; last screen:\n%s", scr)
}
