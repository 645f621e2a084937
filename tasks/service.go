package tasks

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/remote"
)

// The output of "service greenarrow status" is not documented anywhere
// public. GreenArrow supervises its services with daemontools, so ferry
// assumes the command prints one svstat line per service, and understands
// these forms (svstat.c in daemontools 0.76):
//
//	/service/hvmail-qmail-send: up (pid 1234) 5678 seconds
//	/service/hvmail-qmail-send: up (pid 1234) 5678 seconds, normally down
//	/service/hvmail-qmail-send: up (pid 1234) 5678 seconds, paused
//	/service/hvmail-qmail-send: up (pid 1234) 5678 seconds, want down
//	/service/hvmail-qmail-smtpd3: down 100 seconds, normally up
//	/service/hvmail-qmail-smtpd3: down 100 seconds, want up
//	/service/hvmail-dnscache: supervise not running
//	/service/hvmail-dnscache: unable to open supervise/ok: file does not exist
//
// and, should a release use runit's sv instead, its "run: NAME: (pid N) Ns"
// and "down: NAME: Ns, normally up" lines. Colours are stripped first; any
// other line is kept in Unparsed for the admin to read.

// ServiceState is one service's line in a status listing.
type ServiceState struct {
	// Name is the service directory's base name ("hvmail-qmail-send") and
	// Path the directory as printed ("/service/hvmail-qmail-send").
	Name string `json:"name"`
	Path string `json:"path"`
	Up   bool   `json:"up"`
	PID  int    `json:"pid,omitempty"`
	// Seconds is how long the service has been in its state.
	Seconds int64 `json:"seconds"`
	// Normally is "up" or "down" when the line says the service normally
	// is the other way; Want is "up" or "down" when a change was asked for
	// and has not happened yet.
	Normally string `json:"normally,omitempty"`
	Want     string `json:"want,omitempty"`
	Paused   bool   `json:"paused,omitempty"`
	// Problem is the supervisor's complaint when the state is unknown
	// ("supervise not running"); such a service counts as down.
	Problem string `json:"problem,omitempty"`
	// Line is the line as printed (stripped).
	Line string `json:"line"`
}

// ServiceStatus is a parsed status listing.
type ServiceStatus struct {
	Services []ServiceState `json:"services"`
	Unparsed []string       `json:"unparsed,omitempty"`
}

var (
	svstatLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\S+): (up|down) (?:\(pid ([0-9]+)\) )?([0-9]+) seconds?((?:, [a-z ]+)*)$`)
	})
	svstatError = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\S+): ((?:unable to|supervise not running|file does not exist).*)$`)
	})
	runitLine = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(run|down|finish|fail): ([^:]+): (?:\(pid ([0-9]+)\) )?([0-9]+)s((?:, [a-z ]+)*)(?:;.*)?$`)
	})
)

// ParseServiceStatus reads a status listing (see the comment above for the
// forms understood). It fails only when no line describes a service.
func ParseServiceStatus(out string) (ServiceStatus, error) {
	var st ServiceStatus
	for _, raw := range splitLines([]byte(out)) {
		l := strings.TrimSpace(ansi.Strip(raw))
		if l == "" {
			continue
		}
		var s ServiceState
		switch {
		case svstatLine().MatchString(l):
			m := svstatLine().FindStringSubmatch(l)
			s = ServiceState{Path: m[1], Up: m[2] == "up"}
			s.PID, _ = strconv.Atoi(m[3])
			s.Seconds, _ = strconv.ParseInt(m[4], 10, 64)
			applyFlags(&s, m[5])
		case runitLine().MatchString(l):
			m := runitLine().FindStringSubmatch(l)
			s = ServiceState{Path: m[2], Up: m[1] == "run"}
			s.PID, _ = strconv.Atoi(m[3])
			s.Seconds, _ = strconv.ParseInt(m[4], 10, 64)
			applyFlags(&s, m[5])
		case svstatError().MatchString(l):
			m := svstatError().FindStringSubmatch(l)
			s = ServiceState{Path: m[1], Problem: m[2]}
		default:
			st.Unparsed = append(st.Unparsed, l)
			continue
		}
		if len(s.Path) > 1 {
			s.Path = strings.TrimSuffix(s.Path, "/") // "/service/x/" is x; "/" stays
		}
		s.Name = path.Base(s.Path)
		s.Line = l
		st.Services = append(st.Services, s)
	}
	if len(st.Services) == 0 {
		first := "nothing"
		if len(st.Unparsed) > 0 {
			first = strconv.Quote(st.Unparsed[0])
		}
		return st, fmt.Errorf("%w (it starts with %s)", ErrNoServiceLine, first)
	}
	return st, nil
}

// ErrNoServiceLine is matched (errors.Is) by ParseServiceStatus's error
// when no line of the listing describes a service; the listing it returns
// then holds the unparsed lines, if any.
var ErrNoServiceLine = errors.New("the service status listing has no service line")

func applyFlags(s *ServiceState, flags string) {
	for _, f := range strings.Split(flags, ",") {
		switch strings.TrimSpace(f) {
		case "normally up":
			s.Normally = "up"
		case "normally down":
			s.Normally = "down"
		case "want up":
			s.Want = "up"
		case "want down":
			s.Want = "down"
		case "paused":
			s.Paused = true
		}
	}
}

// State describes the service in a few words: "up 5678 s", "down 100 s,
// normally up", "unknown: supervise not running".
func (s ServiceState) State() string {
	if s.Problem != "" {
		return "unknown: " + s.Problem
	}
	st := "down"
	if s.Up {
		st = "up"
	}
	st += fmt.Sprintf(" %d s", s.Seconds)
	if s.Normally != "" {
		st += ", normally " + s.Normally
	}
	if s.Want != "" {
		st += ", want " + s.Want
	}
	if s.Paused {
		st += ", paused"
	}
	return st
}

// healthy reports whether a service is running normally: up, not paused,
// not being asked to go down.
func (s ServiceState) healthy() bool {
	return s.Up && !s.Paused && s.Want != "down" && s.Problem == ""
}

// CheckServicesUp passes when every listed service is up and running
// normally, except those named in allowedDown (by name or path), which may
// be in any state. Detail lists every service with its state.
func CheckServicesUp(st ServiceStatus, allowedDown []string) CheckResult {
	allowed := func(s ServiceState) bool {
		return slices.ContainsFunc(allowedDown, func(a string) bool {
			a = strings.TrimSuffix(a, "/")
			return a == s.Name || a == s.Path
		})
	}
	var bad, excused, detail []string
	up := 0
	for _, s := range st.Services {
		detail = append(detail, s.Path+": "+s.State())
		switch {
		case allowed(s):
			if !s.healthy() {
				excused = append(excused, s.Name)
			} else {
				up++
			}
		case s.healthy():
			up++
		default:
			bad = append(bad, fmt.Sprintf("%s (%s)", s.Name, s.State()))
		}
	}
	detail = append(detail, st.Unparsed...)
	r := CheckResult{Detail: strings.Join(detail, "\n")}
	if len(st.Services) == 0 {
		r.Reason = "The status listing names no service."
		return r
	}
	if len(bad) > 0 {
		r.Reason = fmt.Sprintf("%d of %d services are not running normally: %s.", len(bad), len(st.Services), strings.Join(bad, "; "))
		return r
	}
	r.OK = true
	r.Reason = fmt.Sprintf("All %d services are up", len(st.Services))
	if len(excused) > 0 {
		r.Reason = fmt.Sprintf("%d of %d services are up; %s is down, which is allowed", up, len(st.Services), strings.Join(excused, ", "))
		if len(excused) > 1 {
			r.Reason = fmt.Sprintf("%d of %d services are up; %s are down, which is allowed", up, len(st.Services), strings.Join(excused, ", "))
		}
	}
	r.Reason += "."
	return r
}

// CheckServicesDown passes when no listed service is up: what the old
// server's status must show once GreenArrow is stopped there, before the
// final pass copies its queue (a service still up could deliver a message
// that is also merged on the new server). A service whose state is unknown
// (Problem set: "supervise not running", as after the supervisor itself
// stopped) counts as down. A listing that names no service passes only when
// it is empty as a whole: lines ferry cannot read could hide a running
// service. Detail lists every service with its state.
func CheckServicesDown(st ServiceStatus) CheckResult {
	var up, detail []string
	for _, s := range st.Services {
		detail = append(detail, s.Path+": "+s.State())
		if s.Up {
			up = append(up, fmt.Sprintf("%s (%s)", s.Name, s.State()))
		}
	}
	detail = append(detail, st.Unparsed...)
	r := CheckResult{Detail: strings.Join(detail, "\n")}
	switch {
	case len(up) > 0:
		r.Reason = fmt.Sprintf("%d of %d services are still up: %s.", len(up), len(st.Services), strings.Join(up, "; "))
	case len(st.Services) == 0 && len(st.Unparsed) > 0:
		r.Reason = "The status listing names no service ferry can read; read it and decide."
	case len(st.Services) == 0:
		r.OK, r.Reason = true, "The status listing names no service: nothing runs."
	default:
		r.OK, r.Reason = true, fmt.Sprintf("All %d services are down.", len(st.Services))
	}
	return r
}

// DefaultServiceStatusCommand is the GreenArrow procedure's status command.
var DefaultServiceStatusCommand = []string{"service", "greenarrow", "status"}

// QueryServiceStatus runs argv (DefaultServiceStatusCommand when empty) on
// h, sends its output lines to r, and parses them. The exit code is not
// judged: a status command may exit non-zero precisely because a service is
// down, and the listing says which.
func QueryServiceStatus(ctx context.Context, h remote.Host, argv []string, r Reporter) (ServiceStatus, CommandResult, error) {
	if len(argv) == 0 {
		argv = DefaultServiceStatusCommand
	}
	var lines []string
	rep := &lineTee{next: r, fn: func(stream, l string) {
		if stream == "stdout" {
			lines = append(lines, l)
		}
	}}
	res, err := RunCommand(ctx, h, CommandSpec{Argv: argv, OKExit: allExitCodes}, rep)
	if err != nil {
		return ServiceStatus{}, res, err
	}
	st, err := ParseServiceStatus(strings.Join(lines, "\n"))
	if err != nil {
		return st, res, fmt.Errorf("%s on %s (exit code %d): %w", res.Command, h.Name(), res.ExitCode, err)
	}
	return st, res, nil
}

// allExitCodes lets any ordinary exit code through RunCommand's rules.
var allExitCodes = func() []int {
	c := make([]int, 128)
	for i := range c {
		c[i] = i
	}
	return c
}()

// lineTee passes lines on to another Reporter and to fn.
type lineTee struct {
	next Reporter
	fn   func(stream, line string)
}

func (t *lineTee) Line(stream, line string) {
	t.fn(stream, line)
	if t.next != nil {
		t.next.Line(stream, line)
	}
}

func (t *lineTee) Progress(p Progress) {
	if t.next != nil {
		t.next.Progress(p)
	}
}
