package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/tasks"
)

// With two spools empty on the old server (two unmounted disks), the hot
// copy names both refusals at once, leaves both copies on new whole, and
// still syncs the others.
func TestBlueMindEveryBadSpoolNamed(t *testing.T) {
	t.Parallel()
	b := newBMPair(t, nil)
	spools := paramList(t, b.rb, "spools")
	for _, d := range spools {
		bmWrite(t, b.oldRoot, d+"/data.bin", "old "+d)
		bmWrite(t, b.newRoot, d+"/data.bin", "copied earlier "+d)
	}
	empty := []string{spools[1], spools[3]}
	for _, d := range empty {
		if err := os.RemoveAll(filepath.Join(b.oldRoot, d)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(b.oldRoot, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	o, err := b.run(t, b.step(t, "sync-spools-hot", nil))
	if err == nil || !errors.Is(err, tasks.ErrSourceEmpty) {
		t.Fatalf("a hot pass with two empty spools: %v", err)
	}
	for _, d := range empty {
		if !strings.Contains(err.Error(), d) {
			t.Errorf("the refusal does not name %s: %v", d, err)
		}
		if got := bmRead(t, b.newRoot, d+"/data.bin"); got != "copied earlier "+d {
			t.Errorf("%s on new changed after the refusal: %q", d, got)
		}
	}
	for _, d := range []string{spools[0], spools[2]} {
		if got := bmRead(t, b.newRoot, d+"/data.bin"); got != "old "+d {
			t.Errorf("%s was not synced beside the refused ones: %q", d, got)
		}
	}
	if len(o.Commands) != 2 {
		t.Errorf("commands recorded %+v, want the two transfers that ran", o.Commands)
	}
}
