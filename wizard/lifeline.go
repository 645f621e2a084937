package wizard

// The SSH lifeline. A step whose runbook entry has cuts_access can cut the
// admin's own SSH access to the new server (moving IP addresses, rewriting
// resolv.conf, reinstalling packages that may restart sshd). The loader adds
// the question LifelineKey to it; before the step runs, the engine says
// what can cut the access and, when the answer is not "no", starts a spare
// sshd on another port (tasks.StartLifeline: checked to answer with an SSH
// banner first), which stays up until the step ends: done, failed, skipped,
// stopped or interrupted. A spare a killed ferry left running is stopped
// at the start of the next run (its pid file is in the state directory).

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ferry-migrate/ferry/tasks"
)

// LifelineKey is the answer key of the question the loader adds to every
// step with cuts_access: "no", "yes" (the first free port from
// tasks.LifelineFirstPort) or a port number. Like any answer it is asked
// once and then known; a later step that cuts access uses it again.
const LifelineKey = "lifeline"

// LifelineType is the question type of LifelineKey (ValidateAnswer reads
// it with ParseLifeline). It is not a type a runbook may declare.
const LifelineType = "lifeline"

// LifelinePidFile is the name, in the state directory, of the spare
// sshd's pid file (sshd writes it); its log is that name plus ".log".
const LifelinePidFile = "lifeline-sshd.pid"

// LifelineQuestion returns the question the loader adds to a step with
// cuts_access. The step's own words (what cuts the access) go into the
// waiting event's message, so the question reads the same in every step.
func LifelineQuestion() Question {
	return Question{
		Key:    LifelineKey,
		Prompt: "Keep a spare sshd on another port while this step runs?",
		Help: fmt.Sprintf("This step can cut your SSH access to this server. A spare sshd (this server's own "+
			"sshd and configuration, on another port) lets you log in again if it does: ferry checks that it "+
			"answers before the step and stops it when the step ends. yes takes the first free port from %d; "+
			"a number is the port; no goes on without one.", tasks.LifelineFirstPort),
		Type:    LifelineType,
		Default: "yes",
	}
}

// ParseLifeline reads an answer to the lifeline question: want is false
// for no (n, false); for yes (y, true) port is 0, meaning the first free
// port; otherwise port is the number given (1 to 65535). The error says
// the answer is none of these.
func ParseLifeline(v string) (port int, want bool, err error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "no", "n", "false":
		return 0, false, nil
	case "yes", "y", "true":
		return 0, true, nil
	}
	if tasks.ValidPort(strings.TrimSpace(v)) != nil {
		return 0, false, fmt.Errorf("%q is not yes, no or a port number", v)
	}
	port, _ = strconv.Atoi(strings.TrimSpace(v))
	return port, true, nil
}

// Lifeliner is implemented by an Executor that can keep a spare sshd on
// the new server (TaskExecutor does). An executor without it gets a
// warning before a step with cuts_access, and no spare.
type Lifeliner interface {
	// FreeLifelinePort returns the port "yes" means: the first free one
	// from tasks.LifelineFirstPort.
	FreeLifelinePort() (int, error)
	// StartLifeline starts a spare sshd on port for step s and returns it
	// once it answers (tasks.StartLifeline); the caller stops it.
	StartLifeline(ctx context.Context, s *Step, port int) (*tasks.Lifeline, error)
	// StopStaleLifeline stops a spare an earlier ferry left running and
	// returns its pid (0 when there was none).
	StopStaleLifeline(ctx context.Context) (int, error)
}

// FreeLifelinePort implements Lifeliner.
func (x *TaskExecutor) FreeLifelinePort() (int, error) { return tasks.FreeLifelinePort() }

// lifelineOptions returns where the spare's pid file and log go: the
// state directory.
func (x *TaskExecutor) lifelineOptions(port int) (tasks.LifelineOptions, error) {
	if x.StateDir == "" {
		return tasks.LifelineOptions{}, errors.New("no state directory to keep the spare sshd's pid file in")
	}
	return tasks.LifelineOptions{Port: port, PidFile: filepath.Join(x.StateDir, LifelinePidFile)}, nil
}

// StartLifeline implements Lifeliner, on the new server (New), with its
// sshd (tasks.SSHDProgram) and configuration (tasks.SSHDConfig).
func (x *TaskExecutor) StartLifeline(ctx context.Context, s *Step, port int) (*tasks.Lifeline, error) {
	o, err := x.lifelineOptions(port)
	if err != nil {
		return nil, err
	}
	return tasks.StartLifeline(ctx, x.New, o)
}

// StopStaleLifeline implements Lifeliner (tasks.StopStaleLifeline with the
// pid file in the state directory). Without a state directory there is
// nothing to find: 0, nil.
func (x *TaskExecutor) StopStaleLifeline(ctx context.Context) (int, error) {
	o, err := x.lifelineOptions(0)
	if err != nil {
		return 0, nil
	}
	return tasks.StopStaleLifeline(ctx, x.New, o.PidFile)
}

// sweepLifeline stops, at the start of a run, a spare sshd that an earlier
// ferry started and could not stop (it was killed), and says so.
func (e *Engine) sweepLifeline(ctx context.Context) error {
	lx, ok := e.exec.(Lifeliner)
	if !ok {
		return nil
	}
	pid, err := lx.StopStaleLifeline(ctx)
	if err != nil {
		return e.emit(Event{Type: EvWarning, Message: "a spare sshd an earlier ferry started may still run: " + err.Error()})
	}
	if pid == 0 {
		return nil
	}
	return e.emit(Event{Type: EvLifelineDown, Host: HostNew, Message: fmt.Sprintf(
		"stopped the spare sshd (pid %d) that an earlier ferry started and could not stop (it ended without stopping it)", pid)})
}

// cutsWords says what step s does to the admin's access, as a sentence
// beginning.
func cutsWords(s *Step) string {
	w := strings.TrimSpace(s.CutsAccess)
	r, n := utf8.DecodeRuneInString(w)
	return string(unicode.ToUpper(r)) + w[n:] + " can cut your SSH access to this server"
}

// noLifelineWords says that no spare sshd is kept because the lifeline
// answer is v (a no), and who gave it (actor, from the answered event; ""
// when the journal does not say).
func noLifelineWords(v, actor string) string {
	out := fmt.Sprintf("no spare sshd is kept: %s is %s", LifelineKey, v)
	if actor = strings.TrimSpace(actor); actor != "" {
		out += ", as answered by " + actor
	}
	return out
}

// lifeline runs before step s (after its questions) and returns what ends
// it: for a step with cuts_access it says what can cut the access and,
// unless the answer is no, starts a spare sshd and journals it
// (EvLifelineUp); the function returned stops it and journals that
// (EvLifelineDown, or a warning naming the pid when it would not stop).
// When the spare cannot start (a port in use, sshd refusing its
// configuration) the question is put again with the reason, pre-filled
// with a free port; the admin may give another port, say no, or skip the
// step. The waiting event carries the answer that failed, so a headless
// run whose file gives the same one stops (exit 3) naming the key.
func (e *Engine) lifeline(ctx context.Context, s *Step) (func(), error) {
	nop := func() {}
	if strings.TrimSpace(s.CutsAccess) == "" {
		return nop, nil
	}
	lx, can := e.exec.(Lifeliner)
	for {
		v := strings.TrimSpace(e.state.Answers[LifelineKey])
		port, want, err := ParseLifeline(v)
		if err == nil && !want {
			return nop, e.emit(Event{Type: EvWarning, Step: s.ID, Message: cutsWords(s) + "; " + noLifelineWords(v, e.state.AnsweredBy[LifelineKey])})
		}
		var l *tasks.Lifeline
		if err == nil && !can {
			err = errors.New("this ferry cannot start one here")
		}
		if err == nil && port == 0 {
			port, err = lx.FreeLifelinePort()
		}
		if err == nil {
			l, err = lx.StartLifeline(ctx, s, port)
		}
		if err == nil {
			msg := fmt.Sprintf("spare sshd on port %d until this step ends (pid %d, it answers %s): if your session drops, log in again with ssh -p %d",
				l.Port, l.Pid, l.Banner, l.Port)
			if err := e.emit(Event{Type: EvLifelineUp, Step: s.ID, Phase: s.Phase, Host: HostNew, Message: msg}); err != nil {
				_ = l.Stop()
				return nop, err
			}
			return func() {
				ev := Event{Type: EvLifelineDown, Step: s.ID, Phase: s.Phase, Host: HostNew,
					Message: fmt.Sprintf("spare sshd on port %d stopped (logins made through it stay open)", l.Port)}
				if err := l.Stop(); err != nil {
					ev.Type = EvWarning
					ev.Message = fmt.Sprintf("the spare sshd on port %d (pid %d) did not stop cleanly: %v; check with ss -ltnp and stop it by hand", l.Port, l.Pid, err)
				}
				_ = e.emit(ev)
			}, nil
		}
		if ctx.Err() != nil {
			return nop, ctx.Err()
		}
		q := LifelineQuestion()
		q.Default = "no"
		if can {
			if p, ferr := lx.FreeLifelinePort(); ferr == nil && p != port {
				q.Default = strconv.Itoa(p)
			}
		}
		msg := fmt.Sprintf("%s, and the spare sshd could not be started: %v. Give another port, or no to go on without a spare", cutsWords(s), err)
		if werr := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "spare sshd not started: " + err.Error()}); werr != nil {
			return nop, werr
		}
		d, werr := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedAnswers,
			Questions: []Question{q}, Answers: map[string]string{LifelineKey: v}, Message: msg})
		if werr != nil {
			return nop, werr
		}
		if d.Action == ActSkip {
			return nop, e.skip(s, d.Reason, d.Actor)
		}
		nv, given := d.Answer[LifelineKey]
		if !given || strings.TrimSpace(nv) == "" {
			nv = q.Default
		}
		if verr := ValidateAnswer(q, nv); verr != nil {
			if werr := e.emit(Event{Type: EvWarning, Step: s.ID, Message: "answer refused: " + verr.Error()}); werr != nil {
				return nop, werr
			}
			continue
		}
		nv = strings.TrimSpace(nv)
		if nv != v {
			if werr := e.emit(Event{Type: EvAnswered, Step: s.ID, Answers: map[string]string{LifelineKey: nv}, Actor: d.Actor,
				Message: fmt.Sprintf("after the spare sshd failed to start: %s changed from %q to %q", LifelineKey, v, nv)}); werr != nil {
				return nop, werr
			}
			if e.OnAnswers != nil {
				e.OnAnswers(e.state.Answers)
			}
		}
	}
}
