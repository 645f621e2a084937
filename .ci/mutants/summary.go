//go:build ignore

// Command summary prints, per package and per file, what gremlins' JSON
// results (-o FILE) say: mutants killed, lived, timed out, not covered,
// and the test efficacy (killed ÷ (killed + lived), gremlins' own figure),
// then each mutant that lived, so it can be killed by a test or explained.
//
//	go run .ci/mutants/summary.go /tmp/ferry-mutants/wizard.json ...
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

type result struct {
	Files []struct {
		Name      string `json:"file_name"`
		Mutations []struct {
			Type   string `json:"type"`
			Status string `json:"status"`
			Line   int    `json:"line"`
			Column int    `json:"column"`
		} `json:"mutations"`
	} `json:"files"`
}

type tally struct{ killed, lived, timedOut, notCovered, other int }

func (t tally) efficacy() string {
	if t.killed+t.lived == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(t.killed)/float64(t.killed+t.lived))
}

func main() {
	status := 0
	var lived []string
	fmt.Printf("%-28s %7s %6s %8s %11s %9s\n", "file", "killed", "lived", "timeout", "not covered", "efficacy")
	for _, path := range os.Args[1:] {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mutants:", err)
			status = 1
			continue
		}
		var r result
		if err := json.Unmarshal(b, &r); err != nil {
			fmt.Fprintf(os.Stderr, "mutants: %s: %v\n", path, err)
			status = 1
			continue
		}
		pkg := strings.TrimSuffix(filepath.Base(path), ".json")
		sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Name < r.Files[j].Name })
		var all tally
		for _, f := range r.Files {
			var t tally
			for _, m := range f.Mutations {
				switch m.Status {
				case "KILLED":
					t.killed++
				case "LIVED":
					t.lived++
					lived = append(lived, fmt.Sprintf("%s/%s:%d:%d %s", pkg, f.Name, m.Line, m.Column, m.Type))
				case "TIMED OUT":
					t.timedOut++
				case "NOT COVERED":
					t.notCovered++
				default:
					t.other++
				}
			}
			all.killed += t.killed
			all.lived += t.lived
			all.timedOut += t.timedOut
			all.notCovered += t.notCovered
			fmt.Printf("%-28s %7d %6d %8d %11d %9s\n", pkg+"/"+f.Name, t.killed, t.lived, t.timedOut, t.notCovered, t.efficacy())
		}
		fmt.Printf("%-28s %7d %6d %8d %11d %9s\n", pkg+" (all)", all.killed, all.lived, all.timedOut, all.notCovered, all.efficacy())
	}
	if len(lived) > 0 {
		fmt.Println("\nmutants that lived (no test failed):")
		for _, l := range lived {
			fmt.Println("  " + l)
		}
	}
	os.Exit(status)
}
