package wizard

import (
	"fmt"
	"math"
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
}

// StepForecast is one step's share of a downtime forecast.
type StepForecast struct {
	Step     string
	Expected time.Duration
	// Basis says where the figure comes from: "measured" (a run of this
	// step in the journal), "hot passes" (a cold transfer forecast from
	// the hot passes), "dump size" (a restore from the dump's bytes at the
	// dump's rate), "reckoned" (no timing: untimedStep), "manual".
	Basis string
}

// Sentence says the forecast in words: the total, how it was made, and the
// advice about one more hot pass.
func (f DowntimeForecast) Sentence() string {
	var b strings.Builder
	fmt.Fprintf(&b, "expected downtime about %s", roundDur(f.Total))
	if f.Manual > 0 {
		fmt.Fprintf(&b, " plus the time of %d manual step(s)", f.Manual)
	}
	fmt.Fprintf(&b, " (%s)", f.Basis())
	if f.Saving >= time.Second {
		fmt.Fprintf(&b, "; the hot passes still shrink: one more hot pass would save about %s", roundDur(f.Saving))
	}
	return b.String()
}

// Basis names each step's share and where it comes from, in one line.
func (f DowntimeForecast) Basis() string {
	var parts []string
	for _, s := range f.Steps {
		if s.Basis == "manual" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s %s", s.Step, roundDur(s.Expected), s.Basis))
	}
	return strings.Join(parts, ", ")
}

func roundDur(d time.Duration) time.Duration {
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
// to the one that ends the window, each by the best figure known. A step
// that already ran (a resume, an earlier attempt) counts its last run; the
// cold transfer (an rsync step whose pass is cold) counts the sum of the
// next passes the hot transfers' histories predict (ForecastPass); a
// restore with no run counts the dump's bytes at the dump's rate when the
// dump ran; any other automatic step counts untimedStep; manual steps are
// counted apart (Manual). applies says whether a step runs here (its when);
// nil means every step does.
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
	// The hot transfers, for the cold one.
	var hot []string
	for i := range rb.Steps[:from] {
		s := &rb.Steps[i]
		if s.Repeatable && s.Kind == "rsync" && len(st.Steps[s.ID].passes()) > 0 {
			hot = append(hot, s.ID)
		}
	}
	var hotNext, hotSaving time.Duration
	for _, id := range hot {
		pf := ForecastPass(PassSamples(st, id))
		hotNext += pf.Next
		hotSaving += pf.Saving
	}
	var dumpBytes int64
	var dumpTime time.Duration
	for i := from; i <= to; i++ {
		s := &rb.Steps[i]
		if s.Level == LevelManual {
			f.Manual++
			f.Steps = append(f.Steps, StepForecast{Step: s.ID, Basis: "manual"})
			continue
		}
		if applies != nil && !applies(s) {
			continue
		}
		sf := StepForecast{Step: s.ID, Expected: untimedStep, Basis: "reckoned"}
		ran := st.Steps[s.ID].passes()
		switch {
		case len(ran) > 0:
			sf.Expected, sf.Basis = ran[len(ran)-1], "measured"
		case s.Kind == "rsync" && s.Params["pass"] == "cold" && len(hot) > 0:
			sf.Expected, sf.Basis = hotNext, "hot passes"
			f.Saving += hotSaving
		case s.Kind == "pg-restore" && dumpBytes > 0 && dumpTime > 0:
			// pg_restore writes what pg_dump read; without a run of its own,
			// its rate is taken to be the dump's.
			sf.Expected, sf.Basis = dumpTime, "dump size"
		}
		if s.Kind == "pg-dump" && len(ran) > 0 {
			dumpTime = ran[len(ran)-1]
			for k, v := range st.Facts {
				if strings.HasPrefix(k, "dump_bytes_") {
					n, _ := strconv.ParseInt(v, 10, 64)
					dumpBytes += n
				}
			}
		}
		f.Total += sf.Expected
		f.Steps = append(f.Steps, sf)
	}
	return f
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
