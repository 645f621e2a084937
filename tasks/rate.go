package tasks

import (
	"math"
	"sync"
	"time"
)

// DefaultRateWindow is how far back a RateEstimator looks when none is given.
const DefaultRateWindow = 10 * time.Second

// RateEstimator turns a series of (time, value) samples into a rate: the
// slope of a least-squares line through the samples of the last Window. The
// value may count up (bytes copied) or down (files left in a queue); Rate is
// then positive or negative. It is safe for concurrent use.
type RateEstimator struct {
	mu      sync.Mutex
	window  time.Duration
	samples []rateSample
}

type rateSample struct {
	at    time.Time
	value int64
}

// NewRateEstimator returns an estimator that keeps the samples of the last
// window (DefaultRateWindow when window is zero or negative).
func NewRateEstimator(window time.Duration) *RateEstimator {
	if window <= 0 {
		window = DefaultRateWindow
	}
	return &RateEstimator{window: window}
}

// Add records value as seen at time at. Samples older than the window are
// dropped, but the two newest are always kept so that a slow producer still
// has a rate. A sample older than the newest one is ignored.
func (e *RateEstimator) Add(at time.Time, value int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if n := len(e.samples); n > 0 && at.Before(e.samples[n-1].at) {
		return
	}
	// Samples closer together than a fiftieth of the window replace the
	// newest one instead of piling up, so a producer reporting thousands of
	// times a second costs no more than one reporting a few times.
	minGap := e.window / 50
	if n := len(e.samples); n >= 2 && at.Sub(e.samples[n-2].at) < minGap || n == 1 && at.Equal(e.samples[0].at) {
		e.samples[n-1] = rateSample{at, value}
	} else {
		e.samples = append(e.samples, rateSample{at, value})
	}
	cut := 0
	for cut < len(e.samples)-2 && at.Sub(e.samples[cut].at) > e.window {
		cut++
	}
	if cut > 0 {
		e.samples = append(e.samples[:0], e.samples[cut:]...)
	}
}

// Rate is the change of the value per second over the recent samples, or 0
// when fewer than two samples are known.
func (e *RateEstimator) Rate() float64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := len(e.samples)
	if n < 2 {
		return 0
	}
	t0 := e.samples[0].at
	v0 := e.samples[0].value
	var sx, sy, sxx, sxy float64
	for _, s := range e.samples {
		x := s.at.Sub(t0).Seconds()
		y := float64(s.value - v0)
		sx += x
		sy += y
		sxx += x * x
		sxy += x * y
	}
	fn := float64(n)
	den := fn*sxx - sx*sx
	if den <= 0 {
		return 0
	}
	return (fn*sxy - sx*sy) / den
}

// ETA is how long the remaining amount takes at rate units per second,
// rounded to whole seconds. ok is false when it cannot be told: no rate, a
// rate in the wrong direction, or nothing known about what remains. A
// remaining amount of zero or less gives (0, true).
func ETA(remaining int64, rate float64) (eta time.Duration, ok bool) {
	if remaining <= 0 {
		return 0, true
	}
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return 0, false
	}
	secs := float64(remaining) / rate
	if secs > float64(math.MaxInt64/int64(time.Second)) {
		return 0, false
	}
	return time.Duration(math.Round(secs)) * time.Second, true
}
