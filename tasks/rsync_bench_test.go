package tasks

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// countingReporter counts what it receives, as a renderer would, without
// keeping it.
type countingReporter struct{ lines, progress atomic.Int64 }

func (c *countingReporter) Line(string, string) { c.lines.Add(1) }
func (c *countingReporter) Progress(Progress)   { c.progress.Add(1) }

// makeBenchTree writes 20,000 small files in 200 directories and three
// 64 MiB files under dir.
func makeBenchTree(b *testing.B, dir string) {
	b.Helper()
	small := make([]byte, 4096)
	for i := range 20_000 {
		sub := filepath.Join(dir, fmt.Sprintf("d%03d", i%200))
		if i < 200 {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		n := 200 + (i*37)%3800
		small[0] = byte(i)
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("msg%05d", i)), small[:n], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	big := make([]byte, 64<<20)
	for i := range big {
		big[i] = byte(i*2654435761>>13) ^ byte(i>>20)
	}
	for i := range 3 {
		big[0] = byte(i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("big%d.bin", i)), big, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRsync copies the same tree into a fresh destination per
// iteration four ways: through ferry's Rsync task (progress parsed and
// reported), with the very same rsync argv run bare (output thrown away),
// through the task with IncRecursive, and with a plain "rsync -aH
// --numeric-ids" as a person would type it. bench/rsync.sh runs it and
// prints the ratios.
func BenchmarkRsync(b *testing.B) {
	needRsync(b)
	root := b.TempDir()
	h := mustLocal(b, "new", root)
	makeBenchTree(b, filepath.Join(root, "src"))
	opts := RsyncOptions{Host: h, Src: "/src/", HardLinks: true, NumericIDs: true}
	n := 0
	fresh := func(b *testing.B) string {
		b.StopTimer()
		n++
		dst := fmt.Sprintf("/dst%d/", n)
		_ = os.RemoveAll(filepath.Join(root, fmt.Sprintf("dst%d", n-1)))
		b.StartTimer()
		return dst
	}
	b.Run("ferry", func(b *testing.B) {
		rep := &countingReporter{}
		for b.Loop() {
			o := opts
			o.Dst = fresh(b)
			res, err := Rsync(context.Background(), o, rep)
			if err != nil {
				b.Fatal(err)
			}
			if res.Final.FilesDone != 20_204 || res.Stats.Transferred != 20_003 {
				b.Fatalf("copied %d entries and %d files, want 20204 and 20003", res.Final.FilesDone, res.Stats.Transferred)
			}
		}
		b.ReportMetric(float64(rep.progress.Load())/float64(b.N), "reports/op")
	})
	b.Run("bare", func(b *testing.B) {
		for b.Loop() {
			o := opts
			o.Dst = fresh(b)
			argv, err := RsyncArgs(o)
			if err != nil {
				b.Fatal(err)
			}
			runBare(b, argv)
		}
	})
	b.Run("ferry-inc-recursive", func(b *testing.B) {
		for b.Loop() {
			o := opts
			o.Dst = fresh(b)
			o.IncRecursive = true
			if _, err := Rsync(context.Background(), o, Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			dst := fresh(b)
			runBare(b, []string{"rsync", "-aH", "--numeric-ids", h.Path("/src/"), h.Path(dst)})
		}
	})
}

// runBare runs argv with its standard output going to /dev/null.
func runBare(b *testing.B, argv []string) {
	var stderr bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("%q: %v: %s", argv, err, stderr.String())
	}
}
