package report

import (
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// The forecast recorded before the window began is printed beside the
// measured window, with the sentence that says what it leaves out and its
// distance from it in words (the window is 5m40s long, 19s of it waiting
// on a manual step the forecast does not count).
func TestForecastBesideMeasuredWindow(t *testing.T) {
	evs := fullJournal()
	var with []wizard.Event
	for _, ev := range evs {
		if ev.Type == wizard.EvDowntimeStart {
			with = append(with, wizard.Event{Time: ev.Time, Type: wizard.EvFact, Step: ev.Step,
				Facts: map[string]string{wizard.FactDowntimeForecast: "300.0", wizard.FactDowntimeForecastBasis: "expected downtime about 5m0s, plus your own time on 1 manual step"}})
		}
		with = append(with, ev)
	}
	st := load(t, with, false)
	mustContain(t, render(t, st, testRunbook(), "markdown"),
		"| Duration | **5m40s** |",
		"| Forecast | forecast before the window began: expected downtime about 5m0s, plus your own time on 1 manual step; measured 5m40s, of which 19s went to what the forecast leaves out (Move IP addresses), 5m21s to the rest: the forecast fell 7% short |")
	mustContain(t, render(t, st, testRunbook(), "html"),
		"<tr><th>Forecast</th><td>forecast before the window began: expected downtime about 5m0s, plus your own time on 1 manual step; measured 5m40s, of which 19s went to what the forecast leaves out (Move IP addresses), 5m21s to the rest: the forecast fell 7% short</td></tr>")

	// A queue merge is left out of the forecast too, by its kind.
	rb := testRunbook()
	rb.Step("merge-queue").Kind = "queue-merge"
	if out := render(t, st, rb, "markdown"); !strings.Contains(out, "leaves out (Move IP addresses, Merge disk queue)") && !strings.Contains(out, "leaves out (Merge disk queue, Move IP addresses)") {
		t.Errorf("the merge is not taken off the measure:\n%s", out)
	}

	// Without a forecast in the journal there is no such row.
	plain := render(t, load(t, evs, false), testRunbook(), "markdown")
	if strings.Contains(plain, "| Forecast |") {
		t.Error("a forecast row without a forecast")
	}
}
