package wizard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-migrate/ferry/tasks"
)

// Secrets live in memory only (never journaled), so a ferry restarted
// after the hot phase holds none. Without the code below, the first step
// inside the downtime window that needs one (the dump's database
// password) would stop to ask for it while the service is down, and a
// mistyped one would be found only then. So, right before the step that
// opens the window, the engine asks every secret the window will need and
// that it does not hold, and proves each one it can with the read-only
// check step that asks it in the hot phase (check-db-login for the
// database password).

// windowNeed is one secret question the downtime window will need: the
// question as its first step inside the window puts it, and the ids of
// every step inside the window that asks it, in the runbook's order.
type windowNeed struct {
	q     Question
	steps []string
}

// window returns the index of step s in the runbook and the steps of the
// downtime window s opens: s, the steps after it, up to and with the
// first step that ends the window (to the runbook's end when none does).
func (e *Engine) window(s *Step) (int, []*Step) {
	start := -1
	for i := range e.rb.Steps {
		if e.rb.Steps[i].ID == s.ID {
			start = i
			break
		}
	}
	if start < 0 {
		return -1, nil
	}
	var out []*Step
	for i := start; i < len(e.rb.Steps); i++ {
		x := &e.rb.Steps[i]
		out = append(out, x)
		if i > start && x.Downtime == DowntimeEnd {
			break
		}
	}
	return start, out
}

// stepApplies reports whether step x applies here: its when is empty or
// renders "true". A when that cannot be rendered yet counts as applying
// (the step itself reports the error when it comes); the forecast counts
// steps by it too.
func (e *Engine) stepApplies(x *Step) bool {
	if x.When == "" {
		return true
	}
	w, err := Render(x.When, e.data(x))
	return err != nil || strings.TrimSpace(w) == "true"
}

// questionApplies reports whether question q of step x is put here: its
// when is empty or renders "true". A when that cannot be rendered is left
// to the step, which then reports it.
func (e *Engine) questionApplies(x *Step, q Question) bool {
	if q.When == "" {
		return true
	}
	w, err := Render(q.When, e.data(x))
	return err == nil && strings.TrimSpace(w) == "true"
}

// windowSecrets returns, in the runbook's order and once per key, the
// secret questions the steps of the window that step s opens will put:
// those of steps that apply and are not done yet, whose own when holds.
// Step s itself counts (its own questions are asked by ask).
func (e *Engine) windowSecrets(s *Step) []windowNeed {
	_, steps := e.window(s)
	var out []windowNeed
	at := map[string]int{}
	for _, x := range steps {
		if e.state.Status(x.ID).Done() || !e.stepApplies(x) {
			continue
		}
		for _, q := range x.Ask {
			if q.Type != "secret" || !e.questionApplies(x, q) {
				continue
			}
			i, ok := at[q.Key]
			if !ok {
				i = len(out)
				at[q.Key] = i
				out = append(out, windowNeed{q: e.firstAsked(q)})
			}
			if !slices.Contains(out[i].steps, x.ID) {
				out[i].steps = append(out[i].steps, x.ID)
			}
		}
	}
	return out
}

// firstAsked returns question q as the runbook first puts its key (its
// prompt and help, which a later step's copy words as "asked here only
// when..."), with q's own when and no default.
func (e *Engine) firstAsked(q Question) Question {
	out := q
	out.Default = ""
	for i := range e.rb.Steps {
		for _, f := range e.rb.Steps[i].Ask {
			if f.Key == q.Key {
				out.Prompt, out.Help = f.Prompt, f.Help
				return out
			}
		}
	}
	return out
}

// secretTester returns the step that can prove the secret key before the
// window that opens at index start: the first step before it that is a
// read-only check (level check, a kind that only reads), applies, was not
// skipped, and asks key as a secret; nil when there is none. In the
// BlueMind runbook, check-db-login proves db_password.
func (e *Engine) secretTester(key string, start int) *Step {
	for i := 0; i < start && i < len(e.rb.Steps); i++ {
		x := &e.rb.Steps[i]
		if x.Level != LevelCheck || !Kinds[x.Kind].Check {
			continue
		}
		asks := false
		for _, q := range x.Ask {
			if q.Key == key && q.Type == "secret" && e.questionApplies(x, q) {
				asks = true
			}
		}
		if !asks || e.state.Status(x.ID) == StatusSkipped || !e.stepApplies(x) {
			continue
		}
		return x
	}
	return nil
}

// markTested records, after step s passed, that the secrets it asks were
// proven, when s is a read-only check step (it ran with them and they
// worked).
func (e *Engine) markTested(s *Step) {
	if s.Level != LevelCheck || !Kinds[s.Kind].Check {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, q := range s.Ask {
		if _, held := e.secrets[q.Key]; held && q.Type == "secret" {
			e.tested[q.Key] = true
		}
	}
}

// forget drops the secret answers keys (a refused password), so that they
// are asked again.
func (e *Engine) forget(keys []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, k := range keys {
		delete(e.secrets, k)
		delete(e.tested, k)
	}
}

// askBeforeWindow runs right before step s when s opens the downtime
// window (Step.Downtime "start"), on a first run and on a resume alike.
// It asks, once and together, every secret question a step inside the
// window will put whose answer ferry does not hold now, saying why; then,
// for each secret a read-only check step before the window can prove
// (secretTester) and that no check has proven in this process, it runs
// that step's check with it. A refused secret waits for the admin: retry
// asks it again (a check that could not run at all is tried again without
// asking), skip skips s, stop stops; a headless run, which gives
// up at a failure, ends there with a *StepFailedError, before the window
// opens. A secret the answers file lacks stops a headless run with a
// *NeedsHumanError naming the key, also before the window. It returns nil
// at once for any other step.
func (e *Engine) askBeforeWindow(ctx context.Context, s *Step) error {
	if s.Downtime != DowntimeStart {
		return nil
	}
	for {
		needs := e.windowSecrets(s)
		if len(needs) == 0 {
			return nil
		}
		var missing []Question
		var about []string
		for _, n := range needs {
			if e.known(n.q.Key) {
				continue
			}
			missing = append(missing, n.q)
			about = append(about, fmt.Sprintf("%s for %s", n.q.Key, strings.Join(n.steps, ", ")))
		}
		if len(missing) > 0 {
			why := "needed inside the downtime window, asked before it opens"
			if !e.state.DowntimeStart.IsZero() {
				why = "needed inside the downtime window, asked all at once before it goes on"
			}
			msg := fmt.Sprintf("%s (%s): ferry keeps secrets in memory only, so a restart loses them", why, strings.Join(about, "; "))
			if err := e.put(ctx, s, missing, msg, why+": "+strings.Join(about, "; ")); err != nil {
				return err
			}
			if e.state.Status(s.ID) == StatusSkipped {
				return nil
			}
		}
		refused, err := e.testSecrets(ctx, s, needs)
		if err != nil || refused == nil {
			return err
		}
		if err := e.emit(Event{Type: EvWarning, Step: s.ID, Message: refused.Message}); err != nil {
			return err
		}
		next := "retry to type it again"
		if !refused.refused {
			next = "retry to test it again"
		}
		d, err := e.wait(ctx, Event{Type: EvWaiting, Step: s.ID, Phase: s.Phase, Need: NeedFailure,
			Message: refused.Message + ". Nothing was stopped yet: " + next})
		if err != nil {
			return err
		}
		switch d.Action {
		case ActRetry:
			if refused.refused {
				e.forget(refused.keys)
			}
		case ActSkip:
			return e.skip(s, d.Reason, d.Actor)
		default:
			return &StepFailedError{Step: s.ID, Message: refused.Message}
		}
	}
}

// refusal is a secret test that failed: which keys, and why in words.
// refused is true when the check ran and said no (the secret is wrong),
// false when it could not run (the old server did not answer).
type refusal struct {
	keys    []string
	refused bool
	Message string
}

// testSecrets proves, with the check of its tester step, each secret of
// needs that ferry holds, that a tester can prove and that no check has
// proven in this process. It returns the first refusal (nil when every
// test passed); err only when the run must end (its context ended, the
// journal failed).
func (e *Engine) testSecrets(ctx context.Context, s *Step, needs []windowNeed) (*refusal, error) {
	start, _ := e.window(s)
	var testers []*Step
	keysOf := map[string][]string{}
	for _, n := range needs {
		k := n.q.Key
		e.mu.Lock()
		_, held := e.secrets[k]
		done := e.tested[k]
		e.mu.Unlock()
		if !held || done {
			continue
		}
		t := e.secretTester(k, start)
		if t == nil {
			continue
		}
		if _, seen := keysOf[t.ID]; !seen {
			testers = append(testers, t)
		}
		keysOf[t.ID] = append(keysOf[t.ID], k)
	}
	for _, t := range testers {
		keys := keysOf[t.ID]
		// The tester's other secrets must be held too, or its check
		// cannot run: then the steps inside the window prove them.
		runnable := true
		for _, q := range t.Ask {
			if q.Type == "secret" && e.questionApplies(t, q) && !e.known(q.Key) {
				runnable = false
			}
		}
		if !runnable {
			continue
		}
		text := t.Title
		if t.Success != nil && t.Success.Text != "" {
			text = t.Success.Text
		}
		c := &Check{Text: text, Kind: t.Kind, Params: t.Params}
		ok, reason, err := e.exec.Check(ctx, t, c, e.env(t, 0, tasks.Discard, ctx))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		names := strings.Join(keys, ", ")
		what := strings.TrimSuffix(strings.TrimSpace(c.Text), ".")
		if err != nil {
			return &refusal{keys: keys, Message: fmt.Sprintf("%s could not be tested before the downtime by the check of step %s (%s): %v", names, t.ID, what, err)}, nil
		}
		if !ok {
			return &refusal{keys: keys, refused: true, Message: fmt.Sprintf("%s was refused before the downtime by the check of step %s (%s): %s", names, t.ID, what, reason)}, nil
		}
		e.mu.Lock()
		for _, k := range keys {
			e.tested[k] = true
		}
		e.mu.Unlock()
		if err := e.emit(Event{Type: EvOutput, Step: s.ID, Stream: "info",
			Message: fmt.Sprintf("%s works, tested before the downtime as step %s does: %s", names, t.ID, reason)}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}
