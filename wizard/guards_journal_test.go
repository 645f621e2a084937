package wizard

import (
	"strings"
	"testing"
)

// TestScanJournalWordsTheDamage: an empty line and a line that is not JSON,
// before the last line, are errors naming the line and saying which it
// is.
func TestScanJournalWordsTheDamage(t *testing.T) {
	hdr := `{"ferry_journal":1,"migration":"m"}` + "\n"
	for text, want := range map[string]string{
		hdr + `{"seq":1,"type":"warning"}` + "\n\n" + `{"seq":2,"type":"warning"}` + "\n":      "j:3: damaged line (not at the end, so not a torn write): an empty line",
		hdr + `{"seq":1,"type":"warning"}` + "\n{oops\n" + `{"seq":2,"type":"warning"}` + "\n": "j:3: damaged line (not at the end, so not a torn write): invalid character 'o'",
	} {
		_, err := ScanJournal(strings.NewReader(text), "j")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
