package tui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// runT0 is the fixed "now" of the golden screens; the migration began 90
// minutes earlier.
var runT0 = time.Date(2026, 3, 14, 2, 30, 0, 0, time.UTC)

func runAt(d time.Duration) time.Time { return runT0.Add(-d) }

func runTestRunbook() *wizard.Runbook {
	return &wizard.Runbook{
		ID: "sample", Title: "Sample mail server migration",
		Params: map[string]any{"public_resolvers": []any{"8.8.8.8", "8.8.4.4", "1.1.1.1"}},
		Phases: []wizard.Phase{
			{ID: "preflight", Title: "Preflight"},
			{ID: "hot", Title: "Hot sync"},
			{ID: "cutover", Title: "Cutover"},
			{ID: "configure", Title: "Configure"},
		},
		Steps: []wizard.Step{
			{ID: "root", Phase: "preflight", Title: "Running as root", Host: "new", Level: "check", Kind: "check-root",
				Help: "ferry changes system files, so it runs as root."},
			{ID: "ssh", Phase: "preflight", Title: "SSH to the old server", Host: "new", Level: "ask", Kind: "ssh-connect",
				Help: "ferry connects to the old server with a key.",
				Ask: []wizard.Question{
					{Key: "old_port", Prompt: "SSH port of the old server", Type: "port"},
					{Key: "old_ip", Prompt: "IP address of the old server", Type: "ip"},
				}},
			{ID: "hot-sync", Phase: "hot", Title: "Copy the mail store (hot pass)", Host: "new", Level: "auto", Kind: "rsync",
				Repeatable: true, SafeToRerun: true,
				Help:   "Copies the mail store while the old server still runs. Each pass moves only what changed since the last one, so later passes are shorter.",
				Params: map[string]any{"paths": []any{"/var/hvmail"}, "hard_links": true, "pass": "hot"}},
			{ID: "stop-old", Phase: "cutover", Title: "Stop the mail service on the old server", Host: "old", Level: "auto",
				Kind: "command", Destructive: true, Downtime: wizard.DowntimeStart,
				Help:     "Stops and disables the mail service on the old server. From here on, mail waits on the senders' side until the new server takes over.",
				Commands: map[string][]wizard.Command{"any": {{Shell: "service sample stop && chkconfig sample off"}}}},
			{ID: "final-sync", Phase: "cutover", Title: "Copy the mail store (final pass)", Host: "new", Level: "auto", Kind: "rsync",
				Help:   "The last pass, with the old server stopped.",
				Params: map[string]any{"paths": []any{"/var/hvmail"}, "hard_links": true, "delete": true, "pass": "cold"}},
			{ID: "merge", Phase: "cutover", Title: "Merge the disk queue", Host: "new", Level: "auto", Kind: "queue-merge",
				Params: map[string]any{"old_queue": "/var/spool/q/old", "queue": "/var/spool/q", "merge": "/opt/sample/merge"},
				Help:   "Feeds each queued message of the old server to the new queue, which renames it as it must."},
			{ID: "start-new", Phase: "cutover", Title: "Start the mail service on the new server", Host: "new", Level: "auto",
				Kind: "command", Downtime: wizard.DowntimeEnd,
				Commands: map[string][]wizard.Command{"any": {{Argv: []string{"service", "sample", "start"}}}}},
			{ID: "dns", Phase: "configure", Title: "DNS resolvers", Host: "new", Level: "ask", Kind: "resolv-conf",
				Ask:    []wizard.Question{{Key: "resolvers", Prompt: "Recursive DNS resolvers", Type: "ips"}},
				Params: map[string]any{"config": "/etc/sample.conf", "setting": "dns_cache"}},
			{ID: "vendor", Phase: "configure", Title: "Tell the vendor", Host: "new", Level: "manual", Kind: "manual",
				Help: "Write to the vendor's support that the server moved."},
		},
	}
}

// runRecorder collects the decisions a model sends.
type runRecorder struct {
	mu sync.Mutex
	ds []wizard.Decision
}

func (r *runRecorder) decide(d wizard.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ds = append(r.ds, d)
}

func (r *runRecorder) all() []wizard.Decision {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]wizard.Decision(nil), r.ds...)
}

// newTestRun returns a run model at a fixed time, sized, fed with events.
func newTestRun(t *testing.T, st *wizard.State, w, h int, events ...wizard.Event) (*RunModel, *runRecorder) {
	t.Helper()
	rec := &runRecorder{}
	m := NewRun(RunOptions{
		Runbook: runTestRunbook(), State: st, Decide: rec.decide,
		OldName: "mail-old.example.net (old)", NewName: "mail-new.example.net (new)",
		Started: runAt(90 * time.Minute), Now: func() time.Time { return runT0 },
	})
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	feed(m, events...)
	return m, rec
}

func feed(m *RunModel, events ...wizard.Event) {
	for _, ev := range events {
		m.Update(runEventsMsg{events: []wizard.Event{ev}})
	}
}

func keys(m *RunModel, ks ...string) {
	for _, k := range ks {
		m.Update(keyMsg(k))
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func typeText(m *RunModel, s string) {
	for _, r := range s {
		m.Update(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func runScreen(m *RunModel) string { return ansi.Strip(m.View().Content) }

// finished returns the events of a step that ran and finished.
func finished(step string, start time.Time, d time.Duration) []wizard.Event {
	return []wizard.Event{
		{Type: wizard.EvStepStarted, Step: step, Pass: 1, Time: start},
		{Type: wizard.EvStepFinished, Step: step, Status: wizard.StatusOK, Time: start.Add(d), Duration: d},
	}
}

func preflightDone() []wizard.Event {
	evs := []wizard.Event{{Type: wizard.EvRunStarted, Runbook: "sample", Time: runAt(90 * time.Minute)}}
	evs = append(evs, finished("root", runAt(89*time.Minute), time.Second)...)
	return append(evs, finished("ssh", runAt(88*time.Minute), 3*time.Second)...)
}

func outputLines(step string, n int) []wizard.Event {
	var evs []wizard.Event
	for i := range n {
		evs = append(evs, wizard.Event{Type: wizard.EvOutput, Step: step, Stream: "stdout",
			Message: fmt.Sprintf("var/hvmail/queue/mess/%d/%d", i%23, 1048576+i*7)})
	}
	return evs
}

type runScene struct {
	name  string
	state func() *wizard.State
	evs   func() []wizard.Event
	keys  []string
	text  string
	// readOnly and detached draw the screen as an observer's (attach
	// --read-only) or a detached runner's would be.
	readOnly, detached bool
}

func runScenes() []runScene {
	rsync := func() []wizard.Event {
		evs := preflightDone()
		evs = append(evs, wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runAt(10*time.Minute + 5*time.Second)})
		evs = append(evs, outputLines("hot-sync", 40)...)
		return append(evs, wizard.Event{Type: wizard.EvProgress, Step: "hot-sync", Progress: &tasks.Progress{
			Unit: "bytes", Done: 1_234_567_890, Total: 2_700_000_000, FilesDone: 12345, FilesTotal: 40000,
			Rate: 38_000_000, ETA: 40 * time.Second}})
	}
	cutover := func() []wizard.Event {
		evs := preflightDone()
		evs = append(evs, finished("hot-sync", runAt(60*time.Minute), 12*time.Minute)...)
		evs = append(evs,
			wizard.Event{Type: wizard.EvConfirmed, Step: "stop-old", Time: runAt(4 * time.Minute)},
			wizard.Event{Type: wizard.EvDowntimeStart, Step: "stop-old", Time: runAt(3*time.Minute + 12*time.Second)})
		evs = append(evs, finished("stop-old", runAt(3*time.Minute+11*time.Second), 4*time.Second)...)
		evs = append(evs, finished("final-sync", runAt(3*time.Minute), 90*time.Second)...)
		return evs
	}
	return []runScene{
		{name: "rsync-running", evs: rsync},
		{name: "queue-merge-downtime", evs: func() []wizard.Event {
			evs := cutover()
			evs = append(evs, wizard.Event{Type: wizard.EvStepStarted, Step: "merge", Pass: 1, Time: runAt(66 * time.Second)})
			evs = append(evs, wizard.Event{Type: wizard.EvOutput, Step: "merge", Message: "merging queue/old into the new queue"})
			return append(evs, wizard.Event{Type: wizard.EvProgress, Step: "merge", Progress: &tasks.Progress{
				Unit: "messages", Done: 18000, Remaining: 12000, Rate: 450, ETA: 27 * time.Second}})
		}},
		{name: "confirm-destructive", evs: func() []wizard.Event {
			evs := preflightDone()
			evs = append(evs, finished("hot-sync", runAt(20*time.Minute), 12*time.Minute)...)
			return append(evs, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old",
				Message: `Stop the mail service on the old server: type "mail-old" to go ahead`})
		}, text: "mail-ol"},
		{name: "observer-confirm", readOnly: true, evs: func() []wizard.Event {
			evs := preflightDone()
			evs = append(evs, finished("hot-sync", runAt(20*time.Minute), 12*time.Minute)...)
			basis := "expected downtime about 2m10s; by step: Stop the mail service on the old server: 4s, as steps of its kind ran here; " +
				"Copy the mail store (final): 2m6s, as the next hot pass would run"
			return append(evs,
				wizard.Event{Type: wizard.EvFact, Step: "stop-old", Facts: map[string]string{wizard.FactDowntimeForecastBasis: basis}},
				wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old",
					Message: "Stops mail on the old server (mail-old) (" + basis + `): type "mail-old" to go ahead`})
		}},
		{name: "confirm-long-forecast", detached: true, evs: func() []wizard.Event {
			// A forecast of many steps, as BlueMind's: the harm and the
			// word stay in view, the forecast's headline under them, and
			// its details scroll.
			evs := preflightDone()
			evs = append(evs, finished("hot-sync", runAt(20*time.Minute), 12*time.Minute)...)
			basis := "expected downtime at least 4s for ferry's own steps, plus the queue merge of 3,000 messages (never timed here) and your own time on 3 manual steps; by step: " +
				"Stop the mail service on the old server: 170ms, as a step like it ran; Copy the mail store (final): 780ms, as the next hot pass would run; " +
				"Start PostgreSQL on the old server: 330ms, as a step like it ran; Dump both databases on the old server: 950ms, as a step like it ran; " +
				"Copy the configuration files: 30ms, as steps of any kind ran here; The new Postfix can use the copied tables: 30ms, as steps of any kind ran here; " +
				"Start PostgreSQL on the new server: 330ms, as a step like it ran; Restore each dump into its own database: 2s, as a step like it ran; " +
				"Row counts match on both servers: 180ms, as a step like it ran; 0s between steps"
			return append(evs,
				wizard.Event{Type: wizard.EvFact, Step: "stop-old", Facts: map[string]string{wizard.FactDowntimeForecastBasis: basis}},
				wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old.example.net",
					Message: "Stops mail on the old server (" + basis + `): type "mail-old.example.net" to go ahead`})
		}},
		{name: "failure-detached", detached: true, evs: func() []wizard.Event {
			evs := cutover()[:len(cutover())-2]
			evs = append(evs, wizard.Event{Type: wizard.EvStepStarted, Step: "final-sync", Pass: 1, Time: runAt(3 * time.Minute)})
			evs = append(evs, wizard.Event{Type: wizard.EvStepFinished, Step: "final-sync", Status: wizard.StatusFailed,
				Time: runAt(2 * time.Minute), Duration: time.Minute, Message: "rsync exited with code 23"})
			return append(evs, wizard.Event{Type: wizard.EvWaiting, Step: "final-sync", Need: wizard.NeedGate,
				Message: "Copy the mail store (hot) did not pass"})
		}},
		{name: "repeat-two-passes",
			state: func() *wizard.State {
				return wizard.Replay(append(preflightDone(), finished("hot-sync", runAt(40*time.Minute), 12*time.Minute+3*time.Second)...))
			},
			evs: func() []wizard.Event {
				evs := []wizard.Event{{Type: wizard.EvWaiting, Step: "hot-sync", Need: wizard.NeedRepeat, Message: "passes: #1 12m3s"}}
				evs = append(evs, wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 2, Time: runAt(5 * time.Minute)})
				evs = append(evs, outputLines("hot-sync", 5)...)
				evs = append(evs, wizard.Event{Type: wizard.EvStepFinished, Step: "hot-sync", Status: wizard.StatusOK,
					Time: runAt(110 * time.Second), Duration: 3*time.Minute + 10*time.Second,
					Counters: &tasks.Progress{Unit: "bytes", Done: 52_000_000, Total: 52_000_000, FilesDone: 310, FilesTotal: 310}})
				return append(evs, wizard.Event{Type: wizard.EvWaiting, Step: "hot-sync", Need: wizard.NeedRepeat,
					Message: wizard.PassSummary([]time.Duration{12*time.Minute + 3*time.Second, 3*time.Minute + 10*time.Second})})
			}},
		{name: "failure", evs: func() []wizard.Event {
			evs := cutover()[:len(cutover())-2]
			evs = append(evs, wizard.Event{Type: wizard.EvStepStarted, Step: "final-sync", Pass: 1, Time: runAt(3 * time.Minute)})
			evs = append(evs, outputLines("final-sync", 12)...)
			evs = append(evs, wizard.Event{Type: wizard.EvOutput, Step: "final-sync", Stream: "stderr",
				Message: "rsync: [sender] send_files failed to open \"/var/hvmail/log/x\": Permission denied (13)"})
			evs = append(evs, wizard.Event{Type: wizard.EvStepFinished, Step: "final-sync", Status: wizard.StatusFailed,
				Time: runAt(2 * time.Minute), Duration: time.Minute,
				Message: "rsync exited with code 23: some files or attributes were not transferred (see the output)"})
			return append(evs, wizard.Event{Type: wizard.EvWaiting, Step: "final-sync", Need: wizard.NeedFailure,
				Message: "rsync exited with code 23: some files or attributes were not transferred (see the output)"})
		}},
	}
}

func TestRunViewGolden(t *testing.T) {
	for _, sc := range runScenes() {
		for _, size := range [][2]int{{80, 24}, {100, 30}} {
			t.Run(fmt.Sprintf("%s-%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				var st *wizard.State
				if sc.state != nil {
					st = sc.state()
				}
				m, _ := newTestRun(t, st, size[0], size[1])
				m.o.ReadOnly, m.o.Detached = sc.readOnly, sc.detached
				feed(m, sc.evs()...)
				keys(m, sc.keys...)
				typeText(m, sc.text)
				out := runScreen(m)
				if n := strings.Count(out, "\n") + 1; n != size[1] {
					t.Errorf("screen has %d lines, want %d", n, size[1])
				}
				for i, l := range strings.Split(out, "\n") {
					if w := ansi.StringWidth(l); w > size[0] {
						t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, w, size[0], l)
					}
				}
				golden.RequireEqual(t, []byte(out))
			})
		}
	}
}

func TestRunConfirmNeedsTheExactWord(t *testing.T) {
	m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old",
		Need: wizard.NeedConfirm, Word: "mail-old"})
	typeText(m, "mail-new")
	keys(m, "enter")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("a wrong word sent %+v", d)
	}
	if s := runScreen(m); !strings.Contains(s, `"mail-new" is not "mail-old"`) {
		t.Errorf("the refusal is not shown:\n%s", s)
	}
	// esc leaves the input without sending; enter goes back to typing.
	keys(m, "esc")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("esc sent %+v", d)
	}
	keys(m, "enter")
	for range len("mail-new") {
		keys(m, "backspace")
	}
	typeText(m, "mail-old")
	keys(m, "enter")
	d := rec.all()
	if len(d) != 1 || d[0].Action != wizard.ActConfirm || d[0].Text != "mail-old" || d[0].Step != "stop-old" {
		t.Fatalf("decisions = %+v, want one confirm of stop-old with mail-old", d)
	}
}

func TestRunSkipNeedsAReason(t *testing.T) {
	m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvWaiting, Step: "final-sync",
		Need: wizard.NeedFailure, Message: "rsync exited with code 23"})
	keys(m, "s", "enter")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("a skip without a reason was sent: %+v", d)
	}
	if s := runScreen(m); !strings.Contains(s, "A reason is required") {
		t.Errorf("the refusal is not shown:\n%s", s)
	}
	typeText(m, "   ")
	keys(m, "enter")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("a blank reason was sent: %+v", d)
	}
	typeText(m, "copied by hand")
	keys(m, "enter")
	d := rec.all()
	if len(d) != 1 || d[0].Action != wizard.ActSkip || d[0].Reason != "copied by hand" {
		t.Fatalf("decisions = %+v, want one skip with the reason", d)
	}
}

func TestRunConfirmSkipAfterEsc(t *testing.T) {
	m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old",
		Need: wizard.NeedConfirm, Word: "mail-old"})
	keys(m, "s") // typed into the input, not a skip
	if m.prompt != promptConfirm || m.input.Value() != "s" {
		t.Fatalf("s while typing: prompt %v, input %q", m.prompt, m.input.Value())
	}
	keys(m, "esc", "s")
	typeText(m, "maintenance window moved")
	keys(m, "enter")
	d := rec.all()
	if len(d) != 1 || d[0].Action != wizard.ActSkip || d[0].Reason != "maintenance window moved" {
		t.Fatalf("decisions = %+v, want one skip", d)
	}
}

func TestRunKeysPerNeed(t *testing.T) {
	cases := []struct {
		need string
		keys []string
		want wizard.Action
	}{
		{wizard.NeedManual, []string{"d", "y"}, wizard.ActDone},
		{wizard.NeedFailure, []string{"r"}, wizard.ActRetry},
		{wizard.NeedFailure, []string{"q"}, wizard.ActQuit},
		{wizard.NeedRepeat, []string{"r"}, wizard.ActRepeat},
		{wizard.NeedRepeat, []string{"c"}, wizard.ActContinue},
		{wizard.NeedRepeat, []string{"enter"}, wizard.ActContinue},
		{wizard.NeedRepeat, []string{"left", "enter"}, wizard.ActRepeat},
		{wizard.NeedResume, []string{"r"}, wizard.ActRetry},
		{wizard.NeedResume, []string{"d"}, wizard.ActDone},
		{wizard.NeedChanged, []string{"c"}, wizard.ActContinue},
		{wizard.NeedChanged, []string{"q"}, wizard.ActQuit},
		{wizard.NeedTrust, []string{"y"}, wizard.ActTrust},
		{wizard.NeedTrust, []string{"n"}, wizard.ActQuit},
	}
	for _, c := range cases {
		t.Run(c.need+"-"+strings.Join(c.keys, "-"), func(t *testing.T) {
			m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvWaiting, Step: "hot-sync",
				Need: c.need, Message: "SHA256:abc"})
			for _, k := range c.keys {
				if k == "left" {
					m.Update(tea.KeyPressMsg{Code: tea.KeyLeft})
					continue
				}
				keys(m, k)
			}
			d := rec.all()
			if len(d) != 1 || d[0].Action != c.want || d[0].Step != "hot-sync" {
				t.Fatalf("decisions = %+v, want one %s", d, c.want)
			}
			// The prompt is gone: the same keys send nothing more.
			keys(m, c.keys[len(c.keys)-1])
			if n := len(rec.all()); n != 1 {
				t.Errorf("%d decisions after the prompt closed", n)
			}
		})
	}
}

func TestRunOutputFloodIsBounded(t *testing.T) {
	m, _ := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runAt(time.Minute)})
	const n = 100_000
	var last string
	for i := range n {
		last = fmt.Sprintf("line %d", i)
		m.Update(runEventsMsg{events: []wizard.Event{{Type: wizard.EvOutput, Step: "hot-sync", Message: last}}})
		_ = m.View()
	}
	r := m.logs["hot-sync"]
	if r.len() != runLogLines || cap(r.buf) > 2*runLogLines {
		t.Fatalf("ring holds %d lines (cap %d), want %d", r.len(), cap(r.buf), runLogLines)
	}
	if r.total != n {
		t.Errorf("ring counted %d lines, want %d", r.total, n)
	}
	got := r.lines()
	if got[0] != fmt.Sprintf("line %d", n-runLogLines) || got[len(got)-1] != last {
		t.Errorf("ring keeps %q … %q, want the last %d lines", got[0], got[len(got)-1], runLogLines)
	}
	// The frame tick draws what arrived since the last frame.
	m.Update(runFrameMsg{})
	if s := runScreen(m); !strings.Contains(s, last) || !strings.Contains(s, "last of 100000 lines") {
		t.Errorf("the newest line is not on screen:\n%s", s)
	}
}

func TestRunOutputScrollAndFullLog(t *testing.T) {
	lines := outputLines("merge", 60)
	newest := lines[len(lines)-1].Message
	m, _ := newTestRun(t, nil, 80, 24, append([]wizard.Event{{Type: wizard.EvStepStarted, Step: "merge", Pass: 1, Time: runAt(time.Minute)}},
		lines...)...)
	if s := runScreen(m); !strings.Contains(s, newest) {
		t.Fatalf("the newest line is not shown:\n%s", s)
	}
	keys(m, "pgup")
	s := runScreen(m)
	if !strings.Contains(s, "lines up") || strings.Contains(s, newest) {
		t.Errorf("pgup did not scroll the output:\n%s", s)
	}
	keys(m, "l")
	s = runScreen(m)
	if !strings.Contains(s, "full log of 6. Merge the disk queue") || !strings.Contains(s, newest) {
		t.Errorf("the full log does not show the newest line:\n%s", s)
	}
	keys(m, "esc", "?")
	if s := runScreen(m); !strings.Contains(s, "the whole step") {
		t.Errorf("no help overlay:\n%s", s)
	}
	// The help is longer than 24 rows: it scrolls to its end.
	for range 40 {
		m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	}
	if s := runScreen(m); !strings.Contains(s, "Quitting never loses work") || m.overlay != overlayHelp {
		t.Errorf("the help's end cannot be scrolled to:\n%s", s)
	}
}

func TestRunQuitWhileAStepRuns(t *testing.T) {
	m, rec := newTestRun(t, nil, 80, 24, wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runAt(time.Minute)})
	_, cmd := m.Update(keyMsg("q"))
	if cmd != nil || len(rec.all()) != 0 {
		t.Fatalf("q quit at once while a step runs")
	}
	if s := runScreen(m); !strings.Contains(s, "journal keeps the place") || !strings.Contains(s, "interrupted") {
		t.Errorf("the quit question does not explain:\n%s", s)
	}
	keys(m, "n")
	if m.quitAsk {
		t.Fatal("n did not cancel the question")
	}
	keys(m, "q")
	_, cmd = m.Update(keyMsg("y"))
	if cmd == nil {
		t.Fatal("y returned no command")
	}
	if _, ok := cmd().(tea.InterruptMsg); !ok {
		t.Errorf("y did not interrupt the program")
	}
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActQuit {
		t.Errorf("decisions = %+v, want one quit", d)
	}
}

func TestRunQuitWhileWaitingStopsTheEngine(t *testing.T) {
	ch := make(chan wizard.Event, 1)
	rec := &runRecorder{}
	m := NewRun(RunOptions{Runbook: runTestRunbook(), Events: ch, Decide: rec.decide, Now: func() time.Time { return runT0 }})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "vendor", Need: wizard.NeedManual})
	_, cmd := m.Update(keyMsg("ctrl+c"))
	if d := rec.all(); len(d) != 1 || d[0].Action != wizard.ActQuit || d[0].Step != "vendor" {
		t.Fatalf("decisions = %+v, want a quit for vendor", d)
	}
	if cmd != nil {
		t.Errorf("quit before the engine stopped")
	}
	// The engine stops and closes the channel: the program quits.
	close(ch)
	_, cmd = m.Update(waitForEvents(ch)())
	if cmd == nil {
		t.Fatal("no command after the channel closed")
	}
	if !cmdQuits(cmd) {
		t.Errorf("the program does not quit when the engine has stopped")
	}
}

// cmdQuits reports whether cmd (or one of a batch) is tea.Quit.
func cmdQuits(cmd tea.Cmd) bool {
	switch msg := cmd().(type) {
	case tea.QuitMsg:
		return true
	case tea.BatchMsg:
		for _, c := range msg {
			if c != nil {
				if _, ok := c().(tea.QuitMsg); ok {
					return true
				}
			}
		}
	}
	return false
}

func TestRunOutcomeWhenTheChannelCloses(t *testing.T) {
	for _, c := range []struct {
		evs  []wizard.Event
		want string
		text string
	}{
		{[]wizard.Event{{Type: wizard.EvRunFinished, Status: wizard.StatusOK, Message: "every step is done"}}, "done", "The migration is done"},
		{[]wizard.Event{{Type: wizard.EvRunFinished, Status: wizard.StatusFailed, Message: "step merge failed: boom"}}, "failed", "step merge failed: boom"},
		{nil, "stopped", "The run stopped"},
	} {
		t.Run(c.want, func(t *testing.T) {
			m, _ := newTestRun(t, nil, 80, 24, c.evs...)
			m.Update(runEventsMsg{closed: true})
			if m.Outcome() != c.want {
				t.Errorf("Outcome = %q, want %q", m.Outcome(), c.want)
			}
			s := runScreen(m)
			if !strings.Contains(s, c.text) || !strings.Contains(s, "any key") {
				t.Errorf("outcome not shown:\n%s", s)
			}
			_, cmd := m.Update(keyMsg("x"))
			if cmd == nil || !cmdQuits(cmd) {
				t.Errorf("a key does not quit after the end")
			}
		})
	}
}

// TestRunClosingWordsNameTheCommand: after a failure or a stop the screen
// names the command that goes on with the migration when it knows it.
func TestRunClosingWordsNameTheCommand(t *testing.T) {
	for _, evs := range [][]wizard.Event{
		{{Type: wizard.EvRunFinished, Status: wizard.StatusFailed, Message: "step merge failed: boom"}},
		nil,
	} {
		m, _ := newTestRun(t, nil, 100, 30, evs...)
		m.o.Again = "ferry run --state-dir /srv/ferry"
		m.Update(runEventsMsg{closed: true})
		// The words wrap at spaces only: the flag and the path stay whole.
		s := runScreen(m)
		flat := strings.Join(strings.Fields(ansi.Strip(strings.Join(m.paneLines(), " "))), " ")
		if !strings.Contains(strings.ToLower(flat), "run ferry run --state-dir /srv/ferry to") || !strings.Contains(s, "--state-dir") || strings.Contains(s, "ferry again") {
			t.Errorf("%s: the closing words do not name the command:\n%s", m.Outcome(), s)
		}
	}
}

func TestRunLightAndDarkReadTheSame(t *testing.T) {
	sc := runScenes()[0]
	dark, _ := newTestRun(t, nil, 80, 24, sc.evs()...)
	light, _ := newTestRun(t, nil, 80, 24, sc.evs()...)
	light.Update(tea.BackgroundColorMsg{Color: darkOrLight(false)})
	if light.isDark {
		t.Fatal("a white background did not switch to light styles")
	}
	if runScreen(dark) != runScreen(light) {
		t.Errorf("light and dark screens differ in text")
	}
	if light.View().Content == dark.View().Content {
		t.Errorf("light and dark screens have the same colours")
	}
}

// startRunProgram runs a model in a teatest program fed by a channel.
func startRunProgram(t *testing.T, st *wizard.State, w, h int) (*teatest.TestModel, chan wizard.Event, *runRecorder) {
	t.Helper()
	ch := make(chan wizard.Event, 16)
	rec := &runRecorder{}
	m := NewRun(RunOptions{Runbook: runTestRunbook(), State: st, Events: ch, Decide: rec.decide,
		Now: func() time.Time { return runT0 }})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.NoTTY), tea.WithFPS(15)))
	t.Cleanup(func() { _ = tm.Quit() })
	return tm, ch, rec
}

func waitOutput(t *testing.T, tm *teatest.TestModel, what string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool {
		return bytes.Contains([]byte(ansi.Strip(string(b))), []byte(what))
	}, teatest.WithDuration(time.Minute), teatest.WithCheckInterval(20*time.Millisecond))
}

func waitDecisions(t *testing.T, rec *runRecorder, n int) []wizard.Decision {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if d := rec.all(); len(d) >= n {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("got %d decisions, want %d: %+v", len(rec.all()), n, rec.all())
	return nil
}

func TestRunAnswersFormValidates(t *testing.T) {
	tm, ch, rec := startRunProgram(t, nil, 120, 40)
	ch <- wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedAnswers,
		Questions: runTestRunbook().Step("ssh").Ask}
	waitOutput(t, tm, "SSH port of the old server")
	tm.Type("99999")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "expected a TCP port number from 1 to 65535")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("an invalid port was sent: %+v", d)
	}
	for range 5 {
		tm.Send(tea.KeyPressMsg{Code: tea.KeyBackspace})
	}
	tm.Type("2222")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "IP address of the old server")
	tm.Type("192.0.2.10")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	d := waitDecisions(t, rec, 1)
	want := map[string]string{"old_port": "2222", "old_ip": "192.0.2.10"}
	if d[0].Action != wizard.ActAnswer || d[0].Step != "ssh" || fmt.Sprint(d[0].Answer) != fmt.Sprint(want) {
		t.Fatalf("decision = %+v, want answers %v", d[0], want)
	}
}

func TestRunResolversForm(t *testing.T) {
	q := runTestRunbook().Step("dns").Ask
	for _, c := range []struct {
		name  string
		facts map[string]string
		steps func(tm *teatest.TestModel)
		want  string
	}{
		{"old", map[string]string{"old_resolvers": "192.0.2.53 192.0.2.54"}, func(tm *teatest.TestModel) {
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
		}, "192.0.2.53 192.0.2.54"},
		{"public", map[string]string{"old_resolvers": "192.0.2.53"}, func(tm *teatest.TestModel) {
			tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
		}, "8.8.8.8 8.8.4.4 1.1.1.1"},
		{"custom", nil, func(tm *teatest.TestModel) {
			tm.Send(tea.KeyPressMsg{Code: tea.KeyDown})
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
			waitOutput(t, tm, "IP addresses separated")
			tm.Type("192.0.2.1 nonsense")
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
			waitOutput(t, tm, "nonsense")
			for range len(" nonsense") {
				tm.Send(tea.KeyPressMsg{Code: tea.KeyBackspace})
			}
			tm.Type(", 192.0.2.2")
			tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
		}, "192.0.2.1, 192.0.2.2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := wizard.Replay([]wizard.Event{{Type: wizard.EvFact, Facts: c.facts}})
			tm, ch, rec := startRunProgram(t, st, 120, 40)
			ch <- wizard.Event{Type: wizard.EvWaiting, Step: "dns", Need: wizard.NeedAnswers, Questions: q}
			waitOutput(t, tm, "custom list")
			c.steps(tm)
			d := waitDecisions(t, rec, 1)
			if d[0].Action != wizard.ActAnswer || d[0].Answer["resolvers"] != c.want || len(d[0].Answer) != 1 {
				t.Fatalf("decision = %+v, want resolvers %q", d[0], c.want)
			}
			if err := wizard.ValidateAnswer(q[0], d[0].Answer["resolvers"]); err != nil {
				t.Errorf("sent an invalid answer: %v", err)
			}
		})
	}
}

// fakeExec carries out the steps of the test runbook without touching
// anything: it prints a few lines and reports byte counters.
type fakeExec struct{}

func (fakeExec) Run(_ context.Context, s *wizard.Step, env *wizard.StepEnv) (wizard.Outcome, error) {
	for i := range 3 {
		env.Report.Line("stdout", fmt.Sprintf("%s line %d", s.ID, i))
	}
	env.Report.Progress(tasks.Progress{Unit: "bytes", Done: 10, Total: 10})
	return wizard.Outcome{Message: "fine"}, nil
}

func (fakeExec) Prepare(context.Context, *wizard.Step, *wizard.StepEnv) (map[string]string, error) {
	return nil, nil
}

func (fakeExec) Check(context.Context, *wizard.Step, *wizard.Check, *wizard.StepEnv) (bool, string, error) {
	return true, "", nil
}

// TestRunWithTheEngine drives the real engine through the screen: answers,
// a repeatable step, a typed confirmation, a manual step, the end.
func TestRunWithTheEngine(t *testing.T) {
	rb := runTestRunbook()
	j, past, _, err := wizard.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	ch := make(chan wizard.Event, 64)
	var mu sync.Mutex
	closed := false
	sink := func(ev wizard.Event) {
		mu.Lock()
		defer mu.Unlock()
		if !closed {
			ch <- ev
		}
	}
	eng := wizard.NewEngine(rb, j, past, fakeExec{}, sink)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		err := eng.Run(ctx)
		mu.Lock()
		closed = true
		close(ch)
		mu.Unlock()
		done <- err
	}()
	m := NewRun(RunOptions{Runbook: rb, Events: ch, Decide: eng.Decide, Interrupt: cancel,
		OldName: "old.example.net (old)", NewName: "new.example.net (new)"})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(120, 40),
		teatest.WithProgramOptions(tea.WithColorProfile(colorprofile.NoTTY), tea.WithFPS(15)))

	waitOutput(t, tm, "SSH port of the old server")
	tm.Type("22")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "IP address of the old server")
	tm.Type("192.0.2.10")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "continue (c)")
	tm.Type("c")
	waitOutput(t, tm, "Type stop-old and press enter")
	tm.Type("stop-old")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "public resolvers")
	tm.Send(tea.KeyPressMsg{Code: tea.KeyEnter})
	waitOutput(t, tm, "Do this by hand")
	tm.Type("dy")
	waitOutput(t, tm, "The migration is done")
	tm.Type("x")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(time.Minute)).(*RunModel)
	if err := <-done; err != nil {
		t.Fatalf("engine: %v", err)
	}
	if fm.Outcome() != "done" {
		t.Errorf("Outcome = %q, want done", fm.Outcome())
	}
	st := eng.State()
	if st.Answers["old_port"] != "22" || st.Answers["resolvers"] != "8.8.8.8 8.8.4.4 1.1.1.1" {
		t.Errorf("answers recorded: %v", st.Answers)
	}
	for _, s := range rb.Steps {
		if st.Status(s.ID) != wizard.StatusOK {
			t.Errorf("step %s is %s", s.ID, st.Status(s.ID))
		}
		if fm.statusOf(s.ID) != st.Status(s.ID) {
			t.Errorf("screen shows %s as %s, engine %s", s.ID, fm.statusOf(s.ID), st.Status(s.ID))
		}
	}
	if r := fm.logs["merge"]; r == nil || r.len() != 3 {
		t.Errorf("output of merge not kept: %+v", r)
	}
}

func TestRunCommandsShowWhatIsKnown(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 30, wizard.Event{Type: wizard.EvWaiting, Step: "dns", Need: wizard.NeedAnswers,
		Questions: runTestRunbook().Step("dns").Ask})
	if s := runScreen(m); !strings.Contains(s, "# write /etc/resolv.conf with nameserver ‹resolvers›") {
		t.Errorf("an unanswered question is not marked in the command:\n%s", s)
	}
	feed(m, wizard.Event{Type: wizard.EvAnswered, Step: "dns", Answers: map[string]string{"resolvers": "192.0.2.1 192.0.2.2"}},
		wizard.Event{Type: wizard.EvStepStarted, Step: "dns", Pass: 1, Time: runAt(time.Second)})
	if s := runScreen(m); !strings.Contains(s, "# write /etc/resolv.conf with nameserver 192.0.2.1 192.0.2.2") {
		t.Errorf("the answer is not in the command:\n%s", s)
	}
}

func TestRunListKeepsTheCurrentStepInView(t *testing.T) {
	rb := runTestRunbook()
	for _, h := range []int{5, 6, 8, 10, 24} {
		for _, s := range rb.Steps {
			m, _ := newTestRun(t, nil, 80, h, wizard.Event{Type: wizard.EvStepStarted, Step: s.ID, Pass: 1, Time: runAt(time.Second)})
			lines := m.listLines()
			if len(lines) != h-2 {
				t.Fatalf("height %d: %d list lines", h, len(lines))
			}
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(ansi.Strip(l), "›▶")
			}
			if !found {
				t.Errorf("height %d, step %s not in view:\n%s", h, s.ID, ansi.Strip(strings.Join(lines, "\n")))
			}
		}
	}
}

// BenchmarkRunOutputLine measures what one output line costs the screen:
// the Update that stores it and the View the program asks for after it.
func BenchmarkRunOutputLine(b *testing.B) {
	m := NewRun(RunOptions{Runbook: runTestRunbook(), Now: func() time.Time { return runT0 }})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	m.Update(runEventsMsg{events: []wizard.Event{{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runT0}}})
	msg := runEventsMsg{events: []wizard.Event{{Type: wizard.EvOutput, Step: "hot-sync",
		Message: ">f+++++++++ var/hvmail/queue/mess/7/1048583"}}}
	b.ReportAllocs()
	for b.Loop() {
		m.Update(msg)
		_ = m.View()
	}
}

// BenchmarkRunRender measures one full redraw of a running step with
// counters and a full output pane.
func BenchmarkRunRender(b *testing.B) {
	m := NewRun(RunOptions{Runbook: runTestRunbook(), Now: func() time.Time { return runT0 }})
	m.Update(tea.WindowSizeMsg{Width: 100, Height: 30})
	feed(m, runScenes()[0].evs()...)
	b.ReportAllocs()
	for b.Loop() {
		m.dirty = true
		_ = m.View()
	}
}

// TestRunShowsTheOldAddressGiven: the address given with --old is recorded
// as an answer before the screen starts; a transfer from the old server
// shows it, never a placeholder, and shows the login of the connection
// once it is open.
func TestRunShowsTheOldAddressGiven(t *testing.T) {
	st := wizard.Replay([]wizard.Event{{Type: wizard.EvAnswered, Answers: map[string]string{"old_addr": "192.0.2.7"}}})
	m, _ := newTestRun(t, st, 120, 40, wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runAt(time.Second)})
	s := runScreen(m)
	if !strings.Contains(s, "root@192.0.2.7:/var/hvmail/") || strings.Contains(s, "‹old_addr›") {
		t.Errorf("the address given is not in the transfer shown:\n%s", s)
	}
	feed(m, wizard.Event{Type: wizard.EvFact, Step: "ssh", Facts: map[string]string{wizard.FactOldDestination: "admin@192.0.2.7", wizard.FactOldSSHCommand: "ssh -p 2222"}})
	if s := runScreen(m); !strings.Contains(s, "admin@192.0.2.7:/var/hvmail/") || !strings.Contains(s, "-e 'ssh -p 2222'") {
		t.Errorf("the connection's login and ssh command are not in the transfer shown:\n%s", s)
	}
}

func TestAboutDurationNeverSaysZero(t *testing.T) {
	for d, want := range map[time.Duration]string{62 * time.Millisecond: "under a second", 0: "under a second", 3 * time.Second: "about 3s", 185 * time.Second: "about 3m05s"} {
		if got := aboutDuration(d); got != want {
			t.Errorf("aboutDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestRunReadOnlyOffersNoDecision: an observer's screen says what the run
// waits for and takes no key that would decide it.
func TestRunReadOnlyOffersNoDecision(t *testing.T) {
	m, rec := newTestRun(t, nil, 100, 30)
	m.o.ReadOnly = true
	feed(m, wizard.Event{Type: wizard.EvWaiting, Step: "stop-old", Need: wizard.NeedConfirm, Word: "mail-old", Message: "Stop the mail service: type \"mail-old\" to go ahead"})
	s := runScreen(m)
	if !strings.Contains(s, "controlling screen") || strings.Contains(s, "press enter to go ahead") || strings.Contains(s, "i type") {
		t.Errorf("the observer is offered a decision:\n%s", s)
	}
	keys(m, "i")
	typeText(m, "mail-old")
	keys(m, "enter", "s", "r")
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("the observer's keys sent %+v", d)
	}
	// Whatever path would open the word's field (a screen attached while
	// the run already waits), an observer gets none and sends nothing.
	m.startPrompt()
	if s := runScreen(m); strings.Contains(s, "enter confirm") || !strings.Contains(s, "q leave") {
		t.Errorf("the observer's key bar offers a decision:\n%s", s)
	}
	typeText(m, "mail-old")
	keys(m, "enter")
	m.decide(wizard.Decision{Action: wizard.ActConfirm, Text: "mail-old"})
	if d := rec.all(); len(d) != 0 {
		t.Fatalf("the observer sent %+v", d)
	}
}

// TestRunLostRunnerReadsAsSuch: when the runner dies without a word while
// a step waits, the closing screen says the runner stopped unexpectedly
// (not a failure), no longer says the step waits for the admin, and names
// the command that goes on.
func TestRunLostRunnerReadsAsSuch(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvWaiting, Step: "ssh", Need: wizard.NeedAnswers, Message: "old server"},
		wizard.Event{Type: wizard.EvRunFinished, Status: wizard.StatusInterrupted, Lost: true, PID: 4242,
			Message: "The runner (pid 4242) ended without a word."})
	m.o.Again = "ferry demo greenarrow --dir /tmp/x"
	m.Update(runEventsMsg{closed: true})
	if m.Outcome() != "lost" {
		t.Errorf("Outcome = %q, want lost", m.Outcome())
	}
	s := runScreen(m)
	for _, want := range []string{"The runner stopped unexpectedly", "pid 4242", "ferry demo greenarrow --dir /tmp/x"} {
		if !strings.Contains(s, want) {
			t.Errorf("the screen lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"failure", "? waiting for you", "· waiting for you"} {
		if strings.Contains(s, bad) {
			t.Errorf("the screen says %q:\n%s", bad, s)
		}
	}
}

// TestRunLostRunnerStepUnderWay: a step running when the runner died reads
// as under way with an unknown outcome, not as running.
func TestRunLostRunnerStepUnderWay(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Type: wizard.EvStepStarted, Step: "ssh"},
		wizard.Event{Type: wizard.EvRunFinished, Status: wizard.StatusInterrupted, Lost: true, PID: 4242})
	m.Update(runEventsMsg{closed: true})
	s := runScreen(m)
	if !strings.Contains(s, "its outcome is unknown") || strings.Contains(s, "running") {
		t.Errorf("the step under way does not read as such:\n%s", s)
	}
}

// TestRunEarlierLostRunIsNotThisOnesEnd: the note a resumed run journals
// about the earlier run whose runner died is history: a run that then
// stops without its own end reads as stopped, not as a lost runner.
func TestRunEarlierLostRunIsNotThisOnesEnd(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 30,
		wizard.Event{Seq: 7, Type: wizard.EvRunFinished, Status: wizard.StatusInterrupted, Lost: true, PID: 4242,
			Message: "run 1 ended without finishing: its runner (pid 4242) died without a word"},
		wizard.Event{Seq: 8, Type: wizard.EvRunResumed})
	m.Update(runEventsMsg{closed: true})
	if m.Outcome() != "stopped" {
		t.Errorf("Outcome = %q, want stopped", m.Outcome())
	}
	if s := runScreen(m); strings.Contains(s, "unexpectedly") {
		t.Errorf("the screen reads the earlier run's end as this one's:\n%s", s)
	}
}
