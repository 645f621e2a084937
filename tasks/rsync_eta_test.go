package tasks

import (
	"testing"
	"time"
)

// TestRsyncETACountsFilesToo: with many small files the bytes are nearly
// done long before the transfer is; the estimate from the files left (800
// at 100 a second: 8 s) wins over the one from the bytes (about 1 s).
func TestRsyncETACountsFilesToo(t *testing.T) {
	var p RsyncParser
	t0 := time.Date(2026, 11, 30, 1, 0, 0, 0, time.UTC)
	lines := []string{
		"      9,900,000  98%   50.00kB/s    0:00:01 (xfr#100, to-chk=900/1000)",
		"      9,950,000  99%   50.00kB/s    0:00:01 (xfr#200, to-chk=800/1000)",
	}
	for i, l := range lines {
		if _, ok := p.Feed(l, t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("not a progress record: %q", l)
		}
	}
	pr := p.Progress()
	if pr.FilesDone != 200 || pr.FilesTotal != 1000 {
		t.Fatalf("files %d of %d", pr.FilesDone, pr.FilesTotal)
	}
	if pr.ETA < 7*time.Second || pr.ETA > 9*time.Second {
		t.Errorf("ETA %s, want about 8s (from the files left)", pr.ETA)
	}
	bytesOnly, _ := ETA(pr.Total-pr.Done, pr.Rate)
	if bytesOnly >= pr.ETA {
		t.Errorf("the byte estimate %s is not the shorter one; the test shows nothing", bytesOnly)
	}
}
