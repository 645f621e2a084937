package rsynccpu

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ferry-migrate/ferry/tasks"
	"github.com/ferry-migrate/ferry/tui"
	"github.com/ferry-migrate/ferry/wizard"
)

// BenchmarkRunScreenCPU measures what the run screen costs by itself while
// a transfer runs, with no transfer: the screen of BenchmarkRsyncSSHCPU
// (tui.RunModel in a Bubble Tea program at 15 frames a second, 100x30,
// drawing to /dev/null) is sent a progress snapshot ten times a second, as
// the engine's reporter sends them, for FERRY_BENCH_SECONDS seconds
// (default 10). It reports the process's CPU time per second of that (ms/s):
// the screen's share of a copy is this rate times the copy's wall time,
// so it is what a copy on a loaded machine, which takes longer, pays more
// of. It needs neither rsync nor sshd.
func BenchmarkRunScreenCPU(b *testing.B) {
	secs := envInt("FERRY_BENCH_SECONDS", 10)
	rb, err := wizard.LoadRunbook("bluemind")
	if err != nil {
		b.Fatal(err)
	}
	var rates []float64
	for b.Loop() {
		ch := make(chan wizard.Event, 256)
		m := tui.NewRun(tui.RunOptions{Runbook: rb, Events: ch, Decide: func(wizard.Decision) {}, OldName: "old", NewName: "new"})
		p := tea.NewProgram(m, tea.WithFPS(15), tea.WithInput(nil), tea.WithOutput(io.Discard), tea.WithWindowSize(100, 30), tea.WithEnvironment([]string{"TERM=xterm-256color"}))
		done := make(chan error, 1)
		go func() { _, err := p.Run(); done <- err }()
		ch <- wizard.Event{Type: wizard.EvStepStarted, Time: time.Now().UTC(), Step: "sync-spools-hot"}
		time.Sleep(200 * time.Millisecond) // the first frames
		runtime.GC()
		before := now()
		t := time.NewTicker(100 * time.Millisecond)
		const total = 300_000
		ticks := secs * 10
		for i := range ticks {
			<-t.C
			done := int64(total) * int64(i+1) / int64(ticks)
			ch <- wizard.Event{Type: wizard.EvProgress, Time: time.Now().UTC(), Step: "sync-spools-hot", Progress: &tasks.Progress{
				Unit: "bytes", Done: done * 2100, Total: total * 2100, FilesDone: done, FilesTotal: total, Rate: 12_500_000}}
		}
		t.Stop()
		after := now()
		close(ch)
		p.Quit()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		rate := float64((after.self - before.self).Microseconds()) / 1000 / after.at.Sub(before.at).Seconds()
		rates = append(rates, rate)
		fmt.Fprintf(os.Stderr, "  run screen: %.1f ms of CPU a second (%d s, progress 10 times a second)\n", rate, secs)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(os.Stderr, "load average now %s\n", load[:14])
	b.ReportMetric(median(rates), "cpu-ms/s")
}
