package tui

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// TestRunCountersRedrawPaced: once a frame is on the screen, counters
// alone do not redraw it at once (the engine sends them ten times a
// second); the progress tick draws the latest, and any other event draws
// them with it.
func TestRunCountersRedrawPaced(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 30, wizard.Event{Type: wizard.EvStepStarted, Step: "hot-sync", Pass: 1, Time: runAt(time.Second)})
	progress := func(pct int64) wizard.Event {
		return wizard.Event{Type: wizard.EvProgress, Step: "hot-sync", Time: runAt(time.Second),
			Progress: &tasks.Progress{Unit: "bytes", Done: pct, Total: 100, FilesDone: pct, FilesTotal: 100}}
	}
	feed(m, progress(10))
	if s := runScreen(m); !strings.Contains(s, " 10%") {
		t.Fatalf("the first counters are not drawn:\n%s", s)
	}
	feed(m, progress(20), progress(30))
	if s := runScreen(m); strings.Contains(s, " 30%") || !strings.Contains(s, " 10%") {
		t.Fatalf("counters alone redrew the screen at once:\n%s", s)
	}
	m.Update(runProgressMsg{})
	if s := runScreen(m); !strings.Contains(s, " 30%") {
		t.Fatalf("the progress tick did not draw the latest counters:\n%s", s)
	}
	feed(m, progress(40), wizard.Event{Type: wizard.EvWarning, Step: "hot-sync", Message: "a file vanished", Time: runAt(time.Second)})
	if s := ansi.Strip(runScreen(m)); !strings.Contains(s, " 40%") {
		t.Fatalf("another event did not draw the counters with it:\n%s", s)
	}
}
