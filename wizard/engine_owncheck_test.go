package wizard

import "testing"

// ownCheckRunbook has two check steps: one whose success check is the step
// itself again (same kind, same parameters, as the row-count proof), one
// whose success check differs by a parameter.
const ownCheckRunbook = `
id: owncheck
title: Own checks
vendor: none
phases:
  - id: one
    title: One
steps:
  - id: same
    phase: one
    title: Counts rows
    help: x
    host: new
    level: check
    kind: files-present
    params: {dir: /etc, files: [hosts]}
    safe_to_rerun: true
    success:
      text: the same again
      kind: files-present
      params: {dir: /etc, files: [hosts]}
    vendor: "1"
  - id: other
    phase: one
    title: Counts rows, checked otherwise
    help: x
    host: new
    level: check
    kind: files-present
    params: {dir: /etc, files: [hosts]}
    safe_to_rerun: true
    success:
      text: another check
      kind: files-present
      params: {dir: /etc, files: [passwd]}
    vendor: "2"
`

// TestSuccessCheckThatIsTheStepRunsOnce: a success check restating the step
// (same kind and parameters) is not run again after it; any other success
// check still runs.
func TestSuccessCheckThatIsTheStepRunsOnce(t *testing.T) {
	rb := mustParse(t, ownCheckRunbook)
	if !isOwnCheck(rb.Step("same"), rb.Step("same").Success) || isOwnCheck(rb.Step("other"), rb.Step("other").Success) {
		t.Fatal("isOwnCheck does not tell the restated check from the other")
	}
	if isOwnCheck(rb.Step("same"), nil) {
		t.Fatal("no success check counted as the step's own")
	}
	ex := &fakeExec{fail: map[string]int{}}
	if _, err := runEngine(t, t.TempDir(), rb, ex, defaultScript); err != nil {
		t.Fatal(err)
	}
	if len(ex.ran) != 2 {
		t.Fatalf("ran %v, want both steps", ex.ran)
	}
	if ex.checks != 1 {
		t.Fatalf("%d checks ran, want 1: the other step's success check only", ex.checks)
	}
}
