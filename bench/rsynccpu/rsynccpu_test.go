package rsynccpu

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/dustin/go-humanize/english"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"al.essio.dev/pkg/shellescape"
	tea "charm.land/bubbletea/v2"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/testenv"
	"github.com/ferry-migrate/ferry/tui"
	"github.com/ferry-migrate/ferry/wizard"
)

// sshPull reaches the test sshd with the system ssh client.
type sshPull struct {
	sshd *testenv.SSHD
	root string
}

func (s sshPull) RsyncShell() string   { return "ssh " + shellescape.QuoteCommand(s.sshd.SSHArgs()) }
func (s sshPull) Destination() string  { return "root@127.0.0.1" }
func (s sshPull) Path(p string) string { return remote.JoinRoot(s.root, p) }

// envInt reads a positive integer setting from the environment.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// makeTree writes n files of 200 B to 4 KB, a thousand to a directory.
func makeTree(b *testing.B, dir string, n int) {
	b.Helper()
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte('a' + i%26)
	}
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("d%04d", i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		size := 200 + (i*37)%3897
		buf[0] = byte(i)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("m%06d", i)), buf[:size], 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// usage is CPU time (user + system) of this process and of its reaped
// children, and wall time.
type usage struct {
	self, children time.Duration
	at             time.Time
}

func now() usage {
	var s, c syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &s)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c)
	cpu := func(r syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return usage{self: cpu(s), children: cpu(c), at: time.Now()}
}

// sample is one copy: ferry's CPU, rsync's and ssh's CPU, wall time of
// the whole variant (front end started and stopped included) and of the
// copy alone (the call that runs rsync, from its start to its reaping).
type sample struct{ ferry, rsync, wall, copy time.Duration }

// headlessReporter prints what the headless front end prints: each line
// at once and the progress ten times a second, one JSON event a line.
type headlessReporter struct {
	mu   sync.Mutex
	enc  *json.Encoder
	last *tasks.Progress
	sent *tasks.Progress
}

func (h *headlessReporter) Line(stream, text string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	_ = h.enc.Encode(wizard.Event{Type: wizard.EvOutput, Time: time.Now().UTC(), Step: "sync", Stream: stream, Message: text})
}

func (h *headlessReporter) Progress(p tasks.Progress) {
	h.mu.Lock()
	h.last = &p
	h.mu.Unlock()
}

func (h *headlessReporter) flush() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last != nil && h.last != h.sent {
		h.sent = h.last
		_ = h.enc.Encode(wizard.Event{Type: wizard.EvProgress, Time: time.Now().UTC(), Step: "sync", Progress: h.last})
	}
}

// tuiReporter sends events to the run screen: lines at once, progress ten
// times a second, as the engine's step reporter does.
type tuiReporter struct {
	mu   sync.Mutex
	ch   chan wizard.Event
	last *tasks.Progress
	sent *tasks.Progress
}

func (r *tuiReporter) Line(stream, text string) {
	r.ch <- wizard.Event{Type: wizard.EvOutput, Time: time.Now().UTC(), Step: "sync-spools-hot", Stream: stream, Message: text}
}

func (r *tuiReporter) Progress(p tasks.Progress) {
	r.mu.Lock()
	r.last = &p
	r.mu.Unlock()
}

func (r *tuiReporter) flush() {
	r.mu.Lock()
	p := r.last
	changed := p != nil && p != r.sent
	r.sent = p
	r.mu.Unlock()
	if changed {
		cp := *p
		r.ch <- wizard.Event{Type: wizard.EvProgress, Time: time.Now().UTC(), Step: "sync-spools-hot", Progress: &cp}
	}
}

// ticker calls fn every 100 ms until stop is closed.
func ticker(fn func(), stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				fn()
				return
			case <-t.C:
				fn()
			}
		}
	}()
	return &wg
}

// BenchmarkRsyncSSHCPU copies FERRY_BENCH_FILES small files (default
// 20,000) from an OpenSSH login on loopback into a fresh destination, in
// FERRY_BENCH_ROUNDS interleaved rounds (default 3), three ways per round
// (FERRY_BENCH_VARIANTS, e.g. "headless,bare", keeps only those named):
//
//   - headless: tasks.Rsync with the headless front end's printing (JSON
//     events to /dev/null);
//   - tui: tasks.Rsync feeding the run screen (tui.RunModel in a Bubble Tea
//     program at 15 frames a second, drawing to /dev/null);
//   - bare: the very same rsync argv, its output to /dev/null.
//
// ferry's CPU is this process's (getrusage RUSAGE_SELF) during the copy;
// rsync's and ssh's is that of the reaped children (RUSAGE_CHILDREN: the
// local rsync and the ssh client it runs; the sshd side is not counted).
// It prints, per variant, min / median / max of each and the ratios, and
// the peak RSS of this process. Wall ratios come twice: of the whole
// variant (the TUI program's start and stop included, which a session
// pays once, not per copy) and of the copy alone. The trees go under
// TMPDIR; on a disk, rsync's own system time varies several-fold between
// identical copies, so the wall ratio is read on a tmpfs (TMPDIR=/dev/shm).
func BenchmarkRsyncSSHCPU(b *testing.B) {
	if _, err := exec.LookPath("rsync"); err != nil {
		b.Skip("SKIPPING: rsync is not installed")
	}
	files := envInt("FERRY_BENCH_FILES", 20_000)
	rounds := envInt("FERRY_BENCH_ROUNDS", 3)
	sshd := testenv.StartSSHD(b, testenv.SSHDOptions{})
	oldRoot, newRoot := b.TempDir(), b.TempDir()
	t0 := time.Now()
	makeTree(b, filepath.Join(oldRoot, "spool"), files)
	fmt.Fprintf(os.Stderr, "tree of %d files written in %s\n", files, time.Since(t0).Round(time.Second))
	fmt.Fprintf(os.Stderr, "each round copies it three ways: headless (ferry's rsync task, printing as ferry run --headless does), tui (the same, feeding the run screen), bare (the very same rsync argv alone: the baseline)\n")
	h, err := remote.NewLocal("new", newRoot)
	if err != nil {
		b.Fatal(err)
	}
	rb, err := wizard.LoadRunbook("bluemind")
	if err != nil {
		b.Fatal(err)
	}
	opts := tasks.RsyncOptions{Host: h, Remote: sshPull{sshd, oldRoot}, SourceHost: mustLocal(b, oldRoot),
		Src: "/spool/", HardLinks: true, NumericIDs: true, Delete: true, Hot: true, IncRecursive: true}
	n := 0
	// fresh removes the last copy (before the measure starts: the
	// removal is not ferry's), writes back what it and the copy left dirty
	// (sync(2): otherwise that write-back lands inside the next measure,
	// whichever variant it is, and rsync's system time swung threefold
	// between identical copies), and names a new destination.
	fresh := func() tasks.RsyncOptions {
		n++
		_ = os.RemoveAll(filepath.Join(newRoot, fmt.Sprintf("dst%d", n-1)))
		syscall.Sync()
		o := opts
		o.Dst = fmt.Sprintf("/dst%d/", n)
		return o
	}
	check := func(res tasks.RsyncResult) {
		if res.Stats.Transferred != int64(files) {
			b.Fatalf("copied %d files, want %d", res.Stats.Transferred, files)
		}
	}
	results := map[string][]sample{}
	// perRound holds each round's samples by variant, for the ratios
	// paired within a round (a round's copies meet about the same load).
	var perRound []map[string]sample
	// copyWall is set by each variant to the wall time of the copy alone.
	var copyWall time.Duration
	timed := func(fn func()) {
		t := time.Now()
		fn()
		copyWall = time.Since(t)
	}
	measure := func(name string, fn func(o tasks.RsyncOptions)) {
		o := fresh()
		runtime.GC()
		before := now()
		fn(o)
		after := now()
		s := sample{ferry: after.self - before.self, rsync: after.children - before.children, wall: after.at.Sub(before.at), copy: copyWall}
		results[name] = append(results[name], s)
		perRound[len(perRound)-1][name] = s
		fmt.Fprintf(os.Stderr, "  %-8s wall %6.2fs (copy %6.2fs)  ferry cpu %6.3fs  rsync+ssh cpu %6.2fs  ratio %5.2f%%\n", name,
			s.wall.Seconds(), s.copy.Seconds(), s.ferry.Seconds(), s.rsync.Seconds(), 100*s.ferry.Seconds()/s.rsync.Seconds())
	}
	for b.Loop() {
		for r := range rounds {
			fmt.Fprintf(os.Stderr, "round %d of %d\n", r+1, rounds)
			perRound = append(perRound, map[string]sample{})
			variants := []struct {
				name string
				fn   func(o tasks.RsyncOptions)
			}{{"headless", func(o tasks.RsyncOptions) {
				rep := &headlessReporter{enc: json.NewEncoder(io.Discard)}
				stop := make(chan struct{})
				wg := ticker(rep.flush, stop)
				var res tasks.RsyncResult
				var err error
				timed(func() { res, err = tasks.Rsync(context.Background(), o, rep) })
				close(stop)
				wg.Wait()
				if err != nil {
					b.Fatal(err)
				}
				check(res)
			}}, {"tui", func(o tasks.RsyncOptions) {
				ch := make(chan wizard.Event, 256)
				m := tui.NewRun(tui.RunOptions{Runbook: rb, Events: ch, Decide: func(wizard.Decision) {}, OldName: "old", NewName: "new"})
				p := tea.NewProgram(m, tea.WithFPS(15), tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(100, 30), tea.WithEnvironment([]string{"TERM=xterm-256color"}))
				done := make(chan error, 1)
				go func() { _, err := p.Run(); done <- err }()
				ch <- wizard.Event{Type: wizard.EvStepStarted, Time: time.Now().UTC(), Step: "sync-spools-hot"}
				rep := &tuiReporter{ch: ch}
				stop := make(chan struct{})
				wg := ticker(rep.flush, stop)
				var res tasks.RsyncResult
				var err error
				timed(func() { res, err = tasks.Rsync(context.Background(), o, rep) })
				close(stop)
				wg.Wait()
				close(ch)
				p.Quit()
				<-done
				if err != nil {
					b.Fatal(err)
				}
				check(res)
			}}, {"bare", func(o tasks.RsyncOptions) {
				o.MaxDelete = tasks.DeleteLimit(0, 0) // as Rsync sets it
				argv, err := tasks.RsyncArgs(o)
				if err != nil {
					b.Fatal(err)
				}
				var stderr bytes.Buffer
				cmd := exec.Command(argv[0], argv[1:]...)
				cmd.Stderr = &stderr
				if timed(func() { err = cmd.Run() }); err != nil {
					b.Fatalf("%q: %v: %s", argv, err, stderr.String())
				}
			}}}
			// Each round begins with another variant, so that none always
			// follows the same one (the previous copy's removal and
			// write-back weigh on the next).
			for k := range variants {
				v := variants[(k+r)%len(variants)]
				if only := os.Getenv("FERRY_BENCH_VARIANTS"); only != "" && !strings.Contains(only, v.name) {
					continue
				}
				measure(v.name, v.fn)
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stderr, "\n%d files over loopback SSH, %s, %s, load average now %s, trees on %s (%s)\n", files, english.Plural(rounds, "round", ""),
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.Join(strings.Fields(string(load))[:3], " "), newRoot, fsType(newRoot))
	fmt.Fprintf(os.Stderr, "%-9s %-28s %-28s %-28s %s\n", "variant", "wall s min/med/max", "ferry cpu s min/med/max", "rsync+ssh cpu s min/med/max", "ferry/(rsync+ssh) cpu % min/med/max")
	for _, name := range []string{"headless", "tui", "bare"} {
		ss := results[name]
		var wall, fer, rs, pct []float64
		for _, s := range ss {
			wall = append(wall, s.wall.Seconds())
			fer = append(fer, s.ferry.Seconds())
			rs = append(rs, s.rsync.Seconds())
			pct = append(pct, 100*s.ferry.Seconds()/s.rsync.Seconds())
		}
		ratio := mmm(pct, "%.2f")
		if name == "bare" {
			ratio = "-"
		}
		fmt.Fprintf(os.Stderr, "%-9s %-28s %-28s %-28s %s\n", name, mmm(wall, "%.2f"), mmm(fer, "%.3f"), mmm(rs, "%.2f"), ratio)
	}
	for _, which := range []struct {
		what string
		of   func(sample) time.Duration
	}{{"wall ratio", func(s sample) time.Duration { return s.wall }},
		{"copy-only wall ratio (without the screen's start and stop)", func(s sample) time.Duration { return s.copy }}} {
		base := median(secs(results["bare"], which.of))
		for _, name := range []string{"headless", "tui"} {
			var paired []float64
			for _, pr := range perRound {
				if v, ok := pr[name]; ok {
					if bare, ok := pr["bare"]; ok {
						paired = append(paired, which.of(v).Seconds()/which.of(bare).Seconds())
					}
				}
			}
			fmt.Fprintf(os.Stderr, "%s %s/bare: of the medians %.3f; within each round min/med/max %s\n",
				which.what, name, median(secs(results[name], which.of))/base, mmm(paired, "%.3f"))
		}
	}
	for _, name := range []string{"headless", "tui"} {
		b.ReportMetric(median(pctOf(results[name])), name+"-cpu-%")
	}
	// What the wall ratios can and cannot say, from the README's runs.
	if fs := fsType(newRoot); fs != "tmpfs" {
		fmt.Fprintf(os.Stderr, "note: the trees are on %s, not a tmpfs: rsync's own time varies several-fold between identical copies on a disk, so the wall ratios above say little about ferry (the CPU ratios hold); bench/README.md reads them from TMPDIR=/dev/shm\n", fs)
	}
	if rounds < 30 {
		fmt.Fprintf(os.Stderr, "note: %s: one round's wall ratio varies by about 10%%, so fewer than about 30 rounds cannot settle a 2%% question\n", english.Plural(rounds, "round", ""))
	}
	fmt.Fprintf(os.Stderr, "peak RSS of this process (tree building, sshd start, all copies): %.1f MiB\n", float64(ru.Maxrss)/1024)
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
}

// fsType names the file system that holds dir, as statfs(2) reports it
// ("tmpfs", "ext4", …; the magic number in hex when not one of these).
func fsType(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return err.Error()
	}
	switch st.Type {
	case 0x01021994:
		return "tmpfs"
	case 0xef53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x794c7630:
		return "overlayfs"
	}
	return fmt.Sprintf("file system 0x%x", st.Type)
}

func mustLocal(b *testing.B, root string) *remote.Local {
	h, err := remote.NewLocal("old", root)
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func secs(ss []sample, f func(sample) time.Duration) []float64 {
	var out []float64
	for _, s := range ss {
		out = append(out, f(s).Seconds())
	}
	return out
}

func pctOf(ss []sample) []float64 {
	var out []float64
	for _, s := range ss {
		out = append(out, 100*s.ferry.Seconds()/s.rsync.Seconds())
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mmm(v []float64, f string) string {
	if len(v) == 0 {
		return "-"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf(f+" / "+f+" / "+f, s[0], median(s), s[len(s)-1])
}
