package wizard

import (
	"errors"
	"fmt"
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

// A hot copy that would delete more than ferry lets through unconfirmed
// stops deleting at the limit (rsync --max-delete) and asks for "delete N";
// typed, the copy runs again and deletes the rest; refused, what lies
// beyond the limit is kept.
func TestBlueMindTooManyDeletionsConfirmed(t *testing.T) {
	t.Parallel()
	b := newBMPair(t, nil)
	spools := paramList(t, b.rb, "spools")
	for _, d := range spools {
		bmWrite(t, b.oldRoot, d+"/keep.bin", "old "+d)
	}
	stale := spools[2]
	for _, typed := range []bool{false, true} {
		// The refused pass deleted up to the limit: put them back.
		for i := range 150 {
			bmWrite(t, b.newRoot, fmt.Sprintf("%s/stale/%03d", stale, i), "left on new")
		}
		var asked []string
		b.env.Confirm = func(message, word string) (bool, string, error) {
			asked = append(asked, word+" | "+message)
			return typed, "tester", nil
		}
		o, err := b.run(t, b.step(t, "sync-spools-hot", nil))
		// 150 files and their directory would go; rsync stops at 99 and
		// reports the 51 files it skipped (a directory it could not empty
		// is not counted): 150 in all.
		if len(asked) != 1 || !strings.HasPrefix(asked[0], "delete 150 | the copy of "+stale+" would delete 150 entries") {
			t.Fatalf("typed %v: questions %q", typed, asked)
		}
		_, statErr := os.Stat(filepath.Join(b.newRoot, stale, "stale"))
		if !typed {
			// 151 entries: the limit is 99 (fewer than 100 always pass).
			left, _ := os.ReadDir(filepath.Join(b.newRoot, stale, "stale"))
			if !errors.Is(err, tasks.ErrTooManyDeletions) || statErr != nil || len(left) != 150-99 {
				t.Fatalf("refused: err %v, stale dir on new: %v, %d stale files left (want %d)", err, statErr, len(left), 150-99)
			}
			continue
		}
		if err != nil || !errors.Is(statErr, os.ErrNotExist) {
			t.Fatalf("confirmed: err %v, the stale files on new: %v", err, statErr)
		}
		if !strings.Contains(strings.Join(o.Warnings, "\n"), stale+": 150 deletions confirmed by tester") {
			t.Errorf("the confirmation is not recorded: %q", o.Warnings)
		}
		sameTree(t, b.oldRoot, b.newRoot, stale)
	}
}

// The deletions question is answered from the answers file's
// confirm_deletions, up to its count, and never by the confirm list.
func TestHeadlessConfirmDeletions(t *testing.T) {
	ev := Event{Type: EvWaiting, Step: "sync-spools-hot", Need: NeedConfirm, Word: DeletionsWord(151)}
	for _, c := range []struct {
		set  AnswerSet
		want bool
	}{
		{AnswerSet{ConfirmDeletions: map[string]int{"sync-spools-hot": 200}}, true},
		{AnswerSet{ConfirmDeletions: map[string]int{"sync-spools-hot": 150}}, false},
		{AnswerSet{ConfirmDeletions: map[string]int{"other": 500}}, false},
		{AnswerSet{Confirm: []string{"sync-spools-hot"}}, false},
	} {
		d, ok := headlessDecision(ev, &c.set, 0)
		if ok != c.want || (ok && (d.Action != ActConfirm || d.Text != "delete 151")) {
			t.Errorf("answers %+v: decision %+v, %v; want answered %v", c.set, d, ok, c.want)
		}
	}
	rb, err := LoadRunbook("bluemind")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&AnswerSet{ConfirmDeletions: map[string]int{"no-such-step": 3}}).Validate(rb); err == nil || !strings.Contains(err.Error(), "no-such-step") {
		t.Errorf("an unknown step in confirm_deletions: %v", err)
	}
	if err := (&AnswerSet{ConfirmDeletions: map[string]int{"sync-spools-hot": 0}}).Validate(rb); err == nil {
		t.Error("confirm_deletions of 0 was accepted")
	}
}
