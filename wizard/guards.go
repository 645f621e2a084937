package wizard

import "strings"

// The engine's guards that a typed word and the downtime window rest on,
// kept apart so that mutation testing (make mutants) can aim at them.

// wordTyped reports whether text, as the admin typed it, is word: the
// exact word, blanks around it aside. Anything else (nothing, a prefix,
// the word with more after it, another server's word) is not.
func wordTyped(text, word string) bool {
	return word != "" && strings.TrimSpace(text) == word
}

// markDowntime records the downtime marker of step s when it is the given
// one (start or end) and that edge of the window is not recorded yet.
func (e *Engine) markDowntime(s *Step, edge string) error {
	// Plain ifs, not a switch: gremlins counts a tagless switch's case
	// conditions as never run, so it would not test them.
	if edge == DowntimeStart && s.Downtime != edge && e.state.DowntimeStart.IsZero() && e.startSkippedBefore(s) {
		// The step that stops the service was skipped (done by hand, or
		// not yet): the window opens at the first step of it that runs.
		return e.emit(Event{Type: EvDowntimeStart, Step: s.ID, Message: "downtime begins at the latest now: the step that stops the service was skipped"})
	}
	if s.Downtime != edge {
		return nil
	}
	if edge == DowntimeStart && e.state.DowntimeStart.IsZero() {
		return e.emit(Event{Type: EvDowntimeStart, Step: s.ID, Message: "downtime begins"})
	}
	if edge == DowntimeEnd && e.state.DowntimeEnd.IsZero() {
		return e.emit(Event{Type: EvDowntimeEnd, Step: s.ID, Message: "downtime ends"})
	}
	return nil
}

// confirmWord is the word an admin types to let a destructive step run:
// the step's own confirm template when it has one, else HostWord of the
// server the step acts on.
func (e *Engine) confirmWord(s *Step) string {
	if s.Confirm != "" {
		if w, err := Render(s.Confirm, e.data(s)); err == nil && strings.TrimSpace(w) != "" {
			return strings.TrimSpace(w)
		}
	}
	if w := HostWord(e.state.Facts, s.Host); w != "" {
		return w
	}
	return s.ID
}

// HostWord is the word that names server host (HostOld or HostNew) in a
// typed confirmation, from the facts the SSH step learns (old_name,
// new_name; old_addr when the old name is not known): the server's name,
// or "old:NAME" / "new:NAME" when both servers carry the same name, so the
// word always tells which one is touched. "" when the name is not known.
func HostWord(facts map[string]string, host string) string {
	oldName := facts["old_name"]
	if oldName == "" {
		oldName = facts["old_addr"]
	}
	newName := facts["new_name"]
	name := oldName
	if host == HostNew {
		name = newName
	}
	if name == "" {
		return ""
	}
	if oldName == newName {
		return host + ":" + name
	}
	return name
}

// startSkippedBefore reports whether a step before s in the runbook starts
// the downtime and was skipped, with no end marker between it and s (s is
// inside the window that step would have opened).
func (e *Engine) startSkippedBefore(s *Step) bool {
	skipped := false
	for i := range e.rb.Steps {
		o := &e.rb.Steps[i]
		if o.ID == s.ID {
			return skipped
		}
		if o.Downtime == DowntimeStart {
			skipped = e.state.Status(o.ID) == StatusSkipped
		}
		if o.Downtime == DowntimeEnd {
			skipped = false
		}
	}
	return false
}
