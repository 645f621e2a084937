package tasks

import (
	"context"
	"strings"
	"testing"
)

// TestHostsEntryNoted: the comment follows the name on the line added, the
// line with its comment is what RemoveHostsLine takes back out, and
// nothing else of the file changes.
func TestHostsEntryNoted(t *testing.T) {
	chkFixedClock(t)
	ctx := context.Background()
	h := chkHost(t, "new")
	orig := chkFixture(t, "hosts")
	chkPut(t, h, HostsFile, orig, 0o644)

	res, err := AddHostsEntryNoted(ctx, h, "203.0.113.5", "oldserver", "added by ferry for migration m-1")
	if err != nil {
		t.Fatal(err)
	}
	want := "203.0.113.5 oldserver # added by ferry for migration m-1"
	if !res.Changed || res.Line != want || chkRead(t, h, HostsFile) != string(orig)+want+"\n" {
		t.Fatalf("add: %+v\n%s", res, chkRead(t, h, HostsFile))
	}
	// Asked again, the name already has that address: nothing changes.
	again, err := AddHostsEntryNoted(ctx, h, "203.0.113.5", "oldserver", "added by ferry for migration m-2")
	if err != nil || again.Changed || chkRead(t, h, HostsFile) != string(orig)+want+"\n" {
		t.Fatalf("second add: %+v, %v", again, err)
	}
	rm, err := RemoveHostsLine(ctx, h, res.Line)
	if err != nil || !rm.Changed || chkRead(t, h, HostsFile) != string(orig) {
		t.Fatalf("remove: %+v, %v\n%s", rm, err, chkRead(t, h, HostsFile))
	}
	if _, err := AddHostsEntryNoted(ctx, h, "203.0.113.5", "oldserver", "two\nlines"); err == nil || !strings.Contains(err.Error(), "spans lines") {
		t.Fatalf("a note on two lines: %v", err)
	}
}
