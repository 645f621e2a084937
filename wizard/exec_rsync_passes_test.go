package wizard

import (
	"strings"
	"sync"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// The --delete guard adds no pass of its own: the hot and the cold spool
// passes run exactly one rsync per directory (none a --dry-run), each
// capped by --max-delete, and the first pass leaves each tree's size as a
// fact that the next pass's limit uses.
func TestSpoolPassesRunOneRsyncEach(t *testing.T) {
	t.Parallel()
	b := newBMPair(t, nil)
	var mu sync.Mutex
	var ran [][]string
	b.x.New = remote.Observe(b.x.New, func(_ string, argv []string) {
		if len(argv) > 0 && argv[0] == "rsync" {
			mu.Lock()
			ran = append(ran, argv)
			mu.Unlock()
		}
	})
	spools := paramList(t, b.rb, "spools")
	cold := paramList(t, b.rb, "cold_spools")
	for _, d := range cold {
		bmWrite(t, b.oldRoot, d+"/a.dat", "old "+d)
		bmWrite(t, b.oldRoot, d+"/sub/b.dat", "old "+d)
	}
	// One destination is not empty: its tree is counted, and the stale
	// file goes.
	bmWrite(t, b.newRoot, spools[1]+"/stale", "left on new")

	perDir := func(pass string, dirs []string) {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, d := range dirs {
			n := 0
			for _, argv := range ran {
				line := strings.Join(argv, " ")
				if strings.Contains(line, "--dry-run") || strings.Contains(line, " -n ") {
					t.Errorf("%s: a dry run: %s", pass, line)
				}
				if strings.HasSuffix(line, d+"/") {
					n++
					if !strings.Contains(line, "--max-delete=") {
						t.Errorf("%s: %s runs without --max-delete", pass, line)
					}
				}
			}
			if n != 1 {
				t.Errorf("%s: %d rsync runs for %s, want exactly 1", pass, n, d)
			}
		}
		ran = nil
	}

	o, err := b.run(t, b.step(t, "sync-spools-hot", nil))
	if err != nil {
		t.Fatalf("hot pass: %v", err)
	}
	perDir("hot pass", spools)
	bmAbsent(t, b.newRoot, spools[1]+"/stale")
	for _, d := range spools {
		// a.dat, sub, sub/b.dat
		if got := o.Facts[TreeEntriesFact(d)]; got != "3" {
			t.Errorf("fact %s = %q, want 3", TreeEntriesFact(d), got)
		}
		b.env.Data.Facts[TreeEntriesFact(d)] = o.Facts[TreeEntriesFact(d)]
	}

	if _, err := b.run(t, b.step(t, "sync-spools-cold", nil)); err != nil {
		t.Fatalf("cold pass: %v", err)
	}
	perDir("cold pass", cold)
	for _, d := range cold {
		sameTree(t, b.oldRoot, b.newRoot, d)
	}
}
