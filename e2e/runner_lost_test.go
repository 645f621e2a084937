package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestRunnerKilledStatusAndReport kills only the runner (kill -9 of its
// pid, read from the state directory) of a headless demo while it merges
// the queue, then reads ferry status and ferry report as an admin would:
// status says the runner (that pid) is gone without finishing, the step
// under way with its outcome unknown, and the command that resumes; the
// report says the run did not finish. The same command then resumes the
// migration to its end, and the run history records how run 1 ended.
func TestRunnerKilledStatusAndReport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	state := filepath.Join(dir, "state")
	r := startDemo(t, dir, "SIM_MERGE_DELAY=0.01")
	r.until("the queue merge's progress", func(ev wizard.Event) bool {
		return ev.Step == "merge-queue" && ev.Type == wizard.EvProgress && ev.Progress != nil &&
			ev.Progress.Unit == "messages" && ev.Progress.Done > 0 && ev.Progress.Done < ev.Progress.Total
	})
	pid := runnerPID(t, state)
	if pid == r.cmd.Process.Pid {
		t.Fatalf("the runner's pid %d is the client's", pid)
	}
	killRunner(t, pid)
	// The client follows the runner: it ends once the runner is gone.
	for r.events.Scan() {
	}
	_ = r.cmd.Wait()
	if s := r.stderr.String(); !strings.Contains(s, fmt.Sprintf("the runner (pid %d) ended without a word", pid)) || !strings.Contains(s, "ferry demo greenarrow --headless --dir "+dir) {
		t.Errorf("the client whose runner was killed says:\n%s", s)
	}

	out, errb, code := ferry(t, "status", "--state-dir", state)
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errb)
	}
	status := string(out)
	for _, want := range []string{
		fmt.Sprintf("runner     gone: the runner (pid %d) ended without finishing", pid),
		"its last word was at ",
		"merge-queue — ",
		"was under way when the runner died; its outcome is unknown",
		"resume     ferry demo greenarrow --headless --dir " + dir,
	} {
		if !strings.Contains(status, want) {
			t.Errorf("status after the kill lacks %q:\n%s", want, status)
		}
	}
	for _, bad := range []string{"runner     none", "waits for"} {
		if strings.Contains(status, bad) {
			t.Errorf("status after the kill says %q:\n%s", bad, status)
		}
	}
	// attach finds no runner, and says why and what resumes.
	_, errb, _ = ferry(t, "attach", "--state-dir", state)
	if s := string(errb); !strings.Contains(s, fmt.Sprintf("run 1 ended without finishing: its runner (pid %d) died", pid)) ||
		!strings.Contains(s, "ferry demo greenarrow --headless --dir "+dir) {
		t.Errorf("attach after the kill says:\n%s", s)
	}
	out, errb, code = ferry(t, "report", "--state-dir", state)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errb)
	}
	if rep := string(out); !strings.Contains(rep, fmt.Sprintf("run 1 ended without finishing: its runner (pid %d) died without a word", pid)) ||
		!strings.Contains(rep, "merge-queue was under way") {
		t.Errorf("the report after the kill does not say the run was lost:\n%s", rep)
	}
	// The merge the killed step had started is in the report's commands,
	// journaled as it started.
	started := mergeRows(string(out))
	if len(started) != 1 || !strings.Contains(started[0], "unknown: started, and its run ended before it was recorded") {
		t.Errorf("the report after the kill lists the merge as %q, want one row started with its exit unknown", started)
	}

	out, errb, code = ferryEnv(t, []string{noMergeDelay}, "demo", "greenarrow", "--headless", "--dir", dir, "--messages", fmt.Sprint(killMessages))
	if code != 0 {
		t.Fatalf("the run after the kill ended with exit %d\nstderr:\n%s\nlast output:\n%s", code, errb, tailText(string(out), 2000))
	}
	checkMigrated(t, dir)
	out, _, _ = ferry(t, "status", "--state-dir", state)
	if status := string(out); !strings.Contains(status, "runner     none: the migration is finished") || strings.Contains(status, "gone") {
		t.Errorf("status after the resume:\n%s", status)
	}
	out, _, _ = ferry(t, "report", "--state-dir", state)
	rep := string(out)
	if !strings.Contains(rep, "run ended unfinished: its runner died") || !strings.Contains(rep, fmt.Sprintf("run 1 ended without finishing: its runner (pid %d) died", pid)) {
		t.Errorf("the run history after the resume does not record the lost run:\n%s", rep)
	}
	// The killed run's merge, exit unknown, stays; the resumed run's, when
	// there was still something to merge (the killed runner's merge
	// program may have merged it all), is there once, with its exit.
	rows := mergeRows(rep)
	if len(rows) == 0 || len(rows) > 2 || !strings.Contains(rows[0], "unknown: started") ||
		(len(rows) == 2 && !strings.HasSuffix(strings.TrimSpace(rows[1]), "| 0 |")) {
		t.Errorf("the report after the resume lists the merge as %q, want the killed run's (exit unknown), then at most the resumed run's (exit 0)", rows)
	}
}

// mergeRows are the rows of a markdown report's command table that ran
// the queue merge.
func mergeRows(report string) []string {
	var out []string
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Contains(line, "(merge-queue)") && strings.Contains(line, "hvmail_queue_merge") {
			out = append(out, line)
		}
	}
	return out
}

// tailText is the last n bytes of s.
func tailText(s string, n int) string {
	return s[max(0, len(s)-n):]
}

// TestRunnerKilledTheScreenSaysSo: the run screen in tmux, waiting for the
// admin's first answer, loses its runner to kill -9 of its pid. The screen
// heads "The runner stopped unexpectedly" (not a failure), no step waits
// for the admin any more, and it names the command that resumes; status
// says nobody waits and names the question that was open.
func TestRunnerKilledTheScreenSaysSo(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo")
	state := filepath.Join(demo, "state")
	s := startTmux(t, 100, 30, fmt.Sprintf("%s demo greenarrow --dir %s; sleep 300", ferryBin, demo))
	killRunnerAtEnd(t, state)
	scr := s.waitScreen("the first question", func(scr string) bool { return strings.Contains(scr, "? waiting for you") })
	pid := runnerPID(t, state)
	killRunner(t, pid)
	scr = s.waitScreen("the screen's closing words", func(scr string) bool { return strings.Contains(scr, "Press any key to leave") })
	// The words wrap beside the step list: each piece is on one line.
	for _, want := range []string{"The runner stopped unexpectedly", fmt.Sprintf("The runner (pid %d) ended without a word", pid), "Run ferry demo greenarrow --dir", demo} {
		if !strings.Contains(scr, want) {
			t.Errorf("the screen lacks %q:\n%s", want, scr)
		}
	}
	// The resume command's directory: on its line, or wrapped to the next.
	lines := strings.Split(scr, "\n")
	for i, l := range lines {
		if strings.Contains(l, "Run ferry demo greenarrow --dir") && !strings.Contains(l, demo) && (i+1 == len(lines) || !strings.Contains(lines[i+1], demo)) {
			t.Errorf("the resume command lacks the demo's directory %s:\n%s", demo, scr)
		}
	}
	for _, bad := range []string{"failure", "? waiting for you"} {
		if strings.Contains(scr, bad) {
			t.Errorf("the screen says %q:\n%s", bad, scr)
		}
	}
	out, _, _ := ferry(t, "status", "--state-dir", state)
	if st := string(out); !strings.Contains(st, "waiting    nobody: ") || !strings.Contains(st, "when the runner died; the next start asks again") ||
		!strings.Contains(st, fmt.Sprintf("runner     gone: the runner (pid %d)", pid)) {
		t.Errorf("status after the kill:\n%s", st)
	}
}

// waitScreen polls the screen until ok accepts it (at most a minute) and
// returns it; it fails the test with the last screen otherwise.
func (s *tmuxSession) waitScreen(what string, ok func(string) bool) string {
	s.t.Helper()
	var scr string
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if scr = s.screen(); ok(scr) {
			return scr
		}
	}
	s.t.Fatalf("no %s on the screen in a minute; last screen:\n%s", what, scr)
	return scr
}
