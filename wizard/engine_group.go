package wizard

import (
	"context"
	"errors"
	"slices"
	"strings"
)

// Steps run beside each other.
//
// A step that names earlier steps in Beside may start while they still
// run. The engine gathers such steps into a group: a step that may run
// beside others, then every following step with a Beside list. Inside the
// group each step waits for the earlier group steps it does not name, and
// starts as soon as they have ended well; steps whose waits are over run
// at once, each on its own goroutine. Everything that touches the journal,
// the state or the admin is handed to the engine's goroutine (do), so the
// journal still gets one line per event, in the order they happen.
//
// Only what needs nobody runs at once: a group step must be new (never
// run, failed or interrupted), its questions answered, its requirements
// met, and the loader has made sure it is not destructive, manual,
// repeatable, cutting access or marking the downtime (besideable). A step
// that does not qualify, or a failure, stops the group cleanly: nothing
// more is started, the steps that run are let finish, and then the engine
// goes on one step at a time from the first step not done, through the
// usual paths (the failure put to the admin, the questions asked).

// besideable reports whether step s may run beside other steps.
func besideable(s *Step) bool { return besideWhyNot(s) == "" }

// besideWhyNot says why step s may not run beside another step, or "".
func besideWhyNot(s *Step) string {
	var why []string
	if s.Destructive {
		why = append(why, "it is destructive")
	}
	if s.Level == LevelManual {
		why = append(why, "it is manual")
	}
	if s.Repeatable {
		why = append(why, "it is repeatable")
	}
	if strings.TrimSpace(s.CutsAccess) != "" {
		why = append(why, "it can cut the admin's access")
	}
	if s.Downtime != "" {
		why = append(why, "it marks the downtime")
	}
	return strings.Join(why, ", ")
}

// groupAt returns the steps from index i that form a group (two or more),
// or nil when step i runs alone.
func (e *Engine) groupAt(i int) []*Step {
	if !besideable(&e.rb.Steps[i]) {
		return nil
	}
	g := []*Step{&e.rb.Steps[i]}
	for j := i + 1; j < len(e.rb.Steps) && len(e.rb.Steps[j].Beside) > 0; j++ {
		g = append(g, &e.rb.Steps[j])
	}
	if len(g) < 2 {
		return nil
	}
	return g
}

// groupWaitsFor reports whether group step g[j] waits for g[k] (k < j):
// it does unless it names g[k] in Beside.
func groupWaitsFor(g []*Step, j, k int) bool {
	return k < j && !slices.Contains(g[j].Beside, g[k].ID)
}

// The state of a group step while the group runs.
const (
	gPending = iota // not started
	gRunning        // started on its own goroutine
	gOK             // ended well, or was done or does not apply
	gStopped        // failed, or cannot start without a person
)

// runGroup runs the steps of g, each as soon as the steps it waits for
// have ended well, several at once, then hands whatever is not done to the
// one-at-a-time path in order.
func (e *Engine) runGroup(ctx context.Context, g []*Step) error {
	n := len(g)
	state := make([]int, n)
	errs := make([]error, n)
	tried := make([]bool, n)
	calls := make(chan func())
	ended := make(chan int)
	do := func(f func()) {
		done := make(chan struct{})
		calls <- func() { f(); close(done) }
		<-done
	}
	stopped := false
	running := 0
	var fatal error
	// launch starts every step whose waits are over, in runbook order; a
	// step found done (or not applying) may end others' waits, so the
	// steps are looked at again until nothing changes.
	launch := func() error {
		for again := true; again && !stopped; {
			again = false
			for j, s := range g {
				if stopped || state[j] != gPending {
					continue
				}
				ready := true
				for k := range j {
					if groupWaitsFor(g, j, k) && state[k] != gOK {
						ready = false
					}
				}
				if !ready {
					continue
				}
				how, err := e.groupReady(s)
				if err != nil {
					return err
				}
				switch how {
				case groupDone:
					state[j], again = gOK, true
					continue
				case groupNeedsPerson:
					state[j], stopped = gStopped, true
					continue
				}
				state[j], tried[j] = gRunning, true
				running++
				go func() {
					errs[j] = e.prepareOn(ctx, s, do)
					if errs[j] == nil {
						errs[j] = e.attemptOn(ctx, s, do)
					}
					ended <- j
				}()
			}
		}
		return nil
	}
	for {
		if err := launch(); err != nil && fatal == nil {
			fatal, stopped = err, true
		}
		if running == 0 {
			break
		}
		select {
		case f := <-calls:
			f()
		case j := <-ended:
			running--
			state[j] = gOK
			if errs[j] != nil {
				state[j], stopped = gStopped, true
			}
		}
	}
	if fatal != nil {
		return fatal
	}
	// What is not done goes the usual way, in order: a failure is put to
	// the admin as if the step had just failed alone.
	for j, s := range g {
		var err error
		if tried[j] && errs[j] != nil {
			var sf *StepFailedError
			if !errors.As(errs[j], &sf) {
				return errs[j]
			}
			err = e.attempts(ctx, s, true, errs[j])
		} else {
			err = e.runStep(ctx, s)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// What groupReady found about a group step whose waits are over.
const (
	groupStart       = iota // it may start now, beside the others
	groupDone               // done already, or skipped as not applying
	groupNeedsPerson        // it needs a question, a decision or a gate
)

// groupReady decides, on the engine's goroutine, whether group step s can
// start beside others without a person: new, applying (a step whose when
// is false is skipped here, as runStep would), its requirements met and
// its questions answered. A step done already counts as done.
func (e *Engine) groupReady(s *Step) (int, error) {
	switch e.state.Status(s.ID) {
	case StatusPending:
	case StatusOK, StatusSkipped:
		return groupDone, nil
	default:
		return groupNeedsPerson, nil
	}
	if s.When != "" {
		w, err := Render(s.When, e.data(s))
		if err != nil || strings.TrimSpace(w) != "true" {
			// runStep reports a template error; a false when is a skip.
			if err != nil {
				return groupNeedsPerson, nil
			}
			return groupDone, e.skip(s, "does not apply here", "ferry")
		}
	}
	if !besideable(s) || len(e.Unmet(s)) > 0 {
		return groupNeedsPerson, nil
	}
	qs, err := e.applicable(s)
	if err != nil {
		return groupNeedsPerson, nil
	}
	for _, q := range qs {
		if !e.known(q.Key) {
			return groupNeedsPerson, nil
		}
	}
	return groupStart, nil
}
