package report

import (
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// The forecast recorded before the window began is printed beside the
// measured window, with the sentence that says what it leaves out and its
// distance from it in words (the window is 5m40s long).
func TestForecastBesideMeasuredWindow(t *testing.T) {
	evs := fullJournal()
	var with []wizard.Event
	for _, ev := range evs {
		if ev.Type == wizard.EvDowntimeStart {
			with = append(with, wizard.Event{Time: ev.Time, Type: wizard.EvFact, Step: ev.Step,
				Facts: map[string]string{wizard.FactDowntimeForecast: "300.0", wizard.FactDowntimeForecastBasis: "expected downtime about 5m0s plus merge, which nothing before the window can time"}})
		}
		with = append(with, ev)
	}
	st := load(t, with, false)
	mustContain(t, render(t, st, testRunbook(), "markdown"),
		"| Duration | **5m40s** |",
		"| Forecast | about 5m0s (forecast before the window began: expected downtime about 5m0s plus merge, which nothing before the window can time); measured 5m40s: the forecast fell 12% short |")
	mustContain(t, render(t, st, testRunbook(), "html"),
		"<tr><th>Forecast</th><td>about 5m0s (forecast before the window began: expected downtime about 5m0s plus merge, which nothing before the window can time); measured 5m40s: the forecast fell 12% short</td></tr>")

	// Without a forecast in the journal there is no such row.
	plain := render(t, load(t, evs, false), testRunbook(), "markdown")
	if strings.Contains(plain, "| Forecast |") {
		t.Error("a forecast row without a forecast")
	}
}
