package wizard

import (
	"errors"
	"fmt"
	"sync"
)

// Session is one ferry process driving one migration: it holds the state
// directory's lock, its journal and the engine.
type Session struct {
	Engine  *Engine
	Journal *Journal
	Lock    *Lock
	// Torn is the length of a torn last journal line found on opening (it
	// was cut off); zero normally.
	Torn int
	// State is the migration as the journal told it before this session.
	State *State

	mu   sync.RWMutex
	sink func(Event)
}

// SessionOptions say what a session runs.
type SessionOptions struct {
	Runbook  *Runbook
	StateDir string
	Exec     Executor
	// Seed holds answers given on the command line (--old gives old_addr);
	// they are recorded unless the journal already has an answer.
	Seed map[string]string
	// Facts learnt before the run (the address given with --old).
	Facts map[string]string
}

// OpenSession takes the lock of the state directory (a *LockedError when
// another ferry holds it), opens the journal and makes the engine.
func OpenSession(o SessionOptions) (*Session, error) {
	if o.Runbook == nil || o.Exec == nil {
		return nil, errors.New("session: a runbook and an executor are needed")
	}
	lock, err := AcquireLock(o.StateDir)
	if err != nil {
		return nil, err
	}
	j, past, torn, err := OpenJournal(o.StateDir)
	if err != nil {
		lock.Release()
		return nil, err
	}
	s := &Session{Journal: j, Lock: lock, Torn: torn, State: Replay(past)}
	s.Engine = NewEngine(o.Runbook, j, past, o.Exec, s.forward)
	if torn > 0 {
		if err := s.Engine.emit(Event{Type: EvWarning, Message: fmt.Sprintf("the journal's last line was torn (%d bytes, a crash while writing); it was cut off", torn)}); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.seed(o); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Session) seed(o SessionOptions) error {
	facts := map[string]string{}
	for k, v := range o.Facts {
		if s.Engine.state.Facts[k] != v && v != "" {
			facts[k] = v
		}
	}
	if len(facts) > 0 {
		if err := s.Engine.emit(Event{Type: EvFact, Facts: facts, Message: "from the command line"}); err != nil {
			return err
		}
	}
	answers := map[string]string{}
	for k, v := range o.Seed {
		if _, known := s.Engine.state.Answers[k]; !known && v != "" {
			answers[k] = v
		}
	}
	if len(answers) > 0 {
		return s.Engine.emit(Event{Type: EvAnswered, Answers: answers, Actor: "command line"})
	}
	return nil
}

// SetSink chooses where events go (a front end). Events emitted before any
// sink is set are only journaled.
func (s *Session) SetSink(fn func(Event)) {
	s.mu.Lock()
	s.sink = fn
	s.mu.Unlock()
}

func (s *Session) forward(ev Event) {
	s.mu.RLock()
	fn := s.sink
	s.mu.RUnlock()
	if fn != nil {
		fn(ev)
	}
}

// Close closes the journal and releases the lock.
func (s *Session) Close() error {
	err := s.Journal.Close()
	if lerr := s.Lock.Release(); err == nil {
		err = lerr
	}
	return err
}
