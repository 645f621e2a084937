package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseGoodRunbook(t *testing.T) {
	rb := mustParse(t, testRunbook)
	if len(rb.Steps) != 6 || rb.Steps[0].Line == 0 || rb.Hash == "" {
		t.Fatalf("steps=%d line=%d hash=%q", len(rb.Steps), rb.Steps[0].Line, rb.Hash)
	}
	if got := rb.Steps[2].Commands["any"][0].Argv[0]; got != "echo" {
		t.Errorf("argv command read as %q", got)
	}
}

// Each bad runbook must be rejected with an error naming the file, the line
// of the offending field and the field.
func TestParseRejectsBadRunbooks(t *testing.T) {
	// marker is text on the line the error must name ("" when the error is
	// about the whole file).
	cases := []struct {
		name, from, to, marker, wantText string
	}{
		{"unknown level", "level: check\n    kind: check-root", "level: sometimes\n    kind: check-root", "level: sometimes", "level"},
		{"unknown kind", "kind: check-root", "kind: teleport", "kind: teleport", "unknown kind"},
		{"unknown field", "    vendor: \"step 1\"", "    vendr: \"step 1\"", "vendr:", "vendr"},
		{"bad host", "host: old", "host: older", "host: older", "host"},
		{"unknown param", "params: {path: /etc}", "params: {path: /etc, force: true}", "force: true", "force"},
		{"destructive without guard", "    precondition:\n      text: the old server answers\n      kind: path-present\n      params: {path: /etc}\n", "", "destructive: true", "destructive"},
		{"bad template", "{{.Params.greeting}}", "{{.Params.greeting", "any:\n        - [echo", "template"},
		{"duplicate id", "id: manual", "id: hot", "id: hot\n    phase: two", "already used"},
		{"unknown phase", "phase: two\n    title: Move", "phase: three\n    title: Move", "phase: three", "not a declared phase"},
		{"downtime unpaired", "    downtime: end\n", "", "", "pair"},
		{"question type", "type: port", "type: colour", "type: colour", "colour"},
		{"commands on another kind", "    kind: record\n", "    kind: record\n    commands:\n      any: [[echo, hand-written]]\n", "commands:\n      any: [[echo, hand-written]]", "only a step of kind command"},
		{"not yaml", "steps:", "steps: [", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(testRunbook, c.from, c.to, 1)
			if src == testRunbook {
				t.Fatalf("case did not change the runbook")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "custom.yaml")
			os.WriteFile(path, []byte(src), 0o600)
			_, err := LoadRunbook(path)
			var re *RunbookError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RunbookError", err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path) {
				t.Errorf("%q does not start with the file name", msg)
			}
			if c.marker != "" {
				i := strings.Index(src, c.marker)
				if i < 0 {
					t.Fatalf("marker %q not in the runbook", c.marker)
				}
				want := 1 + strings.Count(src[:i], "\n")
				if re.Line != want {
					t.Errorf("%q names line %d, want %d", msg, re.Line, want)
				}
			}
			if !strings.Contains(msg, c.wantText) {
				t.Errorf("%q does not mention %q", msg, c.wantText)
			}
		})
	}
}

func TestLoadRunbookUnknownName(t *testing.T) {
	_, err := LoadRunbook("nosuchbook")
	if err == nil || !strings.Contains(err.Error(), "built-in") {
		t.Fatalf("err = %v", err)
	}
}

func TestResolveKeepsListParams(t *testing.T) {
	data := TemplateData{Params: map[string]any{"dirs": []any{"/a", "/b"}, "n": "x"}}
	v, err := Resolve("{{.Params.dirs}}", data)
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := v.([]any); !ok || len(l) != 2 {
		t.Fatalf("got %#v", v)
	}
	v, _ = Resolve([]any{"{{.Params.n}}-1", 3}, data)
	if l := v.([]any); l[0] != "x-1" || l[1] != 3 {
		t.Fatalf("got %#v", v)
	}
}

func TestValidateAnswer(t *testing.T) {
	for _, c := range []struct {
		q   Question
		v   string
		bad bool
	}{
		{Question{Key: "p", Type: "port"}, "2222", false},
		{Question{Key: "p", Type: "port"}, "70000", true},
		{Question{Key: "ip", Type: "ip"}, "192.0.2.1", false},
		{Question{Key: "ip", Type: "ip"}, "192.0.2", true},
		{Question{Key: "d", Type: "path"}, "relative/dir", true},
		{Question{Key: "y", Type: "yesno"}, "maybe", true},
		{Question{Key: "c", Type: "choice", Choices: []string{"a", "b"}}, "b", false},
		{Question{Key: "r", Type: "ips"}, "8.8.8.8, 1.1.1.1", false},
		{Question{Key: "r", Type: "ips"}, "8.8.8.8, dns.google", true},
	} {
		err := ValidateAnswer(c.q, c.v)
		if (err != nil) != c.bad {
			t.Errorf("%s %q: err = %v", c.q.Type, c.v, err)
		}
		if err != nil && !strings.Contains(err.Error(), c.q.Key) {
			t.Errorf("error %q does not name the question", err)
		}
	}
}
