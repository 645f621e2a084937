// Command startup measures how long ferry takes to start and finish a
// quick command, against a trivial Go program built on the spot (an empty
// main): rounds are interleaved (trivial, then each ferry command, then
// again), so that a change of load on the machine touches every command
// alike. For each command it prints the wall time and the CPU time (user +
// system, from the child's rusage) as min / median / max, in milliseconds,
// and each median less the trivial program's.
//
// It is a measurement, not a test: nothing fails when a figure gets worse.
//
//	go build -o /tmp/ferry . && go run ./bench/startup -ferry /tmp/ferry -n 41
//
// -ferry takes several binaries separated by commas (say, one built before
// a change and one after): their commands are interleaved in the same
// rounds and each row names its binary.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	ferry := flag.String("ferry", "", "the ferry binary to measure, or several separated by commas (required)")
	n := flag.Int("n", 41, "rounds")
	flag.Parse()
	if *ferry == "" {
		fmt.Fprintln(os.Stderr, "startup: -ferry is required")
		os.Exit(2)
	}
	if err := run(*ferry, *n); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

// command is one program measured, with its samples in milliseconds.
type command struct {
	name      string
	argv      []string
	wall, cpu []float64
}

func run(ferries string, n int) error {
	dir, err := os.MkdirTemp("", "ferry-startup-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The trivial program, built as ferry is (same toolchain, static).
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module trivial\n\ngo 1.26\n"), 0o644); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-o", "trivial", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the trivial program: %v\n%s", err, out)
	}
	state := filepath.Join(dir, "state") // no migration: the checklist of the runbook alone
	cmds := []*command{
		{name: "trivial Go program", argv: []string{filepath.Join(dir, "trivial")}},
	}
	bins := strings.Split(ferries, ",")
	for _, ferry := range bins {
		label := ""
		if len(bins) > 1 {
			label = " [" + filepath.Base(ferry) + "]"
		}
		cmds = append(cmds,
			&command{name: "ferry version" + label, argv: []string{ferry, "version"}},
			&command{name: "ferry checklist --format markdown" + label, argv: []string{ferry, "checklist", "--runbook", "greenarrow", "--format", "markdown", "--state-dir", state}})
	}
	// One unmeasured round warms the page cache.
	for _, c := range cmds {
		if _, _, err := once(c.argv); err != nil {
			return err
		}
	}
	for range n {
		for _, c := range cmds {
			wall, cpu, err := once(c.argv)
			if err != nil {
				return err
			}
			c.wall = append(c.wall, wall)
			c.cpu = append(c.cpu, cpu)
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Printf("%d interleaved rounds, %s, load average %s\n", n, time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Printf("%-56s %26s %26s %12s\n", "command", "wall ms min/med/max", "cpu ms min/med/max", "wall - trivial")
	base := median(cmds[0].wall)
	for _, c := range cmds {
		fmt.Printf("%-56s %26s %26s %12.1f\n", c.name, mmm(c.wall), mmm(c.cpu), median(c.wall)-base)
	}
	return nil
}

// once runs argv with its output thrown away and returns its wall and CPU
// time (user + system, the child's rusage) in milliseconds.
func once(argv []string) (wall, cpu float64, err error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return 0, 0, fmt.Errorf("%q: %w", argv, err)
	}
	wall = float64(time.Since(start).Microseconds()) / 1000
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	return wall, cpu, nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mmm(v []float64) string {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%.1f / %.1f / %.1f", s[0], median(s), s[len(s)-1])
}
