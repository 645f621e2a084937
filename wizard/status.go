package wizard

import "fmt"

// Status is where a step stands.
type Status string

// The states a step moves through: pending → running → ok | failed |
// skipped | waiting (for a human). Interrupted marks a step that was running
// when ferry stopped unexpectedly (found on resume).
const (
	StatusPending     Status = "pending"
	StatusRunning     Status = "running"
	StatusOK          Status = "ok"
	StatusFailed      Status = "failed"
	StatusSkipped     Status = "skipped"
	StatusWaiting     Status = "waiting"
	StatusInterrupted Status = "interrupted"
)

// Symbol is a status mark that does not rely on colour.
func (s Status) Symbol() string {
	switch s {
	case StatusRunning:
		return "▶"
	case StatusOK:
		return "✓"
	case StatusFailed:
		return "✗"
	case StatusSkipped:
		return "↷"
	case StatusWaiting:
		return "?"
	case StatusInterrupted:
		return "!"
	default:
		return "·"
	}
}

// Done reports whether the step needs nothing more (ok or skipped).
func (s Status) Done() bool { return s == StatusOK || s == StatusSkipped }

// Tally says in words how far a run is, keeping passed and skipped steps
// apart (a skipped test is not a passed one): "38 of 42 done, 4 skipped"
// or "12 of 42 done". It takes each step's status.
func Tally(statuses []Status) string {
	ok, skipped := 0, 0
	for _, s := range statuses {
		switch s {
		case StatusOK:
			ok++
		case StatusSkipped:
			skipped++
		}
	}
	if skipped == 0 {
		return fmt.Sprintf("%d of %d done", ok, len(statuses))
	}
	return fmt.Sprintf("%d of %d done, %d skipped", ok, len(statuses), skipped)
}
