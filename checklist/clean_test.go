package checklist

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// slowCleanText is cleanText without its shortcut for printable text: the
// escape-sequence parser, then the control characters removed.
func slowCleanText(s string) string {
	s = ansi.Strip(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return -1
		}
		return r
	}, strings.TrimRight(s, "\n "))
}

// TestCleanTextShortcutAgrees: cleanText's shortcut for printable text
// gives what the escape-sequence parser gives, on text made of the bytes
// that matter (controls, ESC, DEL, C1 controls raw and UTF-8 encoded,
// UTF-8 lead and continuation bytes, broken sequences).
func TestCleanTextShortcutAgrees(t *testing.T) {
	pieces := []string{"a", " ", "\n", "\t", "\r", "\x1b", "[31m", "\x1b[0m", "\x7f", "\x9b", "\xc2\x9b", "\xc2\x85", "\xc2\xa0",
		"é", "‹", "›", "—", "😀", "\xe2\x80", "\xf0\x9f", "\xff", "\x00", "]0;t\x07", "\ufffd", "{{.Facts.x}}"}
	rng := rand.New(rand.NewPCG(13, 5))
	shortcut := 0
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		if printable(s) {
			shortcut++
		}
		if got, want := cleanText(s), slowCleanText(s); got != want {
			t.Fatalf("cleanText(%q) = %q, the parser gives %q", s, got, want)
		}
	}
	if shortcut == 0 {
		t.Fatal("no text took the shortcut")
	}
	for _, s := range []string{"plain text —  ‹with› marks\n\n ", "tab\there"} {
		if !printable(s) {
			t.Errorf("printable(%q) = false", s)
		}
	}
}

// FuzzCleanText: the shortcut and the parser agree on any text.
func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"a\x1b[1mb", "x\xc2\x9by", "é‹›\n", "\t\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := cleanText(s), slowCleanText(s); got != want {
			t.Fatalf("cleanText(%q) = %q, the parser gives %q", s, got, want)
		}
	})
}
