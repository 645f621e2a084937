package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

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
