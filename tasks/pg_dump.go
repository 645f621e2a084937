package tasks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// DumpOptions says which database to dump and where the archive goes.
type DumpOptions struct {
	// Source is where pg_dump runs: the old server.
	Source remote.Host
	// Server is the PostgreSQL server as seen from Source.
	Server PGServer
	// Database is the database to dump.
	Database string
	// Target is where the archive is written: it must be the machine ferry
	// runs on (a remote.Local), since ferry writes the file itself.
	Target remote.Host
	// File is the archive's runbook path on Target. Its directory is
	// created (mode 0700, missing parents 0755) if missing; the file is made
	// with mode 0600.
	File string
	// CheckBinDir is where pg_restore is on Target, for checking the
	// archive; empty means Target's PATH.
	CheckBinDir string
}

// DumpResult describes a finished dump.
type DumpResult struct {
	Database string `json:"database"`
	File     string `json:"file"` // runbook path on Target
	Bytes    int64  `json:"bytes"`
	// SHA256 is the hex SHA-256 of the bytes written, set once the archive
	// is whole; the restore compares the file with it (RestoreOptions).
	SHA256   string        `json:"sha256,omitempty"`
	Archive  Archive       `json:"archive"`
	Duration time.Duration `json:"duration"`
}

// archiveMagic starts every custom-format archive.
var archiveMagic = []byte("PGDMP")

// Dump runs `pg_dump -Fc` for one database on the source host and streams
// its output into a file on the target host, counting bytes (Progress Unit
// "bytes"). The archive is written under a temporary name next to File and
// renamed to File only when it is whole: pg_dump exited 0, the file starts
// with the custom format's magic, its database name is the one asked for,
// and pg_restore on the target reads it from end to end. Otherwise the
// temporary file is removed and File is left as it was.
//
// Dump may run in several goroutines at once for different files; give each
// its own Reporter, or use DumpAll.
func Dump(ctx context.Context, o DumpOptions, rep Reporter) (DumpResult, error) {
	start := time.Now()
	if rep == nil {
		rep = Discard
	}
	result := DumpResult{Database: o.Database, File: o.File}
	if err := CheckDBName(o.Database); err != nil {
		return result, err
	}
	if o.Source == nil || o.Target == nil || o.File == "" {
		return result, errors.New("dump: source host, target host and file are required")
	}
	final := o.Target.Path(o.File)
	dir := filepath.Dir(final)
	// Missing parents (Red Hat has no /var/backups) are made open to all,
	// as a distribution makes them, so that the OS user a restore runs as
	// can reach the dump directory once it is opened to that user's group.
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return result, fmt.Errorf("dump of %s: %w", o.Database, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return result, fmt.Errorf("dump of %s: %w", o.Database, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(final)+".partial-*")
	if err != nil {
		return result, fmt.Errorf("dump of %s: %w", o.Database, err)
	}
	tmp := f.Name()
	keep := false
	defer func() {
		if !keep {
			f.Close()
			os.Remove(tmp)
		}
	}()
	tmpRunbook := filepath.Join(filepath.Dir(o.File), filepath.Base(tmp))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rate := NewRateEstimator(0)
	w := &dumpWriter{f: f, sum: sha256.New(), cancel: cancel, report: func(n int64) {
		rate.Add(time.Now(), n)
		rep.Progress(Progress{Unit: "bytes", Done: n, Rate: rate.Rate(), Note: "dumping " + o.Database})
	}}
	tail := newPGTailFunc(10, func(l string) { rep.Line("stderr", l) })
	argv := DumpArgv(o.Server, o.Database)
	rep.Line("info", fmt.Sprintf("dumping database %s on %s into %s", o.Database, o.Source.Name(), o.File))
	res, err := o.Source.Exec(ctx, remote.Cmd{Argv: argv, Env: o.Server.env(), Stdout: w, Stderr: tail})
	result.Bytes = w.n.Load()
	if w.err != nil {
		return result, fmt.Errorf("dump of %s: writing %s: %w", o.Database, tmp, w.err)
	}
	if err != nil {
		return result, fmt.Errorf("dump of %s on %s failed after %d bytes: %w", o.Database, o.Source.Name(), result.Bytes, err)
	}
	if res.ExitCode != 0 {
		return result, fmt.Errorf("pg_dump of %s on %s exited with status %d after %d bytes: %s", o.Database, o.Source.Name(), res.ExitCode, result.Bytes, tail)
	}
	if !bytes.Equal(w.head, archiveMagic) {
		return result, fmt.Errorf("dump of %s: the output (%d bytes) is not a custom-format archive (it does not start with PGDMP)", o.Database, result.Bytes)
	}
	if err := f.Sync(); err != nil {
		return result, fmt.Errorf("dump of %s: %w", o.Database, err)
	}
	if err := f.Close(); err != nil {
		return result, fmt.Errorf("dump of %s: %w", o.Database, err)
	}

	rep.Progress(Progress{Unit: "bytes", Done: result.Bytes, Total: result.Bytes, Note: "checking the archive of " + o.Database})
	arch, err := CheckArchive(ctx, o.Target, o.CheckBinDir, tmpRunbook)
	if err != nil {
		return result, fmt.Errorf("dump of %s is not usable: %w", o.Database, err)
	}
	if arch.Database != o.Database {
		return result, fmt.Errorf("dump of %s: the archive names database %q", o.Database, arch.Database)
	}
	result.Archive = arch
	result.SHA256 = hex.EncodeToString(w.sum.Sum(nil))
	if err := os.Rename(tmp, final); err != nil {
		return result, fmt.Errorf("dump of %s: %w", o.Database, err)
	}
	keep = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	result.Duration = time.Since(start)
	rep.Line("info", fmt.Sprintf("dumped %s: %d bytes, %d archive items, in %s", o.Database, result.Bytes, len(arch.Items), result.Duration.Round(time.Millisecond)))
	return result, nil
}

// DumpArgv returns the pg_dump command Dump runs on the source host for
// database db: custom format (what pg_restore --jobs needs) to standard
// output, which ferry streams into the archive file. The password, if any,
// is not in it (PGServer.Env).
func DumpArgv(s PGServer, db string) []string {
	return s.Argv("pg_dump", "--format=custom", db)
}

// CheckArchive makes sure the archive at runbook path p on h is a whole
// custom-format archive: `pg_restore -l` must list it, and pg_restore must
// read every data block to the end (a dump cut short in its data still has
// a readable table of contents, so the listing alone does not show it).
func CheckArchive(ctx context.Context, h remote.Host, binDir, p string) (Archive, error) {
	arch, err := ListArchive(ctx, h, binDir, p)
	if err != nil {
		return arch, err
	}
	if arch.Format != "CUSTOM" {
		return arch, fmt.Errorf("%s is a %s archive, not a custom-format one", p, arch.Format)
	}
	tail := newPGTail(5)
	bin := PGServer{BinDir: binDir}.bin("pg_restore")
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{bin, "--file=/dev/null", h.Path(p)}, Stderr: tail})
	if err != nil {
		return arch, fmt.Errorf("read archive %s on %s: %w", p, h.Name(), err)
	}
	if res.ExitCode != 0 {
		return arch, fmt.Errorf("%s is cut short or damaged: pg_restore cannot read it to the end (exit status %d): %s", p, res.ExitCode, tail)
	}
	return arch, nil
}

// dumpWriter writes the dump to its file, counts bytes, keeps the first
// bytes for the magic check, and stops the dump at the first write error.
type dumpWriter struct {
	f      *os.File
	sum    hash.Hash // of the bytes written to f
	n      atomic.Int64
	head   []byte
	err    error
	cancel context.CancelFunc
	report func(int64)
}

func (w *dumpWriter) Write(p []byte) (int, error) {
	if len(w.head) < len(archiveMagic) {
		w.head = append(w.head, p[:min(len(p), len(archiveMagic)-len(w.head))]...)
	}
	n, err := w.f.Write(p)
	w.sum.Write(p[:n])
	w.report(w.n.Add(int64(n)))
	if err != nil {
		w.err = err
		w.cancel()
	}
	return n, err
}

// DumpAll runs the dumps at the same time and reports their summed byte
// count. It waits for all of them and returns every error.
func DumpAll(ctx context.Context, opts []DumpOptions, rep Reporter) ([]DumpResult, error) {
	if rep == nil {
		rep = Discard
	}
	seen := map[string]bool{}
	for _, o := range opts {
		if o.Target != nil {
			p := o.Target.Path(o.File)
			if seen[p] {
				return nil, fmt.Errorf("two dumps write the same file %s", o.File)
			}
			seen[p] = true
		}
	}
	sum := &dumpSumReporter{rep: rep, done: make([]int64, len(opts)), rate: NewRateEstimator(0)}
	results := make([]DumpResult, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() {
			results[i], errs[i] = Dump(ctx, o, sum.slot(i))
		})
	}
	wg.Wait()
	return results, errors.Join(errs...)
}

// dumpSumReporter adds up the byte counters of several dumps.
type dumpSumReporter struct {
	rep  Reporter
	mu   sync.Mutex
	done []int64
	rate *RateEstimator
}

func (s *dumpSumReporter) slot(i int) Reporter { return dumpSlotReporter{s, i} }

type dumpSlotReporter struct {
	s *dumpSumReporter
	i int
}

func (r dumpSlotReporter) Line(stream, text string) { r.s.rep.Line(stream, text) }

func (r dumpSlotReporter) Progress(p Progress) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if p.Done > r.s.done[r.i] {
		r.s.done[r.i] = p.Done
	}
	var total int64
	for _, d := range r.s.done {
		total += d
	}
	r.s.rate.Add(time.Now(), total)
	r.s.rep.Progress(Progress{Unit: "bytes", Done: total, Rate: r.s.rate.Rate(), Note: fmt.Sprintf("dumping %d databases", len(r.s.done))})
}
