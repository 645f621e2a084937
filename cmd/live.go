package cmd

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/wizard"
)

// liveView follows, as a read-only observer, the runner of a state
// directory: the journaled events of its run and the last counters of
// each step, for ferry checklist.
type liveView struct {
	c      *runner.Client
	synced chan struct{}

	mu        sync.Mutex
	journaled []wizard.Event
	progress  map[string]wizard.Event
	ended     bool
}

// liveSync is how long dialLive waits for what happened so far.
const liveSync = 10 * time.Second

// dialLive attaches to the runner serving stateDir as an observer (the
// runner refuses anything it would send) and returns once it has what
// happened so far. It returns runner.ErrNoRunner (wrapped) when no runner
// answers: the journal is then all there is.
func dialLive(stateDir, who string) (*liveView, error) {
	abs, err := filepath.Abs(stateDir)
	if err != nil {
		return nil, err
	}
	c, err := runner.Dial(filepath.Join(abs, runner.SocketFile), runner.Hello{Role: runner.RoleObserve, Who: who})
	if err != nil {
		return nil, err
	}
	l := &liveView{c: c, synced: make(chan struct{}), progress: map[string]wizard.Event{}}
	go func() {
		var once sync.Once
		_, _ = c.Stream(func(m runner.Message) {
			l.mu.Lock()
			defer l.mu.Unlock()
			switch {
			case m.Synced:
				once.Do(func() { close(l.synced) })
			case m.End != nil:
				l.ended = true
			case m.Event != nil && m.Event.Type == wizard.EvProgress:
				l.progress[m.Event.Step] = *m.Event
			case m.Event != nil && m.Event.Type.Journaled():
				l.journaled = append(l.journaled, *m.Event)
				if m.Event.Type == wizard.EvStepStarted {
					delete(l.progress, m.Event.Step)
				}
			}
		})
		l.mu.Lock()
		l.ended = true
		l.mu.Unlock()
		once.Do(func() { close(l.synced) })
	}()
	select {
	case <-l.synced:
	case <-time.After(liveSync):
		_ = c.Close()
		return nil, fmt.Errorf("the runner on %s sent nothing within %s", abs, liveSync)
	}
	return l, nil
}

// Close leaves the runner.
func (l *liveView) Close() error { return l.c.Close() }

// State is the migration's state now: the journal as the runner started
// from it, and every journaled event of its run so far. While the run
// goes on, a step it has started and not finished is running (not
// interrupted, as a journal read alone would have it), with its latest
// counters.
func (l *liveView) State() *wizard.State {
	l.mu.Lock()
	evs := append(append([]wizard.Event(nil), l.c.Welcome.Before...), l.journaled...)
	ended := l.ended
	progress := make(map[string]*tasks.Progress, len(l.progress))
	for step, ev := range l.progress {
		progress[step] = ev.Progress
	}
	l.mu.Unlock()
	st := wizard.Replay(evs)
	if !ended {
		st.MarkLive(l.c.Welcome.PID)
		for step, p := range progress {
			if r := st.Steps[step]; r != nil && r.Status == wizard.StatusRunning && p != nil {
				r.Counters = p
			}
		}
	}
	return st
}

// Note is one sentence on what the runner does now: the step that runs
// with its last counters, or the question it waits on, or that its run
// has ended.
func (l *liveView) Note() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	head := fmt.Sprintf("live: a runner (pid %d) runs this migration", l.c.Welcome.PID)
	if l.ended {
		return head + "; its run has just ended"
	}
	running := map[string]bool{}
	var waiting *wizard.Event
	for i := range l.journaled {
		ev := &l.journaled[i]
		switch ev.Type {
		case wizard.EvStepStarted:
			running[ev.Step] = true
		case wizard.EvStepFinished, wizard.EvSkipped:
			delete(running, ev.Step)
		}
		switch ev.Type {
		case wizard.EvWaiting:
			waiting = ev
		case wizard.EvWarning:
		default: // a decision or the step going on
			waiting = nil
		}
	}
	if waiting != nil {
		return head + "; step " + waiting.Step + " waits for " + wizard.NeedText(waiting.Need)
	}
	for step := range running {
		words := "running"
		if p, ok := l.progress[step]; ok && p.Progress != nil {
			words += ", so far " + wizard.CounterWords(p.Progress)
		}
		return head + "; step " + step + " is " + words
	}
	return head
}
