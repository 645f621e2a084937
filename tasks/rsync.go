package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// RsyncRemote is the far side of a pull over SSH: how rsync reaches it and
// how its runbook paths map to real ones. remote.SSH satisfies it.
type RsyncRemote interface {
	// RsyncShell is the remote-shell command for rsync's -e option
	// ("ssh -p 2222 -o BatchMode=yes ..."), already quoted for a shell.
	RsyncShell() string
	// Destination is "user@host" (or an ssh_config alias).
	Destination() string
	// Path maps a runbook path under the remote host's root.
	Path(p string) string
}

// DefaultDeleteThreshold is how many deletions a --delete run may make
// without the admin confirming them.
const DefaultDeleteThreshold = 1000

// deleteShareFloor is the number of deletions from which the share rule
// applies: at least this many, and more than a tenth of the tree.
const deleteShareFloor = 100

// RsyncOptions describes one rsync run from Src to Dst.
type RsyncOptions struct {
	// Host is where rsync runs and where Dst lives: the new server, normally
	// a *remote.Local.
	Host remote.Host
	// Remote, when set, holds Src: rsync pulls from it over SSH. When nil,
	// Src is on Host too.
	Remote RsyncRemote
	// SourceHost is where Src can be inspected for the --delete guard. When
	// nil it is Host (local copy) or Remote if that is also a remote.Host.
	SourceHost remote.Host
	// Started, when set, is called with rsync's argv (as RsyncResult.Argv
	// will hold it) right before rsync runs; not for a transfer refused
	// before it starts.
	Started func(argv []string)
	// Src and Dst are runbook paths. A trailing slash on Src copies the
	// directory's content rather than the directory, as with rsync itself.
	Src, Dst string

	HardLinks  bool // -H: keep hard links as links
	NumericIDs bool // --numeric-ids: keep uid/gid numbers rather than names
	// Delete removes from Dst what is not in Src (--delete), behind a guard:
	// see Rsync.
	Delete bool
	// MaxDelete, when not zero, is the --max-delete cap itself, in entries
	// (a runbook's max_delete): it replaces the limit ferry computes (see
	// DeleteLimit), and a larger ConfirmDeletes still raises it.
	MaxDelete int
	// DeleteThreshold is how many deletions pass without confirmation; zero
	// means DefaultDeleteThreshold. From 100 deletions on, deleting more
	// than a tenth of the tree needs confirmation too.
	DeleteThreshold int
	// ConfirmDeletes is the number of deletions the admin accepted after
	// seeing a refusal: the pass's --max-delete is then at least this.
	ConfirmDeletes int
	// TreeEntries is how many entries (files, directories, links) the
	// destination holds, as the last pass of the same directory left it
	// (its --stats "Number of files"); the share rule of the --delete
	// guard uses it. Zero means unknown: the guard then counts the
	// destination itself when it is not empty.
	TreeEntries int64
	// Hot marks a pass made while the services still run: exit 24 (files
	// vanished during the transfer) is then a warning, not a failure.
	Hot bool
	// IncRecursive lets rsync scan the tree while it copies (its default)
	// instead of listing it all first: the file and byte totals then grow
	// during the run, but a first copy of many small files can be much
	// faster (see bench/README.md). Without it ferry passes
	// --no-inc-recursive, which also lets -H see every hard link.
	IncRecursive bool
	// ExtraArgs are added before the paths ("--bwlimit=10m", "-X" ...).
	ExtraArgs []string
}

// RsyncResult is how an rsync run ended.
type RsyncResult struct {
	Argv     []string
	ExitCode int
	// Meaning explains ExitCode in words.
	Meaning string
	// Warning is set when the run is accepted despite a non-zero exit (24
	// in a hot pass).
	Warning string
	Stats   RsyncStats
	// Final is the last Progress reported.
	Final Progress
	// MaxDelete is the --max-delete cap the transfer carried (0: none, the
	// run had no --delete).
	MaxDelete int
	// Deletions is how many entries rsync listed as deleted ("deleting
	// NAME" lines of --info=del).
	Deletions int
	Duration  time.Duration
}

// Sentinel reasons for a refused --delete, matched with errors.Is on a
// *DeleteRefusedError.
var (
	ErrSourceMissing     = errors.New("the source does not exist")
	ErrSourceEmpty       = errors.New("the source is an empty directory")
	ErrTooManyDeletions  = errors.New("the run would delete more than the unconfirmed limit")
	ErrRsyncFailed       = errors.New("rsync failed")
	errNoSourceHost      = errors.New("the --delete guard needs a host on which to inspect the source")
	errRsyncBadArguments = errors.New("bad rsync options")
)

// DeleteRefusedError is returned when ferry will not let rsync --delete
// go on. For ErrSourceMissing and ErrSourceEmpty no rsync ran and nothing
// changed. For ErrTooManyDeletions rsync ran with --max-delete=Threshold and
// stopped deleting there (its exit code 25): the transfer itself is done,
// Deleted entries are gone, the rest wait for the admin's confirmation.
type DeleteRefusedError struct {
	Path   string // the source path as the runbook names it
	Reason error  // ErrSourceMissing, ErrSourceEmpty or ErrTooManyDeletions
	// Deletions is how many entries would go in all: for an empty source
	// the destination's entries, for a stopped pass the deletions rsync
	// made plus those it reported skipped (-1: unknown).
	Deletions int
	// Deleted is how many of those the stopped pass deleted (up to the
	// cap, as the limit allows without confirmation).
	Deleted   int
	Threshold int // the limit that was exceeded (the --max-delete cap)
	Sample    []string
}

func (e *DeleteRefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rsync --delete refused for source %s: %v", e.Path, e.Reason)
	switch {
	case errors.Is(e.Reason, ErrSourceEmpty) && e.Deletions > 0:
		fmt.Fprintf(&b, "; the run would delete all %d entries of the destination (an unmounted disk?)", e.Deletions)
	case errors.Is(e.Reason, ErrTooManyDeletions):
		fmt.Fprintf(&b, " (%d deletions, limit %d; rsync stopped deleting after %d)", e.Deletions, e.Threshold, e.Deleted)
	}
	if len(e.Sample) > 0 {
		fmt.Fprintf(&b, "; first: %s", strings.Join(e.Sample, ", "))
	}
	if e.Deletions > 0 {
		fmt.Fprintf(&b, "; confirm %d deletions to go ahead", e.Deletions)
	}
	return b.String()
}

// Unwrap returns the reason.
func (e *DeleteRefusedError) Unwrap() error { return e.Reason }

// RsyncExitError is an rsync run that ended with an exit code not accepted.
type RsyncExitError struct {
	Code    int
	Meaning string
	Stage   string   // "transfer"
	Stderr  []string // the last lines rsync wrote on stderr
}

func (e *RsyncExitError) Error() string {
	if hk, ok := remote.ParseSSHHostKeyRefusal(e.Stderr); ok {
		// The system ssh refused the host key: say which key, where.
		return fmt.Sprintf("rsync %s exited with code %d: %s", e.Stage, e.Code, hk.Sentence())
	}
	s := fmt.Sprintf("rsync %s exited with code %d: %s", e.Stage, e.Code, e.Meaning)
	if n := len(e.Stderr); n > 0 {
		s += " (" + e.Stderr[n-1] + ")"
	}
	return s
}

// Unwrap lets errors.Is(err, ErrRsyncFailed) match.
func (e *RsyncExitError) Unwrap() error { return ErrRsyncFailed }

// rsyncExitMeanings explains rsync's exit codes (rsync(1) "EXIT VALUES" and
// errcode.h), in ferry's words.
var rsyncExitMeanings = map[int]string{
	0:   "success",
	1:   "syntax or usage error: rsync did not accept its options",
	2:   "protocol incompatibility between the two rsync versions",
	3:   "errors selecting input/output files or directories (a path is wrong or not a directory)",
	4:   "an action was requested that this rsync does not support",
	5:   "error starting the client-server protocol",
	6:   "the daemon could not append to its log file",
	10:  "error in socket I/O",
	11:  "error in file I/O (disk full, read-only file system, permissions?)",
	12:  "error in the rsync protocol data stream (often: the remote rsync is missing or died, or the remote shell printed something)",
	13:  "errors with program diagnostics",
	14:  "error in IPC code",
	15:  "a sibling process crashed",
	16:  "a sibling process was killed by a signal",
	19:  "received SIGUSR1",
	20:  "interrupted: received SIGINT, SIGTERM or SIGHUP",
	21:  "a waitpid() call failed",
	22:  "could not allocate memory",
	23:  "partial transfer due to errors: some files or attributes were not transferred (a missing or unreadable source?)",
	24:  "partial transfer: some source files vanished while being copied (normal while services run, a warning sign once they are stopped)",
	25:  "the --max-delete limit stopped deletions",
	30:  "timeout while sending or receiving data",
	35:  "timeout waiting for the rsync daemon to connect",
	124: "the remote shell failed",
	125: "the remote shell was killed",
	126: "the remote command could not be run",
	127: "the remote command was not found",
	255: "the SSH connection failed (refused, host key not accepted, authentication failed or dropped)",
}

// RsyncExitMeaning explains an rsync exit code in words.
func RsyncExitMeaning(code int) string {
	if m, ok := rsyncExitMeanings[code]; ok {
		return m
	}
	if code > 128 && code < 128+65 {
		return fmt.Sprintf("rsync was killed by signal %d", code-128)
	}
	return fmt.Sprintf("unknown rsync exit code %d", code)
}

// mapped maps a runbook path with fn, keeping a trailing slash.
func mapped(fn func(string) string, p string) string {
	out := fn(p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(out, "/") {
		out += "/"
	}
	return out
}

// RsyncArgs builds the argv of the transfer. With Delete it carries
// --max-delete=MaxDelete when that is set (Rsync sets it to the guard's
// cap) and --info=del1, which lists each deletion ("deleting NAME").
func RsyncArgs(o RsyncOptions) ([]string, error) {
	if o.Host == nil {
		return nil, fmt.Errorf("%w: no host to run rsync on", errRsyncBadArguments)
	}
	if o.Src == "" || o.Dst == "" {
		return nil, fmt.Errorf("%w: source %q and destination %q must both be given", errRsyncBadArguments, o.Src, o.Dst)
	}
	for _, a := range o.ExtraArgs {
		if strings.HasPrefix(a, "--append") {
			return nil, fmt.Errorf("%w: %s skips files rewritten in place (mail spools do that); ferry resumes with --partial", errRsyncBadArguments, a)
		}
	}
	argv := []string{"rsync", "-a"}
	if o.HardLinks {
		argv = append(argv, "-H")
	}
	if o.NumericIDs {
		argv = append(argv, "--numeric-ids")
	}
	if o.Delete {
		argv = append(argv, "--delete")
		if o.MaxDelete > 0 {
			argv = append(argv, "--max-delete="+strconv.Itoa(o.MaxDelete))
		}
		argv = append(argv, "--info=del1")
	}
	argv = append(argv, "--partial")
	if !o.IncRecursive {
		argv = append(argv, "--no-inc-recursive")
	}
	argv = append(argv, "--info=progress2", "--stats")
	src := ""
	if o.Remote != nil {
		// -s sends the paths inside the protocol, so the remote shell never
		// splits or expands them.
		argv = append(argv, "-s", "-e", o.Remote.RsyncShell())
		src = o.Remote.Destination() + ":" + mapped(o.Remote.Path, o.Src)
	} else {
		src = mapped(o.Host.Path, o.Src)
	}
	argv = append(argv, o.ExtraArgs...)
	argv = append(argv, "--", src, mapped(o.Host.Path, o.Dst))
	return argv, nil
}

// rsyncProgressEvery is how often a running transfer reports Progress at
// most: the parser keeps its counters for every record, the reporter gets
// a snapshot ten times a second at most.
const rsyncProgressEvery = 100 * time.Millisecond

// rsyncDeletionLines is how many "deleting NAME" lines of one run go to
// the reporter one by one; the rest are counted and summed up at the end.
const rsyncDeletionLines = 20

// Rsync copies Src to Dst with live counters reported to rep (Unit
// "bytes"); other output lines go to rep.Line.
//
// With Delete it makes sure the run cannot wipe the destination, without a
// second pass: it refuses (a *DeleteRefusedError, no rsync run, nothing
// changed) when the source is missing, or when it is an empty directory
// while the destination is not, unless the admin confirmed at least as many
// deletions as the destination holds. Otherwise the one transfer carries
// --max-delete=N, N being DeleteLimit (the admin's confirmed count when
// larger): rsync deletes no more than N entries, and when it would delete
// more (its exit code 25) Rsync returns a *DeleteRefusedError naming how
// many would go, for the admin to confirm.
//
// A non-zero exit is an *RsyncExitError, except 24 in a hot pass.
func Rsync(ctx context.Context, o RsyncOptions, rep Reporter) (RsyncResult, error) {
	if rep == nil {
		rep = Discard
	}
	var res RsyncResult
	if _, err := RsyncArgs(o); err != nil {
		return res, err
	}
	if o.Delete {
		limit, err := rsyncDeleteGuard(ctx, o, rep)
		if err != nil {
			return res, err
		}
		o.MaxDelete = limit
	}
	argv, err := RsyncArgs(o)
	if err != nil {
		return res, err
	}
	res.Argv, res.MaxDelete = argv, o.MaxDelete

	var (
		mu        sync.Mutex
		parser    RsyncParser
		fed, sent int // progress records fed, and fed at the last report
		deleted   []string
		nDeleted  int
	)
	parser.Base1024 = wantsBase1024(o.ExtraArgs)
	stdout := remote.LineBytesWriter(func(line []byte) {
		mu.Lock()
		isProgress := parser.FeedBytes(line)
		if isProgress {
			fed++
			mu.Unlock()
			return
		}
		name, isDeletion := rsyncDeletion(line)
		if isDeletion {
			nDeleted++
			if len(deleted) < 5 {
				deleted = append(deleted, name)
			}
		}
		n := nDeleted
		mu.Unlock()
		if !isDeletion || n <= rsyncDeletionLines {
			rep.Line("stdout", string(line))
		}
	})
	// The screen's sample, taken after a block of output (the paced pipe
	// delivers one every 100 ms at most) when records came in and the
	// last sample is rsyncProgressEvery old: no timer of its own.
	var lastSample time.Time
	stdout.AfterWrite(func() {
		mu.Lock()
		now := time.Now()
		if fed == sent || now.Sub(lastSample) < rsyncProgressEvery {
			mu.Unlock()
			return
		}
		sent, lastSample = fed, now
		p := parser.Sample(now)
		mu.Unlock()
		rep.Progress(p)
	})
	tail := newLineTail(20)
	var skipped int
	stderr := remote.LineWriter(func(line string) {
		tail.add(line)
		if n, ok := rsyncMaxDeleteSkipped(line); ok {
			mu.Lock()
			skipped += n
			mu.Unlock()
		}
		rep.Line("stderr", line)
	})
	if o.Started != nil {
		o.Started(argv)
	}
	r, err := o.Host.Exec(ctx, remote.Cmd{Argv: argv, Stdout: stdout, Stderr: stderr})
	stdout.Flush()
	stderr.Flush()
	res.ExitCode = r.ExitCode
	res.Duration = r.Duration
	res.Meaning = RsyncExitMeaning(r.ExitCode)
	mu.Lock()
	res.Stats = parser.Stats()
	res.Deletions = nDeleted
	names := append([]string(nil), deleted...)
	skippedDeletes := skipped
	mu.Unlock()
	if nDeleted > rsyncDeletionLines {
		rep.Line("info", fmt.Sprintf("%d entries deleted in all (the first %d listed above)", nDeleted, rsyncDeletionLines))
	}
	if err != nil {
		return res, fmt.Errorf("rsync %s to %s: %w", o.Src, o.Dst, err)
	}
	switch {
	case r.ExitCode == 0:
	case r.ExitCode == 24 && o.Hot:
		res.Warning = "some source files vanished during the transfer; expected while services still run, the final pass will catch up"
		rep.Line("info", "warning: "+res.Warning)
	case r.ExitCode == 25 && o.Delete:
		mu.Lock()
		res.Final = parser.Sample(time.Now())
		mu.Unlock()
		rep.Progress(res.Final)
		would := nDeleted + skippedDeletes
		if skippedDeletes == 0 {
			would = -1 // rsync did not say how many it skipped
		}
		return res, &DeleteRefusedError{Path: o.Src, Reason: ErrTooManyDeletions, Deletions: would, Deleted: nDeleted, Threshold: o.MaxDelete, Sample: names}
	default:
		mu.Lock()
		res.Final = parser.Progress()
		mu.Unlock()
		return res, &RsyncExitError{Code: r.ExitCode, Meaning: res.Meaning, Stage: "transfer", Stderr: tail.lines()}
	}
	mu.Lock()
	res.Final = parser.Final()
	mu.Unlock()
	rep.Progress(res.Final)
	return res, nil
}

// rsyncDeletion reads a deletion line: "deleting NAME" (--info=del1) or
// "*deleting   NAME" (--itemize-changes).
func rsyncDeletion(line []byte) (string, bool) {
	for _, prefix := range []string{"deleting ", "*deleting "} {
		if bytes.HasPrefix(line, []byte(prefix)) {
			return strings.TrimSpace(string(line[len(prefix):])), true
		}
	}
	return "", false
}

// rsyncMaxDeleteSkipped reads rsync's "Deletions stopped due to
// --max-delete limit (N skipped)" line (stderr, exit 25).
func rsyncMaxDeleteSkipped(line string) (int, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Deletions stopped due to --max-delete limit (")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, " skipped)")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n >= 0
}

func (o RsyncOptions) threshold() int {
	if o.DeleteThreshold > 0 {
		return o.DeleteThreshold
	}
	return DefaultDeleteThreshold
}

// DeleteLimit is how many deletions a --delete pass may make without the
// admin confirming them, given the destination's size in entries (tree; 0
// when unknown): threshold (DefaultDeleteThreshold when zero), and when
// the tree is known no more than a tenth of it, except that fewer than 100
// deletions always pass (deleteShareFloor). A tree of 1,500 entries allows
// 150, one of 500 allows 99.
func DeleteLimit(threshold int, tree int64) int {
	if threshold <= 0 {
		threshold = DefaultDeleteThreshold
	}
	if tree <= 0 {
		return threshold
	}
	share := max(int64(deleteShareFloor-1), tree/10)
	return int(min(int64(threshold), share))
}

// wantsBase1024 reports whether the extra arguments ask rsync for units of
// 1024 (-hh, or --human-readable given twice).
func wantsBase1024(args []string) bool {
	n := 0
	for _, a := range args {
		switch {
		case a == "--human-readable":
			n++
		case strings.HasPrefix(a, "-") && !strings.HasPrefix(a, "--"):
			n += strings.Count(a, "h")
		}
	}
	return n >= 2
}

// sourceHost returns where the source can be inspected.
func (o RsyncOptions) sourceHost() (remote.Host, error) {
	switch {
	case o.SourceHost != nil:
		return o.SourceHost, nil
	case o.Remote == nil:
		return o.Host, nil
	}
	if h, ok := o.Remote.(remote.Host); ok {
		return h, nil
	}
	return nil, errNoSourceHost
}

// rsyncDeleteGuard makes the cheap checks of a --delete run and returns its
// --max-delete cap. On the source (the old server): it exists, and whether
// it is an empty directory (one listing that stops at the first entry). On
// the destination: whether it exists and is empty (no limit to work out
// then: nothing can go), and only when the source is empty, or the tree
// size is not known from an earlier pass, a count of its entries.
func rsyncDeleteGuard(ctx context.Context, o RsyncOptions, rep Reporter) (int, error) {
	sh, err := o.sourceHost()
	if err != nil {
		return 0, fmt.Errorf("rsync %s: %w", o.Src, err)
	}
	fi, err := sh.Stat(ctx, strings.TrimSuffix(o.Src, "/"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, &DeleteRefusedError{Path: o.Src, Reason: ErrSourceMissing, Deletions: -1}
	}
	if err != nil {
		return 0, fmt.Errorf("rsync --delete guard: inspect source %s on %s: %w", o.Src, sh.Name(), err)
	}
	srcEmpty := false
	if fi.IsDir() || fi.Mode&fs.ModeSymlink != 0 {
		srcEmpty, err = dirIsEmpty(ctx, sh, o.Src)
		if err != nil {
			return 0, err
		}
	}
	limit := o.threshold()
	if o.MaxDelete > 0 {
		limit = o.MaxDelete
	}
	capAt := func(limit int) int { return max(limit, o.ConfirmDeletes) }

	dfi, err := o.Host.Stat(ctx, strings.TrimSuffix(o.Dst, "/"))
	if errors.Is(err, fs.ErrNotExist) {
		return capAt(limit), nil // nothing there, nothing to delete
	}
	if err != nil {
		return 0, fmt.Errorf("rsync --delete guard: inspect destination %s on %s: %w", o.Dst, o.Host.Name(), err)
	}
	if !dfi.IsDir() {
		return capAt(limit), nil
	}
	dstEmpty, err := dirIsEmpty(ctx, o.Host, o.Dst)
	if err != nil {
		return 0, err
	}
	if dstEmpty {
		return capAt(limit), nil
	}
	tree := o.TreeEntries
	var sample []string
	if srcEmpty || tree <= 0 {
		tree, sample, err = countEntries(ctx, o.Host, o.Dst)
		if err != nil {
			return 0, err
		}
	}
	if srcEmpty {
		// Everything in the destination would go.
		if o.ConfirmDeletes > 0 && tree <= int64(o.ConfirmDeletes) {
			rep.Line("info", fmt.Sprintf("the source is empty: %d deletions, confirmed by the admin (%d accepted)", tree, o.ConfirmDeletes))
			return o.ConfirmDeletes, nil
		}
		return 0, &DeleteRefusedError{Path: o.Src, Reason: ErrSourceEmpty, Deletions: int(tree), Sample: sample}
	}
	if o.MaxDelete == 0 {
		limit = DeleteLimit(o.threshold(), tree)
	}
	return capAt(limit), nil
}

// dirIsEmpty tells whether directory p on h has any entry: on the local
// machine by reading its first entry, elsewhere with find.
func dirIsEmpty(ctx context.Context, h remote.Host, p string) (bool, error) {
	if l, ok := h.(*remote.Local); ok {
		f, err := os.Open(l.Path(p))
		if err != nil {
			return false, fmt.Errorf("rsync --delete guard: list %s on %s: %w", p, h.Name(), err)
		}
		defer f.Close()
		names, err := f.Readdirnames(1)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("rsync --delete guard: list %s on %s: %w", p, h.Name(), err)
		}
		return len(names) == 0, nil
	}
	var out strings.Builder
	tail := newLineTail(5)
	r, err := h.Exec(ctx, remote.Cmd{
		Argv:   []string{"find", "-H", mapped(h.Path, p), "-mindepth", "1", "-print", "-quit"},
		Stdout: &out,
		Stderr: remote.LineWriter(tail.add),
	})
	if err != nil {
		return false, fmt.Errorf("rsync --delete guard: list %s on %s: %w", p, h.Name(), err)
	}
	if r.ExitCode != 0 {
		return false, fmt.Errorf("rsync --delete guard: list %s on %s: find exited with %d: %s", p, h.Name(), r.ExitCode, strings.Join(tail.lines(), "; "))
	}
	return out.Len() == 0, nil
}

// countEntries counts every entry (file, directory, link ...) under the
// runbook directory dir on h, and returns the first few names found. On
// the local machine it reads the directories itself; elsewhere it runs
// find.
func countEntries(ctx context.Context, h remote.Host, dir string) (int64, []string, error) {
	if l, ok := h.(*remote.Local); ok {
		n, sample, err := countEntriesLocal(ctx, l.Path(dir))
		if err != nil {
			return n, sample, fmt.Errorf("rsync --delete guard: count entries under %s on %s: %w", dir, h.Name(), err)
		}
		return n, sample, nil
	}
	var out strings.Builder
	tail := newLineTail(5)
	r, err := h.Exec(ctx, remote.Cmd{
		Argv:   []string{"sh", "-c", `cd -- "$1" && find . -mindepth 1 -print0 | tr -cd '\000' | wc -c`, "sh", h.Path(dir)},
		Stdout: &out,
		Stderr: remote.LineWriter(tail.add),
	})
	if err == nil && r.ExitCode != 0 {
		err = fmt.Errorf("exit %d: %s", r.ExitCode, strings.Join(tail.lines(), "; "))
	}
	if err != nil {
		return 0, nil, fmt.Errorf("rsync --delete guard: count entries under %s on %s: %w", dir, h.Name(), err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		return 0, nil, fmt.Errorf("rsync --delete guard: count entries under %s on %s: unexpected output %q", dir, h.Name(), out.String())
	}
	return n, nil, nil
}

// countEntriesLocal walks dir with unsorted directory reads, counting every
// entry, and keeps the first five names (relative to dir).
func countEntriesLocal(ctx context.Context, dir string) (int64, []string, error) {
	var n int64
	var sample []string
	stack := []string{""}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return n, sample, err
		}
		rel := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		f, err := os.Open(filepath.Join(dir, rel))
		if err != nil {
			return n, sample, err
		}
		for {
			ents, err := f.ReadDir(1024)
			for _, e := range ents {
				n++
				name := filepath.Join(rel, e.Name())
				if len(sample) < 5 {
					sample = append(sample, name)
				}
				if e.IsDir() {
					stack = append(stack, name)
				}
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				f.Close()
				return n, sample, err
			}
		}
		f.Close()
	}
	return n, sample, nil
}

// lineTail keeps the last lines written to it.
type lineTail struct {
	mu  sync.Mutex
	max int
	buf []string
}

func newLineTail(n int) *lineTail { return &lineTail{max: n} }

func (t *lineTail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) == t.max {
		copy(t.buf, t.buf[1:])
		t.buf = t.buf[:t.max-1]
	}
	t.buf = append(t.buf, line)
}

func (t *lineTail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}
