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
				Help: "Copies the mail store while the old server still runs. Each pass moves only what changed since the last one, so later passes are shorter.",
				Commands: map[string][]wizard.Command{"any": {{Argv: []string{"rsync", "-aH", "--partial", "--info=progress2", "root@mail-old:/var/hvmail/", "/var/hvmail/"}}}}},
			{ID: "stop-old", Phase: "cutover", Title: "Stop the mail service on the old server", Host: "old", Level: "auto",
				Kind: "command", Destructive: true, Downtime: wizard.DowntimeStart,
				Help:     "Stops and disables the mail service on the old server. From here on, mail waits on the senders' side until the new server takes over.",
				Commands: map[string][]wizard.Command{"any": {{Shell: "service sample stop && chkconfig sample off"}}}},
			{ID: "final-sync", Phase: "cutover", Title: "Copy the mail store (final pass)", Host: "new", Level: "auto", Kind: "rsync",
				Help:     "The last pass, with the old server stopped.",
				Commands: map[string][]wizard.Command{"any": {{Argv: []string{"rsync", "-aH", "--delete", "root@mail-old:/var/hvmail/", "/var/hvmail/"}}}}},
			{ID: "merge", Phase: "cutover", Title: "Merge the disk queue", Host: "new", Level: "auto", Kind: "queue-merge",
				Help: "Feeds each queued message of the old server to the new queue, which renames it as it must."},
			{ID: "start-new", Phase: "cutover", Title: "Start the mail service on the new server", Host: "new", Level: "auto",
				Kind: "command", Downtime: wizard.DowntimeEnd},
			{ID: "dns", Phase: "configure", Title: "DNS resolvers", Host: "new", Level: "ask", Kind: "resolv-conf",
				Ask: []wizard.Question{{Key: "resolvers", Prompt: "Recursive DNS resolvers", Type: "ips"}}},
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
				m, _ := newTestRun(t, st, size[0], size[1], sc.evs()...)
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

var (
	_ = bytes.Contains
	_ = context.Background
	_ = colorprofile.NoTTY
	_ = teatest.WithDuration
)
