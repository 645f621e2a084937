package wizard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// guardRunbook has the three places where the engine asks for a typed word:
// a destructive automatic step (wipe-new, on the new server), a task that
// asks while it runs (xfer, through StepEnv.Confirm) and a destructive
// manual step (off, on the old server).
const guardRunbook = `
id: guard
title: Typed words
vendor: none
phases:
  - id: one
    title: One
steps:
  - id: names
    phase: one
    title: Learns the names
    help: x
    host: new
    level: check
    kind: check-root
    safe_to_rerun: true
    vendor: "1"
  - id: wipe-new
    phase: one
    title: Wipe on new
    help: x
    host: new
    level: auto
    kind: command
    commands:
      any: [[rm, x]]
    destructive: true
    precondition:
      text: always
      kind: check-root
    vendor: "2"
  - id: xfer
    phase: one
    title: A transfer that asks before deleting
    help: x
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    safe_to_rerun: true
    vendor: "3"
  - id: off
    phase: one
    title: Switch the old server off
    help: x
    host: old
    level: manual
    kind: manual
    destructive: true
    precondition:
      text: always
      kind: check-root
    vendor: "4"
`

// xferWord is the word the xfer step's task asks for while it runs.
const xferWord = "delete 40"

// wordExec is namesExec whose xfer step asks StepEnv.Confirm for
// xferWord until the engine says the word was typed (at most 20 times),
// counting the refusals.
type wordExec struct {
	namesExec
	mu       sync.Mutex
	refused  int
	accepted bool
}

func (a *wordExec) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	if s.ID == "xfer" {
		for i := 0; i < 20; i++ {
			ok, _, err := env.Confirm("the transfer would delete 40 files", xferWord)
			if err != nil {
				return Outcome{}, err
			}
			a.mu.Lock()
			if ok {
				a.accepted = true
				a.mu.Unlock()
				break
			}
			a.refused++
			a.mu.Unlock()
		}
	}
	return a.namesExec.Run(ctx, s, env)
}

// nearMisses are the answers that must not pass for word (other is the
// word naming the other server): nothing, blanks, prefixes, the word with
// something after it, the other server's word.
func nearMisses(word, other string) []string {
	return []string{"", "   ", word[:1], word[:len(word)-1], word + "x", word + " now", word + word, other, strings.ToUpper(word)}
}

// TestEngineTypedWordExactOnly: at each of the engine's three confirmation
// points, every near miss of the word is refused by the engine itself (a
// warning each, the step not run) and only the exact word lets the step go
// ahead. Both naming cases: two server names, and one name for both
// servers (old:NAME / new:NAME).
func TestEngineTypedWordExactOnly(t *testing.T) {
	rb := mustParse(t, guardRunbook)
	for _, c := range []struct {
		facts            map[string]string
		newWord, oldWord string
	}{
		{map[string]string{"old_name": "mail-old", "new_name": "mail-new"}, "mail-new", "mail-old"},
		{map[string]string{"old_name": "mail", "new_name": "mail"}, "new:mail", "old:mail"},
	} {
		t.Run(c.newWord, func(t *testing.T) {
			// What each guarded step must refuse, then the word it accepts.
			want := map[string]string{"wipe-new": c.newWord, "off": c.oldWord}
			misses := map[string][]string{
				"wipe-new": nearMisses(c.newWord, c.oldWord),
				"off":      nearMisses(c.oldWord, c.newWord),
			}
			xferMisses := nearMisses(xferWord, c.newWord)
			tries := map[string]int{}
			var mu sync.Mutex
			var ranBeforeWord []string
			ex := &wordExec{namesExec: namesExec{fakeExec: fakeExec{fail: map[string]int{}}, facts: c.facts}}
			script := func(ev Event) (Decision, bool) {
				mu.Lock()
				defer mu.Unlock()
				var list []string
				switch {
				case ev.Step == "xfer" && ev.Need == NeedConfirm:
					list = xferMisses
				case ev.Need == NeedConfirm || ev.Need == NeedManual && ev.Word != "":
					if ev.Word != want[ev.Step] {
						t.Errorf("%s asks for %q, want %q", ev.Step, ev.Word, want[ev.Step])
					}
					list = misses[ev.Step]
					ex.fakeExec.mu.Lock()
					for _, id := range ex.fakeExec.ran {
						if id == ev.Step {
							ranBeforeWord = append(ranBeforeWord, id)
						}
					}
					ex.fakeExec.mu.Unlock()
				default:
					return defaultScript(ev)
				}
				i := tries[ev.Step]
				tries[ev.Step]++
				text := ev.Word
				if i < len(list) {
					text = list[i]
				}
				if ev.Need == NeedManual {
					return Decision{Action: ActDone, Text: text}, true
				}
				return Decision{Action: ActConfirm, Text: text}, true
			}
			dir := t.TempDir()
			if _, err := runEngine(t, dir, rb, ex, script); err != nil {
				t.Fatal(err)
			}
			if len(ranBeforeWord) > 0 {
				t.Errorf("steps %v ran before their word was typed", ranBeforeWord)
			}
			if ex.refused != len(xferMisses) || !ex.accepted {
				t.Errorf("xfer: the engine refused %d of the %d near misses of %q (accepted the word: %v)", ex.refused, len(xferMisses), xferWord, ex.accepted)
			}
			st := LoadStateMust(t, dir)
			refusals := map[string]int{}
			confirmed := map[string]int{}
			for _, ev := range st.Events {
				switch {
				case ev.Type == EvWarning && strings.HasPrefix(ev.Message, "confirmation refused"):
					refusals[ev.Step]++
				case ev.Type == EvConfirmed:
					confirmed[ev.Step]++
					if ev.Message != "typed "+want[ev.Step] {
						t.Errorf("%s confirmed with %q", ev.Step, ev.Message)
					}
				}
			}
			for id, list := range misses {
				if refusals[id] != len(list) || confirmed[id] != 1 || tries[id] != len(list)+1 {
					t.Errorf("%s: %d refusals of %d near misses (%q), %d confirmations, asked %d times; want every miss refused, then the word",
						id, refusals[id], len(list), list, confirmed[id], tries[id])
				}
				if st.Status(id) != StatusOK {
					t.Errorf("%s is %s after its word, want ok", id, st.Status(id))
				}
			}
			ran := fmt.Sprint(ex.fakeExec.ran)
			if ran != "[names wipe-new xfer]" {
				t.Errorf("ran %s, want each automatic step once", ran)
			}
		})
	}
}

// TestConfirmWordFromTheStepsTemplate: a destructive step with its own
// confirm template asks for that word (rendered, blanks trimmed); a
// template that renders to nothing falls back to the server's name, and
// with no name known to the step's id.
func TestConfirmWordFromTheStepsTemplate(t *testing.T) {
	rb := mustParse(t, guardRunbook)
	e := NewEngine(rb, nil, nil, &fakeExec{}, nil)
	s := *rb.Step("wipe-new")
	if w := e.confirmWord(&s); w != "wipe-new" {
		t.Errorf("no names known: %q, want the step id", w)
	}
	e.state.Facts = map[string]string{"old_name": "mail-old", "new_name": "mail-new"}
	if w := e.confirmWord(&s); w != "mail-new" {
		t.Errorf("no template: %q, want the new server's name", w)
	}
	s.Confirm = " erase {{.Facts.new_name}} "
	if w := e.confirmWord(&s); w != "erase mail-new" {
		t.Errorf("template: %q, want %q", w, "erase mail-new")
	}
	s.Confirm = "{{if false}}x{{end}}"
	if w := e.confirmWord(&s); w != "mail-new" {
		t.Errorf("a template rendering nothing: %q, want the server's name", w)
	}
}
