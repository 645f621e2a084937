package rsynccpu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/runner"
	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/testenv"
	"github.com/ferry-migrate/ferry/wizard"
)

// runnerReporter is the runner's side of a step: what the engine's step
// reporter sends, published on the runner's socket (runner.Server) for
// its clients; lines at once, progress ten times a second.
type runnerReporter struct {
	srv  *runner.Server
	step string
	mu   sync.Mutex
	last *tasks.Progress
	sent *tasks.Progress
}

func (r *runnerReporter) Line(stream, text string) {
	r.srv.Publish(wizard.Event{Type: wizard.EvOutput, Time: time.Now().UTC(), Step: r.step, Stream: stream, Message: text})
}

func (r *runnerReporter) Progress(p tasks.Progress) {
	r.mu.Lock()
	r.last = &p
	r.mu.Unlock()
}

func (r *runnerReporter) flush() {
	r.mu.Lock()
	p := r.last
	changed := p != nil && p != r.sent
	r.sent = p
	r.mu.Unlock()
	if changed {
		cp := *p
		r.srv.Publish(wizard.Event{Type: wizard.EvProgress, Time: time.Now().UTC(), Step: r.step, Progress: &cp})
	}
}

// BenchmarkRunnerClientCPU copies FERRY_BENCH_FILES small files (default
// 20,000) from an OpenSSH login on loopback, as BenchmarkRsyncSSHCPU
// does, with this process in the runner's place: tasks.Rsync watching the
// copy and publishing its events on a real runner socket
// (runner.Listen). The client is the real ferry binary, built first, as
// a separate process: `ferry attach --json` (JSON events) and
// `ferry attach` with stdout not a terminal (plain lines), both to
// /dev/null, one copy each per round (FERRY_BENCH_ROUNDS, default 1).
// It prints, per client kind: the runner's CPU (this process's, getrusage
// RUSAGE_SELF, during the copy), rsync's and ssh's (reaped children, the
// client's own rusage taken out), the client's CPU and peak RSS (from its
// wait4 rusage), and this process's peak RSS (which includes building the
// tree).
func BenchmarkRunnerClientCPU(b *testing.B) {
	if _, err := exec.LookPath("rsync"); err != nil {
		b.Skip("SKIPPING: rsync is not installed")
	}
	files := envInt("FERRY_BENCH_FILES", 20_000)
	rounds := envInt("FERRY_BENCH_ROUNDS", 1)
	bin := filepath.Join(b.TempDir(), "ferry")
	build := exec.Command("go", "build", "-o", bin, "../..")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building ferry: %v\n%s", err, out)
	}
	// The runner's pid in the welcome: a process that is gone, so that a
	// client does not wait for it to exit after the end.
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		b.Fatal(err)
	}
	sshd := testenv.StartSSHD(b, testenv.SSHDOptions{})
	oldRoot, newRoot := b.TempDir(), b.TempDir()
	t0 := time.Now()
	makeTree(b, filepath.Join(oldRoot, "spool"), files)
	fmt.Fprintf(os.Stderr, "tree of %d files written in %s\n", files, time.Since(t0).Round(time.Second))
	h, err := remote.NewLocal("new", newRoot)
	if err != nil {
		b.Fatal(err)
	}
	opts := tasks.RsyncOptions{Host: h, Remote: sshPull{sshd, oldRoot}, SourceHost: mustLocal(b, oldRoot),
		Src: "/spool/", HardLinks: true, NumericIDs: true, Delete: true, Hot: true, IncRecursive: true}
	type figures struct {
		wall, runner, rsync, client time.Duration
		clientRSS                   int64 // KiB
	}
	results := map[string][]figures{}
	n := 0
	copyOnce := func(kind string) {
		n++
		_ = os.RemoveAll(filepath.Join(newRoot, fmt.Sprintf("dst%d", n-1)))
		o := opts
		o.Dst = fmt.Sprintf("/dst%d/", n)
		state := b.TempDir()
		srv, err := runner.Listen(runner.ServerOptions{Path: filepath.Join(state, runner.SocketFile),
			Welcome: runner.Welcome{PID: gone.Process.Pid, Runbook: "bluemind", Since: time.Now().UTC(), Unattended: true}})
		if err != nil {
			b.Fatal(err)
		}
		args := []string{"attach", "--state-dir", state}
		if kind == "json" {
			args = append(args, "--json")
		}
		client := exec.Command(bin, args...)
		devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		defer devnull.Close()
		client.Stdout, client.Stderr = devnull, devnull
		client.Env = append(os.Environ(), "TERM=xterm-256color")
		if err := client.Start(); err != nil {
			b.Fatal(err)
		}
		if !srv.WaitClient(time.Minute) {
			b.Fatal("the client did not attach")
		}
		runtime.GC()
		before := now()
		rep := &runnerReporter{srv: srv, step: "sync-spools-hot"}
		srv.Publish(wizard.Event{Type: wizard.EvStepStarted, Time: time.Now().UTC(), Step: rep.step})
		stop := make(chan struct{})
		wg := ticker(rep.flush, stop)
		res, err := tasks.Rsync(context.Background(), o, rep)
		close(stop)
		wg.Wait()
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.Transferred != int64(files) {
			b.Fatalf("copied %d files, want %d", res.Stats.Transferred, files)
		}
		srv.Publish(wizard.Event{Type: wizard.EvStepFinished, Time: time.Now().UTC(), Step: rep.step, Status: wizard.StatusOK})
		srv.Finish(runner.End{Code: 0}, 10*time.Second)
		if err := client.Wait(); err != nil {
			b.Fatalf("ferry attach: %v", err)
		}
		after := now()
		ru := client.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		f := figures{wall: after.at.Sub(before.at), runner: after.self - before.self,
			rsync: after.children - before.children - cpu, client: cpu, clientRSS: ru.Maxrss}
		results[kind] = append(results[kind], f)
		fmt.Fprintf(os.Stderr, "  %-5s wall %7.2fs  runner cpu %6.3fs  rsync+ssh cpu %7.2fs  client cpu %6.3fs  client peak RSS %.1f MiB\n",
			kind, f.wall.Seconds(), f.runner.Seconds(), f.rsync.Seconds(), f.client.Seconds(), float64(f.clientRSS)/1024)
	}
	for b.Loop() {
		for r := range rounds {
			fmt.Fprintf(os.Stderr, "round %d of %d\n", r+1, rounds)
			kinds := []string{"json", "plain"}
			for k := range kinds {
				copyOnce(kinds[(k+r)%len(kinds)])
			}
		}
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stderr, "\n%d files over loopback SSH, %d rounds, %s, load average now %s\n", files, rounds,
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.Join(strings.Fields(string(load))[:3], " "))
	for _, kind := range []string{"json", "plain"} {
		var runnerPct, clientPct, clientRSS []float64
		for _, f := range results[kind] {
			runnerPct = append(runnerPct, 100*f.runner.Seconds()/f.rsync.Seconds())
			clientPct = append(clientPct, 100*f.client.Seconds()/f.rsync.Seconds())
			clientRSS = append(clientRSS, float64(f.clientRSS)/1024)
		}
		fmt.Fprintf(os.Stderr, "%-5s runner/(rsync+ssh) cpu %% %s   client/(rsync+ssh) cpu %% %s   client peak RSS MiB %s\n",
			kind, mmm(runnerPct, "%.2f"), mmm(clientPct, "%.2f"), mmm(clientRSS, "%.1f"))
	}
	fmt.Fprintf(os.Stderr, "peak RSS of the runner's process (tree building, sshd start, all copies): %.1f MiB\n", float64(ru.Maxrss)/1024)
	b.ReportMetric(float64(ru.Maxrss)/1024, "runner-peak-RSS-MiB")
}
