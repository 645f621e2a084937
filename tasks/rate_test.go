package tasks

import (
	"math"
	"testing"
	"time"
)

func TestETA(t *testing.T) {
	tests := []struct {
		remaining int64
		rate      float64
		want      time.Duration
		ok        bool
	}{
		{0, 0, 0, true},
		{-5, 10, 0, true},
		{100, 0, 0, false},
		{100, -3, 0, false},
		{100, math.NaN(), 0, false},
		{100, math.Inf(1), 0, false},
		{100, 10, 10 * time.Second, true},
		{100, 30, 3 * time.Second, true}, // 3.33 s rounds to 3
		{100, 40, 3 * time.Second, true}, // 2.5 s rounds to 3
		{1, 1e9, 0, true},
		{86_400 * 7, 1, 7 * 24 * time.Hour, true},
		{math.MaxInt64, 1e-9, 0, false}, // beyond what a Duration holds
	}
	for _, tt := range tests {
		got, ok := ETA(tt.remaining, tt.rate)
		if got != tt.want || ok != tt.ok {
			t.Errorf("ETA(%d, %v) = %v, %v; want %v, %v", tt.remaining, tt.rate, got, ok, tt.want, tt.ok)
		}
	}
}

func TestRateEstimator(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		samples []struct {
			at time.Duration
			v  int64
		}
		want float64
	}{
		{"no samples", nil, 0},
		{"one sample", []struct {
			at time.Duration
			v  int64
		}{{0, 5}}, 0},
		{"steady rise", []struct {
			at time.Duration
			v  int64
		}{{0, 0}, {time.Second, 100}, {2 * time.Second, 200}, {3 * time.Second, 300}}, 100},
		{"countdown", []struct {
			at time.Duration
			v  int64
		}{{0, 1000}, {time.Second, 950}, {2 * time.Second, 900}}, -50},
		{"old samples fall out of the window", []struct {
			at time.Duration
			v  int64
		}{{0, 0}, {time.Second, 1000}, {20 * time.Second, 1000}, {21 * time.Second, 1010}, {22 * time.Second, 1020}}, 10},
		{"a stall keeps the last two samples", []struct {
			at time.Duration
			v  int64
		}{{0, 0}, {time.Minute, 600}}, 10},
		{"bursts within a gap collapse", []struct {
			at time.Duration
			v  int64
		}{{0, 0}, {time.Millisecond, 1}, {2 * time.Millisecond, 2}, {time.Second, 1000}, {time.Second + time.Millisecond, 1001}, {2 * time.Second, 2000}}, 1000},
	}
	for _, tt := range tests {
		e := NewRateEstimator(10 * time.Second)
		for _, s := range tt.samples {
			e.Add(t0.Add(s.at), s.v)
		}
		if got := e.Rate(); math.Abs(got-tt.want) > 0.01*math.Max(1, math.Abs(tt.want)) {
			t.Errorf("%s: Rate() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestRateEstimatorBounded(t *testing.T) {
	e := NewRateEstimator(10 * time.Second)
	t0 := time.Unix(0, 0)
	for i := range 100_000 {
		e.Add(t0.Add(time.Duration(i)*100*time.Microsecond), int64(i))
	}
	if n := len(e.samples); n > 60 {
		t.Errorf("estimator kept %d samples for 100k updates in 10 s; want a bounded number", n)
	}
	if r := e.Rate(); math.Abs(r-10_000) > 100 {
		t.Errorf("Rate() = %v, want 10000 per second", r)
	}
	// A sample from the past is ignored.
	e.Add(t0, 0)
	if r := e.Rate(); math.Abs(r-10_000) > 100 {
		t.Errorf("after a stale sample Rate() = %v, want 10000", r)
	}
}
