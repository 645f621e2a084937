// Command bluemindcold measures BlueMind's cold phase two ways on the same
// simulated data (ferry's simulator, sim.ProductBlueMind, with real
// PostgreSQL clusters), interleaved A B A B so that a change of load on
// the machine touches both alike:
//
//   - A: `ferry demo bluemind --headless` on a fresh pair; its measure is
//     the downtime window in the journal (the old server's stop to the
//     restart step), beside the forecast ferry recorded before the window
//     (wizard.FactDowntimeForecast);
//   - B: bench/bluemind-published.sh on another fresh pair: the published
//     hot commands twice while mail arrives, then the published cold
//     commands one after another, timed from the old server's stop to the
//     end of the restores.
//
// It prints each round, the medians, the ratio A/B and the forecast error
// (forecast minus measured, in percent of measured). It is a measurement,
// not a test: nothing fails when a figure gets worse. It needs root (the
// clusters run as the postgres OS user).
//
//	go run ./bench/bluemindcold -ferry /path/to/ferry -rounds 2
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/sim"
	"github.com/ferry-migrate/ferry/wizard"
)

func main() {
	ferry := flag.String("ferry", "", "the ferry binary to measure (required)")
	rounds := flag.Int("rounds", 2, "rounds of A then B")
	script := flag.String("script", "bench/bluemind-published.sh", "the published commands' script")
	base := flag.String("dir", "", "work directory (default: a new one under /tmp, removed at the end)")
	flag.Parse()
	if *ferry == "" {
		fmt.Fprintln(os.Stderr, "bluemindcold: -ferry is required")
		os.Exit(2)
	}
	if err := run(*ferry, *script, *base, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bluemindcold:", err)
		os.Exit(1)
	}
}

func run(ferry, script, base string, rounds int) error {
	script, err := filepath.Abs(script)
	if err != nil {
		return err
	}
	if base == "" {
		if base, err = os.MkdirTemp("", "ferry-bench-bm-"); err != nil {
			return err
		}
		defer os.RemoveAll(base)
	}
	// The postgres OS user must pass through.
	if err := os.Chmod(base, 0o755); err != nil {
		return err
	}
	var as, bs, errs []float64
	for i := 1; i <= rounds; i++ {
		a, fc, steps, err := runFerry(ferry, filepath.Join(base, fmt.Sprintf("a%d", i)))
		if err != nil {
			return fmt.Errorf("round %d, ferry: %w", i, err)
		}
		e := 100 * (fc - a) / a
		fmt.Printf("round %d A ferry: downtime %.2f s, forecast %.2f s (error %+.0f%%)\n  %s\n", i, a, fc, e, steps)
		b, bsteps, err := runPublished(script, filepath.Join(base, fmt.Sprintf("b%d", i)))
		if err != nil {
			return fmt.Errorf("round %d, published: %w", i, err)
		}
		fmt.Printf("round %d B published: cold phase %.2f s\n  %s\n", i, b, bsteps)
		as, bs, errs = append(as, a), append(bs, b), append(errs, e)
	}
	ma, mb := median(as), median(bs)
	fmt.Printf("median A %.2f s, median B %.2f s, ratio A/B %.2f; forecast error per round %v\n", ma, mb, ma/mb, fmtPct(errs))
	return nil
}

// runFerry runs the headless demo in dir and returns the downtime window
// and the forecast, in seconds, and where the window went.
func runFerry(ferry, dir string) (float64, float64, string, error) {
	out, err := exec.Command(ferry, "demo", "bluemind", "--headless", "--dir", dir).CombinedOutput()
	if err != nil {
		return 0, 0, "", fmt.Errorf("%v\n%s", err, tail(string(out)))
	}
	st, err := wizard.LoadState(filepath.Join(dir, "state"))
	if err != nil {
		return 0, 0, "", err
	}
	if st.DowntimeStart.IsZero() || st.DowntimeEnd.IsZero() {
		return 0, 0, "", fmt.Errorf("no closed downtime window in %s", dir)
	}
	fc, err := strconv.ParseFloat(st.Facts[wizard.FactDowntimeForecast], 64)
	if err != nil {
		return 0, 0, "", fmt.Errorf("no forecast in the journal: %v", err)
	}
	var steps []string
	for _, ev := range st.Events {
		if ev.Type == wizard.EvStepFinished && !ev.Time.Before(st.DowntimeStart) && !ev.Time.After(st.DowntimeEnd) && ev.Duration > 0 {
			steps = append(steps, fmt.Sprintf("%s %.2f", ev.Step, ev.Duration.Seconds()))
		}
	}
	return st.DowntimeEnd.Sub(st.DowntimeStart).Seconds(), fc, strings.Join(steps, ", "), nil
}

// runPublished sets up a fresh pair in dir, runs the published hot
// commands twice while mail arrives, then times the published cold ones.
func runPublished(script, dir string) (float64, string, error) {
	s, err := sim.Setup(dir, sim.Options{Product: sim.ProductBlueMind})
	if err != nil {
		return 0, "", err
	}
	port, err := s.OldPGPort()
	if err != nil {
		return 0, "", err
	}
	newPort, err := simConf(filepath.Join(s.NewRoot, ".ferry-sim/sim.conf"), "sim_pg_port")
	if err != nil {
		return 0, "", err
	}
	clusters, err := s.StartClusters(false)
	if err != nil {
		return 0, "", err
	}
	defer clusters.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flow := s.StartMailFlow(ctx, 0)
	defer flow.Stop()
	srv, err := s.StartSSH(ctx)
	if err != nil {
		return 0, "", err
	}
	defer srv.Close()
	env := append(os.Environ(), remote.SimEnv(s.NewRoot, os.Getenv("PATH"))...)
	env = append(env, "OLD="+s.OldRoot, "NEW="+s.NewRoot, "SSH_PORT="+strconv.Itoa(srv.Port),
		"SSH_KEY="+srv.UserKeyFile, "KNOWN_HOSTS="+srv.KnownHostsFile,
		"OLD_PG_PORT="+strconv.Itoa(port), "NEW_PG_PORT="+newPort, "PG_PASSWORD="+sim.BlueMindDBPassword)
	sh := func(mode string) (string, error) {
		cmd := exec.Command("bash", script, mode)
		cmd.Env = env
		var errb strings.Builder
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			return errb.String(), fmt.Errorf("%s: %v\n%s%s", mode, err, out, tail(errb.String()))
		}
		return errb.String(), nil
	}
	for i := 0; i < 2; i++ {
		if _, err := sh("hot"); err != nil {
			return 0, "", err
		}
	}
	start := time.Now()
	marks, err := sh("cold")
	took := time.Since(start).Seconds()
	if err != nil {
		return 0, "", err
	}
	var steps []string
	for _, l := range strings.Split(marks, "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "step" {
			steps = append(steps, f[1]+" "+f[2])
		}
	}
	return took, strings.Join(steps, ", "), nil
}

func simConf(file, key string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`(?m)^` + key + `=(\S+)$`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("%s: no %s", file, key)
	}
	return string(m[1]), nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtPct(v []float64) string {
	var p []string
	for _, x := range v {
		p = append(p, fmt.Sprintf("%+.0f%%", x))
	}
	return strings.Join(p, " ")
}

func tail(s string) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > 15 {
		l = l[len(l)-15:]
	}
	return strings.Join(l, "\n")
}
