package wizard

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ferry-migrate/ferry/assets"
)

// slowDecode is the decoding Parse did before it parsed the text once: the
// YAML decoder on the text with known-field checking.
func slowDecode(data []byte) (Runbook, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var rb Runbook
	err := dec.Decode(&rb)
	return rb, err
}

// TestDecodeRunbookOnceAgreesWithKnownFields: the built-in runbooks take the
// one-parse path (knownFieldsOnly vouches for them) and decode to exactly
// what the checking decoder makes of the text.
func TestDecodeRunbookOnceAgreesWithKnownFields(t *testing.T) {
	for _, name := range assets.Names() {
		data, err := assets.Runbook(name)
		if err != nil {
			t.Fatal(err)
		}
		var root yaml.Node
		if err := yaml.Unmarshal(data, &root); err != nil {
			t.Fatal(err)
		}
		if !knownFieldsOnly(&root, reflect.TypeFor[Runbook]()) {
			t.Errorf("%s: knownFieldsOnly refuses a valid built-in runbook (the one-parse path is never taken)", name)
		}
		fast, err := decodeRunbook(data, &root)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		slow, err := slowDecode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Errorf("%s: the one-parse decoding differs from the checking decoder's", name)
		}
	}
}

// TestKnownFieldsOnlyCatchesEveryLevel: a misspelt key in any struct of the
// runbook model (the runbook, a phase, a step, a question, a check) is
// seen, so the checking decoder runs and Parse reports the field as it did
// before; keys under params (free maps) and commands (read by Command
// itself) are not fields. Aliases and merge keys are left to the checking
// decoder too.
func TestKnownFieldsOnlyCatchesEveryLevel(t *testing.T) {
	base := "id: x\ntitle: y\nvendor: v\nparams: {anything: 1, nested: {free: 2}}\nphases:\n  - id: p\n    title: P\nsteps:\n  - id: a\n    phase: p\n    title: A\n    help: h\n    host: new\n    level: auto\n    kind: check-root\n    vendor: x\n    ask:\n      - key: k\n        prompt: K\n        type: text\n    precondition:\n      text: t\n      kind: path-present\n      params: {path: /etc, free: 1}\n    commands:\n      any: [[echo, hi]]\n"
	rt := reflect.TypeFor[Runbook]()
	check := func(src string, want bool) {
		t.Helper()
		var root yaml.Node
		if err := yaml.Unmarshal([]byte(src), &root); err != nil {
			t.Fatal(err)
		}
		if got := knownFieldsOnly(&root, rt); got != want {
			t.Errorf("knownFieldsOnly = %v, want %v for:\n%s", got, want, src)
		}
	}
	check(base, true)
	for _, c := range []struct{ from, to, field string }{
		{"title: y\n", "titel: y\n", `unknown field "titel" in the runbook`},
		{"    title: P\n", "    titl: P\n", `unknown field "titl" in a phase`},
		{"    help: h\n", "    hlep: h\n", `unknown field "hlep" in a step`},
		{"        type: text\n", "        typ: text\n", `unknown field "typ" in a question (ask)`},
		{"      text: t\n", "      txt: t\n", `unknown field "txt" in a check (text, kind, params)`},
	} {
		src := strings.Replace(base, c.from, c.to, 1)
		if src == base {
			t.Fatalf("%q not in the runbook", c.from)
		}
		check(src, false)
		_, err := Parse("rb.yaml", []byte(src))
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("Parse error %v, want %q", err, c.field)
		}
	}
	check(strings.Replace(base, "phases:\n  - id: p\n", "phases:\n  - &ph\n    id: p\n", 1)+"extra: *ph\n", false)
	check(strings.Replace(base, "    title: P\n", "    title: P\n    <<: {help: x}\n", 1), false)
}
