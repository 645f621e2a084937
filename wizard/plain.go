package wizard

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
	"github.com/dustin/go-humanize"

	"github.com/ferry-migrate/ferry/tasks"
)

// PlainProgressEvery is the least time, by the events' own clock, between
// two counter lines of one step in plain output: a transfer of hours
// leaves a readable log, and a short step none at all.
const PlainProgressEvery = 5 * time.Second

// Plain output keeps, of each run of a step, the first PlainOutputHead
// lines its programs print (stdout and stderr), then only the last
// PlainOutputTail, written when the step finishes or waits, after a line
// saying how many were left out. ferry's own notes (the "info" stream) are
// always written.
const (
	PlainOutputHead = 40
	PlainOutputTail = 10
)

// CounterWords says counters p in words, as the plain lines do ("1,234 of
// 20,000 messages, 12/s"); "" for nil.
func CounterWords(p *tasks.Progress) string {
	if p == nil {
		return ""
	}
	return counterWords(p)
}

// PlainPrinter returns a sink that writes the events of a run of rb to w
// as plain lines for a person reading a log (`ferry run ... | tee log`):
// no escape sequence or other control character ever (text that came from
// a program is stripped of them), one event a line.
// Every line begins with the event's time (HH:MM:SS, in the time zone the
// event carries: the engine's UTC) and, for a step, its number in rb, its
// id and a colon, so `grep STEP-ID` finds all of one step.
//
// It writes: the run started or resumed; each step started (number,
// server, title, pass) and finished (done, failed or skipped, how long, the
// message, the counters); every command with its exit status; warnings,
// skips with their reason, answers and confirmations with who gave them,
// facts learnt, gates overridden; the downtime's start and end (and its
// length when both were seen); each waiting step and what it waits for;
// counters at most every PlainProgressEvery per step; and the run's end.
//
// A step's output lines are written as they come, as "out| " (stdout),
// "err| " (stderr) or "ferry| " (ferry's notes) after the step prefix, up
// to PlainOutputHead per run of the step; past that only the last
// PlainOutputTail are kept and written at its end. A log then holds what
// each command said, the beginning (where a tool says what it is doing)
// and the end (where it says how it went, or why it failed), and stays
// bounded however much a transfer of a million files prints; the complete
// record of commands and exit statuses is the journal's (ferry report).
//
// The sink does not mask secrets: RunUnattended hands it events already
// masked. It is safe for concurrent use; write errors are ignored.
func PlainPrinter(w io.Writer, rb *Runbook) func(Event) {
	p := &plainPrinter{w: w, rb: rb, steps: map[string]*plainStep{}}
	return p.print
}

type plainPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	rb    *Runbook
	steps map[string]*plainStep
	// downtime is when the downtime began, if this run saw it begin.
	downtime time.Time
}

// plainStep is what the printer keeps of the current run of a step.
type plainStep struct {
	lastProgress time.Time
	shown        int      // output lines written
	left         int      // output lines left out
	tail         []string // the last PlainOutputTail lines left out
}

func (p *plainPrinter) step(id string) *plainStep {
	s := p.steps[id]
	if s == nil {
		s = &plainStep{}
		p.steps[id] = s
	}
	return s
}

// prefix is the beginning of every line about step id: "[ 3/42] id:".
func (p *plainPrinter) prefix(id string) string {
	if id == "" {
		return ""
	}
	n, total := 0, 0
	if p.rb != nil {
		total = len(p.rb.Steps)
		for i := range p.rb.Steps {
			if p.rb.Steps[i].ID == id {
				n = i + 1
			}
		}
	}
	if n == 0 {
		return id + ": "
	}
	width := len(strconv.Itoa(total))
	return fmt.Sprintf("[%*d/%d] %s: ", width, n, total, id)
}

func (p *plainPrinter) line(ev Event, text string) {
	_, _ = io.WriteString(p.w, ev.Time.Format("15:04:05")+" "+p.prefix(ev.Step)+text+"\n")
}

func (p *plainPrinter) print(ev Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	msg := plainText(ev.Message)
	switch ev.Type {
	case EvRunStarted:
		p.line(ev, fmt.Sprintf("run started on %s: %s (runbook %s)", ev.Time.Format("2006-01-02, time zone MST"), msg, plainText(ev.Runbook)))
	case EvRunResumed:
		p.line(ev, fmt.Sprintf("run resumed on %s from the journal (runbook %s)", ev.Time.Format("2006-01-02, time zone MST"), plainText(ev.Runbook)))
	case EvRunbookChanged:
		p.line(ev, "the runbook changed: "+msg)
	case EvStepStarted:
		p.steps[ev.Step] = &plainStep{lastProgress: ev.Time}
		text := "started"
		if st := p.rbStep(ev.Step); st != nil && st.Host != "" {
			text += " on the " + st.Host + " server"
		}
		text += ": " + msg
		if ev.Pass > 1 {
			text += fmt.Sprintf(" (pass %d)", ev.Pass)
		}
		p.line(ev, text)
	case EvStepFinished:
		p.flushTail(ev)
		text := statusWord(ev.Status)
		if ev.Duration > 0 {
			text += " in " + plainDuration(ev.Duration)
		}
		if msg != "" {
			text += ": " + msg
		}
		if ev.Counters != nil {
			text += " (" + counterWords(ev.Counters) + ")"
		}
		p.line(ev, text)
	case EvCommand:
		if ev.CommandStarted() {
			p.line(ev, fmt.Sprintf("runs on %s: %s", plainText(ev.Host), plainText(ev.Command)))
			return
		}
		exit := "exit status unknown"
		if ev.Exit != nil {
			exit = "exit " + strconv.Itoa(*ev.Exit)
		}
		p.line(ev, fmt.Sprintf("ran on %s: %s -> %s", plainText(ev.Host), plainText(ev.Command), exit))
	case EvOutput:
		p.output(ev, msg)
	case EvProgress:
		if ev.Progress == nil {
			return
		}
		s := p.step(ev.Step)
		if ev.Time.Sub(s.lastProgress) < PlainProgressEvery {
			return
		}
		s.lastProgress = ev.Time
		p.line(ev, "so far: "+counterWords(ev.Progress))
	case EvWarning:
		p.line(ev, "warning: "+msg)
	case EvSkipped:
		text := "skipped"
		if msg != "" {
			text += ": " + msg
		}
		if ev.Actor != "" {
			text += " (" + plainText(ev.Actor) + ")"
		}
		p.line(ev, text)
	case EvWaiting:
		p.flushTail(ev)
		text := "waits for " + NeedText(ev.Need)
		if msg != "" {
			text += ": " + msg
		}
		if len(ev.Questions) > 0 {
			qs := make([]string, len(ev.Questions))
			for i, q := range ev.Questions {
				qs[i] = plainText(q.Key) + " (" + plainText(q.Prompt) + ")"
			}
			text += ": " + strings.Join(qs, ", ")
		}
		p.line(ev, text)
	case EvAnswered:
		text := "answered"
		if ev.Actor != "" {
			text += " by " + plainText(ev.Actor)
		}
		if len(ev.Answers) > 0 {
			text += ": " + pairs(ev.Answers, 0)
		}
		if msg != "" {
			text += " (" + msg + ")"
		}
		p.line(ev, text)
	case EvConfirmed:
		text := "confirmed"
		if ev.Actor != "" {
			text += " by " + plainText(ev.Actor)
		}
		if msg != "" {
			text += ": " + msg
		}
		p.line(ev, text)
	case EvFact:
		told := toldFacts(ev.Facts)
		if len(told) == 0 {
			return
		}
		text := "learnt " + pairs(told, plainFactMax)
		if msg != "" {
			text += " (" + msg + ")"
		}
		p.line(ev, text)
	case EvDowntimeStart:
		p.downtime = ev.Time
		p.line(ev, "DOWNTIME BEGINS")
	case EvDowntimeEnd:
		text := "DOWNTIME ENDS"
		if !p.downtime.IsZero() {
			text += " after " + plainDuration(ev.Time.Sub(p.downtime))
		}
		p.line(ev, text)
	case EvOverridden:
		p.line(ev, fmt.Sprintf("gate overridden by %s: %s", plainText(ev.Actor), msg))
	case EvReopened:
		p.line(ev, fmt.Sprintf("put back to run again by %s: %s", plainText(ev.Actor), msg))
	case EvRunFinished:
		for _, id := range slices.Sorted(maps.Keys(p.steps)) {
			p.flushTail(Event{Time: ev.Time, Step: id})
		}
		text := "run finished: " + statusWord(ev.Status)
		if msg != "" {
			text += ": " + msg
		}
		if ev.Lost {
			// An earlier run's end, journaled by the run that begins.
			text = "earlier run: " + msg
		}
		p.line(ev, text)
	default:
		if msg != "" {
			p.line(ev, string(ev.Type)+": "+msg)
		}
	}
}

func (p *plainPrinter) rbStep(id string) *Step {
	if p.rb == nil {
		return nil
	}
	return p.rb.Step(id)
}

// output writes one output line of a step, or keeps it in the tail once
// the head is written.
func (p *plainPrinter) output(ev Event, msg string) {
	var tag string
	switch ev.Stream {
	case "info":
		p.line(ev, "  ferry| "+msg)
		return
	case "stderr":
		tag = "  err| "
	case "stdout":
		tag = "  out| "
	default:
		tag = "  " + plainText(ev.Stream) + "| "
	}
	s := p.step(ev.Step)
	if s.shown < PlainOutputHead {
		s.shown++
		p.line(ev, tag+msg)
		return
	}
	s.left++
	s.tail = append(s.tail, ev.Time.Format("15:04:05")+" "+p.prefix(ev.Step)+tag+msg)
	if len(s.tail) > PlainOutputTail {
		s.tail = s.tail[1:]
	}
}

// flushTail writes the output lines of ev.Step kept back, after a line
// saying how many were left out.
func (p *plainPrinter) flushTail(ev Event) {
	s := p.steps[ev.Step]
	if s == nil || s.left == 0 {
		return
	}
	if n := s.left - len(s.tail); n > 0 {
		p.line(ev, fmt.Sprintf("  ... %d output lines left out (the first %d are above, the last %d follow)", n, s.shown, len(s.tail)))
	}
	for _, l := range s.tail {
		_, _ = io.WriteString(p.w, l+"\n")
	}
	s.left, s.tail = 0, nil
}

// statusWord is a step's or the run's status in plain words.
func statusWord(s Status) string {
	switch s {
	case StatusOK:
		return "done"
	case StatusFailed:
		return "FAILED"
	case "":
		return "finished"
	}
	return string(s)
}

// toldFacts is the part of facts plain output shows: what ferry found out
// about the servers, not the empty values nor the plumbing it builds from
// them (the ssh command line and its options, the rsync destination,
// bookkeeping of hosts lines, backups and counts); the journal and ferry
// report keep them all.
func toldFacts(facts map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range facts {
		switch {
		case strings.TrimSpace(v) == "",
			k == FactOldSSHCommand, k == FactOldDestination, k == FactBackupSuffix,
			k == "old_ssh_legacy", k == "old_host",
			strings.HasPrefix(k, "hosts_line_"),
			strings.HasPrefix(k, FactMergeParkedAtStart),
			strings.HasPrefix(k, FactRehearsalRestore):
			continue
		}
		out[k] = v
	}
	return out
}

// plainFactMax is the most bytes of a fact's value plain output shows (an
// environment or a list of tablespaces can run long); the journal keeps
// the whole value.
const plainFactMax = 120

// pairs writes a map as "k=v, k=v", sorted by key, each value cut to
// limit bytes (at a rune boundary, "..." after it) when limit > 0.
func pairs(m map[string]string, limit int) string {
	out := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := plainText(m[k])
		if limit > 0 && len(v) > limit {
			cut := limit
			for cut > 0 && !utf8.RuneStart(v[cut]) {
				cut--
			}
			v = v[:cut] + "..."
		}
		out = append(out, plainText(k)+"="+v)
	}
	return strings.Join(out, ", ")
}

// plainText is s on one line with no escape sequence (ansi.Strip) and no
// other control character: line breaks and tabs become spaces, the rest
// (C0, DEL, C1) is dropped.
func plainText(s string) string {
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, strings.TrimRight(s, "\r\n"))
}

// plainDuration writes a duration briefly: 230ms, 4s, 12m3s, 1h2m3s.
func plainDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// counterWords puts a progress snapshot into one line of ASCII: what is
// done of what total, the files of a transfer, the rate, the time left
// and the task's note.
func counterWords(c *tasks.Progress) string {
	var parts []string
	switch c.Unit {
	case "bytes":
		s := humanize.Bytes(uint64(max(0, c.Done)))
		if c.Total > 0 {
			s += " of " + humanize.Bytes(uint64(c.Total))
		}
		parts = append(parts, s)
		switch {
		case c.FilesTotal > 0:
			parts = append(parts, humanize.Comma(c.FilesDone)+" of "+humanize.Comma(c.FilesTotal)+" files")
		case c.FilesDone > 0:
			parts = append(parts, humanize.Comma(c.FilesDone)+" files")
		}
	case "messages":
		s := humanize.Comma(c.Done) + " merged"
		if c.Total > 0 {
			s = humanize.Comma(c.Done) + " of " + humanize.Comma(c.Total) + " merged"
		}
		parts = append(parts, s)
		if c.Remaining > 0 {
			parts = append(parts, humanize.Comma(c.Remaining)+" remaining")
		}
	default:
		unit := c.Unit
		if unit == "" {
			unit = "done"
		}
		s := humanize.Comma(c.Done)
		if c.Total > 0 {
			s += " of " + humanize.Comma(c.Total)
		}
		parts = append(parts, s+" "+unit)
		if c.Remaining > 0 {
			parts = append(parts, humanize.Comma(c.Remaining)+" remaining")
		}
	}
	if c.Rate > 0 {
		unit := c.Unit
		if unit == "" {
			unit = "items"
		}
		switch {
		case unit == "bytes":
			parts = append(parts, humanize.Bytes(uint64(c.Rate))+"/s")
		case c.Rate < 10:
			parts = append(parts, strconv.FormatFloat(c.Rate, 'f', 1, 64)+" "+unit+"/s")
		default:
			parts = append(parts, humanize.Comma(int64(c.Rate+0.5))+" "+unit+"/s")
		}
	}
	if c.ETA > 0 {
		parts = append(parts, "about "+plainDuration(c.ETA)+" left")
	}
	if c.Note != "" {
		parts = append(parts, plainText(c.Note))
	}
	return strings.Join(parts, ", ")
}
