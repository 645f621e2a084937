package wizard

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnswerSetValidateBoundaries: each number an answers file gives is
// refused below its least value and accepted at it (repeat 1 pass,
// confirm_deletions 1), an answer is checked against its question's type
// both ways, and an address answer may be an IP or a host name but not
// neither.
func TestAnswerSetValidateBoundaries(t *testing.T) {
	rb := mustParse(t, testRunbook)
	ok := func(a AnswerSet) {
		t.Helper()
		if err := a.Validate(rb); err != nil {
			t.Errorf("%+v refused: %v", a, err)
		}
	}
	refused := func(a AnswerSet, words string) {
		t.Helper()
		if err := a.Validate(rb); err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("%+v: %v, want an error saying %q", a, err, words)
		}
	}
	ok(AnswerSet{Repeat: map[string]int{"hot": 1}})
	refused(AnswerSet{Repeat: map[string]int{"hot": 0}}, "hot runs at least one pass, not 0")
	ok(AnswerSet{ConfirmDeletions: map[string]int{"hot": 1}})
	refused(AnswerSet{ConfirmDeletions: map[string]int{"hot": 0}}, "hot: 0 is not a number of deletions")
	ok(AnswerSet{Answers: map[string]string{"port": "2222"}})
	refused(AnswerSet{Answers: map[string]string{"port": "70000"}}, "port")

	addr := Question{Key: "old_addr", Type: "address"}
	for _, v := range []string{"192.0.2.10", "2001:db8::1", "mail.example.net"} {
		if err := ValidateAnswer(addr, v); err != nil {
			t.Errorf("address %q refused: %v", v, err)
		}
	}
	for _, v := range []string{"not an address", "-bad.example"} {
		if err := ValidateAnswer(addr, v); err == nil {
			t.Errorf("address %q accepted", v)
		}
	}
	choice := Question{Key: "c", Type: "choice", Choices: []string{"a", "b"}}
	if ValidateAnswer(choice, "b") != nil || ValidateAnswer(choice, "c") == nil {
		t.Error("a choice question accepts other than its choices, or refuses one of them")
	}
}

// TestParseAnswerSetTextAfterTheObject names the line of what follows the
// answers object.
func TestParseAnswerSetTextAfterTheObject(t *testing.T) {
	_, err := ParseAnswerSet("a.json", []byte("{\"confirm\": [\"stop\"]}\n\n{}\n"))
	if err == nil || !strings.Contains(err.Error(), "a.json:3") {
		t.Fatalf("err = %v, want one naming a.json:3", err)
	}
	if _, err := ParseAnswerSet("a.json", []byte("{\"confirm\": [\"stop\"]}\n\n")); err != nil {
		t.Fatalf("trailing blank lines refused: %v", err)
	}
}

// TestReadAnswerSetPathAndEmptyFiles: a file read keeps its path; an empty
// or blank file, or one that does not parse, is an error (not a crash),
// and ReadAnswerSet returns no set with it.
func TestReadAnswerSetPathAndEmptyFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := os.WriteFile(good, []byte(`{"confirm": ["stop"]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	set, err := ReadAnswerSet(good)
	if err != nil || set.Path != good || len(set.Confirm) != 1 {
		t.Fatalf("ReadAnswerSet(%s) = %+v, %v", good, set, err)
	}
	for _, content := range []string{"", " \n\t\n", "{", "[1, 2]"} {
		p := filepath.Join(dir, "bad.json")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if set, err := ReadAnswerSet(p); err == nil {
			t.Errorf("answers file %q read as %+v", content, set)
		}
	}
}

// TestParseAnswerSetWrongTypeNamesItsLine: a value of the wrong type is
// reported at its own line.
func TestParseAnswerSetWrongTypeNamesItsLine(t *testing.T) {
	_, err := ParseAnswerSet("a.json", []byte("{\n  \"confirm\": [\"stop\"],\n  \"repeat\": {\"hot\": \"two\"}\n}\n"))
	if err == nil || !strings.Contains(err.Error(), "a.json:3") {
		t.Fatalf("err = %v, want one naming a.json:3", err)
	}
}

// TestParseAnswerSetYAMLMustBeAMapping: a YAML answers file that is a list
// or a bare word is refused as such.
func TestParseAnswerSetYAMLMustBeAMapping(t *testing.T) {
	for _, in := range []string{"- stop\n- start\n", "hello\n", "---\n- stop\n"} {
		if _, err := ParseAnswerSet("a.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), "one JSON object or YAML mapping") {
			t.Errorf("%q: %v, want it refused as not a mapping", in, err)
		}
	}
	if set, err := ParseAnswerSet("a.yaml", []byte("confirm: [stop]\n")); err != nil || len(set.Confirm) != 1 {
		t.Fatalf("a YAML mapping: %+v, %v", set, err)
	}
}

// gatedRunbook has one step that requires another to pass first.
const gatedRunbook = `
id: gated
title: Gated
vendor: none
phases:
  - id: one
    title: One
steps:
  - id: check
    phase: one
    title: A check
    help: x
    host: new
    level: check
    kind: check-root
    safe_to_rerun: true
    vendor: "1"
  - id: go-live
    phase: one
    title: Goes live
    help: x
    host: new
    level: auto
    kind: command
    commands:
      any: [[true]]
    requires: [check]
    safe_to_rerun: true
    vendor: "2"
`

// TestAnswerSetOverrideNamesTheGatedSteps: an override of a step without
// a gate is refused naming the steps that have one, and only those; an
// override of the gated step needs a reason.
func TestAnswerSetOverrideNamesTheGatedSteps(t *testing.T) {
	rb := mustParse(t, gatedRunbook)
	err := (&AnswerSet{Override: map[string]string{"check": "why not"}}).Validate(rb)
	if err == nil || !strings.Contains(err.Error(), "(those that do: go-live)") {
		t.Errorf("override of an ungated step: %v", err)
	}
	err = (&AnswerSet{Override: map[string]string{"go-live": " "}}).Validate(rb)
	if err == nil || !strings.Contains(err.Error(), "go-live needs a reason") {
		t.Errorf("override without a reason: %v", err)
	}
	if err := (&AnswerSet{Override: map[string]string{"go-live": "checked by hand"}}).Validate(rb); err != nil {
		t.Errorf("override with a reason: %v", err)
	}
}

// TestParseAnswerSetYAMLErrorsNameTheLine: a YAML value of the wrong type
// is reported at its line; bad YAML syntax in the library's words.
func TestParseAnswerSetYAMLErrorsNameTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"confirm: [stop]\nrepeat:\n  hot: two\n": "a.yaml:3",
		"confirm: [stop]\nrepeat: {hot: 2\n":     "did not find expected",
	} {
		if _, err := ParseAnswerSet("a.yaml", []byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error naming %s", in, err, want)
		}
	}
}
