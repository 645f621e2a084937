package tasks

import (
	"context"
	"strings"
	"testing"
)

func TestParseServiceStatusOK(t *testing.T) {
	st, err := ParseServiceStatus(string(chkFixture(t, "service-status-ok.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 11 || len(st.Unparsed) != 0 {
		t.Fatalf("%d services, unparsed %q; want 11 and none", len(st.Services), st.Unparsed)
	}
	dns := st.Services[0]
	if dns.Name != "hvmail-dnscache" || dns.Path != "/service/hvmail-dnscache" || !dns.Up || dns.PID != 1503 || dns.Seconds != 86412 || dns.Normally != "down" {
		t.Errorf("first service = %+v", dns)
	}
	smtpd3 := st.Services[9]
	if smtpd3.Name != "hvmail-qmail-smtpd3" || smtpd3.Up || smtpd3.PID != 0 || smtpd3.Seconds != 86414 {
		t.Errorf("smtpd3 = %+v", smtpd3)
	}

	r := CheckServicesUp(st, []string{"hvmail-qmail-smtpd3"})
	if !r.OK || r.Reason != "10 of 11 services are up; hvmail-qmail-smtpd3 is down, which is allowed." {
		t.Errorf("with smtpd3 allowed: %+v", r)
	}
	if !strings.Contains(r.Detail, "/service/hvmail-qmail-smtpd3: down 86414 s") {
		t.Errorf("Detail = %q", r.Detail)
	}
	r = CheckServicesUp(st, nil)
	if r.OK || !strings.Contains(r.Reason, "1 of 11 services are not running normally: hvmail-qmail-smtpd3 (down 86414 s)") {
		t.Errorf("with nothing allowed: %+v", r)
	}
	// An allowed service that happens to be up is fine too.
	st.Services[9].Up = true
	if r := CheckServicesUp(st, []string{"/service/hvmail-qmail-smtpd3/"}); !r.OK || r.Reason != "All 11 services are up." {
		t.Errorf("allowed service up: %+v", r)
	}
}

func TestParseServiceStatusProblems(t *testing.T) {
	st, err := ParseServiceStatus(string(chkFixture(t, "service-status-bad.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 5 || len(st.Unparsed) != 1 || !strings.HasPrefix(st.Unparsed[0], "GreenArrow status checked") {
		t.Fatalf("services %+v, unparsed %q", st.Services, st.Unparsed)
	}
	byName := map[string]ServiceState{}
	for _, s := range st.Services {
		if strings.Contains(s.Line, "\x1b") {
			t.Errorf("line %q keeps an escape sequence", s.Line)
		}
		byName[s.Name] = s
	}
	if s := byName["hvmail-qmail-send"]; s.Up || s.Normally != "up" || s.Seconds != 3 {
		t.Errorf("qmail-send = %+v", s)
	}
	if s := byName["hvmail-logger"]; !s.Up || s.Want != "down" || s.Path != "/service/hvmail-logger" {
		t.Errorf("logger = %+v", s)
	}
	if s := byName["hvmail-postgres"]; s.Up || s.Problem != "supervise not running" {
		t.Errorf("postgres = %+v", s)
	}
	r := CheckServicesUp(st, []string{"hvmail-qmail-smtpd3"})
	if r.OK {
		t.Fatalf("check passed: %+v", r)
	}
	for _, want := range []string{"3 of 5 services", "hvmail-qmail-send (down 3 s, normally up)", "hvmail-logger (up 1 s, want down)", "hvmail-postgres (unknown: supervise not running)"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("Reason %q lacks %q", r.Reason, want)
		}
	}
	if strings.Contains(r.Reason, "smtpd3") || strings.Contains(r.Reason, "httpd") {
		t.Errorf("Reason %q names a service that is fine", r.Reason)
	}
	if !strings.Contains(r.Detail, "GreenArrow status checked") {
		t.Errorf("Detail drops the unparsed line: %q", r.Detail)
	}
}

func TestParseServiceStatusForms(t *testing.T) {
	tests := []struct {
		line       string
		up         bool
		pid        int
		paused     bool
		want, norm string
		problem    string
	}{
		{"/service/hvmail-qmail-send: up (pid 1234) 5678 seconds", true, 1234, false, "", "", ""},
		{"/service/x: up (pid 1) 1 seconds, normally down, paused", true, 1, true, "", "down", ""},
		{"/service/x: down 100 seconds, normally up, want up", false, 0, false, "up", "up", ""},
		{"/service/x: unable to open supervise/ok: file does not exist", false, 0, false, "", "", "unable to open supervise/ok: file does not exist"},
		{"run: hvmail-qmail-send: (pid 1234) 5678s; run: log: (pid 99) 5678s", true, 1234, false, "", "", ""},
		{"down: /etc/service/hvmail-qmail-smtpd3: 100s, normally up", false, 0, false, "", "up", ""},
	}
	for _, tt := range tests {
		st, err := ParseServiceStatus(tt.line + "\r\n")
		if err != nil || len(st.Services) != 1 {
			t.Errorf("%q: %+v, %v", tt.line, st, err)
			continue
		}
		s := st.Services[0]
		if s.Up != tt.up || s.PID != tt.pid || s.Paused != tt.paused || s.Want != tt.want || s.Normally != tt.norm || s.Problem != tt.problem {
			t.Errorf("%q: %+v", tt.line, s)
		}
	}
	if _, err := ParseServiceStatus("Usage: /etc/init.d/greenarrow {start|stop|status}\n"); err == nil || !strings.Contains(err.Error(), "Usage:") {
		t.Errorf("usage text: err = %v, want one quoting it", err)
	}
	if _, err := ParseServiceStatus(""); err == nil {
		t.Error("empty output: no error")
	}
}

// TestQueryServiceStatus runs a stand-in for the vendor's service command
// (GreenArrow's own init script is what prints the listing) that exits 3,
// as status commands do when something is down.
func TestQueryServiceStatus(t *testing.T) {
	h := chkHost(t, "new")
	chkPut(t, h, "/var/lib/fixture/status.txt", chkFixture(t, "service-status-ok.txt"), 0o644)
	script := "#!/bin/sh\n[ \"$1 $2\" = \"greenarrow status\" ] || { echo \"unexpected: $*\" >&2; exit 2; }\ncat \"$FERRY_ROOT/var/lib/fixture/status.txt\"\nexit 3\n"
	chkPut(t, h, "/usr/sbin/service", []byte(script), 0o755)
	rep := &cmdLines{}
	st, res, err := QueryServiceStatus(context.Background(), h, nil, rep)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 3 || len(st.Services) != 11 || len(rep.all()) != 11 {
		t.Fatalf("exit %d, %d services, %d lines reported", res.ExitCode, len(st.Services), len(rep.all()))
	}
	if r := CheckServicesUp(st, []string{"hvmail-qmail-smtpd3"}); !r.OK {
		t.Errorf("check: %+v", r)
	}
	chkPut(t, h, "/var/lib/fixture/status.txt", []byte("greenarrow: unrecognized service\n"), 0o644)
	if _, _, err := QueryServiceStatus(context.Background(), h, nil, nil); err == nil || !strings.Contains(err.Error(), "unrecognized service") {
		t.Errorf("no listing: err = %v", err)
	}
}
