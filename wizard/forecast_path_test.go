package wizard

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// besideRunbook is BlueMind's cold phase in small: a hot transfer, a
// stop on new and a rehearsal of the dump and the restore and a login
// check before the window; in the window the stop on old (the same
// commands as on new), then the cold copy beside the dump, the
// configuration copy beside both, the restore, the row counts and a
// manual step whose check is the row counts again.
func besideRunbook() *Runbook {
	stop := map[string][]Command{FamilyAny: {{Argv: []string{"bmctl", "stop"}}}}
	return &Runbook{ID: "t", Steps: []Step{
		{ID: "hot", Kind: "rsync", Host: HostNew, Level: LevelAuto, Repeatable: true},
		{ID: "stop-new", Kind: "command", Host: HostNew, Level: LevelAuto, Commands: stop},
		{ID: "login", Kind: "pg-login", Host: HostOld, Level: LevelCheck},
		{ID: "rehearse-dump", Kind: "pg-dump", Host: HostOld, Level: LevelAuto},
		{ID: "rehearse-restore", Kind: "pg-restore", Host: HostNew, Level: LevelAuto},
		{ID: "stop-old", Kind: "command", Host: HostOld, Level: LevelAuto, Commands: stop, Downtime: DowntimeStart},
		{ID: "cold", Kind: "rsync", Host: HostNew, Level: LevelAuto, Params: map[string]any{"pass": "cold", "parallel": 4}},
		{ID: "dump", Kind: "pg-dump", Host: HostOld, Level: LevelAuto, Beside: []string{"cold"}},
		{ID: "config", Kind: "copy-files", Host: HostNew, Level: LevelAuto, Beside: []string{"cold", "dump"}},
		{ID: "restore", Kind: "pg-restore", Host: HostNew, Level: LevelAuto},
		{ID: "verify", Kind: "pg-verify", Host: HostNew, Level: LevelCheck},
		{ID: "off", Kind: "manual", Host: HostOld, Level: LevelManual, Precondition: &Check{Text: "rows", Kind: "pg-verify"}},
		{ID: "back", Kind: "manual", Host: HostNew, Level: LevelManual, Downtime: DowntimeEnd},
	}}
}

// timed is one run of step id from at to at+d in the journal.
func timed(id string, at, d time.Duration, c *tasks.Progress) []Event {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	return []Event{
		{Type: EvStepStarted, Step: id, Pass: 1, Time: t0.Add(at)},
		{Type: EvStepFinished, Step: id, Status: StatusOK, Duration: d, Counters: c, Time: t0.Add(at + d)},
	}
}

// The forecast lays the window out as the engine runs it: the cold copy
// and the dump beside each other count by the longer, the configuration
// copy beside both does not lengthen the window; untimed steps take the
// time of their twin before the window (the stop on new for the stop on
// old, the rehearsals for the dump and the restore, whose drop of scratch
// databases is left out, the login check for the row counts, twice: once
// as a step, once as the manual step's check); a step with no twin the
// typical step here; the engine's gap between steps counts once per
// step on the longest chain.
func TestForecastDowntimeLaysTheWindowOut(t *testing.T) {
	const ms = time.Millisecond
	var evs []Event
	evs = append(evs, timed("hot", 0, 3000*ms, &tasks.Progress{Unit: "bytes", Done: 100})...)
	evs = append(evs, timed("stop-new", 3010*ms, 200*ms, nil)...)      // gap 10 ms
	evs = append(evs, timed("login", 3220*ms, 100*ms, nil)...)         // gap 10 ms
	evs = append(evs, timed("rehearse-dump", 3330*ms, 900*ms, nil)...) // gap 10 ms
	evs = append(evs, timed("rehearse-restore", 4240*ms, 1500*ms, nil)...)
	evs = append(evs, Event{Type: EvFact, Facts: map[string]string{FactRehearsalRestore + "rehearse-restore": "1.2"}})
	f := ForecastDowntime(besideRunbook(), Replay(evs), nil)

	want := map[string]string{
		"stop-old": "200ms measured alike",
		"cold":     "3s hot passes",
		"dump":     "900ms measured alike",
		"config":   "550ms typical step here",
		"restore":  "1.2s measured alike",
		"verify":   "100ms measured alike",
		"off":      "100ms manual, its check measured alike",
	}
	got := map[string]string{}
	for _, s := range f.Steps {
		if s.Basis != "manual" {
			got[s.Step] = roundDur(s.Expected).String() + " " + s.Basis
		}
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if f.Gap != 10*ms {
		t.Errorf("gap %v, want 10ms", f.Gap)
	}
	// stop 200 + cold 3000 (beside the dump's 900 and the copy's 200)
	// + restore 1200 + verify 100 + the check 100, a 10 ms gap after each
	// of those five.
	if want := (200 + 3000 + 1200 + 100 + 100 + 5*10) * ms; f.Total != want {
		t.Errorf("total %v, want %v (%s)", f.Total, want, f.Basis())
	}
	if f.Manual != 2 {
		t.Errorf("manual %d, want 2", f.Manual)
	}
	if !strings.Contains(f.Sentence(), "10ms between steps") {
		t.Errorf("the sentence does not name the gap: %q", f.Sentence())
	}

	// On one processor the steps beside each other share it: the group
	// (cold 3000, dump 900, config 550) lasts their sum, one gap added.
	cpu1 := append(slices.Clone(evs), Event{Type: EvFact, Facts: map[string]string{"cpus": "1"}})
	if f1 := ForecastDowntime(besideRunbook(), Replay(cpu1), nil); f1.Total != f.Total+(900+550)*ms {
		t.Errorf("on one processor: %v, want %v", f1.Total, f.Total+(900+550)*ms)
	}
	// On two, half of 4450 ms is less than the 3000 ms chain.
	cpu2 := append(slices.Clone(evs), Event{Type: EvFact, Facts: map[string]string{"cpus": "2"}})
	if f2 := ForecastDowntime(besideRunbook(), Replay(cpu2), nil); f2.Total != f.Total {
		t.Errorf("on two processors: %v, want %v", f2.Total, f.Total)
	}

	// The copy run one after another (no beside) would add up (the
	// typical step here is the median of 100, 200, 900 and 1500 ms).
	rb := besideRunbook()
	for i := range rb.Steps {
		rb.Steps[i].Beside = nil
	}
	if f2 := ForecastDowntime(rb, Replay(evs), nil); f2.Total != f.Total+(900+550+2*10)*ms {
		t.Errorf("one after another: %v, want %v", f2.Total, f.Total+(900+550+2*10)*ms)
	}
}
