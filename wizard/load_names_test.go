package wizard

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/assets"
)

// writeRunbook writes src as a runbook file in a fresh directory and
// returns its path.
func writeRunbook(t *testing.T, src string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "t7.yaml")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// lineOf returns the 1-based line of the first occurrence of marker in src.
func lineOf(t *testing.T, src, marker string) int {
	t.Helper()
	i := strings.Index(src, marker)
	if i < 0 {
		t.Fatalf("marker %q not in the runbook", marker)
	}
	return 1 + strings.Count(src[:i], "\n")
}

// The reviewer's case: one misspelt parameter name in the built-in
// GreenArrow runbook turned the old queue's removal into "rm -rf /".
func TestLoadRefusesMisspeltParamInBuiltinCopy(t *testing.T) {
	data, err := assets.Runbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	good := "kind: remove-dir\n    params:\n      path: '{{.Params.old_queue}}'"
	bad := "kind: remove-dir\n    params:\n      path: '{{.Params.old_qeue}}'"
	if strings.Count(string(data), good) != 1 {
		t.Fatalf("the built-in runbook no longer holds %q once", good)
	}
	src := strings.Replace(string(data), good, bad, 1)
	path := writeRunbook(t, src)
	_, err = LoadRunbook(path)
	var re *RunbookError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RunbookError", err)
	}
	msg := err.Error()
	if want := lineOf(t, src, bad) + 2; re.File != path || re.Line != want {
		t.Errorf("%q: names %s:%d, want %s:%d", msg, re.File, re.Line, path, want)
	}
	if !strings.HasSuffix(re.Field, ".params.path") {
		t.Errorf("%q: field %q, want the step's params.path", msg, re.Field)
	}
	for _, want := range []string{".Params.old_qeue", "did you mean .Params.old_queue?"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q does not say %q", msg, want)
		}
	}
}

// Every place a template lives is read for unknown .Params and .Answers
// names, whichever way the template reads them.
func TestLoadRefusesUnknownTemplateNames(t *testing.T) {
	cases := []struct {
		name, from, to, marker, bad, nearest string
	}{
		{"command word", `"{{.Params.greeting}}"`, `"{{.Params.greting}}"`, "any:\n        - [echo", ".Params.greting", ".Params.greeting"},
		{"answer in a command", `"{{.Answers.port}}"`, `"{{.Answers.prot}}"`, "any:\n        - [echo", ".Answers.prot", ".Answers.port"},
		{"step when", "    vendor: \"step 5\"", "    when: '{{if .Params.greetin}}true{{end}}'\n    vendor: \"step 5\"", "when: '{{if", ".Params.greetin", ".Params.greeting"},
		{"confirm", "    downtime: start\n", "    downtime: start\n    confirm: '{{.Params.gretting}}'\n", "confirm:", ".Params.gretting", ".Params.greeting"},
		{"question default by index", "        type: port\n", "        type: port\n        default: '{{index .Params \"greetng\"}}'\n", "default:", ".Params.greetng", ".Params.greeting"},
		{"question when through $", "        type: port\n", "        type: port\n        when: '{{if $.Answers.pots}}true{{end}}'\n", "when: '{{if $", ".Answers.pots", ".Answers.port"},
		{"check params", "params: {path: /etc}", "params: {path: '/{{.Params.greet_ing}}'}", "path: '/{{", ".Params.greet_ing", ".Params.greeting"},
		{"answer learnt by a kind not used", `"{{.Answers.port}}"`, `"{{.Answers.ssh_port}}"`, "any:\n        - [echo", ".Answers.ssh_port", ".Answers.port"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(testRunbook, c.from, c.to, 1)
			if src == testRunbook {
				t.Fatal("case did not change the runbook")
			}
			path := writeRunbook(t, src)
			_, err := LoadRunbook(path)
			var re *RunbookError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a RunbookError", err)
			}
			msg := err.Error()
			if want := lineOf(t, src, c.marker); re.File != path || re.Line != want {
				t.Errorf("%q names %s:%d, want %s:%d", msg, re.File, re.Line, path, want)
			}
			if re.Field == "" {
				t.Errorf("%q names no field", msg)
			}
			for _, want := range []string{c.bad + ",", "did you mean " + c.nearest + "?"} {
				if !strings.Contains(msg, want) {
					t.Errorf("%q does not say %q", msg, want)
				}
			}
		})
	}
}

// Names that exist are accepted, and so are reads where the dot is not the
// template's data (the body of range or with).
func TestLoadAcceptsKnownTemplateNames(t *testing.T) {
	for name, c := range map[string][2]string{
		"range body":              {`"{{.Params.greeting}}"`, `"{{range .Params.list}}{{.Params.x}}{{end}}"`},
		"with body, $ chain":      {`"{{.Params.greeting}}"`, `"{{with index .Params.list 0}}{{.Params.x}}{{$.Params.greeting}}{{end}}"`},
		"answer learnt by a kind": {"kind: check-root", "kind: ssh-connect"},
	} {
		t.Run(name, func(t *testing.T) {
			// list's entries have a key Params of their own, which is what
			// .Params reads where the dot is an entry.
			src := strings.Replace(testRunbook, "  greeting: hello\n", "  greeting: hello\n  list: [{Params: {x: 1}}]\n", 1)
			src = strings.Replace(src, c[0], c[1], 1)
			if name == "answer learnt by a kind" {
				src = strings.Replace(src, `"{{.Answers.port}}"`, `"{{.Answers.ssh_port}}"`, 1)
			}
			if src == testRunbook {
				t.Fatal("case did not change the runbook")
			}
			if _, err := LoadRunbook(writeRunbook(t, src)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestTemplateRefs(t *testing.T) {
	for text, want := range map[string][]string{
		`{{.Params.a}}/{{.Answers.b}} {{.Facts.c}}`:                         {"Params.a", "Answers.b"},
		`{{index .Params "x"}}{{index .Answers "y" | printf "%s"}}`:         {"Params.x", "Answers.y"},
		`{{if eq .Params.a "1"}}{{$.Params.b}}{{else}}{{.Params.c}}{{end}}`: {"Params.a", "Params.b", "Params.c"},
		`{{range .Params.l}}{{.Params.no}}{{$.Answers.yes}}{{end}}`:         {"Params.l", "Answers.yes"},
		`{{with .Params.m}}{{.Params.no}}{{else}}{{.Params.d}}{{end}}`:      {"Params.m", "Params.d"},
		`{{(.Params.a).b}} {{.Params.a.b}}`:                                 {"Params.a"},
		`{{$p := .Params}}{{$p.untracked}}`:                                 nil,
	} {
		tpl, err := parsedTemplate(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		var got []string
		for _, r := range templateRefs(tpl) {
			got = append(got, r.Root+"."+r.Name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: refs %v, want %v", text, got, want)
		}
	}
}
