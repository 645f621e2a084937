package e2e

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/wizard"
)

// TestDemoPipedPrintsPlainLines runs `ferry demo greenarrow --dir X
// </dev/null | cat` in a shell, as an admin piping it to a log would, with
// an ordinary TERM: no terminal, so the demo answers its own questions and
// prints plain lines to its end (exit 0): step titles and "done", no JSON
// event, no escape byte; the queue merge (a few hundred messages at the
// simulator's pace) prints its counters at most once every 5 seconds of
// the events' clock.
func TestDemoPipedPrintsPlainLines(t *testing.T) {
	rb, err := wizard.LoadRunbook("greenarrow")
	if err != nil {
		t.Fatal(err)
	}
	n := len(rb.Steps)
	dir := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command("bash", "-c", `set -o pipefail; "$0" demo greenarrow --dir "$1" --messages 300 </dev/null | cat`, ferryBin, dir)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\nstderr:\n%s\nstdout:\n%s", err, errb.String(), out.String())
	}
	text := out.String()
	if i := bytes.IndexByte(out.Bytes(), 0x1b); i >= 0 {
		t.Errorf("an escape byte at %d of stdout:\n%s", i, text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "{") {
			t.Fatalf("a JSON line on stdout: %s", l)
		}
	}
	for _, want := range []string{
		"run started on ",
		fmt.Sprintf("[ 1/%d] check-root: started on the new server: ferry runs as root on the new server", n),
		fmt.Sprintf("[ 1/%d] check-root: done in ", n),
		"ip-change: answered by ",
		"stop-old: DOWNTIME BEGINS",
		"merge-queue: done in ",
		"DOWNTIME ENDS after ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("stdout has no %q:\n%s", want, text)
		}
	}
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "run finished: done: every step is done") {
		t.Errorf("the last line is %q, want the run finished", last)
	}
	if !strings.Contains(errb.String(), "ferry demo: done.") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	// Counter lines of the merge: at least one, and never two within
	// 5 seconds of each other (their stamps, whole seconds, differ by 5 or
	// more).
	counters := regexp.MustCompile(`(?m)^(\d\d):(\d\d):(\d\d) \[\d+/\d+\] merge-queue: so far: `).FindAllStringSubmatch(text, -1)
	if len(counters) == 0 {
		t.Errorf("no counter line for the queue merge:\n%s", text)
	}
	prev := -1
	for _, m := range counters {
		h, _ := strconv.Atoi(m[1])
		mn, _ := strconv.Atoi(m[2])
		s, _ := strconv.Atoi(m[3])
		sec := h*3600 + mn*60 + s
		if prev >= 0 && (sec-prev+86400)%86400 < 5 {
			t.Errorf("two counter lines %d s apart:\n%s", (sec-prev+86400)%86400, text)
		}
		prev = sec
	}
	checkMigrated(t, dir)
}
