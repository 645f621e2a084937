package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// otherHost hides that a Host is local, so that CountFiles takes the path it
// takes for a remote server (find run on the host).
type otherHost struct{ remote.Host }

// makeCountTree builds files regular files in nested directories, plus
// entries that must not count: symlinks, empty directories and a FIFO.
func makeCountTree(t testing.TB, dir string, files int) {
	t.Helper()
	// Hard links to one file are regular files to find and to a directory
	// walk alike, and they are made several times faster than new files.
	base := filepath.Join(t.TempDir(), "base")
	if err := os.WriteFile(base, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("%d", i%23), fmt.Sprintf("%d", i%7))
		if i < 23*7 { // every (i%23, i%7) pair appears once in the first 161
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		name := fmt.Sprintf("%d", i)
		if i == 3 {
			name = "with\nnewline"
		}
		if err := os.Link(base, filepath.Join(sub, name)); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"empty", "deep/er/still/empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("0/0/0", filepath.Join(dir, "link-to-file")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("0", filepath.Join(dir, "link-to-dir")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCountFiles(t *testing.T) {
	files := 20_000
	if testing.Short() {
		files = 2_000
	}
	h, root := localHost(t)
	makeCountTree(t, filepath.Join(root, "var", "q dir"), files)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		host remote.Host
	}{{"local walk", h}, {"find on the host", otherHost{h}}} {
		n, err := CountFiles(ctx, tc.host, "/var/q dir")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if n != int64(files) {
			t.Errorf("%s: counted %d files, want %d", tc.name, n, files)
		}
	}
	for _, hh := range []remote.Host{h, otherHost{h}} {
		if _, err := CountFiles(ctx, hh, "/missing"); err == nil {
			t.Errorf("%T: counting a missing directory succeeded", hh)
		}
	}
	if _, err := CountFiles(ctx, h, "/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("local: missing directory error %v is not ErrNotExist", err)
	}

	want := int64(files)
	if _, err := CheckFileCount(ctx, h, "/var/q dir", &want); err != nil {
		t.Errorf("CheckFileCount with the right count: %v", err)
	}
	want++
	var me *FileCountMismatchError
	if _, err := CheckFileCount(ctx, h, "/var/q dir", &want); !errors.As(err, &me) || me.Got != int64(files) {
		t.Errorf("CheckFileCount with a wrong count: %v", err)
	}
}

func TestWatchFiles(t *testing.T) {
	h, root := localHost(t)
	dir := filepath.Join(root, "spool")
	writeFiles(t, dir, 300, "m")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Each reading removes the next 30 files before the watch counts
	// again: the readings step down by 30 to 0, however slow the machine
	// (a remover of its own could be done before the second reading).
	removed := 0
	rep := &recorder{onProg: func(Progress) {
		for end := min(removed+30, 300); removed < end; removed++ {
			if err := os.Remove(filepath.Join(dir, fmt.Sprintf("m%03d", removed))); err != nil {
				t.Error(err)
			}
		}
	}}
	n, err := WatchFiles(ctx, h, "/spool", WatchOptions{Interval: 5 * time.Millisecond, StopAtZero: true, Window: time.Second}, rep)
	if err != nil || n != 0 {
		t.Fatalf("WatchFiles = %d, %v; want 0, nil", n, err)
	}
	_, ps := rep.snapshot()
	var remaining []int64
	for _, p := range ps {
		remaining = append(remaining, p.Remaining)
	}
	if want := []int64{300, 270, 240, 210, 180, 150, 120, 90, 60, 30, 0}; !slices.Equal(remaining, want) {
		t.Fatalf("readings %v, want %v", remaining, want)
	}
	sawRate := false
	for i, p := range ps {
		if p.Unit != "files" {
			t.Fatalf("reading %d has unit %q", i, p.Unit)
		}
		if p.Rate > 0 {
			sawRate = true
		}
	}
	if !sawRate {
		t.Error("no reading carried a rate")
	}

	// Cancelling ends a watch that would otherwise wait for zero.
	writeFiles(t, dir, 3, "stay")
	ctx2, cancel2 := context.WithCancel(context.Background())
	got := make(chan int64, 1)
	go func() {
		n, _ := WatchFiles(ctx2, h, "/spool", WatchOptions{Interval: time.Millisecond, StopAtZero: true}, Discard)
		got <- n
	}()
	cancel2()
	if n := <-got; n != 3 && n != -1 {
		t.Errorf("cancelled watch returned %d, want 3 (or -1 before any count)", n)
	}
}

func BenchmarkCountFilesLocal(b *testing.B) {
	h, root := localHost(b)
	makeCountTree(b, filepath.Join(root, "q"), 20_000)
	for b.Loop() {
		if _, err := CountFiles(context.Background(), h, "/q"); err != nil {
			b.Fatal(err)
		}
	}
}
