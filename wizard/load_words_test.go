package wizard

import (
	"strings"
	"testing"
)

// TestRunbookErrorsInAuthorsWords: the YAML decoder's messages that name Go
// types come out in words, with the file and line.
func TestRunbookErrorsInAuthorsWords(t *testing.T) {
	base := "id: x\ntitle: y\nvendor: v\nphases:\n  - id: p\n    title: P\nsteps:\n  - id: a\n    phase: p\n    title: A\n    help: h\n    host: new\n    level: auto\n    kind: check-root\n    vendor: x\n"
	cases := []struct{ src, want string }{
		{base + "    frobnicate: 1\n", `rb.yaml:16: unknown field "frobnicate" in a step`},
		{base + "    destructive: maybe\n", `rb.yaml:16: expected true or false, found a text (maybe)`},
		{"id: x\ntitle: y\nphases: 3\n", `rb.yaml:3: expected a list of phases, found a number (3)`},
	}
	for _, c := range cases {
		_, err := Parse("rb.yaml", []byte(c.src))
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "wizard.") {
			t.Errorf("error %v, want %q and no Go type", err, c.want)
		}
	}
}
