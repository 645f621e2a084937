package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestRunScreenShowsChangesBeforeChecks renders the GreenArrow merge step's
// commands as the run screen does: its first line is the merge program (the
// step's change), not the /proc scan that only looks; the probes follow
// under "checks first:", each group in run order.
func TestRunScreenShowsChangesBeforeChecks(t *testing.T) {
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	s := rb.Step("merge-queue")
	if s == nil {
		t.Fatal("no step merge-queue")
	}
	m := NewRun(RunOptions{Runbook: rb, Decide: func(wizard.Decision) {}})
	var lines []string
	for _, l := range m.commandLines(s, 1000) {
		lines = append(lines, ansi.Strip(l))
	}
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "$ /var/hvmail/libexec/hvmail_queue_merge ") {
		t.Fatalf("first line %q, want the merge program; all:\n%s", lines[0], strings.Join(lines, "\n"))
	}
	label, proc, find := -1, -1, -1
	for i, l := range lines {
		switch {
		case l == checksLabel:
			label = i
		case strings.Contains(l, "/proc/[0-9]*/cmdline") && proc < 0:
			proc = i
		case strings.HasPrefix(l, "$ find ") && find < 0:
			find = i
		}
	}
	if label < 0 || proc < label || find < proc {
		t.Errorf("want %q, then the /proc scan, then the finds (run order); got label %d, /proc %d, find %d:\n%s", checksLabel, label, proc, find, strings.Join(lines, "\n"))
	}
	// A step of probes only gets no label.
	for _, l := range m.commandLines(rb.Step("ssh-old"), 1000) {
		if ansi.Strip(l) == checksLabel {
			t.Errorf("ssh-old (checks only) shows %q", checksLabel)
		}
	}
}

// TestDistinctCuts: two titles that differ only at their end do not read
// alike once cut for the step list (BlueMind's steps 10 and 12 both read
// "Copy the mail store ear…"): each keeps its last words; titles that
// fit, or that differ within the room, are cut at the end as before.
func TestDistinctCuts(t *testing.T) {
	titles := []string{"Copy the mail store early?", "Copy the BlueMind spools", "Copy the mail store early", "Rehearse the dumps"}
	got := distinctCuts(titles, 24)
	if got[0] == got[2] {
		t.Fatalf("steps 10 and 12 read alike: %q", got)
	}
	for i, want := range []string{"early?", "", "early", ""} {
		if ansi.StringWidth(got[i]) > 24 {
			t.Errorf("%q is wider than 24", got[i])
		}
		if want != "" && !strings.HasSuffix(got[i], want) {
			t.Errorf("%q does not keep its end %q", got[i], want)
		}
	}
	if got[1] != "Copy the BlueMind spools" || got[3] != "Rehearse the dumps" {
		t.Errorf("titles that fit were cut: %q", got)
	}
	// Three alike at first: each keeps the words that tell it from the
	// others (BlueMind's three starts of PostgreSQL).
	pg := distinctCuts([]string{"Start PostgreSQL on the new server for the rehearsal", "Start PostgreSQL on the old server", "Start PostgreSQL on the new server"}, 25)
	for i, want := range []string{"for the rehearsal", "old server", "new server"} {
		if !strings.HasSuffix(pg[i], want) || ansi.StringWidth(pg[i]) > 25 {
			t.Errorf("%q does not end with %q in 25 columns", pg[i], want)
		}
	}
	// Cut at the end where that tells them apart.
	if got := distinctCuts([]string{"Start PostgreSQL on the old server", "Start PostgreSQL on the new server"}, 30); got[0] != "Start PostgreSQL on the old s…" {
		t.Errorf("%q", got)
	}
}
