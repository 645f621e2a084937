package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/wizard"
)

// footerLine is the last line of the screen, without colour.
func footerLine(m *RunModel) string {
	lines := strings.Split(runScreen(m), "\n")
	return lines[len(lines)-1]
}

// TestRunFooterFitsWithTheDowntimeClock: on a detached screen while the
// downtime clock runs, at 80 and 100 columns, whatever the run waits for,
// the key bar is never cut ("…"), keeps the keys that answer (its first
// key, and q where it was offered) and the downtime clock; at 100 columns
// it also keeps "? help".
func TestRunFooterFitsWithTheDowntimeClock(t *testing.T) {
	needs := []struct {
		need, step, word string
	}{
		{"", "", ""},
		{wizard.NeedConfirm, "stop-old", "mail-old"},
		{wizard.NeedManual, "vendor", ""},
		{wizard.NeedManual, "vendor", "old:mail"},
		{wizard.NeedFailure, "final-sync", ""},
		{wizard.NeedRepeat, "hot-sync", ""},
		{wizard.NeedResume, "final-sync", ""},
		{wizard.NeedGate, "final-sync", ""},
		{wizard.NeedChanged, "final-sync", ""},
		{wizard.NeedTrust, "ssh", ""},
	}
	for _, width := range []int{80, 100} {
		for _, n := range needs {
			t.Run(fmt.Sprintf("%s-%s-%d", n.need, n.word, width), func(t *testing.T) {
				m, _ := newTestRun(t, nil, width, 24,
					wizard.Event{Type: wizard.EvDowntimeStart, Step: "stop-old", Time: runAt(3*time.Minute + 12*time.Second)})
				m.o.Detached = true
				if n.need != "" {
					feed(m, wizard.Event{Type: wizard.EvWaiting, Step: n.step, Need: n.need, Word: n.word, Message: "x"})
				}
				f := footerLine(m)
				offered := strings.Join(m.hints(), " · ")
				first := m.hints()[0]
				if w := ansi.StringWidth(f); w > width || strings.Contains(f, "…") {
					t.Errorf("footer cut or too wide (%d columns): %q", w, f)
				}
				if !strings.HasPrefix(f, " "+first) || !strings.Contains(f, "⏱ downtime 00:03:12") {
					t.Errorf("footer lost the answering key %q or the downtime clock: %q", first, f)
				}
				for _, k := range []string{"q stop", "q quit"} {
					if strings.Contains(offered, k) && !strings.Contains(f, k) {
						t.Errorf("footer lost %q: %q", k, f)
					}
				}
				if width == 100 && strings.Contains(offered, "? help") && !strings.Contains(f, "? help") {
					t.Errorf("at 100 columns the footer lost ? help: %q", f)
				}
			})
		}
	}
}

// TestRunFooterAfterTheRunEnded: once the run has ended, the footer no
// longer says the screen is detached and safe to close: the run ended.
func TestRunFooterAfterTheRunEnded(t *testing.T) {
	m, _ := newTestRun(t, nil, 100, 24)
	m.o.Detached = true
	if f := footerLine(m); !strings.Contains(f, "detached: safe to close") {
		t.Fatalf("a detached screen of a live run does not say so: %q", f)
	}
	m.Update(runEventsMsg{closed: true})
	f := footerLine(m)
	if strings.Contains(f, "detached") || !strings.Contains(f, "run ended") || !strings.Contains(f, "any key: leave") {
		t.Errorf("after the run ended the footer reads %q", f)
	}
}
