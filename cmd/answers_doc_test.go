package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/checklist"
	"github.com/ferry-migrate/ferry/wizard"
)

// answersDoc is the page that documents the answers file.
const answersDoc = "../docs/answers.md"

// keyTable renders the table of rb's question keys as docs/answers.md
// shows it: one row per key, in the order the runbook first asks them.
func keyTable(rb *wizard.Runbook) string {
	cell := func(s string) string {
		return strings.ReplaceAll(strings.Join(strings.Fields(s), " "), "|", `\|`)
	}
	var b strings.Builder
	b.WriteString("| key | what it answers | expected | secret | default | asked by |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for _, k := range wizard.AnswerKeys(rb) {
		secret, def := "no", "—"
		if k.Secret() {
			secret = "**yes**"
		}
		if k.Default != "" {
			def = "`" + k.Default + "`"
		}
		var asked []string
		if len(k.Steps) > 0 {
			asked = append(asked, wizard.AskedBy(k, checklist.WhenText))
		}
		if len(k.NotAsked) > 0 {
			asked = append(asked, "never with this runbook's settings ("+strings.Join(k.NotAsked, ", ")+" ask it only when they differ)")
		}
		what := k.Prompt
		if n := wizard.KeyNote(k.Key); n != "" {
			what += ". " + n
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", k.Key, cell(what), cell(wizard.Expected(k.Question)), secret, def, cell(strings.Join(asked, "; ")))
	}
	return b.String()
}

// fieldTable renders the table of the answers file's top-level fields.
func fieldTable() string {
	var b strings.Builder
	b.WriteString("| field | what it holds |\n|---|---|\n")
	for _, f := range wizard.AnswerSetFields() {
		fmt.Fprintf(&b, "| `%s` | %s |\n", f, wizard.FieldHelp(f))
	}
	return b.String()
}

var docBlock = regexp.MustCompile(`(?s)(<!-- generated: ([a-z-]+) -->\n)(.*?)(<!-- end generated -->)`)

// TestAnswersDocMatchesRunbooks keeps docs/answers.md's generated tables
// (every question key of each built-in runbook, every top-level field) the
// same as what the runbooks and the answers file say. Run it with
// FERRY_UPDATE_DOCS=1 to rewrite them after a runbook changes.
func TestAnswersDocMatchesRunbooks(t *testing.T) {
	doc, err := os.ReadFile(answersDoc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fields": fieldTable()}
	for _, name := range []string{"greenarrow", "bluemind"} {
		rb, err := wizard.LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		want["keys-"+name] = keyTable(rb)
	}
	seen := map[string]bool{}
	out := docBlock.ReplaceAllStringFunc(string(doc), func(m string) string {
		p := docBlock.FindStringSubmatch(m)
		name, got := p[2], p[3]
		seen[name] = true
		w, ok := want[name]
		if !ok {
			t.Errorf("docs/answers.md has a generated block %q that nothing generates", name)
			return m
		}
		if got != w && os.Getenv("FERRY_UPDATE_DOCS") == "" {
			t.Errorf("docs/answers.md's %s table differs from the runbooks (FERRY_UPDATE_DOCS=1 go test ./cmd -run TestAnswersDocMatchesRunbooks rewrites it):\n--- in the page\n%s--- from the runbooks\n%s", name, got, w)
		}
		return p[1] + w + p[4]
	})
	for name := range want {
		if !seen[name] {
			t.Errorf("docs/answers.md has no generated block %q", name)
		}
	}
	if os.Getenv("FERRY_UPDATE_DOCS") != "" && out != string(doc) {
		if err := os.WriteFile(answersDoc, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The keys listed are the runbooks' keys, no more, no fewer.
	for _, name := range []string{"greenarrow", "bluemind"} {
		rb, _ := wizard.LoadRunbook(name)
		var keys []string
		for _, k := range wizard.AnswerKeys(rb) {
			keys = append(keys, k.Key)
		}
		block := regexp.MustCompile("(?s)<!-- generated: keys-" + name + " -->\n(.*?)<!-- end generated -->").FindStringSubmatch(out)
		if block == nil {
			continue
		}
		var listed []string
		for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\|").FindAllStringSubmatch(block[1], -1) {
			listed = append(listed, m[1])
		}
		if !slices.Equal(listed, keys) {
			t.Errorf("%s: the page lists %v, the runbook asks %v", name, listed, keys)
		}
	}
}

var docExample = regexp.MustCompile("(?s)<!-- example: ([a-z]+) -->\n```(json|yaml)\n(.*?)```")

// TestAnswersDocExamplesAreComplete reads each runbook's example in
// docs/answers.md with ferry's own loader and checks: it is accepted, it
// answers every key some step always asks, confirms every destructive step
// and marks every manual step done.
func TestAnswersDocExamplesAreComplete(t *testing.T) {
	doc, err := os.ReadFile(answersDoc)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, m := range docExample.FindAllStringSubmatch(string(doc), -1) {
		name, body := m[1], m[3]
		found[name] = true
		rb, err := wizard.LoadRunbook(name)
		if err != nil {
			t.Fatal(err)
		}
		set, err := wizard.ParseAnswerSet("docs/answers.md example "+name, []byte(body))
		if err == nil {
			err = set.Validate(rb)
		}
		if err != nil {
			t.Errorf("the %s example is refused: %v", name, err)
			continue
		}
		for _, k := range wizard.AnswerKeys(rb) {
			if _, ok := set.Answers[k.Key]; k.Always && !ok {
				t.Errorf("the %s example does not answer %s", name, k.Key)
			}
		}
		for _, s := range rb.Steps {
			if s.Destructive && !slices.Contains(set.Confirm, s.ID) {
				t.Errorf("the %s example does not confirm %s", name, s.ID)
			}
			if s.Level == wizard.LevelManual && !slices.Contains(set.Done, s.ID) {
				t.Errorf("the %s example does not mark %s done", name, s.ID)
			}
		}
	}
	for _, name := range []string{"greenarrow", "bluemind"} {
		if !found[name] {
			t.Errorf("docs/answers.md has no example for %s", name)
		}
	}
}

// TestAnsibleExampleAnswersAreValid checks the example answers files of
// examples/ansible with ferry's own loader, for the runbook the example
// inventory runs (GreenArrow).
func TestAnsibleExampleAnswersAreValid(t *testing.T) {
	files, err := filepath.Glob("../examples/ansible/files/answers/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no example answers files (%v)", err)
	}
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		set, err := wizard.ReadAnswerSet(f)
		if err == nil {
			err = set.Validate(rb)
		}
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
