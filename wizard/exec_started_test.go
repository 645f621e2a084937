package wizard

import (
	"slices"
	"sync"
	"testing"
)

// TestStartedNotesMatchTheOutcome: the parallel rsyncs of the spool step,
// run by the executor on real trees, announce each command as it starts
// (StepEnv.Started, called from the transfers' goroutines) exactly as the
// step's outcome then records it, so the journal's two lists agree and a
// killed step leaves the same command lines.
func TestStartedNotesMatchTheOutcome(t *testing.T) {
	t.Parallel()
	b := newBMPair(t, nil)
	for _, d := range paramList(t, b.rb, "spools") {
		bmWrite(t, b.oldRoot, d+"/top.dat", "x")
	}
	var mu sync.Mutex
	var started []string
	env := *b.env
	env.Started = func(host, command string) {
		mu.Lock()
		defer mu.Unlock()
		started = append(started, host+": "+command)
	}
	b.env = &env
	o, err := b.run(t, b.step(t, "sync-spools-hot", nil))
	if err != nil {
		t.Fatalf("hot pass: %v", err)
	}
	var recorded []string
	for _, c := range o.Commands {
		recorded = append(recorded, c.Host+": "+c.Command)
	}
	slices.Sort(started)
	slices.Sort(recorded)
	if len(recorded) < 4 || !slices.Equal(started, recorded) {
		t.Errorf("started notes %q\ndo not match the outcome's commands %q", started, recorded)
	}
}
