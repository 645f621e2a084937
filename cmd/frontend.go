package cmd

import (
	"os"

	"github.com/ferry-migrate/ferry/runner"
)

// frontEnd is how a run (ferry run, ferry demo) shows itself.
type frontEnd int

const (
	// frontTUI is the full-screen run screen, which asks its questions.
	frontTUI frontEnd = iota
	// frontPlain is plain lines (wizard.PlainPrinter); questions are
	// answered from an answers file, or end the run (exit 3).
	frontPlain
	// frontJSON is one JSON event per line (--json, --headless);
	// questions as with frontPlain.
	frontJSON
)

// chooseFrontEnd picks the front end of a run: JSON lines when asked for
// (jsonOut: --json or --headless); else the run screen when stdin and
// stdout are terminals (terminal) and TERM is not "dumb", a terminal that
// cannot draw it; else plain lines: piped output (`| tee log`), cron, a
// dumb terminal. That last is how restic and buildkit fall back too.
func chooseFrontEnd(terminal bool, term string, jsonOut bool) frontEnd {
	switch {
	case jsonOut:
		return frontJSON
	case terminal && term != "dumb":
		return frontTUI
	}
	return frontPlain
}

// frontEnd is chooseFrontEnd for this process: its terminals
// (a.interactive) and its TERM. A runner (runner.IsChild), detached from
// any terminal, serves the front end of the client that started it
// (runner.Front): plain or JSON lines for an unattended run, else its
// clients' run screens (frontTUI).
func (a *app) frontEnd(jsonOut bool) frontEnd {
	if runner.IsChild() {
		switch {
		case jsonOut || runner.Front() == frontJSON.String():
			return frontJSON
		case runner.Front() == frontPlain.String():
			return frontPlain
		}
		return frontTUI
	}
	return chooseFrontEnd(a.interactive(), os.Getenv("TERM"), jsonOut)
}

// String is the front end's name in a runner's environment
// (runner.FrontEnv): "tui", "plain" or "json".
func (f frontEnd) String() string {
	switch f {
	case frontPlain:
		return "plain"
	case frontJSON:
		return "json"
	}
	return "tui"
}
