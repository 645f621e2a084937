package wizard

import (
	"cmp"
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
	// SeedActor is who gave Seed, as the journal records it ("the demo");
	// "" means "command line".
	SeedActor string
	// Facts learnt before the run (the address given with --old).
	Facts map[string]string
	// Lock is the state directory's lock when the caller has taken it
	// already (the demo takes it before it writes anything); the session
	// keeps it and releases it on Close. Nil: OpenSession takes it.
	Lock *Lock
	// HostEvidence lists signs of an earlier migration on the servers
	// (HostEvidence); with a missing or empty journal, a decisive one stops
	// the session before any step (a *LostJournalError).
	HostEvidence []Evidence
	// StartOver is the admin's explicit --start-over: the journal, its copy,
	// the migration id and the saved answers are moved aside (StartOver) and
	// a new migration begins.
	StartOver bool
}

// OpenSession takes the lock of the state directory (a *LockedError when
// another ferry holds it) unless o.Lock holds it already, opens the journal
// and makes the engine. Before opening the journal it makes sure the
// journal is this migration's (CheckContinuity: a *LostJournalError when it
// is missing, empty or another's while evidence shows an earlier
// migration), so nothing runs on any server unless that holds. On an error
// the lock is released.
func OpenSession(o SessionOptions) (*Session, error) {
	if o.Runbook == nil || o.Exec == nil {
		return nil, errors.New("session: a runbook and an executor are needed")
	}
	lock := o.Lock
	if lock == nil {
		var err error
		if lock, err = AcquireLock(o.StateDir); err != nil {
			return nil, err
		}
	}
	aside := ""
	var err error
	if o.StartOver {
		aside, err = StartOver(o.StateDir)
	} else {
		err = CheckContinuity(o.StateDir, lock.Existed(), o.HostEvidence)
	}
	if err != nil {
		lock.Release()
		return nil, err
	}
	j, past, torn, err := OpenJournal(o.StateDir)
	if err != nil {
		lock.Release()
		return nil, err
	}
	if err := j.EnsureHeader(o.Runbook.ID, o.Runbook.Hash); err != nil {
		j.Close()
		lock.Release()
		return nil, err
	}
	if x, ok := o.Exec.(*TaskExecutor); ok && x.StateDir == "" {
		x.StateDir = o.StateDir
	}
	s := &Session{Journal: j, Lock: lock, Torn: torn, State: Replay(past)}
	s.Engine = NewEngine(o.Runbook, j, past, o.Exec, s.forward)
	if aside != "" {
		if err := s.Engine.emit(Event{Type: EvWarning, Message: "started over at the admin's request (--start-over); the earlier journal, migration id and answers were moved to " + aside}); err != nil {
			s.Close()
			return nil, err
		}
	}
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
	// The migration's id, for what ferry marks on the servers (the comment
	// on the hosts line it adds).
	if h := s.Journal.Header(); h != nil && s.Engine.state.Facts[FactMigrationID] != h.Migration {
		if err := s.Engine.emit(Event{Type: EvFact, Facts: map[string]string{FactMigrationID: h.Migration}, Message: "the journal's migration id"}); err != nil {
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
		return s.Engine.emit(Event{Type: EvAnswered, Answers: answers, Actor: cmp.Or(o.SeedActor, "command line")})
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
