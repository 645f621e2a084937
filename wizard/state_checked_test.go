package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestLoadStateCheckedIsContinuityThenTail: reading the journal once gives
// what CheckContinuity followed by LoadStateTail gives: the same state for
// a sound journal, the same *LostJournalError for a journal deleted,
// emptied or replaced under a migration, the reader's error for a damaged
// one, and ErrNoJournal for a state directory that never had a migration.
func TestLoadStateCheckedIsContinuityThenTail(t *testing.T) {
	type setup struct {
		name string
		dir  func(t *testing.T) string
		lock bool
	}
	cases := []setup{
		{"finished", finished, false},
		{"half finished, lock left", halfFinished, true},
		{"deleted", func(t *testing.T) string {
			d := finished(t)
			if err := os.Remove(filepath.Join(d, JournalFile)); err != nil {
				t.Fatal(err)
			}
			return d
		}, true},
		{"emptied", func(t *testing.T) string {
			d := finished(t)
			if err := os.Truncate(filepath.Join(d, JournalFile), 0); err != nil {
				t.Fatal(err)
			}
			return d
		}, false},
		{"another migration's", func(t *testing.T) string {
			d := finished(t)
			if err := os.WriteFile(filepath.Join(d, MigrationIDFile), []byte("m-another\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return d
		}, false},
		{"damaged", func(t *testing.T) string {
			d := finished(t)
			p := filepath.Join(d, JournalFile)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, append([]byte(`{"seq":1,"type":"step_started"`+"\n"), b...), 0o600); err != nil {
				t.Fatal(err)
			}
			return d
		}, false},
		{"never a migration", func(t *testing.T) string { return t.TempDir() }, false},
	}
	var lost, other, none, sound int
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir(t)
			want, werr := func() (*State, error) {
				if err := CheckContinuity(dir, c.lock, nil); err != nil {
					return nil, err
				}
				return LoadStateTail(dir, 0)
			}()
			got, gerr := LoadStateChecked(dir, c.lock, 0)
			switch {
			case werr != nil:
				if gerr == nil || gerr.Error() != werr.Error() || reflect.TypeOf(gerr) != reflect.TypeOf(werr) {
					t.Fatalf("LoadStateChecked: %v (%T), the two readings: %v (%T)", gerr, gerr, werr, werr)
				}
				var le *LostJournalError
				switch {
				case errors.As(werr, &le):
					lost++
				case errors.Is(werr, ErrNoJournal):
					none++
				default:
					other++
				}
			case gerr != nil:
				t.Fatalf("LoadStateChecked: %v, the two readings: none", gerr)
			case !reflect.DeepEqual(got, want):
				t.Fatalf("LoadStateChecked gives\n%+v\nthe two readings\n%+v", got, want)
			default:
				sound++
			}
		})
	}
	if lost < 3 || other < 1 || none < 1 || sound < 2 {
		t.Errorf("cases by outcome: %d lost, %d damaged, %d no journal, %d sound: the cases do not cover every outcome", lost, other, none, sound)
	}
}
