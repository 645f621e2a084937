package tasks

import (
	"errors"
	"strings"
	"testing"
)

// TestCheckServicesDown: the old server's status after GreenArrow stopped.
// One service still up fails, naming it; every service down, or unknown
// because the supervisor itself stopped, passes; an empty listing passes,
// but lines ferry cannot read with no service line do not.
func TestCheckServicesDown(t *testing.T) {
	cases := []struct {
		name, listing string
		ok            bool
		reason        string
	}{
		{"one still up", "/service/hvmail-qmail-send: up (pid 12) 5 seconds\n/service/hvmail-apache: down 3 seconds, normally up", false, "1 of 2 services are still up: hvmail-qmail-send"},
		{"all down", "/service/hvmail-qmail-send: down 3 seconds, normally up\n/service/hvmail-apache: down 3 seconds, normally up", true, "All 2 services are down."},
		{"supervisor stopped", "/service/hvmail-qmail-send: supervise not running", true, "All 1 services are down."},
		{"up but want down", "/service/hvmail-qmail-send: up (pid 12) 5 seconds, want down", false, "still up"},
		{"empty", "", true, "nothing runs"},
		{"unreadable", "GreenArrow is in a state ferry does not know", false, "names no service ferry can read"},
	}
	for _, c := range cases {
		st, err := ParseServiceStatus(c.listing)
		if err != nil && !errors.Is(err, ErrNoServiceLine) {
			t.Fatalf("%s: %v", c.name, err)
		}
		r := CheckServicesDown(st)
		if r.OK != c.ok || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: OK=%v %q, want OK=%v and %q", c.name, r.OK, r.Reason, c.ok, c.reason)
		}
	}
}
