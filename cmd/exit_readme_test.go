package cmd

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"testing"
)

// TestReadmeListsTheExitCodes: the README's exit code table lists exactly
// the codes ExitCode returns (cmd/exit.go is the one place they are
// defined), so the two cannot drift apart.
func TestReadmeListsTheExitCodes(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var listed []int
	for _, m := range regexp.MustCompile(`(?m)^\| (\d+) \| `).FindAllStringSubmatch(string(b), -1) {
		n, _ := strconv.Atoi(m[1])
		listed = append(listed, n)
	}
	want := []int{ExitOK, ExitFailed, ExitUsage, ExitNeedsHuman, ExitLocked, ExitJournalLost, ExitInterrupted}
	slices.Sort(listed)
	slices.Sort(want)
	if !slices.Equal(listed, want) {
		t.Errorf("README lists exit codes %v, cmd/exit.go defines %v", listed, want)
	}
}
