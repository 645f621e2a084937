package wizard

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

func sec(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// A shrinking history with byte counts: each pass is a fixed walk plus
// the changed bytes at a rate, both fitted on the last two passes.
func TestForecastPassShrinking(t *testing.T) {
	// 100 s for 900 MB, then 20 s for 100 MB: 10 MB/s and a 10 s walk;
	// bytes shrink ninefold, so next 10 + 11.1 MB / 10 MB/s = 11.1 s, and
	// the pass after it 10.12 s: one more pass saves about 0.99 s.
	pf := ForecastPass([]PassSample{
		{Duration: sec(100), Bytes: 900e6},
		{Duration: sec(20), Bytes: 100e6},
	})
	if pf.Rate < 9.99e6 || pf.Rate > 10.01e6 {
		t.Errorf("rate %v, want 10 MB/s", pf.Rate)
	}
	if d := pf.Fixed - sec(10); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("fixed %v, want 10s", pf.Fixed)
	}
	if d := pf.Next - sec(10+100.0/9/10); d < -time.Millisecond || d > time.Millisecond {
		t.Errorf("next %v, want about 11.11s", pf.Next)
	}
	if pf.Saving < sec(0.98) || pf.Saving > sec(1.0) {
		t.Errorf("saving %v, want about 0.99s", pf.Saving)
	}
	// The forecast is not the last pass repeated.
	if pf.Next >= sec(20) {
		t.Errorf("next %v repeats the last pass", pf.Next)
	}
}

// Durations alone (a transfer whose counters are not bytes changed):
// they shrink by their last ratio.
func TestForecastPassShrinkingDurationsOnly(t *testing.T) {
	pf := ForecastPass([]PassSample{{Duration: sec(40)}, {Duration: sec(20)}})
	if pf.Next != sec(10) || pf.Saving != sec(5) {
		t.Errorf("got next %v saving %v, want 10s and 5s", pf.Next, pf.Saving)
	}
	// Never below a tenth of the last pass.
	pf = ForecastPass([]PassSample{{Duration: sec(100)}, {Duration: sec(1)}})
	if pf.Next != sec(0.1) || pf.Saving != 0 {
		t.Errorf("got next %v saving %v, want 100ms and 0", pf.Next, pf.Saving)
	}
}

// A flat or growing history predicts the last pass and no saving; so does
// a single pass.
func TestForecastPassFlat(t *testing.T) {
	for _, h := range [][]PassSample{
		{{Duration: sec(30), Bytes: 5e6}, {Duration: sec(30), Bytes: 5e6}},
		{{Duration: sec(20), Bytes: 5e6}, {Duration: sec(30), Bytes: 9e6}},
		{{Duration: sec(30), Bytes: 5e6}},
	} {
		pf := ForecastPass(h)
		if pf.Next != sec(30) || pf.Saving != 0 {
			t.Errorf("%v: next %v saving %v, want 30s and no saving", h, pf.Next, pf.Saving)
		}
	}
	if pf := ForecastPass(nil); pf.Next != 0 {
		t.Errorf("no pass: %v", pf.Next)
	}
}

// forecastRunbook is a hot transfer, then a window: the stop (start of the
// window), the cold transfer, a dump, a manual step, a restore and the
// restart that ends it; a step after the window does not count.
func forecastRunbook() *Runbook {
	return &Runbook{ID: "t", Steps: []Step{
		{ID: "hot", Kind: "rsync", Level: LevelAuto, Repeatable: true},
		{ID: "stop", Kind: "command", Level: LevelAuto, Downtime: DowntimeStart},
		{ID: "cold", Kind: "rsync", Level: LevelAuto, Params: map[string]any{"pass": "cold"}},
		{ID: "skipped", Kind: "command", Level: LevelAuto, When: "false"},
		{ID: "dump", Kind: "pg-dump", Level: LevelAuto},
		{ID: "by-hand", Kind: "manual", Level: LevelManual},
		{ID: "restore", Kind: "pg-restore", Level: LevelAuto},
		{ID: "restart", Kind: "command", Level: LevelAuto, Downtime: DowntimeEnd},
		{ID: "after", Kind: "command", Level: LevelAuto},
	}}
}

func passEvents(step string, d time.Duration, c *tasks.Progress) []Event {
	return []Event{
		{Type: EvStepStarted, Step: step, Pass: 1},
		{Type: EvStepFinished, Step: step, Status: StatusOK, Duration: d, Counters: c},
	}
}

func TestForecastDowntime(t *testing.T) {
	var evs []Event
	evs = append(evs, passEvents("hot", sec(40), &tasks.Progress{Unit: "bytes", Done: 400e6})...)
	evs = append(evs, passEvents("hot", sec(20), &tasks.Progress{Unit: "bytes", Done: 200e6})...)
	st := Replay(evs)
	applies := func(s *Step) bool { return s.When != "false" }
	f := ForecastDowntime(forecastRunbook(), st, applies)
	// Hot passes: 10 MB/s, no fixed walk, bytes halve: the cold pass 10 s,
	// and one more hot pass would take 5 s off it. The stop, the dump,
	// the restore and the restart are reckoned 1 s each; the skipped
	// step and the step after the window do not count.
	if f.Total != sec(14) || f.Saving != sec(5) || f.Manual != 1 {
		t.Errorf("forecast %+v, want 14s in all, 5s saving, 1 manual step", f)
	}
	s := f.Sentence()
	for _, w := range []string{"expected downtime at least 14s for ferry's own steps, plus your own time on 1 manual step; by step: ", "cold: 10s, as the next hot pass would run", "one more hot pass would save about 5s"} {
		if !strings.Contains(s, w) {
			t.Errorf("sentence %q lacks %q", s, w)
		}
	}
	for _, w := range []string{"skipped", "after"} {
		if strings.Contains(f.Basis(), w+" ") {
			t.Errorf("basis %q counts %s", f.Basis(), w)
		}
	}

	// A resume after the dump ran: the dump counts as measured, and the
	// restore, which never ran, takes the dump's time.
	evs = append(evs, passEvents("dump", sec(7), &tasks.Progress{Unit: "bytes", Done: 70e6})...)
	evs = append(evs, Event{Type: EvFact, Facts: map[string]string{"dump_bytes_bj": "70000000"}})
	f = ForecastDowntime(forecastRunbook(), Replay(evs), applies)
	if f.Total != sec(1+10+7+7+1) {
		t.Errorf("after the dump: %v (%s), want 26s", f.Total, f.Basis())
	}
	if b := f.Basis(); !strings.Contains(b, "dump: 7s, as it last ran") || !strings.Contains(b, "restore: 7s, as the dump ran") {
		t.Errorf("basis %q", b)
	}

	// Flat hot passes: no advice.
	evs = nil
	evs = append(evs, passEvents("hot", sec(20), &tasks.Progress{Unit: "bytes", Done: 200e6})...)
	evs = append(evs, passEvents("hot", sec(20), &tasks.Progress{Unit: "bytes", Done: 200e6})...)
	f = ForecastDowntime(forecastRunbook(), Replay(evs), applies)
	if f.Saving != 0 || strings.Contains(f.Sentence(), "one more hot pass") || f.Total != sec(24) {
		t.Errorf("flat passes: %+v %q", f, f.Sentence())
	}
}

// The question after a pass advises one more while the passes still
// shrink by a second or more, and says nothing otherwise.
func TestRepeatAdvice(t *testing.T) {
	if got := RepeatAdvice([]PassSample{{Duration: sec(40)}, {Duration: sec(20)}}); got != "; the passes still shrink: one more pass would save about 5s in the cold copy" {
		t.Errorf("shrinking: %q", got)
	}
	for _, h := range [][]PassSample{
		{{Duration: sec(20)}, {Duration: sec(20)}},
		{{Duration: sec(20)}},
		{{Duration: sec(2)}, {Duration: sec(1.5)}}, // saves under a second
	} {
		if got := RepeatAdvice(h); got != "" {
			t.Errorf("%v: %q", h, got)
		}
	}
}

// TestForecastQueueMergeIsUntimed: before the window no step merges a
// message, so the GreenArrow forecast does not give the queue merge a
// median of other steps' times (it once said 30 ms for a merge that took
// minutes): it leaves it out of the total and names it in the sentence;
// once the merge ran (a resumed run), its measured time counts.
func TestForecastQueueMergeIsUntimed(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	var evs []Event
	evs = append(evs, passEvents("check-config", sec(2), nil)...)
	f := ForecastDowntime(rb, Replay(evs), nil)
	if !slices.Contains(f.Untimed, "merge-queue") {
		t.Fatalf("untimed %v, want merge-queue", f.Untimed)
	}
	if s := f.Sentence(); !strings.HasPrefix(s, "expected downtime at least 6s for ferry's own steps, plus the queue merge (never timed here) and your own time on 1 manual step; by step: ") || strings.Contains(f.Basis(), "Merge the old disk queue") {
		t.Errorf("sentence %q, basis %q", s, f.Basis())
	}
	evs = append(evs, passEvents("merge-queue", sec(300), nil)...)
	f = ForecastDowntime(rb, Replay(evs), nil)
	if slices.Contains(f.Untimed, "merge-queue") || !strings.Contains(f.Basis(), "Merge the old disk queue into the new one: 5m0s, as it last ran") {
		t.Errorf("after a merge ran: untimed %v, basis %q", f.Untimed, f.Basis())
	}
}

// TestForecastHeadlineSaysWhatItLeavesOut: the headline comes first and
// is short; it says "about" only when it counts every step of the window,
// else "at least" for ferry's own steps and names what it cannot time: the
// queue merge with the size counted before the forecast (the GreenArrow
// demo's 3,000 messages), the admin's own time on the manual steps. The
// figures of each step follow it, one a line.
func TestForecastHeadlineSaysWhatItLeavesOut(t *testing.T) {
	rb, err := LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	evs := passEvents("ssh-old", sec(0.7), nil)
	evs = append(evs, Event{Type: EvFact, Facts: map[string]string{FactForecastQueued + "merge-queue": "3000"}})
	f := ForecastDowntime(rb, Replay(evs), nil)
	want := "expected downtime at least 4.2s for ferry's own steps, plus the queue merge of 3,000 messages (never timed here) and your own time on 1 manual step"
	if h := f.Headline(); h != want {
		t.Errorf("headline %q, want %q", h, want)
	}
	if d := f.Details(); len(d) != 6 || d[0] != "Stop GreenArrow on the old server: 700ms, as steps of any kind ran here" {
		t.Errorf("details %q, want six steps' shares, the stop first", d)
	}
	if s := f.Sentence(); !strings.HasPrefix(s, want+"; by step: Stop GreenArrow on the old server: 700ms") {
		t.Errorf("sentence %q does not start with the headline, then the steps", s)
	}
	if h, d := SplitForecast(f.Sentence()); h != want || !slices.Equal(d, f.Details()) {
		t.Errorf("split again: %q %q", h, d)
	}
	// A manual step that does not apply here (no IP address moves) is no
	// time of the admin's.
	noIPs := ForecastDowntime(rb, Replay(evs), func(s *Step) bool { return s.ID != "move-ips" })
	if h := noIPs.Headline(); !strings.HasSuffix(h, "plus the queue merge of 3,000 messages (never timed here)") {
		t.Errorf("without the move of IP addresses: %q", h)
	}
	// Counting every step: "about", and nothing left out.
	var all []Event
	all = append(all, passEvents("hot", sec(20), nil)...)
	rbAll := forecastRunbook()
	rbAll.Steps = slices.DeleteFunc(rbAll.Steps, func(s Step) bool { return s.Level == LevelManual })
	if h := ForecastDowntime(rbAll, Replay(all), nil).Headline(); !strings.HasPrefix(h, "expected downtime about ") || strings.Contains(h, "plus") {
		t.Errorf("nothing left out: %q", h)
	}
}

// TestForecastMergeRateMeasuredHere: a queue merge is timed only from a
// rate this migration measured (a merge that ran before the window); with
// its queue counted, the forecast counts it at that rate and says so.
// Without a rate nothing is made up.
func TestForecastMergeRateMeasuredHere(t *testing.T) {
	rb := &Runbook{ID: "t", Steps: []Step{
		{ID: "early-merge", Title: "Merge the first queue", Kind: "queue-merge", Level: LevelAuto},
		{ID: "stop", Title: "Stop", Kind: "command", Level: LevelAuto, Downtime: DowntimeStart},
		{ID: "merge", Title: "Merge the queue", Kind: "queue-merge", Level: LevelAuto, Downtime: DowntimeEnd},
	}}
	evs := passEvents("early-merge", sec(10), &tasks.Progress{Unit: "messages", Done: 500})
	evs = append(evs, Event{Type: EvFact, Facts: map[string]string{FactForecastQueued + "merge": "3000"}})
	f := ForecastDowntime(rb, Replay(evs), nil)
	// 50 messages/s: 3,000 take 60 s; the stop takes the typical 10 s.
	if f.Total != sec(70) || len(f.Untimed) != 0 {
		t.Errorf("forecast %v, untimed %v, want 1m10s and nothing untimed", f.Total, f.Untimed)
	}
	if h := f.Headline(); h != "expected downtime about 1m10s" {
		t.Errorf("headline %q", h)
	}
	if b := f.Basis(); !strings.Contains(b, "Merge the queue: 1m0s, at the rate merges ran here") {
		t.Errorf("basis %q", b)
	}
	// No merge ran before: untimed, named with its size.
	evs = append(passEvents("stop-ish", sec(1), nil), evs[len(evs)-1])
	f = ForecastDowntime(rb, Replay(evs), nil)
	if !slices.Contains(f.Untimed, "merge") || !strings.Contains(f.Headline(), "the queue merge of 3,000 messages (never timed here)") {
		t.Errorf("without a rate: untimed %v, headline %q", f.Untimed, f.Headline())
	}
}

// TestBasisWordsReadAlike: every figure the forecast has a timing for says
// where it comes from in one form ("as … ran"), so the shares of one
// sentence read alike; only the guess, with no timing, says so.
func TestBasisWordsReadAlike(t *testing.T) {
	for basis, words := range basisWords {
		if basis == "reckoned" {
			continue
		}
		if !strings.HasPrefix(words, "as ") && !strings.HasPrefix(words, "at the rate ") || !strings.HasSuffix(words, " ran") && !strings.HasSuffix(words, " ran here") && !strings.HasSuffix(words, " would run") {
			t.Errorf("basis %q reads %q, not \"as … ran\"", basis, words)
		}
	}
}
