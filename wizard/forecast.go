package wizard

import (
	"cmp"
	"fmt"
	"github.com/dustin/go-humanize"
	"github.com/dustin/go-humanize/english"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// Facts the engine records, with the step whose run starts the downtime,
// just before that step is put to the admin: the forecast of the window.
const (
	// FactDowntimeForecast holds the forecast downtime in whole seconds.
	FactDowntimeForecast = "downtime_forecast_seconds"
	// FactDowntimeForecastBasis says in one sentence what the forecast is
	// made of (which steps were timed, which were reckoned).
	FactDowntimeForecastBasis = "downtime_forecast_basis"
)

// untimedStep is what ferry reckons for an automatic step of the window that
// has no timing in the journal yet (a stop, a start, a check): a guess, said
// as such in the forecast's basis.
const untimedStep = time.Second

// PassSample is one finished pass of a repeatable transfer, from the
// journal: how long it took and what its counters said it moved.
type PassSample struct {
	// Duration is the pass's wall-clock time.
	Duration time.Duration
	// Bytes is what the pass transferred (0 when its counters are not in
	// bytes, or not known).
	Bytes int64
	// Files is how many files the pass transferred.
	Files int64
}

// PassForecast is what a pass history predicts for the next pass.
type PassForecast struct {
	// Next is the expected duration of the next pass.
	Next time.Duration
	// Saving is how much shorter the pass after next is expected to be
	// than Next, so what one more hot pass would take off the cold pass;
	// zero when the passes no longer shrink.
	Saving time.Duration
	// Fixed is the part of each pass that does not depend on what changed
	// (the file-list walk), in the model fitted on the last two passes;
	// zero when it could not be fitted.
	Fixed time.Duration
	// Rate is the transfer rate of changed bytes, bytes per second, from
	// the last two passes; zero when it could not be fitted.
	Rate float64
}

// ForecastPass predicts the next pass of a repeatable transfer from its
// history, oldest first. Each pass is taken as a fixed walk of the trees
// plus the changed bytes at a transfer rate; both are fitted on the last
// two passes when their bytes and durations both shrank, and the changed
// bytes are expected to shrink again by the same ratio. A flat or growing
// history predicts the last pass again (and no saving); with byte counts
// missing, the durations alone shrink by their last ratio, never below a
// tenth of the last pass.
func ForecastPass(passes []PassSample) PassForecast {
	n := len(passes)
	if n == 0 {
		return PassForecast{}
	}
	last := passes[n-1]
	if n == 1 {
		return PassForecast{Next: last.Duration}
	}
	prev := passes[n-2]
	if last.Duration >= prev.Duration || prev.Duration <= 0 {
		return PassForecast{Next: last.Duration}
	}
	if last.Bytes >= 0 && prev.Bytes > last.Bytes {
		rate := float64(prev.Bytes-last.Bytes) / (prev.Duration - last.Duration).Seconds()
		fixed := last.Duration.Seconds() - float64(last.Bytes)/rate
		if fixed >= 0 {
			ratio := float64(last.Bytes) / float64(prev.Bytes)
			nextBytes := float64(last.Bytes) * ratio
			next := fixed + nextBytes/rate
			after := fixed + nextBytes*ratio/rate
			return PassForecast{
				Next:   seconds(next),
				Saving: seconds(next - after),
				Fixed:  seconds(fixed),
				Rate:   rate,
			}
		}
	}
	// Durations alone.
	ratio := last.Duration.Seconds() / prev.Duration.Seconds()
	next := time.Duration(float64(last.Duration) * ratio)
	if next < last.Duration/10 {
		next = last.Duration / 10
	}
	after := time.Duration(float64(next) * ratio)
	if after < last.Duration/10 {
		after = last.Duration / 10
	}
	return PassForecast{Next: next, Saving: next - after}
}

func seconds(s float64) time.Duration {
	if s < 0 || math.IsNaN(s) {
		return 0
	}
	return time.Duration(s * float64(time.Second))
}

// DowntimeForecast is the expected length of the downtime window, reckoned
// step by step before the step that starts it runs.
type DowntimeForecast struct {
	// Total is the expected window, manual steps' own time excluded.
	Total time.Duration
	// Steps gives each step of the window its share, in runbook order.
	Steps []StepForecast
	// Saving is what one more pass of the hot transfers would take off the
	// window (zero when their passes no longer shrink).
	Saving time.Duration
	// Manual counts the manual steps of the window, whose time depends on
	// the admin and is not in Total.
	Manual int
	// Gap is the engine's own time between two steps, from the journal,
	// counted once per step on the longest chain.
	Gap time.Duration
	// Untimed names the steps whose time nothing before the window can
	// tell (a queue merge: seconds to hours, with the queue's size and the
	// storage), not in Total: the sentence names them beside the total.
	Untimed []string
	// Queued holds, by step id, how many messages a queue merge of the
	// window has to merge, as counted before the forecast
	// (FactForecastQueued); a step missing here was not counted.
	Queued map[string]int64
}

// FactForecastQueued + a queue-merge step's id holds how many message files
// its parked queue held when the downtime forecast was made (counted on the
// new server when the step that opens the window is prepared, see
// TaskExecutor.Prepare): the size the forecast names, and what a merge rate
// measured earlier turns into a time.
const FactForecastQueued = "downtime_forecast_queued_"

// FactRehearsalRestore + a step id holds, in seconds, how long a
// rehearsal's restore (pg-restore with scratch_prefix) took to check and
// restore its archives, without the drop of its scratch databases: the
// forecast's figure for the real restore.
const FactRehearsalRestore = "rehearsal_restore_seconds_"

// StepForecast is one step's share of a downtime forecast.
type StepForecast struct {
	Step string
	// Title is the step's title, as the sentence names it.
	Title    string
	Expected time.Duration
	// Basis says where the figure comes from (see ForecastDowntime):
	// "measured", "hot passes", "measured alike", "dump size", "kind
	// median", "typical step here", "reckoned" (no timing at all:
	// untimedStep), "manual" (or "manual, its check ..." for the check
	// ferry makes before putting a manual step).
	Basis string
}

// Headline says the forecast in one short sentence, first what it counts
// and then, plainly, what it cannot time: "expected downtime about 4s"
// when it counts every step of the window, else "expected downtime at
// least 0.7s for ferry's own steps, plus the queue merge of 3,000 messages
// (never timed here) and your own time on 3 manual steps". The size of a
// merge's queue comes from Queued (counted before the forecast; "of an
// uncounted queue" when not known).
func (f DowntimeForecast) Headline() string {
	var out []string
	for _, id := range f.Untimed {
		what := "the queue merge"
		if t := f.untimedTitle(id); t != id && !strings.Contains(strings.ToLower(t), "queue") {
			what = "“" + t + "”"
		}
		if n, ok := f.Queued[id]; ok {
			what += " of " + humanize.Comma(n) + " " + english.PluralWord(int(n), "message", "")
		}
		out = append(out, what+" (never timed here)")
	}
	if f.Manual > 0 {
		out = append(out, "your own time on "+english.Plural(f.Manual, "manual step", ""))
	}
	if len(out) == 0 {
		return fmt.Sprintf("expected downtime about %s", roundDur(f.Total))
	}
	return fmt.Sprintf("expected downtime at least %s for ferry's own steps, plus %s", roundDur(f.Total), english.OxfordWordSeries(out, "and"))
}

// Details are the forecast's parts after its Headline, one a line: each
// counted step's share by its title with where the figure comes from
// (basisWords), the engine's time between steps, and the advice about
// one more hot pass.
func (f DowntimeForecast) Details() []string {
	out := f.parts()
	if f.Saving >= time.Second {
		out = append(out, fmt.Sprintf("the hot passes still shrink: one more hot pass would save about %s", roundDur(f.Saving)))
	}
	return out
}

// Sentence says the whole forecast in one line, for the journal, the plain
// output and the report: the Headline, then "; by step: " and the Details
// joined by "; " (SplitForecast takes it apart again).
func (f DowntimeForecast) Sentence() string {
	s := f.Headline()
	if d := f.Details(); len(d) > 0 {
		s += forecastBy + strings.Join(d, "; ")
	}
	return s
}

// forecastBy separates the Headline from the Details in a Sentence.
const forecastBy = "; by step: "

// SplitForecast takes a Sentence (as FactDowntimeForecastBasis holds it)
// apart again: its headline and its details, one a line (nil when it has
// none). A sentence from an older ferry, without "; by step: ", is all
// headline.
func SplitForecast(sentence string) (headline string, details []string) {
	head, rest, ok := strings.Cut(sentence, forecastBy)
	if !ok || rest == "" {
		return sentence, nil
	}
	return head, strings.Split(rest, "; ")
}

// untimedTitle names a step of Untimed by its title where known.
func (f DowntimeForecast) untimedTitle(id string) string {
	for _, s := range f.Steps {
		if s.Step == id && s.Title != "" {
			return s.Title
		}
	}
	return id
}

// basisWords says a StepForecast.Basis in plain words, all in one form:
// as what ran (or would run) took, so that the figures read alike.
var basisWords = map[string]string{
	"measured":          "as it last ran",
	"hot passes":        "as the next hot pass would run",
	"measured alike":    "as a step like it ran",
	"dump size":         "as the dump ran",
	"kind median":       "as steps of its kind ran here",
	"typical step here": "as steps of any kind ran here",
	"merge rate":        "at the rate merges ran here",
	"reckoned":          "a guess: nothing has run yet",
}

// Basis names each step's share and where it comes from, in one line:
// "Stop the old server: 200ms, as a step like it ran; …".
func (f DowntimeForecast) Basis() string { return strings.Join(f.parts(), "; ") }

// parts are Basis's items: each counted step's share, then the gap.
func (f DowntimeForecast) parts() []string {
	var parts []string
	for _, s := range f.Steps {
		if s.Basis == "manual" || s.Basis == basisUntimed {
			continue
		}
		name := cmp.Or(s.Title, s.Step)
		basis, check := s.Basis, ""
		if rest, ok := strings.CutPrefix(basis, "manual, its check "); ok {
			basis, check = rest, " (the check before it)"
		}
		parts = append(parts, fmt.Sprintf("%s%s: %s, %s", name, check, roundDur(s.Expected), cmp.Or(basisWords[basis], basis)))
	}
	if roundDur(f.Gap) > 0 { // not "0s between steps"
		parts = append(parts, fmt.Sprintf("%s between steps", roundDur(f.Gap)))
	}
	return parts
}

func roundDur(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(10 * time.Millisecond)
	}
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// RepeatAdvice is what the question after a pass of a repeatable transfer
// adds to PassSummary: while the passes still shrink by at least a second,
// "; one more pass would save about N s in the cold copy" (ForecastPass's
// Saving), else "".
func RepeatAdvice(passes []PassSample) string {
	pf := ForecastPass(passes)
	if pf.Saving < time.Second {
		return ""
	}
	return fmt.Sprintf("; the passes still shrink: one more pass would save about %s in the cold copy", roundDur(pf.Saving))
}

// PassSamples returns the passes of a step as the journal tells them: each
// finished run's duration with its counters' bytes and files.
func PassSamples(st *State, id string) []PassSample {
	r := st.Steps[id]
	if r == nil {
		return nil
	}
	out := make([]PassSample, len(r.Passes))
	for i, d := range r.Passes {
		out[i].Duration = d
		if i < len(r.PassCounters) && r.PassCounters[i] != nil && r.PassCounters[i].Unit == "bytes" {
			out[i].Bytes = r.PassCounters[i].Done
			out[i].Files = r.PassCounters[i].FilesDone
		}
	}
	return out
}

// ForecastDowntime reckons the downtime window of rb from the journal's
// state st, before the step that starts it runs: every step from that step
// to the one that ends the window, each by the best figure the journal
// holds, laid out as the engine will run them (steps beside each other,
// Step.Beside, count by their longest chain; see forecastPath). Each
// automatic step counts, in this order of preference:
//
//   - its own last run, start to end (a resume, an earlier attempt):
//     "measured";
//   - a cold transfer (an rsync step whose pass is cold): the next pass
//     the hot transfers' histories predict (ForecastPass), the longest of
//     them when the cold step copies its paths at once (parallel > 1),
//     else their sum: "hot passes";
//   - the last run of an earlier step alike (its twin: the same kind and,
//     for commands, the same command lines, such as the new server's stop
//     for the old one's, or the hot phase's rehearsal of the dump and the
//     restore; a row-count proof takes the login check of the same
//     databases): "measured alike" (a rehearsal's restore counts the
//     restore without the drop of its scratch databases, from its fact);
//   - a restore with no twin: the dump's time, when the dump ran ("dump
//     size");
//   - the median of the journal's runs of the same kind ("kind median"),
//     else of every measured step that is not a repeated transfer
//     ("typical step here");
//   - untimedStep, only when the journal holds no timing at all
//     ("reckoned").
//
// Between two steps the engine checks preconditions and writes the
// journal: the median of those gaps in the journal so far is added once
// per step on the longest chain. A manual step's own time is the admin's
// and is not counted (Manual), but a check ferry makes before putting it
// (its precondition kind) is. applies says whether a step runs here (its
// when); nil means every step does.
func ForecastDowntime(rb *Runbook, st *State, applies func(*Step) bool) DowntimeForecast {
	var f DowntimeForecast
	from, to := -1, len(rb.Steps)-1
	for i := range rb.Steps {
		switch rb.Steps[i].Downtime {
		case DowntimeStart:
			if from < 0 {
				from = i
			}
		case DowntimeEnd:
			if from >= 0 {
				to = i
			}
		}
	}
	if from < 0 {
		return f
	}
	k := newKnown(rb, st, from)
	var path []pathStep
	for i := from; i <= to; i++ {
		s := &rb.Steps[i]
		if applies != nil && !applies(s) {
			continue
		}
		sf := StepForecast{Step: s.ID, Title: s.Title}
		if s.Level == LevelManual {
			f.Manual++
			sf.Basis = "manual"
			if c := s.Precondition; c != nil && c.Kind != "" {
				// The check ferry makes before it puts the step.
				sf.Expected, sf.Basis = k.estimate(&Step{ID: s.ID, Kind: c.Kind, Host: s.Host, Params: c.Params})
				sf.Basis = "manual, its check " + sf.Basis
			}
		} else {
			sf.Expected, sf.Basis = k.estimate(s)
			if sf.Basis == "hot passes" {
				f.Saving += k.hotSaving
			}
			if n, err := strconv.ParseInt(st.Facts[FactForecastQueued+s.ID], 10, 64); err == nil && n >= 0 && isUntimedKind(s) {
				if f.Queued == nil {
					f.Queued = map[string]int64{}
				}
				f.Queued[s.ID] = n
				if rate := k.mergeRate(); rate > 0 && sf.Basis == basisUntimed {
					sf.Expected, sf.Basis = seconds(float64(n)/rate), "merge rate"
				}
			}
			if sf.Basis == basisUntimed {
				f.Untimed = append(f.Untimed, s.ID)
			}
		}
		f.Steps = append(f.Steps, sf)
		path = append(path, pathStep{step: s, cost: sf.Expected})
	}
	f.Gap = k.gap
	cpus, _ := strconv.Atoi(st.Facts["cpus"])
	f.Total = forecastPath(path, k.gap, cpus)
	return f
}

// pathStep is one step of the window with its expected cost.
type pathStep struct {
	step *Step
	cost time.Duration
}

// forecastPath lays the steps of the window out as the engine runs them
// and returns when the last one ends: one after another, except that a
// step naming earlier ones in Beside starts when the others it waits for
// have ended (engine_group.go), so steps beside each other count by their
// longest chain. Steps at once share the machine, though: with cpus
// processors (the new server's, from the facts; 0 when unknown), a group
// lasts at least its steps' total cost spread over them. Each step adds
// gap (the engine's time between steps) after the step it waits for.
func forecastPath(steps []pathStep, gap time.Duration, cpus int) time.Duration {
	end := make([]time.Duration, len(steps))
	var total time.Duration
	groupStart, groupWork := time.Duration(0), time.Duration(0)
	for j, ps := range steps {
		var start time.Duration
		for k := range j {
			if !slices.Contains(ps.step.Beside, steps[k].step.ID) && end[k] > start {
				start = end[k]
			}
		}
		if len(ps.step.Beside) == 0 {
			// A step that waits for every earlier one starts a new group.
			groupStart, groupWork = start, 0
		}
		end[j] = start + ps.cost
		if ps.step.Level != LevelManual || ps.cost > 0 {
			end[j] += gap
		}
		groupWork += ps.cost
		if cpus > 0 && len(ps.step.Beside) > 0 {
			// The group so far cannot end before its work is done on
			// cpus processors.
			end[j] = max(end[j], groupStart+groupWork/time.Duration(cpus)+gap)
		}
		total = max(total, end[j])
	}
	return total
}

// known is what the journal says about the steps before the window.
type known struct {
	rb        *Runbook
	st        *State
	from      int
	hotNext   []time.Duration // each hot transfer's predicted next pass
	hotSaving time.Duration
	gap       time.Duration
	dumpTime  time.Duration
}

func newKnown(rb *Runbook, st *State, from int) *known {
	k := &known{rb: rb, st: st, from: from, gap: journalGap(st)}
	for i := range rb.Steps[:from] {
		s := &rb.Steps[i]
		if s.Repeatable && s.Kind == "rsync" && len(st.Steps[s.ID].passes()) > 0 {
			pf := ForecastPass(PassSamples(st, s.ID))
			k.hotNext = append(k.hotNext, pf.Next)
			k.hotSaving += pf.Saving
		}
	}
	return k
}

// span is the last run of step id, from its start event to its end event
// (its success check and journal writes included), or its last pass's
// duration when the times are missing; ok is false when it never ran.
func (k *known) span(id string) (time.Duration, bool) {
	r := k.st.Steps[id]
	ran := r.passes()
	if len(ran) == 0 {
		return 0, false
	}
	d := ran[len(ran)-1]
	if !r.Started.IsZero() && r.Finished.After(r.Started) {
		d = max(d, r.Finished.Sub(r.Started))
	}
	return d, true
}

// estimate returns step s's expected cost and where it comes from (see
// ForecastDowntime).
func (k *known) estimate(s *Step) (time.Duration, string) {
	if d, ok := k.span(s.ID); ok && s.Level != LevelManual {
		if s.Kind == "pg-dump" {
			k.dumpTime = d
		}
		return d, "measured"
	}
	if isUntimedKind(s) {
		// Its cost is per message, and no step before the window merges
		// any: a median of other steps would say milliseconds for what
		// can take hours.
		return 0, basisUntimed
	}
	if s.Kind == "rsync" && s.Params["pass"] == "cold" && len(k.hotNext) > 0 {
		var d time.Duration
		for _, n := range k.hotNext {
			if params(s.Params).int("parallel", 1) > 1 {
				d = max(d, n)
			} else {
				d += n
			}
		}
		return d, "hot passes"
	}
	if d, ok := k.twin(s); ok {
		if s.Kind == "pg-dump" {
			k.dumpTime = d
		}
		return d, "measured alike"
	}
	if s.Kind == "pg-restore" && k.dumpTime > 0 {
		// pg_restore writes what pg_dump read; without a twin, its rate
		// is taken to be the dump's.
		return k.dumpTime, "dump size"
	}
	var same, all []time.Duration
	for i := range k.rb.Steps[:k.from] {
		o := &k.rb.Steps[i]
		d, ok := k.span(o.ID)
		if !ok || o.Repeatable || o.Level == LevelManual {
			continue
		}
		all = append(all, d)
		if o.Kind == s.Kind {
			same = append(same, d)
		}
	}
	if len(same) > 0 {
		return median(same), "kind median"
	}
	if len(all) > 0 {
		return median(all), "typical step here"
	}
	return untimedStep, "reckoned"
}

// mergeRate is the rate, in messages per second, at which the queue merges
// of this migration merged so far: the messages every finished run of a
// queue-merge step counted over the runs' durations; 0 when none merged a
// message (no rate is made up).
func (k *known) mergeRate() float64 {
	var msgs int64
	var took time.Duration
	for i := range k.rb.Steps {
		s := &k.rb.Steps[i]
		r := k.st.Steps[s.ID]
		if !isUntimedKind(s) || r == nil {
			continue
		}
		for j, d := range r.Passes {
			if j < len(r.PassCounters) && r.PassCounters[j] != nil && r.PassCounters[j].Unit == "messages" && r.PassCounters[j].Done > 0 && d > 0 {
				msgs += r.PassCounters[j].Done
				took += d
			}
		}
	}
	if msgs == 0 || took <= 0 {
		return 0
	}
	return float64(msgs) / took.Seconds()
}

// isUntimedKind reports whether nothing before the window can time s: a
// queue merge, whose cost is per message.
func isUntimedKind(s *Step) bool { return s.Kind == "queue-merge" }

// ForecastLeavesOut reports whether ForecastDowntime leaves step s's time
// out of its total: a manual step (the admin's own time) or a step nothing
// before the window can time (a queue merge). The report takes the same
// steps off the measured window before comparing.
func ForecastLeavesOut(s *Step) bool { return s.Level == LevelManual || isUntimedKind(s) }

// basisUntimed is the Basis of a step whose time nothing before the window
// tells (DowntimeForecast.Untimed).
const basisUntimed = "untimed"

// twinKinds maps a kind to the kind of an earlier step that costs about
// the same, when none of its own kind ran: the row-count proof connects to
// the same databases on both servers as the login check did.
var twinKinds = map[string]string{"pg-verify": "pg-login"}

// twin returns the last run of the latest step before the window alike to
// s (same kind, same command lines for commands; same host preferred),
// start to end; a rehearsal's restore counts its own restore only (its
// FactRehearsalRestore).
func (k *known) twin(s *Step) (time.Duration, bool) {
	for _, kind := range []string{s.Kind, twinKinds[s.Kind]} {
		if kind == "" {
			continue
		}
		var best time.Duration
		found, sameHost := false, false
		for i := range k.rb.Steps[:k.from] {
			o := &k.rb.Steps[i]
			if o.Kind != kind || o.Repeatable || o.Level == LevelManual || o.ID == s.ID {
				continue
			}
			if kind == "command" && !slices.Equal(commandLines(o), commandLines(s)) {
				continue
			}
			d, ok := k.span(o.ID)
			if !ok {
				continue
			}
			if v, err := strconv.ParseFloat(k.st.Facts[FactRehearsalRestore+o.ID], 64); err == nil && v > 0 {
				d = seconds(v)
			}
			if !found || o.Host == s.Host || !sameHost {
				best, found, sameHost = d, true, o.Host == s.Host
			}
		}
		if found {
			return best, true
		}
	}
	return 0, false
}

// commandLines is what a command step runs on any family, one string per
// command.
func commandLines(s *Step) []string {
	var out []string
	for _, c := range s.Commands[FamilyAny] {
		out = append(out, strings.Join(c.Argv, "\x00")+"\x01"+c.Shell)
	}
	return out
}

// journalGap is the median time the engine took between the end of one
// step and the start of the next (precondition checks, journal writes)
// when nobody was asked in between, from the journal so far; 0 when it
// holds no such pair.
func journalGap(st *State) time.Duration {
	var gaps []time.Duration
	var last time.Time
	for _, ev := range st.Events {
		switch ev.Type {
		case EvStepFinished:
			last = ev.Time
		case EvWaiting, EvRunStarted, EvRunResumed:
			last = time.Time{}
		case EvStepStarted:
			if !last.IsZero() && !ev.Time.Before(last) {
				gaps = append(gaps, ev.Time.Sub(last))
			}
			last = time.Time{}
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	return median(gaps)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// passes returns the recorded pass durations of a step record (nil-safe).
func (r *StepRecord) passes() []time.Duration {
	if r == nil {
		return nil
	}
	return r.Passes
}

// passCounters keeps each pass's counters beside its duration in Replay.
func passCounters(c *tasks.Progress) *tasks.Progress {
	if c == nil {
		return nil
	}
	cp := *c
	return &cp
}
