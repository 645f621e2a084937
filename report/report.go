// Package report writes the record of a migration from its journal: the
// header a change ticket needs, the downtime window, the timeline of steps,
// who confirmed, skipped or answered what, the counters, the warnings and
// every command run. It renders the same content as Markdown or as one
// self-contained HTML page.
package report

import (
	"fmt"
	"github.com/dustin/go-humanize/english"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/dustin/go-humanize"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// Format names.
const (
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
)

// Formats returns the formats Write knows, the default first.
func Formats() []string { return []string{FormatMarkdown, FormatHTML} }

// Write renders the report of the migration st in the given format ("" means
// markdown). rb is the runbook the migration follows; it may be nil when the
// runbook cannot be loaded, and step ids then stand in for titles.
func Write(w io.Writer, st *wizard.State, rb *wizard.Runbook, format string) error {
	if st == nil {
		return fmt.Errorf("report: no migration state to report on")
	}
	switch format {
	case FormatMarkdown, "":
		return writeMarkdown(w, build(st, rb))
	case FormatHTML:
		return writeHTML(w, build(st, rb))
	default:
		return fmt.Errorf("report format %q is not known (use %s)", format, strings.Join(Formats(), " or "))
	}
}

// doc is the report's content, already cleaned and formatted, shared by the
// two renderers so that they cannot disagree.
type doc struct {
	Title     string
	RunbookID string
	Hash      string
	HashNote  string
	Began     string
	Changed   string
	Finished  bool
	Outcome   string
	Old, New  server
	Downtime  downtime
	Steps     []stepRow
	Repeated  []passGroup
	Confirms  []confirmRow
	Skips     []skipRow
	// Overrides are the gates (a step run although a step it requires had
	// not passed) an admin went past, with the reason given.
	Overrides []skipRow
	Answers   []answerRow
	Manual    []manualRow
	Counters  []counterRow
	Warnings  []string
	Commands  []commandRow
	Totals    []keyValue
	Facts     []keyValue
	History   []historyRow
}

type server struct {
	Name, Addr, Platform string
}

// Describe is the server in one line, with what is unknown said so.
func (s server) Describe() string {
	var parts []string
	switch {
	case s.Name != "" && s.Addr != "" && s.Name != s.Addr:
		parts = append(parts, s.Name+" ("+s.Addr+")")
	case s.Name != "":
		parts = append(parts, s.Name)
	case s.Addr != "":
		parts = append(parts, s.Addr)
	}
	if s.Platform != "" {
		parts = append(parts, s.Platform)
	}
	if s.Name == "" && s.Addr == "" {
		parts = append(parts, "name and address not in the journal")
	}
	return strings.Join(parts, ", ")
}

type downtime struct {
	// State is "none" (never began), "open" or "closed".
	State     string
	Start     string
	StartStep string
	End       string
	EndStep   string
	Duration  string
	// Forecast is the downtime ferry forecast before the window began
	// (wizard.FactDowntimeForecast), with how far the measured window
	// came from it when the window closed; "" when none was recorded.
	Forecast string
	// Summary is the window in one sentence.
	Summary string
	// Spent lists the step runs that began inside the window.
	Spent []keyValue
}

type stepRow struct {
	N       int
	Title   string
	ID      string
	Phase   string
	Status  string
	Class   string
	Symbol  string
	Started string
	Ended   string
	Took    string
	Passes  string
	Message string
	// Journal is set for steps the runbook does not know.
	Journal bool
}

type passGroup struct {
	Title, ID  string
	Prediction string
	Runs       []runRow
}

type runRow struct {
	N                    int
	Started, Ended, Took string
	Status               string
	Counters             string
}

type confirmRow struct{ Time, Step, Actor, Typed string }
type skipRow struct{ Time, Step, Actor, Reason string }
type answerRow struct{ Time, Step, Actor, Key, Value string }
type manualRow struct{ Time, Step, Actor, Message string }
type counterRow struct{ Step, Unit, Amount string }
type commandRow struct {
	Time, Step, Host, Command, Exit string
	Failed                          bool
}
type keyValue struct{ Key, Value string }
type historyRow struct{ Time, What, Message string }

// run is one run of a step, as the journal tells it.
type run struct {
	pass     int
	start    time.Time
	end      time.Time
	dur      time.Duration
	status   wizard.Status
	counters *tasks.Progress
	closed   bool
	// message is what the run's end said (a failure's reason).
	message string
}

// build turns the state (and the runbook, when there is one) into a doc.
func build(st *wizard.State, rb *wizard.Runbook) *doc {
	d := &doc{Finished: st.Finished}
	now := reportNow(st)
	title := func(id string) string {
		if rb != nil {
			if s := rb.Step(id); s != nil && s.Title != "" {
				return clean(s.Title) + " (" + clean(id) + ")"
			}
		}
		return clean(id)
	}

	// Header.
	d.RunbookID = clean(st.Runbook)
	d.Title = "runbook " + orUnknown(d.RunbookID) + " (not loaded)"
	if rb != nil {
		d.Title = clean(rb.Title)
		if d.RunbookID == "" {
			d.RunbookID = clean(rb.ID)
		}
	}
	d.Hash = orUnknown(short(clean(st.Hash)))
	if rb != nil && rb.Hash != "" && st.Hash != "" && rb.Hash != st.Hash {
		d.HashNote = "the runbook loaded now has hash " + short(rb.Hash) + ": it changed since the journal recorded it"
	}
	d.Began = stamp(st.Started)
	d.Changed = stamp(st.Updated)
	d.Old = server{Name: clean(st.Facts["old_name"]), Addr: clean(st.Facts["old_addr"]), Platform: clean(st.Facts["old_platform"])}
	d.New = server{Name: clean(st.Facts["new_name"]), Addr: clean(st.Facts["new_addr"]), Platform: clean(st.Facts["new_platform"])}

	// Walk the events once: runs of each step, decisions, commands, history.
	runs := map[string][]*run{}
	var journalOrder []string
	seen := map[string]bool{}
	note := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			journalOrder = append(journalOrder, id)
		}
	}
	var lastFinish wizard.Event
	var startStep, endStep string
	for _, ev := range st.Events {
		switch ev.Type {
		case wizard.EvStepStarted, wizard.EvStepFinished, wizard.EvSkipped, wizard.EvWaiting,
			wizard.EvConfirmed, wizard.EvCommand, wizard.EvAnswered:
			note(ev.Step)
		}
		at := stamp(ev.Time)
		switch ev.Type {
		case wizard.EvRunStarted, wizard.EvRunResumed:
			lastFinish = wizard.Event{}
			what := "run started"
			if ev.Type == wizard.EvRunResumed {
				what = "run resumed"
			}
			msg := "runbook " + clean(ev.Runbook) + ", hash " + short(clean(ev.Hash))
			if ev.Message != "" {
				msg += "; " + clean(ev.Message)
			}
			d.History = append(d.History, historyRow{at, what, msg})
		case wizard.EvRunbookChanged:
			d.History = append(d.History, historyRow{at, "runbook changed", clean(ev.Message)})
		case wizard.EvRunFinished:
			lastFinish = ev
			what := "run ended: " + clean(string(ev.Status))
			if ev.Lost {
				what = "run ended unfinished: its runner died"
			}
			d.History = append(d.History, historyRow{at, what, clean(ev.Message)})
		case wizard.EvStepStarted:
			rs := runs[ev.Step]
			if n := len(rs); n > 0 && !rs[n-1].closed {
				// A start without a finish before it: that run was cut off.
				rs[n-1].status = wizard.StatusInterrupted
				rs[n-1].closed = true
			}
			runs[ev.Step] = append(rs, &run{pass: ev.Pass, start: ev.Time, status: wizard.StatusRunning})
		case wizard.EvStepFinished:
			rs := runs[ev.Step]
			if n := len(rs); n > 0 && !rs[n-1].closed {
				r := rs[n-1]
				r.end, r.dur, r.status, r.counters, r.closed, r.message = ev.Time, ev.Duration, ev.Status, ev.Counters, true, ev.Message
			}
			if ev.Actor != "" {
				d.Manual = append(d.Manual, manualRow{at, title(ev.Step), clean(ev.Actor), clean(ev.Message)})
			}
		case wizard.EvConfirmed:
			d.Confirms = append(d.Confirms, confirmRow{at, title(ev.Step), orUnknown(clean(ev.Actor)), clean(ev.Message)})
		case wizard.EvOverridden:
			d.Overrides = append(d.Overrides, skipRow{at, title(ev.Step), orUnknown(clean(ev.Actor)), orText(clean(ev.Message), "no reason given")})
		case wizard.EvReopened:
			d.History = append(d.History, historyRow{at, "step reopened", title(ev.Step) + ": " + clean(ev.Message) + ", by " + orUnknown(clean(ev.Actor))})
		case wizard.EvLifelineUp, wizard.EvLifelineDown:
			what := clean(ev.Message)
			if ev.Step != "" {
				what = title(ev.Step) + ": " + what
			}
			d.History = append(d.History, historyRow{at, "spare sshd", what})
		case wizard.EvSkipped:
			d.Skips = append(d.Skips, skipRow{at, title(ev.Step), orUnknown(clean(ev.Actor)), orText(clean(ev.Message), "no reason given")})
		case wizard.EvAnswered:
			keys := make([]string, 0, len(ev.Answers))
			for k := range ev.Answers {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				v := clean(ev.Answers[k])
				if ev.Message != "" {
					// A changed answer says what it replaced and why.
					v += " (" + clean(ev.Message) + ")"
				}
				d.Answers = append(d.Answers, answerRow{at, title(ev.Step), orUnknown(clean(ev.Actor)), clean(k), v})
			}
		case wizard.EvDowntimeStart:
			startStep = ev.Step
		case wizard.EvDowntimeEnd:
			endStep = ev.Step
		}
	}
	for _, id := range slices.Sorted(maps.Keys(st.Steps)) {
		note(id) // steps known to the state but in no event (should not happen)
	}

	// Commands: one list per run of a step, with what a run that never
	// ended had started (wizard.StepCommands).
	for _, ev := range wizard.StepCommands(st.Events) {
		exit, failed := "not recorded", false
		switch {
		case ev.Exit != nil:
			exit = fmt.Sprint(*ev.Exit)
			failed = *ev.Exit != 0
			if failed && rb != nil && rb.Step(ev.Step) != nil && slices.Contains(rb.Step(ev.Step).OKExits(), *ev.Exit) {
				// An exit the step counts as a pass (grep finding nothing).
				exit, failed = exit+" (the step accepts it)", false
			}
		case ev.CommandStarted() && running(st, ev.Step, runs) != nil && !ev.Time.Before(st.LastRun.Started):
			exit = "none yet: running"
		case ev.CommandStarted():
			exit = "unknown: started, and its run ended before it was recorded"
		}
		d.Commands = append(d.Commands, commandRow{stamp(ev.Time), title(ev.Step), orUnknown(clean(ev.Host)), clean(ev.Command), exit, failed})
	}

	// Outcome.
	skippedByPerson, overridden := 0, 0
	for _, ev := range st.Events {
		switch {
		case ev.Type == wizard.EvSkipped && ev.Actor != "ferry":
			skippedByPerson++
		case ev.Type == wizard.EvOverridden:
			overridden++
		}
	}
	switch {
	case st.Finished && (skippedByPerson > 0 || overridden > 0):
		d.Outcome = fmt.Sprintf("yes, but not every step passed: %s by a person and %s overridden (see Skipped steps and Gates overridden)", english.Plural(skippedByPerson, "skip", ""), english.Plural(overridden, "gate", ""))
	case st.Finished:
		d.Outcome = "yes: the migration ran to its end"
	case st.LivePID > 0:
		d.Outcome = fmt.Sprintf("no: under way, ferry (pid %d) is running it now", st.LivePID)
	case st.RunLost(false):
		// Not yet journaled by a next run: said from the journal's end.
		d.Outcome = "no: " + clean(st.LostRunText(rb.StepIDs()))
	case lastFinish.Type == wizard.EvRunFinished && lastFinish.Status != "":
		d.Outcome = "no: the last run ended " + clean(string(lastFinish.Status))
		if lastFinish.Message != "" {
			d.Outcome += " (" + clean(lastFinish.Message) + ")"
		}
	default:
		d.Outcome = "no: under way or stopped"
	}

	// Order: runbook steps first, then journal-only ids in journal order.
	var order []string
	inRunbook := map[string]bool{}
	if rb != nil {
		for _, s := range rb.Steps {
			order = append(order, s.ID)
			inRunbook[s.ID] = true
		}
	}
	for _, id := range journalOrder {
		if !inRunbook[id] {
			order = append(order, id)
		}
	}
	if !st.Finished {
		for _, id := range order {
			if s := st.Status(id); !s.Done() && st.Steps[id] != nil {
				d.Outcome += "; it stands at " + title(id) + ", " + string(s)
				break
			}
		}
	}

	// The steps a runner that died had under way (wizard.State.Unfinished).
	lost := map[string]bool{}
	if st.RunLost(st.LivePID > 0) {
		for _, id := range st.Unfinished(order) {
			lost[id] = true
		}
	}

	// Timeline and repeatable steps.
	for i, id := range order {
		rec := st.Steps[id]
		if rec == nil {
			rec = &wizard.StepRecord{Status: wizard.StatusPending}
		}
		rs := runs[id]
		row := stepRow{N: i + 1, ID: clean(id), Status: string(rec.Status), Class: string(rec.Status), Symbol: rec.Status.Symbol(), Message: clean(rec.Message), Journal: rb != nil && !inRunbook[id]}
		var step *wizard.Step
		if rb != nil {
			step = rb.Step(id)
		}
		if step != nil {
			row.Title = clean(step.Title)
			if p := rb.Phase(step.Phase); p != nil && p.Title != "" {
				row.Phase = clean(p.Title)
			} else {
				row.Phase = clean(step.Phase)
			}
		}
		if rec.Status == wizard.StatusWaiting && rec.Waiting != "" {
			row.Status += " (" + clean(rec.Waiting) + ")"
		}
		if len(rs) > 0 {
			row.Started = stamp(rs[0].start)
		}
		if !rec.Finished.IsZero() && rec.Status != wizard.StatusInterrupted {
			row.Ended = stamp(rec.Finished)
		}
		var total time.Duration
		closed := 0
		for _, r := range rs {
			if r.closed && r.status != wizard.StatusInterrupted {
				total += r.dur
				closed++
			}
		}
		switch r := running(st, id, runs); {
		case r != nil:
			// One figure: how long this run has gone on, by the clock.
			row.Took = "running for " + dur(now.Sub(r.start))
			if closed > 0 {
				row.Took += fmt.Sprintf(" (earlier runs: %s)", dur(total))
			}
			if row.Message == "" {
				row.Message = fmt.Sprintf("running now, in ferry (pid %d); its live counters show in ferry attach", st.LivePID)
			}
		case closed > 0:
			row.Took = dur(total)
			if len(rs) > 1 {
				row.Took += fmt.Sprintf(" in %d runs", len(rs))
			}
			if f := failedBefore(rs); len(f) > 0 {
				// A step that passed after failing: the failures stay on
				// the record, with their reasons.
				row.Took += fmt.Sprintf(", %d failed", len(f))
				row.Message = strings.Join(append([]string{strings.TrimSuffix(orText(row.Message, string(rec.Status)), ".")}, f...), "; ")
			}
		case rec.Status == wizard.StatusInterrupted:
			row.Took = "cut off"
		}
		if rec.Status == wizard.StatusInterrupted && row.Message == "" {
			row.Message = "ferry stopped while this step ran; the journal has no end for it"
			if lost[id] {
				row.Message = "its runner died while this step ran (killed or crashed): its outcome is unknown"
			}
		}
		repeatable := (step != nil && step.Repeatable) || len(rec.Passes) > 1
		if repeatable && len(rec.Passes) > 0 {
			parts := make([]string, len(rec.Passes))
			for j, p := range rec.Passes {
				parts[j] = dur(p)
			}
			row.Passes = fmt.Sprintf("%d: %s; next ≈ %s", len(rec.Passes), strings.Join(parts, ", "), dur(wizard.PredictNext(rec.Passes)))
		}
		d.Steps = append(d.Steps, row)
		if repeatable && len(rs) > 0 {
			g := passGroup{Title: title(id), ID: clean(id), Prediction: "no pass finished yet"}
			if len(rec.Passes) > 0 {
				g.Prediction = dur(wizard.PredictNext(rec.Passes))
			}
			for j, r := range rs {
				rr := runRow{N: r.pass, Started: stamp(r.start), Status: string(r.status)}
				if rr.N == 0 {
					rr.N = j + 1
				}
				if r.closed && r.status != wizard.StatusInterrupted {
					rr.Ended, rr.Took = stamp(r.end), dur(r.dur)
				}
				if r.status == wizard.StatusRunning && r != running(st, id, runs) {
					rr.Status = string(wizard.StatusInterrupted)
				}
				if r.counters != nil && r.counters.Counts() {
					rr.Counters = counterText(*r.counters)
				}
				g.Runs = append(g.Runs, rr)
			}
			d.Repeated = append(d.Repeated, g)
		}
		if rec.Counters != nil && rec.Counters.Counts() {
			d.Counters = append(d.Counters, counterRow{title(id), orUnknown(clean(rec.Counters.Unit)), counterText(*rec.Counters)})
		}
	}

	// Downtime.
	pos := make(map[string]int, len(order))
	for i, id := range order {
		pos[id] = i + 1
	}
	d.Downtime = downtimeOf(st, title, startStep, endStep, runs, rb, now, pos)

	// Warnings.
	for _, w := range st.Warnings {
		d.Warnings = append(d.Warnings, clean(w))
	}

	// Totals, over every run (each hot pass moves its own bytes).
	var bytes, filesMoved, filesOther, messages, items, rows int64
	for _, rs := range runs {
		for _, r := range rs {
			if r.counters == nil {
				continue
			}
			c := r.counters
			switch c.Unit {
			case "bytes":
				// What rsync sent when it said so; otherwise (a journal
				// from before, a cut-off pass) what the counters reached.
				if c.Sent {
					bytes += c.Moved
					filesMoved += c.FilesMoved
				} else {
					bytes += c.Done
					filesMoved += c.FilesDone
				}
			case "files":
				filesOther += c.Done
			case "messages":
				messages += c.Done
			case "items":
				items += c.Done
			case "rows":
				rows += c.Done
			}
		}
	}
	elapsed := "not known"
	switch {
	case st.Started.IsZero():
	case st.LivePID > 0:
		// Still going on: by the clock, not by the journal's last entry.
		elapsed = dur(now.Sub(st.Started)) + " so far"
	case !st.Finished:
		elapsed = dur(st.Updated.Sub(st.Started)) + " so far (to the journal's last entry)"
	default:
		elapsed = dur(st.Updated.Sub(st.Started))
	}
	d.Totals = []keyValue{
		{"Elapsed", elapsed},
		{"Bytes moved (every pass)", bytesText(bytes)},
		{"Files transferred", humanize.Comma(filesMoved)},
		{"Files counted or deleted", humanize.Comma(filesOther)},
		{"Messages merged", humanize.Comma(messages)},
		{"Items restored", humanize.Comma(items)},
	}
	if rows > 0 {
		d.Totals = append(d.Totals, keyValue{"Rows", humanize.Comma(rows)})
	}
	if d.Downtime.State != "none" {
		d.Totals = append(d.Totals, keyValue{"Downtime", d.Downtime.Duration})
	}

	for _, k := range slices.Sorted(maps.Keys(st.Facts)) {
		d.Facts = append(d.Facts, keyValue{clean(k), clean(st.Facts[k])})
	}
	return d
}

// failedBefore says each failed run of rs but the last (whose message is
// the step's own), as "run N failed: reason".
func failedBefore(rs []*run) []string {
	var out []string
	for i, r := range rs[:max(0, len(rs)-1)] {
		if r.closed && r.status == wizard.StatusFailed {
			out = append(out, fmt.Sprintf("run %d failed: %s", i+1, orText(clean(r.message), "no reason recorded")))
		}
	}
	return out
}

// reportTime is when the report is made (a variable so that tests can fix
// it).
var reportTime = time.Now

// reportNow is the report's time, never before the journal's last entry
// (a clock set back, or a test's fixed time).
func reportNow(st *wizard.State) time.Time {
	if t := reportTime(); t.After(st.Updated) {
		return t
	}
	return st.Updated
}

// running returns the run of step id that is going on now: its last run,
// not closed, while the ferry that holds the state directory runs it
// (wizard.State.MarkLive); nil otherwise.
func running(st *wizard.State, id string, runs map[string][]*run) *run {
	rs := runs[id]
	if rec := st.Steps[id]; len(rs) == 0 || rec == nil || rec.Status != wizard.StatusRunning || st.LivePID <= 0 {
		return nil
	}
	if r := rs[len(rs)-1]; !r.closed {
		return r
	}
	return nil
}

// downtimeOf is the downtime window: when it began and ended (or how long
// it has been open at now), the forecast, and the step runs that began in
// it, in the timeline's order (pos: a step's number there), each named with
// that number.
func downtimeOf(st *wizard.State, title func(string) string, startStep, endStep string, runs map[string][]*run, rb *wizard.Runbook, now time.Time, pos map[string]int) downtime {
	var dt downtime
	if st.DowntimeStart.IsZero() {
		dt.State = "none"
		dt.Summary = "The downtime window has not begun."
		return dt
	}
	dt.Start = stamp(st.DowntimeStart)
	if startStep != "" {
		dt.StartStep = title(startStep)
	}
	end := st.DowntimeEnd
	if end.IsZero() {
		dt.State = "open"
		dt.End = "still open"
		end = now
		// The services stay down while nobody writes to the journal (ferry
		// stopped, or waiting for a person): one figure, by the clock, the
		// one `ferry status` shows.
		dt.Duration = dur(now.Sub(st.DowntimeStart)) + " so far (still open at this report's time, " + stamp(now) + ")"
		dt.Summary = "Downtime began " + dt.Start + " and is still open: " + dur(now.Sub(st.DowntimeStart)) + " so far, by this report's time (" + stamp(now) + ")."
	} else {
		dt.State = "closed"
		dt.End = stamp(end)
		if endStep != "" {
			dt.EndStep = title(endStep)
		}
		dt.Duration = dur(end.Sub(st.DowntimeStart))
		dt.Summary = "Downtime lasted " + dt.Duration + ", from " + dt.Start + " to " + dt.End + "."
	}
	dt.Forecast = forecastText(st, rb)
	// Where the window went: every run that began inside it.
	type spent struct {
		n    int
		at   time.Time
		text keyValue
	}
	var list []spent
	for id, rs := range runs {
		for _, r := range rs {
			if r.start.Before(st.DowntimeStart) || r.start.After(end) {
				continue
			}
			took := "cut off"
			if r == running(st, id, runs) {
				took = "running for " + dur(now.Sub(r.start))
			}
			if r.closed && r.status != wizard.StatusInterrupted {
				took = dur(r.dur)
				if r.status != wizard.StatusOK {
					took += " (" + string(r.status) + ")"
				}
			}
			list = append(list, spent{pos[id], r.start, keyValue{fmt.Sprintf("%d. %s", pos[id], title(id)), took}})
		}
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].n != list[j].n {
			return list[i].n < list[j].n
		}
		return list[i].at.Before(list[j].at)
	})
	for _, s := range list {
		dt.Spent = append(dt.Spent, s.text)
	}
	return dt
}

// forecastText says the recorded downtime forecast and, once the window
// closed, the measured window's distance from it in percent of the
// measure. The forecast counts ferry's own steps only, so what the window
// spent on what it leaves out (leftOut) is taken off the measure first and
// named.
func forecastText(st *wizard.State, rb *wizard.Runbook) string {
	v := st.Facts[wizard.FactDowntimeForecast]
	secs, err := strconv.ParseFloat(v, 64)
	if v == "" || err != nil || secs < 0 {
		return ""
	}
	fc := time.Duration(secs * float64(time.Second))
	out := "about " + dur(fc) + " (forecast before the window began)"
	if basis := clean(st.Facts[wizard.FactDowntimeForecastBasis]); basis != "" {
		// The sentence says the figure in its own words ("at least …"
		// where it leaves something out) and names what it leaves out
		// (manual steps, a queue merge nothing could time), which the
		// comparison needs: no "about" in front to contradict it.
		out = "forecast before the window began: " + basis
	}
	if st.DowntimeEnd.IsZero() || st.DowntimeStart.IsZero() {
		return out
	}
	measured := st.DowntimeEnd.Sub(st.DowntimeStart)
	if measured <= 0 {
		return out
	}
	compared := measured
	out += "; measured " + dur(measured)
	if left, names := leftOut(st, rb); left > 0 && left < measured {
		compared = measured - left
		out += fmt.Sprintf(", of which %s went to what the forecast leaves out (%s), %s to the rest", dur(left), strings.Join(names, ", "), dur(compared))
	}
	off := 100 * (fc.Seconds() - compared.Seconds()) / compared.Seconds()
	word := "long"
	if off < 0 {
		word, off = "short", -off
	}
	return out + fmt.Sprintf(": the forecast fell %.0f%% %s", off, word)
}

// leftOut is the time the downtime window spent on what a forecast does not
// count (wizard.ForecastDowntime): the admin's own time on manual steps and
// queue merges, which nothing before the window can time; each from its
// first event inside the window (put to the admin, or started) to its end
// (done, or skipped).
// It returns that time and the steps' titles; 0 without a runbook.
func leftOut(st *wizard.State, rb *wizard.Runbook) (time.Duration, []string) {
	if rb == nil {
		return 0, nil
	}
	first := map[string]time.Time{}
	var total time.Duration
	var names []string
	for _, ev := range st.Events {
		if ev.Step == "" || ev.Time.Before(st.DowntimeStart) || ev.Time.After(st.DowntimeEnd) {
			continue
		}
		s := rb.Step(ev.Step)
		if s == nil || !wizard.ForecastLeavesOut(s) {
			continue
		}
		switch ev.Type {
		case wizard.EvWaiting, wizard.EvStepStarted:
			if _, ok := first[ev.Step]; !ok {
				first[ev.Step] = ev.Time
			}
		case wizard.EvStepFinished, wizard.EvSkipped:
			if t, ok := first[ev.Step]; ok {
				total += ev.Time.Sub(t)
				delete(first, ev.Step)
				if !slices.Contains(names, s.Title) {
					names = append(names, s.Title)
				}
			}
		}
	}
	return total, names
}

// counterText says what a step's counters hold, in words.
func counterText(c tasks.Progress) string {
	var s string
	switch c.Unit {
	case "bytes":
		if c.Sent {
			// A finished transfer: what it sent, then the tree it made
			// equal.
			s = fmt.Sprintf("sent %s in %s; the tree: %s, %s", bytesText(c.Moved), english.Plural(int(c.FilesMoved), "file", ""), bytesText(c.Total), english.Plural(int(c.FilesTotal), "entry", "entries"))
			break
		}
		s = bytesText(c.Done)
		if c.Total > 0 && c.Total != c.Done {
			s += " of " + bytesText(c.Total)
		}
		if c.FilesDone > 0 || c.FilesTotal > 0 {
			s += "; " + amount(c.FilesDone, c.FilesTotal, "files")
		}
	case "files":
		s = amount(c.Done, c.Total, "files")
	case "messages":
		s = amount(c.Done, c.Total, "messages merged")
	case "items":
		s = amount(c.Done, c.Total, "items restored")
	case "":
		s = amount(c.Done, c.Total, "done")
	default:
		s = amount(c.Done, c.Total, clean(c.Unit))
	}
	if c.Remaining > 0 {
		s += "; " + humanize.Comma(c.Remaining) + " remaining"
	}
	if c.Note != "" {
		s += " (" + clean(c.Note) + ")"
	}
	return s
}

func amount(done, total int64, what string) string {
	s := humanize.Comma(done)
	if total > 0 && total != done {
		s += " of " + humanize.Comma(total)
	}
	return s + " " + what
}

// bytesText is a byte count both readable and exact.
func bytesText(n int64) string {
	if n < 0 {
		n = 0
	}
	return fmt.Sprintf("%s (%s bytes)", humanize.IBytes(uint64(n)), humanize.Comma(n))
}

// stamp formats a time for the record: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// dur formats a duration: to the second, or to the millisecond when short.
func dur(d time.Duration) string {
	switch {
	case d < 0:
		return "0s"
	case d >= time.Second:
		return d.Round(time.Second).String()
	default:
		return d.Round(time.Millisecond).String()
	}
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func orUnknown(s string) string { return orText(s, "unknown") }

func orText(s, alt string) string {
	if strings.TrimSpace(s) == "" {
		return alt
	}
	return s
}

// clean strips terminal control sequences and other control characters
// (newlines are kept; the renderers deal with them) from journal text.
func clean(s string) string {
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, s)
}
