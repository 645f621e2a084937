package tui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// counterLines puts a progress snapshot into words, one entry per line:
// the fraction done (for the bar) and the lines under it. frac is negative
// when the total is unknown.
func counterLines(p *tasks.Progress) (frac float64, lines []string) {
	frac = -1
	if p.Total > 0 {
		frac = math.Min(1, math.Max(0, float64(p.Done)/float64(p.Total)))
	}
	eta := func() string {
		if p.ETA > 0 {
			return "about " + fmtDuration(p.ETA) + " left"
		}
		return ""
	}
	switch {
	case !p.Counts():
		// A note alone ("logging in to bj"): no "0 done" above it.
	case p.Unit == "bytes":
		done := humanize.Bytes(uint64(max(0, p.Done)))
		if p.Total > 0 {
			done += " of " + humanize.Bytes(uint64(p.Total))
		}
		if p.FilesTotal > 0 {
			done += " · " + humanize.Comma(p.FilesDone) + " / " + humanize.Comma(p.FilesTotal) + " files"
		} else if p.FilesDone > 0 {
			done += " · " + humanize.Comma(p.FilesDone) + " files"
		}
		lines = append(lines, done)
		lines = append(lines, joinNonEmpty(" · ", rateText(p.Rate, "bytes"), eta()))
	case p.Unit == "messages":
		var parts []string
		if p.Remaining > 0 || p.Done > 0 || p.Total > 0 {
			parts = append(parts, humanize.Comma(p.Remaining)+" remaining")
		}
		merged := humanize.Comma(p.Done) + " merged"
		if p.Total > 0 {
			merged = humanize.Comma(p.Done) + " of " + humanize.Comma(p.Total) + " merged"
		}
		parts = append(parts, merged)
		if frac < 0 && p.Remaining > 0 {
			frac = float64(p.Done) / float64(p.Done+p.Remaining)
		}
		lines = append(lines, strings.Join(parts, " · "))
		lines = append(lines, joinNonEmpty(" · ", rateText(p.Rate, "messages"), eta()))
	default:
		unit := p.Unit
		if unit == "" {
			unit = "done"
		}
		done := humanize.Comma(p.Done)
		if p.Total > 0 {
			done += " / " + humanize.Comma(p.Total)
		}
		done += " " + unit
		if p.Remaining > 0 {
			done += " · " + humanize.Comma(p.Remaining) + " remaining"
		}
		lines = append(lines, done)
		lines = append(lines, joinNonEmpty(" · ", rateText(p.Rate, p.Unit), eta()))
	}
	if p.Note != "" {
		lines = append(lines, p.Note)
	}
	out := lines[:0]
	for _, l := range lines {
		if l != "" {
			out = append(out, l)
		}
	}
	return frac, out
}

// rateText says how fast a task goes, in its unit.
func rateText(rate float64, unit string) string {
	if rate <= 0 {
		return ""
	}
	switch unit {
	case "bytes":
		return humanize.Bytes(uint64(rate)) + "/s"
	case "":
		unit = "items"
	}
	if rate < 10 {
		return strconv.FormatFloat(rate, 'f', 1, 64) + " " + unit + "/s"
	}
	return humanize.Comma(int64(rate+0.5)) + " " + unit + "/s"
}

// percentText is a fraction as a percentage, never 100% before the end.
func percentText(frac float64) string {
	p := int(frac * 100)
	if frac < 1 && p == 100 {
		p = 99
	}
	return fmt.Sprintf("%3d%%", p)
}

// fmtDuration writes a duration briefly: 42s, 12m03s, 1h02m03s.
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	if d < 0 {
		d = 0
	}
	h, mn, s := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh%02dm%02ds", h, mn, s)
	case mn > 0:
		return fmt.Sprintf("%dm%02ds", mn, s)
	}
	return fmt.Sprintf("%ds", s)
}

// aboutDuration is an estimate in words: "about 3m05s", or "under a
// second" where fmtDuration would round it to 0s.
func aboutDuration(d time.Duration) string {
	if d < 500*time.Millisecond {
		return "under a second"
	}
	return "about " + fmtDuration(d)
}

// fmtClock writes a duration as a clock: 00:03:12.
func fmtClock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Truncate(time.Second)
	return fmt.Sprintf("%02d:%02d:%02d", int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60)
}

// passLines lists the passes of a repeatable step and the prediction for
// the next one.
func passLines(passes []time.Duration) []string {
	if len(passes) == 0 {
		return nil
	}
	parts := make([]string, len(passes))
	for i, p := range passes {
		parts[i] = fmt.Sprintf("#%d %s", i+1, fmtDuration(p))
	}
	return []string{
		"Passes: " + strings.Join(parts, " · "),
		"Next pass: " + aboutDuration(wizard.PredictNext(passes)),
	}
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func itoa(n int) string { return strconv.Itoa(n) }
