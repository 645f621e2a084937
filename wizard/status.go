package wizard

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
