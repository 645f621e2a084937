package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// t0 is when the test migrations begin.
var t0 = time.Date(2026, 8, 24, 1, 0, 0, 0, time.UTC)

func at(min, sec int) time.Time {
	return t0.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
}

func exit(n int) *int { return &n }

// testRunbook is a small runbook shaped like the GreenArrow one.
func testRunbook() *wizard.Runbook {
	return &wizard.Runbook{
		ID:    "greenarrow",
		Title: "GreenArrow Engine server migration",
		Hash:  "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a",
		Phases: []wizard.Phase{
			{ID: "preflight", Title: "Preflight"},
			{ID: "hot", Title: "Hot sync"},
			{ID: "cutover", Title: "Cutover"},
			{ID: "final", Title: "Final test"},
		},
		Steps: []wizard.Step{
			{ID: "ssh-old", Phase: "preflight", Title: "SSH to the old server", Level: wizard.LevelCheck},
			{ID: "same-platform", Phase: "preflight", Title: "Same platform on both", Level: wizard.LevelCheck},
			{ID: "db-password", Phase: "preflight", Title: "Database password", Level: wizard.LevelAsk},
			{ID: "hot-sync", Phase: "hot", Title: "Migration script, hot pass", Level: wizard.LevelAuto, Repeatable: true, SafeToRerun: true},
			{ID: "stop-old", Phase: "cutover", Title: "Stop GreenArrow on old", Level: wizard.LevelAuto, Destructive: true, Downtime: wizard.DowntimeStart},
			{ID: "final-sync", Phase: "cutover", Title: "Migration script, final pass", Level: wizard.LevelAuto},
			{ID: "move-ips", Phase: "cutover", Title: "Move IP addresses", Level: wizard.LevelManual},
			{ID: "merge-queue", Phase: "cutover", Title: "Merge disk queue", Level: wizard.LevelAuto},
			{ID: "restore", Phase: "cutover", Title: "Restore databases", Level: wizard.LevelAuto},
			{ID: "start-new", Phase: "cutover", Title: "Start GreenArrow on new", Level: wizard.LevelAuto, Downtime: wizard.DowntimeEnd},
			{ID: "tell-vendor", Phase: "final", Title: "Tell the vendor", Level: wizard.LevelManual},
			{ID: "send-test", Phase: "final", Title: "Send a test message", Level: wizard.LevelAsk},
		},
	}
}

// fullJournal is a whole migration, from the first check to the end.
func fullJournal() []wizard.Event {
	hash := testRunbook().Hash
	return []wizard.Event{
		{Time: at(0, 0), Type: wizard.EvRunStarted, Runbook: "greenarrow", Hash: hash},
		{Time: at(0, 1), Type: wizard.EvWaiting, Step: "ssh-old", Need: wizard.NeedAnswers, Questions: []wizard.Question{{Key: "old_addr", Prompt: "Address of the old server", Type: "ip"}}},
		{Time: at(0, 20), Type: wizard.EvAnswered, Step: "ssh-old", Answers: map[string]string{"old_addr": "192.0.2.10"}, Actor: "root@new.example.net"},
		{Time: at(0, 21), Type: wizard.EvStepStarted, Step: "ssh-old", Pass: 1},
		{Time: at(0, 22), Type: wizard.EvFact, Step: "ssh-old", Facts: map[string]string{"old_name": "old.example.net", "old_addr": "192.0.2.10"}},
		{Time: at(0, 22), Type: wizard.EvStepFinished, Step: "ssh-old", Status: wizard.StatusOK, Message: "connected to old.example.net as root, port 22; host key verified", Duration: 1500 * time.Millisecond},
		{Time: at(0, 23), Type: wizard.EvStepStarted, Step: "same-platform", Pass: 1},
		{Time: at(0, 24), Type: wizard.EvCommand, Step: "same-platform", Host: "old.example.net", Command: "uname -m", Exit: exit(0)},
		{Time: at(0, 24), Type: wizard.EvFact, Step: "same-platform", Facts: map[string]string{"old_platform": "CentOS 7 (rhel) x86_64", "new_platform": "Rocky Linux 9 (rhel) x86_64", "old_family": "rhel", "new_family": "rhel"}},
		{Time: at(0, 24), Type: wizard.EvStepFinished, Step: "same-platform", Status: wizard.StatusOK, Message: "both rhel, x86_64", Duration: 800 * time.Millisecond},
		{Time: at(0, 30), Type: wizard.EvAnswered, Step: "db-password", Answers: map[string]string{"db_password": "(secret, not recorded)"}, Actor: "root@new.example.net"},
		{Time: at(0, 31), Type: wizard.EvStepStarted, Step: "db-password", Pass: 1},
		{Time: at(0, 31), Type: wizard.EvStepFinished, Step: "db-password", Status: wizard.StatusOK, Message: "password kept in memory only", Duration: 2 * time.Millisecond},
		// Three hot passes, each shorter than the one before.
		{Time: at(1, 0), Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1},
		{Time: at(1, 1), Type: wizard.EvCommand, Step: "hot-sync", Host: "new.example.net", Command: "hvmail_server_migration --no-exit-on-error", Exit: exit(0)},
		{Time: at(13, 0), Type: wizard.EvStepFinished, Step: "hot-sync", Status: wizard.StatusOK, Message: "first pass done", Duration: 12 * time.Minute, Counters: &tasks.Progress{Unit: "bytes", Done: 5_368_709_120, Total: 5_368_709_120, FilesDone: 120_000, FilesTotal: 120_000}},
		{Time: at(13, 0), Type: wizard.EvWaiting, Step: "hot-sync", Need: wizard.NeedRepeat, Message: "passes: #1 12m0s; the next pass should take about 12m0s"},
		{Time: at(13, 30), Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 2},
		{Time: at(13, 31), Type: wizard.EvCommand, Step: "hot-sync", Host: "new.example.net", Command: "hvmail_server_migration --no-exit-on-error", Exit: exit(0)},
		{Time: at(17, 30), Type: wizard.EvStepFinished, Step: "hot-sync", Status: wizard.StatusOK, Message: "second pass done", Duration: 4 * time.Minute, Counters: &tasks.Progress{Unit: "bytes", Done: 734_003_200, Total: 734_003_200, FilesDone: 9_000, FilesTotal: 9_000}},
		{Time: at(17, 30), Type: wizard.EvWaiting, Step: "hot-sync", Need: wizard.NeedRepeat},
		{Time: at(18, 0), Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 3},
		{Time: at(18, 1), Type: wizard.EvCommand, Step: "hot-sync", Host: "new.example.net", Command: "hvmail_server_migration --no-exit-on-error", Exit: exit(0)},
		{Time: at(19, 0), Type: wizard.EvStepFinished, Step: "hot-sync", Status: wizard.StatusOK, Message: "third pass done", Duration: time.Minute, Counters: &tasks.Progress{Unit: "bytes", Done: 52_428_800, Total: 52_428_800, FilesDone: 700, FilesTotal: 700}},
		{Time: at(19, 0), Type: wizard.EvWaiting, Step: "hot-sync", Need: wizard.NeedRepeat},
		{Time: at(19, 10), Type: wizard.EvStepFinished, Step: "hot-sync", Status: wizard.StatusOK, Message: "3 pass(es); going on", Duration: time.Minute},
		// The cutover: a typed confirmation opens the downtime window.
		{Time: at(20, 0), Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "old.example.net"},
		{Time: at(20, 40), Type: wizard.EvConfirmed, Step: "stop-old", Actor: "root@new.example.net", Message: "typed old.example.net"},
		{Time: at(20, 41), Type: wizard.EvDowntimeStart, Step: "stop-old", Message: "downtime begins"},
		{Time: at(20, 41), Type: wizard.EvStepStarted, Step: "stop-old", Pass: 1},
		{Time: at(20, 45), Type: wizard.EvCommand, Step: "stop-old", Host: "old.example.net", Command: "service greenarrow stop", Exit: exit(0)},
		{Time: at(20, 46), Type: wizard.EvCommand, Step: "stop-old", Host: "old.example.net", Command: "chkconfig greenarrow off", Exit: exit(0)},
		{Time: at(20, 46), Type: wizard.EvStepFinished, Step: "stop-old", Status: wizard.StatusOK, Message: "GreenArrow stopped and disabled on old.example.net", Duration: 5 * time.Second},
		// The final pass fails once, then goes through.
		{Time: at(20, 50), Type: wizard.EvStepStarted, Step: "final-sync", Pass: 1},
		{Time: at(21, 10), Type: wizard.EvCommand, Step: "final-sync", Host: "new.example.net", Command: "hvmail_server_migration --no-exit-on-error", Exit: exit(12)},
		{Time: at(21, 10), Type: wizard.EvStepFinished, Step: "final-sync", Status: wizard.StatusFailed, Message: "rsync: connection unexpectedly closed (exit 12)", Duration: 20 * time.Second},
		{Time: at(21, 10), Type: wizard.EvWaiting, Step: "final-sync", Need: wizard.NeedFailure},
		{Time: at(21, 30), Type: wizard.EvStepStarted, Step: "final-sync", Pass: 1},
		{Time: at(22, 30), Type: wizard.EvCommand, Step: "final-sync", Host: "new.example.net", Command: "hvmail_server_migration --no-exit-on-error", Exit: exit(0)},
		{Time: at(22, 30), Type: wizard.EvWarning, Step: "final-sync", Message: "rsync exit 24: some files vanished during the transfer"},
		{Time: at(22, 30), Type: wizard.EvStepFinished, Step: "final-sync", Status: wizard.StatusOK, Message: "No errors were detected.", Duration: time.Minute, Counters: &tasks.Progress{Unit: "bytes", Done: 10_485_760, Total: 10_485_760, FilesDone: 150, FilesTotal: 150}},
		{Time: at(22, 31), Type: wizard.EvWaiting, Step: "move-ips", Need: wizard.NeedManual},
		{Time: at(22, 50), Type: wizard.EvSkipped, Step: "move-ips", Actor: "root@new.example.net", Message: "the IP addresses stay where they are | DNS moves instead"},
		{Time: at(23, 0), Type: wizard.EvStepStarted, Step: "merge-queue", Pass: 1},
		{Time: at(23, 1), Type: wizard.EvCommand, Step: "merge-queue", Host: "new.example.net", Command: "sh -c 'ls /var/hvmail/queue/old | wc -l > /tmp/n && echo <script>alert(1)</script>'", Exit: exit(0)},
		{Time: at(25, 0), Type: wizard.EvStepFinished, Step: "merge-queue", Status: wizard.StatusOK, Message: "4,210 messages merged", Duration: 2 * time.Minute, Counters: &tasks.Progress{Unit: "messages", Done: 4210, Total: 4210}},
		{Time: at(25, 5), Type: wizard.EvStepStarted, Step: "restore", Pass: 1},
		{Time: at(25, 6), Type: wizard.EvCommand, Step: "restore", Host: "new.example.net", Command: "pg_restore --jobs 4 -d bj /var/migrate/bj.dump", Exit: exit(0)},
		{Time: at(26, 5), Type: wizard.EvStepFinished, Step: "restore", Status: wizard.StatusOK, Message: "restored bj", Duration: time.Minute, Counters: &tasks.Progress{Unit: "items", Done: 312, Total: 312, Note: "restored bj"}},
		{Time: at(26, 10), Type: wizard.EvStepStarted, Step: "start-new", Pass: 1},
		{Time: at(26, 20), Type: wizard.EvCommand, Step: "start-new", Host: "new.example.net", Command: "service greenarrow start", Exit: exit(0)},
		{Time: at(26, 21), Type: wizard.EvStepFinished, Step: "start-new", Status: wizard.StatusOK, Message: "GreenArrow runs on new.example.net", Duration: 11 * time.Second},
		{Time: at(26, 21), Type: wizard.EvDowntimeEnd, Step: "start-new", Message: "downtime ends"},
		{Time: at(27, 0), Type: wizard.EvWaiting, Step: "tell-vendor", Need: wizard.NeedManual},
		{Time: at(40, 0), Type: wizard.EvStepFinished, Step: "tell-vendor", Status: wizard.StatusOK, Message: "done by hand, confirmed by root@new.example.net", Actor: "root@new.example.net"},
		// A step an older runbook had: it is only in the journal.
		{Time: at(40, 1), Type: wizard.EvSkipped, Step: "legacy-cleanup", Actor: "ferry", Message: "does not apply here"},
		{Time: at(40, 2), Type: wizard.EvSkipped, Step: "send-test", Actor: "ferry", Message: "does not apply here"},
		{Time: at(40, 2), Type: wizard.EvOverridden, Step: "tell-vendor", Actor: "alice from 198.51.100.7", Message: "tested by hand with swaks (went past: Send a test message (skipped))"},
		{Time: at(40, 3), Type: wizard.EvRunFinished, Status: wizard.StatusOK, Message: "all steps done"},
	}
}

// writeJournal writes events through the real journal into a new state
// directory and returns it.
func writeJournal(t *testing.T, events []wizard.Event) string {
	t.Helper()
	dir := t.TempDir()
	j, past, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(past) != 0 {
		t.Fatalf("a new state directory holds %d events", len(past))
	}
	for _, ev := range events {
		if _, err := j.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tear appends half an event to the journal, as a crash mid-write leaves it.
func tear(t *testing.T, dir string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, wizard.JournalFile), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"seq":99,"time":"2026-08-24T01:40:04Z","type":"warn`); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, events []wizard.Event, torn bool) *wizard.State {
	t.Helper()
	dir := writeJournal(t, events)
	if torn {
		tear(t, dir)
	}
	st, err := wizard.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func render(t *testing.T, st *wizard.State, rb *wizard.Runbook, format string) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, st, rb, format); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func mustContain(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("the report lacks %q", w)
		}
	}
}

func TestMarkdownFullMigration(t *testing.T) {
	st := load(t, fullJournal(), true)
	out := render(t, st, testRunbook(), "markdown")

	mustContain(t, out,
		// Header.
		"# Migration report: GreenArrow Engine server migration",
		"(`greenarrow`)", "`3f1c2a9b8d7e`",
		"| Began | 2026-08-24 01:00:00 UTC |",
		"| Last changed | 2026-08-24 01:40:03 UTC |",
		"**yes, but not every step passed: 1 skip by a person and 1 gate overridden (see Skipped steps and Gates overridden)**",
		"| Old server | old.example.net (192.0.2.10), CentOS 7 (rhel) x86_64 |",
		"Rocky Linux 9 (rhel) x86_64",
		// Downtime window: 01:20:41 to 01:26:21.
		"> **Downtime lasted 5m40s, from 2026-08-24 01:20:41 UTC to 2026-08-24 01:26:21 UTC.**",
		"| Start | 2026-08-24 01:20:41 UTC (Stop GreenArrow on old (stop-old)) |",
		"| End | 2026-08-24 01:26:21 UTC (Start GreenArrow on new (start-new)) |",
		"| Duration | **5m40s** |",
		"| 6. Migration script, final pass (final-sync) | 20s (failed) |",
		// Confirmation with actor and time.
		"| 2026-08-24 01:20:40 UTC | Stop GreenArrow on old (stop-old) | root@new.example.net | typed old.example.net |",
		// The skip reason, its pipe escaped.
		"| 2026-08-24 01:22:50 UTC | Move IP addresses (move-ips) | root@new.example.net | the IP addresses stay where they are \\| DNS moves instead |",
		// The masked secret, exactly as journalled.
		"| `db_password` | (secret, not recorded) |",
		"| `old_addr` | 192.0.2.10 |",
		// Manual step confirmed.
		"| 2026-08-24 01:40:00 UTC | Tell the vendor (tell-vendor) | root@new.example.net | done by hand, confirmed by root@new.example.net |",
		// Pass durations and the prediction.
		"3: 12m0s, 4m0s, 1m0s; next ≈ 15s",
		"Prediction for the next pass: 15s.",
		"| 2 | 2026-08-24 01:13:30 UTC | 2026-08-24 01:17:30 UTC | 4m0s | ok | 700 MiB (734,003,200 bytes); 9,000 files |",
		// A retried step.
		"1m20s in 2 runs",
		// Counters by unit.
		"| Migration script, hot pass (hot-sync) | bytes | 50 MiB (52,428,800 bytes); 700 files |",
		"| Merge disk queue (merge-queue) | messages | 4,210 messages merged |",
		"| Restore databases (restore) | items | 312 items restored (restored bj) |",
		// Warnings, the torn line among them.
		"- final-sync: rsync exit 24: some files vanished during the transfer",
		"the journal's last line was torn",
		// Commands with host and exit status.
		"| 2026-08-24 01:21:10 UTC | Migration script, final pass (final-sync) | new.example.net | `hvmail_server_migration --no-exit-on-error` | **12** |",
		"| 2026-08-24 01:20:45 UTC | Stop GreenArrow on old (stop-old) | old.example.net | `service greenarrow stop` | 0 |",
		"`sh -c 'ls /var/hvmail/queue/old \\| wc -l > /tmp/n && echo <script>alert(1)</script>'`",
		// Totals: every pass's bytes, files and messages.
		"| Elapsed | 40m3s |",
		"| Bytes moved (every pass) | 5.7 GiB (6,165,626,880 bytes) |",
		"| Files transferred | 129,850 |",
		"| Messages merged | 4,210 |",
		// The journal-only step comes after the runbook's.
		"(not in the runbook; found in the journal)",
	)
	// Every command of the journal is listed, with its host and exit status.
	for _, ev := range st.Events {
		if ev.Type != wizard.EvCommand {
			continue
		}
		cmd := strings.ReplaceAll(ev.Command, "|", `\|`)
		found := false
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "`"+cmd+"`") && strings.Contains(line, "| "+ev.Host+" |") && strings.Contains(line, stamp(ev.Time)) {
				found = true
			}
		}
		if !found {
			t.Errorf("command %q on %s at %s is missing", ev.Command, ev.Host, stamp(ev.Time))
		}
	}
	// Runbook steps come in runbook order, journal-only ids after them.
	order := []string{"`ssh-old`", "`hot-sync`", "`stop-old`", "`start-new`", "`send-test`", "`legacy-cleanup`"}
	last := -1
	timeline := out[strings.Index(out, "## Timeline"):]
	for _, id := range order {
		i := strings.Index(timeline, id)
		if i <= last {
			t.Errorf("%s is out of order in the timeline", id)
		}
		last = i
	}
	golden.RequireEqual(t, out)
}

func TestHTMLEscapesAndStandsAlone(t *testing.T) {
	st := load(t, fullJournal(), false)
	out := render(t, st, testRunbook(), "html")
	mustContain(t, out,
		"<!DOCTYPE html>", "<style>",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		"wc -l &gt; /tmp/n &amp;&amp; echo",
		"Downtime lasted 5m40s",
		`class="downtime closed"`,
		"root@new.example.net",
		"(secret, not recorded)",
		`<td class="exit-bad">12</td>`,
	)
	if strings.Contains(out, "<script") {
		t.Error("the page holds a script element")
	}
	for _, bad := range []string{"src=", "href=", "<link", "@import", "url("} {
		if strings.Contains(out, bad) {
			t.Errorf("the page refers to an outside asset (%q)", bad)
		}
	}
	if strings.Count(out, "<table") != strings.Count(out, "</table>") {
		t.Error("tables are not closed")
	}
}

// unfinishedJournal stops in the middle of the cutover: downtime open, the
// final pass cut off by a crash.
func unfinishedJournal() []wizard.Event {
	ev := fullJournal()
	var out []wizard.Event
	for _, e := range ev {
		if e.Type == wizard.EvStepStarted && e.Step == "final-sync" {
			out = append(out, e)
			break
		}
		out = append(out, e)
	}
	out = append(out, wizard.Event{Time: at(21, 5), Type: wizard.EvCommand, Step: "final-sync", Host: "new.example.net", Command: "hvmail_server_migration --no-exit-on-error", Exit: exit(137)})
	return out
}

func TestUnfinishedMigration(t *testing.T) {
	st := load(t, unfinishedJournal(), false)
	defer func(f func() time.Time) { reportTime = f }(reportTime)
	reportTime = func() time.Time { return at(21, 5).Add(3 * time.Minute) }
	if st.Finished {
		t.Fatal("the test journal should not be finished")
	}
	out := render(t, st, testRunbook(), "markdown")
	mustContain(t, out,
		"Downtime began 2026-08-24 01:20:41 UTC and is still open: 3m24s so far, by this report's time (2026-08-24 01:24:05 UTC).",
		"| End | **still open** |",
		"3m24s so far (still open at this report's time, 2026-08-24 01:24:05 UTC)",
		"! interrupted",
		"| cut off |  | its runner died while this step ran (killed or crashed): its outcome is unknown |",
		// No end in the journal and no ferry holds it: a lost run.
		"no: run 1 ended without finishing: its runner died without a word (killed, crashed, or the server went down), or a ferry older than this one stopped it; its last event was at 2026-08-24 01:21:05 UTC, while final-sync was under way; it stands at Migration script, final pass (final-sync), interrupted",
		"| Elapsed | 21m5s so far (to the journal's last entry) |",
		"· pending",
		"**137**",
	)
	if strings.Contains(out, "Downtime lasted") {
		t.Error("an open window is reported as closed")
	}
	html := render(t, st, testRunbook(), "html")
	mustContain(t, html, `class="downtime open"`, "<strong>still open</strong>")
}

// TestReportDuringARun: while the ferry that holds the state directory runs
// a step, the report says that step, its pass and its command are running
// (not cut off, not interrupted, no unknown exit), and gives the open
// downtime and the elapsed time one figure each, by the clock.
func TestReportDuringARun(t *testing.T) {
	evs := unfinishedJournal()
	// The final pass's command has started, with no exit yet.
	evs[len(evs)-1].Exit, evs[len(evs)-1].Status = nil, wizard.StatusRunning
	st := load(t, evs, false)
	st.MarkLive(4242)
	defer func(f func() time.Time) { reportTime = f }(reportTime)
	reportTime = func() time.Time { return at(21, 5).Add(3 * time.Minute) }
	out := render(t, st, testRunbook(), "markdown")
	mustContain(t, out,
		"no: under way, ferry (pid 4242) is running it now; it stands at Migration script, final pass (final-sync), running",
		"Downtime began 2026-08-24 01:20:41 UTC and is still open: 3m24s so far, by this report's time (2026-08-24 01:24:05 UTC).",
		"| 6. Migration script, final pass (final-sync) | running for 3m15s |",
		"▶ running",
		"running for 3m15s |  | running now, in ferry (pid 4242); its live counters show in ferry attach |",
		"| none yet: running |",
		"| Elapsed | 24m5s so far |",
	)
	for _, bad := range []string{"cut off", "at least", "interrupted", "unknown: started", "By this report's time"} {
		if strings.Contains(out, bad) {
			t.Errorf("a report during a run says %q:\n%s", bad, out)
		}
	}
}

func TestNoRunbookUsesStepIDs(t *testing.T) {
	st := load(t, fullJournal(), false)
	out := render(t, st, nil, "")
	mustContain(t, out,
		"# Migration report: runbook greenarrow (not loaded)",
		"| 2026-08-24 01:20:40 UTC | stop-old | root@new.example.net | typed old.example.net |",
	)
	if strings.Contains(out, "Stop GreenArrow on old") || strings.Contains(out, "found in the journal") {
		t.Error("without a runbook the report invents titles or journal-only marks")
	}
	// Steps come in the order the journal first mentions them.
	if strings.Index(out, "`ssh-old`") > strings.Index(out, "`legacy-cleanup`") {
		t.Error("journal order is not kept without a runbook")
	}
}

func TestChangedRunbookHashIsNoted(t *testing.T) {
	st := load(t, fullJournal(), false)
	rb := testRunbook()
	rb.Hash = "0000111122223333444455556666777788889999aaaabbbbccccddddeeeeffff"
	out := render(t, st, rb, "markdown")
	mustContain(t, out, "`3f1c2a9b8d7e` (the runbook loaded now has hash 000011112222: it changed since the journal recorded it)")
}

func TestUnknownFormat(t *testing.T) {
	st := load(t, fullJournal(), false)
	err := Write(&bytes.Buffer{}, st, nil, "pdf")
	if err == nil || !strings.Contains(err.Error(), `"pdf"`) {
		t.Fatalf("an unknown format gave %v, want an error naming it", err)
	}
	if got := strings.Join(Formats(), ","); got != "markdown,html" {
		t.Errorf("Formats() = %s", got)
	}
	if err := Write(&bytes.Buffer{}, nil, nil, "markdown"); err == nil {
		t.Error("a nil state gave no error")
	}
}

func TestMarkdownCellEscaping(t *testing.T) {
	events := []wizard.Event{
		{Time: at(0, 0), Type: wizard.EvRunStarted, Runbook: "x", Hash: "abc"},
		{Time: at(0, 1), Type: wizard.EvStepStarted, Step: "s1", Pass: 1},
		{Time: at(0, 2), Type: wizard.EvCommand, Step: "s1", Host: "new", Command: "printf '%s\\n' a|b `x`\necho two", Exit: exit(0)},
		{Time: at(0, 3), Type: wizard.EvStepFinished, Step: "s1", Status: wizard.StatusFailed, Message: "line one | still one\nline two <b>bold</b> &amp; \x1b[31mred\x1b[0m", Duration: time.Second},
	}
	out := render(t, load(t, events, false), nil, "markdown")
	mustContain(t, out,
		"line one \\| still one<br>line two \\<b\\>bold\\</b\\> \\&amp; red",
		"`` printf '%s\\n' a\\|b `x` ``<br>`echo two`",
	)
	if strings.Contains(out, "\x1b") {
		t.Error("a terminal control sequence reached the report")
	}
	// Every table row still has the number of cells of its header.
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "| 1 |") {
			cells := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") - 1
			if cells != 9 {
				t.Errorf("timeline row has %d cells, want 9: %s", cells, line)
			}
		}
	}
}

// TestBytesMovedCountsWhatRsyncSent: a pass whose rsync said what it sent
// is counted by that (a second pass that found nothing changed adds
// nothing), not by the size of the tree it made equal.
func TestBytesMovedCountsWhatRsyncSent(t *testing.T) {
	var evs []wizard.Event
	for _, e := range fullJournal() {
		if e.Type == wizard.EvStepFinished && e.Counters != nil && e.Counters.Unit == "bytes" {
			c := *e.Counters
			c.Sent, c.Moved, c.FilesMoved = true, 0, 0
			if e.Message == "first pass done" {
				c.Moved, c.FilesMoved = 4_000_000, 25
			}
			e.Counters = &c
		}
		evs = append(evs, e)
	}
	out := render(t, load(t, evs, false), testRunbook(), "markdown")
	mustContain(t, out,
		"| Bytes moved (every pass) | 3.8 MiB (4,000,000 bytes) |",
		"| Files transferred | 25 |",
		"sent 0 B (0 bytes) in 0 files; the tree: 700 MiB (734,003,200 bytes), 9,000 entries",
	)
}
