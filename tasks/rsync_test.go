package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"al.essio.dev/pkg/shellescape"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/testenv"
)

func needRsync(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("rsync"); err != nil {
		t.Skipf("SKIPPING: rsync is not installed (%v); install rsync to run this test", err)
	}
}

// recorder is a Reporter that keeps everything it is told.
type recorder struct {
	mu       sync.Mutex
	lines    []string
	progress []Progress
	onProg   func(Progress)
}

func (r *recorder) Line(stream, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, stream+": "+text)
}

func (r *recorder) Progress(p Progress) {
	r.mu.Lock()
	r.progress = append(r.progress, p)
	f := r.onProg
	r.mu.Unlock()
	if f != nil {
		f(p)
	}
}

func (r *recorder) snapshot() ([]string, []Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lines), slices.Clone(r.progress)
}

// fakeRemote is an RsyncRemote for argv tests.
type fakeRemote struct{ shell, dest, root string }

func (f fakeRemote) RsyncShell() string   { return f.shell }
func (f fakeRemote) Destination() string  { return f.dest }
func (f fakeRemote) Path(p string) string { return remote.JoinRoot(f.root, p) }

func localHost(t testing.TB) (*remote.Local, string) {
	t.Helper()
	root := t.TempDir()
	h, err := remote.NewLocal("new", root)
	if err != nil {
		t.Fatal(err)
	}
	return h, root
}

func TestRsyncArgs(t *testing.T) {
	h, root := localHost(t)
	got, err := RsyncArgs(RsyncOptions{Host: h, Src: "/var/spool/a dir/", Dst: "/var/spool/a dir/", HardLinks: true, NumericIDs: true,
		Delete: true, MaxDelete: 7, ExtraArgs: []string{"--bwlimit=1m"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"rsync", "-a", "-H", "--numeric-ids", "--delete", "--max-delete=7", "--info=del1", "--partial", "--no-inc-recursive",
		"--info=progress2", "--stats", "--bwlimit=1m", "--", root + "/var/spool/a dir/", root + "/var/spool/a dir/"}
	if !slices.Equal(got, want) {
		t.Errorf("local argv =\n %q\nwant\n %q", got, want)
	}

	r := fakeRemote{shell: "ssh -p 2222 -o 'BatchMode=yes'", dest: "root@old", root: "/"}
	got, err = RsyncArgs(RsyncOptions{Host: h, Remote: r, Src: "/var/hvmail/", Dst: "/var/hvmail/"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"rsync", "-a", "--partial", "--no-inc-recursive", "--info=progress2", "--stats",
		"-s", "-e", "ssh -p 2222 -o 'BatchMode=yes'", "--", "root@old:/var/hvmail/", root + "/var/hvmail/"}
	if !slices.Equal(got, want) {
		t.Errorf("remote argv =\n %q\nwant\n %q", got, want)
	}

	for _, bad := range []string{"--append", "--append-verify"} {
		if _, err := RsyncArgs(RsyncOptions{Host: h, Src: "/a/", Dst: "/b/", ExtraArgs: []string{bad}}); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("extra arg %s: err = %v, want a refusal naming it", bad, err)
		}
	}
	if _, err := RsyncArgs(RsyncOptions{Host: h, Src: "", Dst: "/b/"}); err == nil {
		t.Error("an empty source was accepted")
	}
}

func TestRsyncExitMeaning(t *testing.T) {
	seen := map[string]int{}
	for _, code := range []int{0, 1, 2, 3, 5, 10, 11, 12, 14, 20, 23, 24, 25, 30, 35, 124, 125, 126, 127, 255} {
		m := RsyncExitMeaning(code)
		if m == "" || strings.HasPrefix(m, "unknown") {
			t.Errorf("RsyncExitMeaning(%d) = %q", code, m)
		}
		if other, dup := seen[m]; dup {
			t.Errorf("codes %d and %d share the explanation %q", other, code, m)
		}
		seen[m] = code
	}
	if m := RsyncExitMeaning(137); !strings.Contains(m, "signal 9") {
		t.Errorf("RsyncExitMeaning(137) = %q, want a signal 9 explanation", m)
	}
	if m := RsyncExitMeaning(77); !strings.Contains(m, "77") {
		t.Errorf("RsyncExitMeaning(77) = %q, want the code named", m)
	}
}

// oddNames are file names that a careless command line would mangle.
var oddNames = []string{
	"with space.txt",
	"line\nbreak",
	"latin1-\xe9t\xe9",
	"-leading-dash",
	"--double-dash",
	"tab\there",
	"quote'and\"dq",
	"star*and?glob[1]",
	"$(touch pwned)",
}

// makeOddTree fills dir with oddly named files and directories, a symlink
// and a hard link.
func makeOddTree(t testing.TB, dir string) {
	t.Helper()
	for i, n := range oddNames {
		sub := filepath.Join(dir, "d "+n)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{filepath.Join(dir, n), filepath.Join(sub, n)} {
			if err := os.WriteFile(p, []byte(fmt.Sprintf("content %d of %q\n", i, p[len(dir):])), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink("with space.txt", filepath.Join(dir, "link to space")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(dir, "with space.txt"), filepath.Join(dir, "hard link")); err != nil {
		t.Fatal(err)
	}
}

// treeOf describes every entry under dir: content for files, target for
// links, "dir" for directories.
func treeOf(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "-> " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[rel] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t testing.TB, a, b string) {
	t.Helper()
	ta, tb := treeOf(t, a), treeOf(t, b)
	for k, v := range ta {
		if w, ok := tb[k]; !ok {
			t.Errorf("%q missing from %s", k, b)
		} else if v != w {
			t.Errorf("%q differs: %q vs %q", k, v, w)
		}
	}
	for k := range tb {
		if _, ok := ta[k]; !ok {
			t.Errorf("%q appeared in %s but is not in %s", k, b, a)
		}
	}
}

func inode(t testing.TB, p string) uint64 {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestRsyncLocalOddNames(t *testing.T) {
	needRsync(t)
	h, root := localHost(t)
	makeOddTree(t, filepath.Join(root, "src"))
	rep := &recorder{}
	res, err := Rsync(context.Background(), RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", HardLinks: true, NumericIDs: true}, rep)
	if err != nil {
		lines, _ := rep.snapshot()
		t.Fatalf("Rsync: %v\n%s", err, strings.Join(lines, "\n"))
	}
	sameTree(t, filepath.Join(root, "src"), filepath.Join(root, "dst"))
	if _, err := os.Stat(filepath.Join(root, "dst", "pwned")); err == nil {
		t.Error("a file name was run as a command")
	}
	if inode(t, filepath.Join(root, "dst", "with space.txt")) != inode(t, filepath.Join(root, "dst", "hard link")) {
		t.Error("the hard link became two files despite HardLinks")
	}
	if res.ExitCode != 0 || res.Meaning != "success" || !res.Stats.Seen {
		t.Errorf("result = %+v", res)
	}
	wantFiles := int64(len(treeOf(t, filepath.Join(root, "src"))))
	if res.Stats.Files != wantFiles || res.Final.FilesDone != wantFiles || res.Final.FilesTotal != wantFiles {
		t.Errorf("files: stats %d, final %d/%d, want %d", res.Stats.Files, res.Final.FilesDone, res.Final.FilesTotal, wantFiles)
	}
	if res.Final.Done != res.Stats.TotalSize || res.Final.Total != res.Stats.TotalSize {
		t.Errorf("final bytes %d/%d, want the total size %d", res.Final.Done, res.Final.Total, res.Stats.TotalSize)
	}
	_, progress := rep.snapshot()
	if len(progress) == 0 || progress[len(progress)-1] != res.Final {
		t.Errorf("the last Progress reported is not the final one: %d reports", len(progress))
	}
}

// makeBigTree writes files small files and two big ones of size bytes.
func makeBigTree(t testing.TB, dir string, files int, size int) {
	t.Helper()
	for i := range files {
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i%20))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%05d", i)), []byte(strings.Repeat("x", 100+i%900)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	block := make([]byte, size)
	for i := range block {
		block[i] = byte(i * 7919 >> 3)
	}
	for _, n := range []string{"big1.bin", "m/big2.bin"} {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, block, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func checkMonotonic(t *testing.T, ps []Progress) {
	t.Helper()
	for i := 1; i < len(ps); i++ {
		a, b := ps[i-1], ps[i]
		if b.Done < a.Done || b.Total < a.Total || b.FilesDone < a.FilesDone || b.FilesTotal < a.FilesTotal {
			t.Fatalf("progress went backwards at report %d: %+v after %+v", i, b, a)
		}
		if b.Unit != "bytes" {
			t.Fatalf("report %d has unit %q", i, b.Unit)
		}
	}
}

func TestRsyncCountersNeverGoBackwards(t *testing.T) {
	t.Parallel() // mostly waiting on rsync --bwlimit or child processes
	needRsync(t)
	h, root := localHost(t)
	makeBigTree(t, filepath.Join(root, "src"), 400, 1<<20)
	rep := &recorder{}
	// 2 MiB at 1 MiB/s: about two seconds, several progress records.
	res, err := Rsync(context.Background(), RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", HardLinks: true,
		ExtraArgs: []string{"--bwlimit=1024"}}, rep)
	if err != nil {
		t.Fatal(err)
	}
	_, ps := rep.snapshot()
	// The --bwlimit makes the copy last two seconds whatever the load, so
	// at least one report comes before the final one; how many more
	// depends on how often the sampler got the processor (it once had
	// three on a loaded machine), which this test does not ask.
	if len(ps) < 2 {
		t.Fatalf("only %d progress reports for a slowed transfer", len(ps))
	}
	checkMonotonic(t, ps)
	sawRate := false
	// rsync's own rate, parsed from its records (the final report keeps
	// the last one): with as few as two reports, the first may be the
	// transfer's very first record, which says 0.00kB/s.
	for _, p := range ps {
		if p.Rate > 0 {
			sawRate = true
		}
	}
	if !sawRate {
		t.Error("no report carried a rate")
	}
	fin := ps[len(ps)-1]
	if fin.Done != res.Stats.TotalSize || fin.Total != res.Stats.TotalSize || fin.Done < 2<<20 {
		t.Errorf("final bytes %d/%d, want %d", fin.Done, fin.Total, res.Stats.TotalSize)
	}
	if fin.FilesDone != res.Stats.Files || fin.FilesTotal != res.Stats.Files || fin.FilesDone < 402 {
		t.Errorf("final files %d/%d, want %d", fin.FilesDone, fin.FilesTotal, res.Stats.Files)
	}
	if res.Stats.Transferred != 402 {
		t.Errorf("stats say %d files transferred, want 402", res.Stats.Transferred)
	}
	sameTree(t, filepath.Join(root, "src"), filepath.Join(root, "dst"))

	// With incremental recursion the totals grow during the run; what is
	// reported still never falls, and the end counts everything.
	rep3 := &recorder{}
	res3, err := Rsync(context.Background(), RsyncOptions{Host: h, Src: "/src/", Dst: "/dst-ir/", IncRecursive: true}, rep3)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(res3.Argv, "--no-inc-recursive") {
		t.Errorf("IncRecursive still passes --no-inc-recursive: %q", res3.Argv)
	}
	_, ps3 := rep3.snapshot()
	checkMonotonic(t, ps3)
	if res3.Final.FilesDone != res.Stats.Files || res3.Final.Done != res.Stats.TotalSize {
		t.Errorf("incremental run final %+v, want %d files and %d bytes", res3.Final, res.Stats.Files, res.Stats.TotalSize)
	}

	// A second pass finds everything up to date: it still ends with all
	// bytes counted, and its counters still only rise.
	rep2 := &recorder{}
	res2, err := Rsync(context.Background(), RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/"}, rep2)
	if err != nil {
		t.Fatal(err)
	}
	_, ps2 := rep2.snapshot()
	checkMonotonic(t, ps2)
	if res2.Stats.Transferred != 0 || res2.Final.Done != res2.Stats.TotalSize {
		t.Errorf("second pass: %d transferred, final %d of %d", res2.Stats.Transferred, res2.Final.Done, res2.Stats.TotalSize)
	}
}

// A file removed while rsync runs gives exit 24: a warning in a hot pass, a
// failure in the cold one.
func TestRsyncVanishedHotAndCold(t *testing.T) {
	t.Parallel() // mostly waiting on rsync --bwlimit or child processes
	needRsync(t)
	for _, hot := range []bool{true, false} {
		t.Run(fmt.Sprintf("hot=%v", hot), func(t *testing.T) {
			t.Parallel()
			h, root := localHost(t)
			src := filepath.Join(root, "src")
			if err := os.MkdirAll(src, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "a-big"), make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(src, "z-vanishes"), []byte("soon gone"), 0o644); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			rep := &recorder{onProg: func(Progress) {
				// The file list is complete (no incremental recursion) and
				// the big file is still crawling through: remove the other.
				once.Do(func() { os.Remove(filepath.Join(src, "z-vanishes")) })
			}}
			res, err := Rsync(context.Background(), RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Hot: hot,
				ExtraArgs: []string{"--bwlimit=512"}}, rep)
			if res.ExitCode != 24 {
				lines, _ := rep.snapshot()
				t.Fatalf("exit %d (%v), want 24\n%s", res.ExitCode, err, strings.Join(lines, "\n"))
			}
			if hot {
				if err != nil || res.Warning == "" {
					t.Errorf("hot pass: err = %v, warning = %q; want no error and a warning", err, res.Warning)
				}
				return
			}
			var xe *RsyncExitError
			if !errors.As(err, &xe) || xe.Code != 24 || !strings.Contains(err.Error(), "vanished") || !errors.Is(err, ErrRsyncFailed) {
				t.Errorf("cold pass: err = %v, want an RsyncExitError for code 24 explaining vanished files", err)
			}
		})
	}
}

func writeFiles(t testing.TB, dir string, n int, prefix string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s%03d", prefix, i)), []byte(prefix), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// countingHost returns h seen through remote.Observe, and a function that
// says how many rsync commands it has run.
func countingHost(h *remote.Local) (remote.Host, func() int) {
	var mu sync.Mutex
	n := 0
	oh := remote.Observe(h, func(_ string, argv []string) {
		if len(argv) > 0 && argv[0] == "rsync" {
			mu.Lock()
			n++
			mu.Unlock()
		}
	})
	return oh, func() int { mu.Lock(); defer mu.Unlock(); return n }
}

// TestRsyncDeleteGuard: the --delete guard's cheap checks refuse a missing
// or empty source before any rsync runs; otherwise one rsync runs, capped
// by --max-delete at the limit (or the confirmed count), and a pass that
// would delete more stops there with a refusal naming how many would go.
func TestRsyncDeleteGuard(t *testing.T) {
	needRsync(t)
	ctx := context.Background()

	t.Run("empty source", func(t *testing.T) {
		lh, root := localHost(t)
		h, rsyncs := countingHost(lh)
		os.MkdirAll(filepath.Join(root, "src"), 0o755)
		writeFiles(t, filepath.Join(root, "dst", "sub"), 5, "keep")
		before := treeOf(t, filepath.Join(root, "dst"))
		_, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true}, Discard)
		var re *DeleteRefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrSourceEmpty) || re.Path != "/src/" || re.Deletions != 6 || len(re.Sample) == 0 {
			t.Fatalf("err = %v, want a refusal for the empty source /src/ with 6 deletions", err)
		}
		if !strings.Contains(err.Error(), "/src/") {
			t.Errorf("the error does not name the path: %v", err)
		}
		if after := treeOf(t, filepath.Join(root, "dst")); len(after) != len(before) {
			t.Errorf("destination changed: %d entries, had %d", len(after), len(before))
		}
		if n := rsyncs(); n != 0 {
			t.Errorf("%d rsync run(s) for a refused empty source, want none", n)
		}
		// One confirmed deletion short: still refused.
		if _, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true, ConfirmDeletes: 5}, Discard); !errors.Is(err, ErrSourceEmpty) {
			t.Fatalf("5 of 6 deletions confirmed: err = %v, want the refusal", err)
		}
		// All six confirmed: the destination is emptied by one rsync.
		res, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true, ConfirmDeletes: 6}, Discard)
		if err != nil || res.Deletions != 6 || res.MaxDelete != 6 {
			t.Fatalf("6 confirmed: err = %v, %d deletions with cap %d; want 6 and 6", err, res.Deletions, res.MaxDelete)
		}
		if n := len(treeOf(t, filepath.Join(root, "dst"))); n != 1 {
			t.Errorf("destination holds %d entries, want only its root", n)
		}
		if n := rsyncs(); n != 1 {
			t.Errorf("%d rsync runs, want 1", n)
		}
	})

	t.Run("empty source, empty destination", func(t *testing.T) {
		h, root := localHost(t)
		os.MkdirAll(filepath.Join(root, "src"), 0o755)
		os.MkdirAll(filepath.Join(root, "dst"), 0o755)
		if _, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true}, Discard); err != nil {
			t.Fatalf("nothing to delete, yet: %v", err)
		}
	})

	t.Run("missing source", func(t *testing.T) {
		lh, root := localHost(t)
		h, rsyncs := countingHost(lh)
		writeFiles(t, filepath.Join(root, "dst"), 5, "keep")
		_, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/nope/", Dst: "/dst/", Delete: true}, Discard)
		var re *DeleteRefusedError
		if !errors.As(err, &re) || !errors.Is(err, ErrSourceMissing) || re.Path != "/nope/" {
			t.Fatalf("err = %v, want a refusal for the missing source /nope/", err)
		}
		if n := len(treeOf(t, filepath.Join(root, "dst"))); n != 6 {
			t.Errorf("destination has %d entries, want the 6 it had", n)
		}
		if n := rsyncs(); n != 0 {
			t.Errorf("%d rsync run(s) for a missing source, want none", n)
		}
	})

	// limit and limit+1: with a threshold of 10, ten deletions go through
	// in one pass; eleven stop at ten, the refusal names 11, and the
	// eleventh entry is still there.
	for _, extra := range []int{10, 11} {
		t.Run(fmt.Sprintf("threshold 10, %d deletions", extra), func(t *testing.T) {
			lh, root := localHost(t)
			h, rsyncs := countingHost(lh)
			writeFiles(t, filepath.Join(root, "src"), 20, "same")
			writeFiles(t, filepath.Join(root, "dst"), 20, "same")
			writeFiles(t, filepath.Join(root, "dst"), extra, "extra")
			opts := RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true, DeleteThreshold: 10}
			res, err := Rsync(ctx, opts, Discard)
			if n := rsyncs(); n != 1 {
				t.Errorf("%d rsync runs, want exactly 1", n)
			}
			if !slices.Contains(res.Argv, "--max-delete=10") {
				t.Errorf("argv %q lacks --max-delete=10", res.Argv)
			}
			left := len(treeOf(t, filepath.Join(root, "dst"))) - 21
			if extra == 10 {
				if err != nil || res.Deletions != 10 || res.Stats.Deleted != 10 || left != 0 {
					t.Fatalf("err = %v, %d deletions listed, %d counted, %d extra left; want 10, 10, 0", err, res.Deletions, res.Stats.Deleted, left)
				}
				return
			}
			var re *DeleteRefusedError
			if !errors.As(err, &re) || !errors.Is(err, ErrTooManyDeletions) || re.Deletions != 11 || re.Deleted != 10 || re.Threshold != 10 || len(re.Sample) == 0 {
				t.Fatalf("err = %v, want a refusal for 11 deletions over 10", err)
			}
			if left != 1 {
				t.Fatalf("%d extra entries left after the capped pass, want 1 (nothing beyond the cap deleted)", left)
			}
			// The transfer itself went through.
			if _, err := os.Stat(filepath.Join(root, "dst", "same019")); err != nil {
				t.Errorf("the capped pass did not copy: %v", err)
			}
			opts.ConfirmDeletes = re.Deletions
			res, err = Rsync(ctx, opts, Discard)
			if err != nil || res.MaxDelete != 11 || res.Deletions != 1 {
				t.Fatalf("confirmed: err = %v, cap %d, %d deletions; want cap 11 and 1 deletion", err, res.MaxDelete, res.Deletions)
			}
			sameTree(t, filepath.Join(root, "src"), filepath.Join(root, "dst"))
		})
	}

	// The confirmed count is the cap: a pass that would delete more than
	// the admin accepted stops there.
	t.Run("more than confirmed", func(t *testing.T) {
		h, root := localHost(t)
		writeFiles(t, filepath.Join(root, "src"), 20, "same")
		writeFiles(t, filepath.Join(root, "dst"), 20, "same")
		writeFiles(t, filepath.Join(root, "dst"), 40, "extra")
		_, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true, DeleteThreshold: 10, ConfirmDeletes: 29}, Discard)
		var re *DeleteRefusedError
		if !errors.As(err, &re) || re.Threshold != 29 || re.Deleted != 29 || re.Deletions != 40 {
			t.Fatalf("err = %v, want a stop at the 29 confirmed of 40", err)
		}
		if left := len(treeOf(t, filepath.Join(root, "dst"))) - 21; left != 11 {
			t.Errorf("%d extra entries left, want 11", left)
		}
	})

	// The share rule: at least 100 deletions and more than a tenth of the
	// destination need confirmation. 2,000 entries allow 200; 2,001
	// entries (one more to delete) still allow 200.
	for _, extra := range []int{200, 201} {
		t.Run(fmt.Sprintf("share of the tree, %d of %d", extra, 1800+extra), func(t *testing.T) {
			h, root := localHost(t)
			writeFiles(t, filepath.Join(root, "src"), 1800, "same")
			writeFiles(t, filepath.Join(root, "dst"), 1800, "same")
			writeFiles(t, filepath.Join(root, "dst"), extra, "extra")
			res, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true}, Discard)
			if res.MaxDelete != 200 {
				t.Errorf("cap %d, want 200 (a tenth of 2,000 entries)", res.MaxDelete)
			}
			if extra == 200 {
				if err != nil || res.Deletions != 200 {
					t.Fatalf("err = %v, %d deletions; want 200 and no error", err, res.Deletions)
				}
				return
			}
			var re *DeleteRefusedError
			if !errors.As(err, &re) || !errors.Is(err, ErrTooManyDeletions) || re.Deletions != 201 {
				t.Fatalf("201 of 2,001 entries would go: err = %v, want a refusal naming 201", err)
			}
		})
	}

	// A known tree size (the last pass's) spares the count: 300 entries
	// known allow 99 (the floor), whatever the destination holds now.
	t.Run("tree size from the last pass", func(t *testing.T) {
		h, root := localHost(t)
		writeFiles(t, filepath.Join(root, "src"), 1800, "same")
		writeFiles(t, filepath.Join(root, "dst"), 1800, "same")
		writeFiles(t, filepath.Join(root, "dst"), 100, "extra")
		_, err := Rsync(ctx, RsyncOptions{Host: h, Src: "/src/", Dst: "/dst/", Delete: true, TreeEntries: 300}, Discard)
		var re *DeleteRefusedError
		if !errors.As(err, &re) || re.Threshold != 99 || re.Deletions != 100 {
			t.Fatalf("err = %v, want a stop at 99 of 100", err)
		}
	})
}

func TestDeleteLimit(t *testing.T) {
	for _, tt := range []struct {
		threshold int
		tree      int64
		want      int
	}{
		{0, 0, DefaultDeleteThreshold},
		{10, 0, 10},
		{0, 500, 99},
		{0, 999, 99},
		{0, 1000, 100},
		{0, 1009, 100},
		{0, 1010, 101},
		{0, 2000, 200},
		{0, 1_000_000, DefaultDeleteThreshold},
		{50, 100_000, 50},
	} {
		if got := DeleteLimit(tt.threshold, tt.tree); got != tt.want {
			t.Errorf("DeleteLimit(%d, %d) = %d, want %d", tt.threshold, tt.tree, got, tt.want)
		}
	}
}

func TestRsyncMaxDeleteSkipped(t *testing.T) {
	if n, ok := rsyncMaxDeleteSkipped("Deletions stopped due to --max-delete limit (9 skipped)"); !ok || n != 9 {
		t.Errorf("got %d, %v; want 9", n, ok)
	}
	for _, l := range []string{"", "Deletions stopped due to --max-delete limit (x skipped)", "rsync error: the --max-delete limit stopped deletions (code 25)"} {
		if _, ok := rsyncMaxDeleteSkipped(l); ok {
			t.Errorf("%q read as a skipped count", l)
		}
	}
}

// sshRemote reaches the test sshd with the system ssh client.
type sshRemote struct {
	sshd *testenv.SSHD
	root string
}

func (s sshRemote) RsyncShell() string {
	return "ssh " + shellescape.QuoteCommand(s.sshd.SSHArgs())
}
func (s sshRemote) Destination() string  { return "root@127.0.0.1" }
func (s sshRemote) Path(p string) string { return remote.JoinRoot(s.root, p) }

func TestRsyncPullOverSSH(t *testing.T) {
	t.Parallel() // mostly waiting on rsync --bwlimit or child processes
	needRsync(t)
	if _, err := exec.LookPath("ssh"); err != nil {
		t.Skipf("SKIPPING: the ssh client is not installed (%v)", err)
	}
	sshd := testenv.StartSSHD(t, testenv.SSHDOptions{})
	oldRoot := t.TempDir()
	makeOddTree(t, filepath.Join(oldRoot, "var", "spool", "odd dir"))
	h, root := localHost(t)
	// rsync creates the destination directory but not its parents.
	if err := os.MkdirAll(filepath.Join(root, "var", "spool"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep := &recorder{}
	res, err := Rsync(context.Background(), RsyncOptions{Host: h, Remote: sshRemote{sshd, oldRoot},
		SourceHost: mustLocal(t, "old", oldRoot), Src: "/var/spool/odd dir/", Dst: "/var/spool/odd dir/",
		HardLinks: true, NumericIDs: true, Delete: true}, rep)
	if err != nil {
		lines, _ := rep.snapshot()
		t.Fatalf("pull over ssh: %v\n%s\nsshd log:\n%s", err, strings.Join(lines, "\n"), sshd.Log())
	}
	sameTree(t, filepath.Join(oldRoot, "var", "spool", "odd dir"), filepath.Join(root, "var", "spool", "odd dir"))
	if inode(t, filepath.Join(root, "var", "spool", "odd dir", "with space.txt")) != inode(t, filepath.Join(root, "var", "spool", "odd dir", "hard link")) {
		t.Error("the hard link became two files")
	}
	if res.Stats.BytesReceived == 0 || res.Final.Done != res.Stats.TotalSize {
		t.Errorf("stats %+v, final %+v", res.Stats, res.Final)
	}
	_, ps := rep.snapshot()
	checkMonotonic(t, ps)

	// A second pass over SSH removes what the old server no longer has.
	extra := filepath.Join(root, "var", "spool", "odd dir", "gone on old")
	if err := os.WriteFile(extra, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Rsync(context.Background(), RsyncOptions{Host: h, Remote: sshRemote{sshd, oldRoot},
		SourceHost: mustLocal(t, "old", oldRoot), Src: "/var/spool/odd dir/", Dst: "/var/spool/odd dir/",
		HardLinks: true, Delete: true}, Discard)
	if err != nil {
		t.Fatalf("second pass: %v", err)
	}
	if res.Deletions != 1 || res.Stats.Deleted != 1 {
		t.Errorf("second pass listed %d deletions and made %d, want 1 and 1", res.Deletions, res.Stats.Deleted)
	}
	if _, err := os.Lstat(extra); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the extra file is still there: %v", err)
	}
}

func mustLocal(t testing.TB, name, root string) *remote.Local {
	t.Helper()
	h, err := remote.NewLocal(name, root)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
