package wizard_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/report"
	"github.com/ferry-migrate/ferry/wizard"
)

// The step that starts the downtime is put to the admin with the forecast
// in its message; the forecast is journaled as facts before the window
// opens, and the report prints it beside the measured window.
func TestEngineForecastBeforeTheDowntime(t *testing.T) {
	rb, err := wizard.Parse("test.yaml", []byte(downtimeRunbook))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	j, past, _, err := wizard.OpenJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	var mu sync.Mutex
	var manual []string
	var e *wizard.Engine
	sink := func(ev wizard.Event) {
		var d wizard.Decision
		switch ev.Need {
		case wizard.NeedAnswers:
			d = wizard.Decision{Action: wizard.ActAnswer, Answer: map[string]string{"pw": "right"}}
		case wizard.NeedManual:
			mu.Lock()
			manual = append(manual, ev.Step+": "+ev.Message)
			mu.Unlock()
			d = wizard.Decision{Action: wizard.ActDone}
		case "":
			return
		default:
			d = wizard.Decision{Action: wizard.ActQuit}
		}
		d.Step = ev.Step
		e.Decide(d)
	}
	e = wizard.NewEngine(rb, j, past, &passExec{}, sink)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// The window holds the copy (never timed: it counts as the typical
	// step of this journal, the login check, which took next to nothing)
	// and two manual steps.
	// The login check's time depends on the machine's load: any figure.
	if len(manual) == 0 || !regexp.MustCompile(`stop-old: Stop the old server by hand \(expected downtime at least \S+ for ferry's own steps, plus your own time on 2 manual steps; by step: Copy: \S+, as steps of any kind ran here\)`).MatchString(manual[0]) {
		t.Errorf("the start step was put as %q", manual)
	}
	st, err := wizard.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Facts[wizard.FactDowntimeForecast]; got != "0.0" {
		t.Errorf("forecast fact %q, want 0.0", got)
	}
	// Journaled before the window opened.
	fact, start := -1, -1
	for i, ev := range st.Events {
		if ev.Type == wizard.EvFact && ev.Facts[wizard.FactDowntimeForecast] != "" && fact < 0 {
			fact = i
		}
		if ev.Type == wizard.EvDowntimeStart {
			start = i
		}
	}
	if fact < 0 || start < 0 || fact > start {
		t.Errorf("forecast at event %d, downtime start at %d", fact, start)
	}
	var out bytes.Buffer
	if err := report.Write(&out, st, rb, report.FormatMarkdown); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`\| Forecast \| forecast before the window began: expected downtime at least \S+ for ferry's own steps, plus your own time on 2 manual steps; by step: Copy: \S+, as steps of any kind ran here`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "; measured ") || strings.Contains(out.String(), "| Forecast | about") {
		t.Errorf("the report does not show the forecast beside the window:\n%s", out.String())
	}
}
