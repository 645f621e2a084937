package wizard

import "time"

// SetClock makes e stamp its events with now instead of the wall clock (for
// the external tests, which cannot reach the field).
func SetClock(e *Engine, now func() time.Time) { e.now = now }
