package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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
	// Src and Dst are runbook paths. A trailing slash on Src copies the
	// directory's content rather than the directory, as with rsync itself.
	Src, Dst string

	HardLinks  bool // -H: keep hard links as links
	NumericIDs bool // --numeric-ids: keep uid/gid numbers rather than names
	// Delete removes from Dst what is not in Src (--delete), behind a guard:
	// see Rsync.
	Delete bool
	// MaxDelete is passed as --max-delete; zero lets ferry choose when
	// Delete is set (the dry run's count plus DeleteThreshold).
	MaxDelete int
	// DeleteThreshold is how many deletions pass without confirmation; zero
	// means DefaultDeleteThreshold. From 100 deletions on, deleting more
	// than a tenth of the tree needs confirmation too.
	DeleteThreshold int
	// ConfirmDeletes is the number of deletions the admin accepted after
	// seeing a refusal; a dry run finding no more than that goes ahead.
	ConfirmDeletes int
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
	// PlannedDeletes is what the --delete dry run counted (-1: no dry run).
	PlannedDeletes int
	Duration       time.Duration
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

// DeleteRefusedError is returned when ferry will not run rsync --delete.
// Nothing has been changed on either side.
type DeleteRefusedError struct {
	Path      string // the source path as the runbook names it
	Reason    error  // ErrSourceMissing, ErrSourceEmpty or ErrTooManyDeletions
	Deletions int    // deletions the dry run found (-1: no dry run)
	Threshold int    // the limit that was exceeded
	Sample    []string
}

func (e *DeleteRefusedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "rsync --delete refused for source %s: %v", e.Path, e.Reason)
	switch {
	case errors.Is(e.Reason, ErrSourceEmpty) && e.Deletions > 0:
		fmt.Fprintf(&b, "; the run would delete all %d entries of the destination (an unmounted disk?)", e.Deletions)
	case errors.Is(e.Reason, ErrTooManyDeletions):
		fmt.Fprintf(&b, " (%d deletions, limit %d)", e.Deletions, e.Threshold)
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
	Stage   string   // "transfer" or "dry run"
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

// RsyncArgs builds the argv of the transfer (dryRun: of the --delete dry
// run, which itemizes instead of showing progress).
func RsyncArgs(o RsyncOptions, dryRun bool) ([]string, error) {
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
		if o.MaxDelete > 0 && !dryRun {
			argv = append(argv, "--max-delete="+strconv.Itoa(o.MaxDelete))
		}
	}
	argv = append(argv, "--partial")
	if !o.IncRecursive {
		argv = append(argv, "--no-inc-recursive")
	}
	if dryRun {
		argv = append(argv, "--dry-run", "--itemize-changes", "--stats")
	} else {
		argv = append(argv, "--info=progress2", "--stats")
	}
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

// rsyncProgressEvery bounds how often a running transfer reports Progress.
const rsyncProgressEvery = 100 * time.Millisecond

// Rsync copies Src to Dst with live counters reported to rep (Unit
// "bytes"); other output lines go to rep.Line.
//
// With Delete set it first makes sure the run cannot wipe the destination:
// it refuses (a *DeleteRefusedError, nothing changed) when the source is
// missing, when it is an empty directory while the destination is not, or
// when a dry run would delete more than the threshold, unless the admin
// confirmed at least as many deletions (ConfirmDeletes). The real run then
// carries --max-delete so that a source changing in between cannot delete
// much more than the dry run showed.
//
// A non-zero exit is an *RsyncExitError, except 24 in a hot pass.
func Rsync(ctx context.Context, o RsyncOptions, rep Reporter) (RsyncResult, error) {
	if rep == nil {
		rep = Discard
	}
	res := RsyncResult{PlannedDeletes: -1}
	if _, err := RsyncArgs(o, false); err != nil {
		return res, err
	}
	if o.Delete {
		n, err := rsyncDeleteGuard(ctx, o, rep)
		if err != nil {
			return res, err
		}
		res.PlannedDeletes = n
		if o.MaxDelete == 0 && n >= 0 {
			o.MaxDelete = max(n, o.ConfirmDeletes) + o.threshold()
		}
	}
	argv, err := RsyncArgs(o, false)
	if err != nil {
		return res, err
	}
	res.Argv = argv

	var (
		mu       sync.Mutex
		parser   RsyncParser
		lastSent time.Time
		sentOnce bool
	)
	parser.Base1024 = wantsBase1024(o.ExtraArgs)
	stdout := remote.LineWriter(func(line string) {
		now := time.Now()
		mu.Lock()
		_, isProgress := parser.Feed(line, now)
		var p Progress
		send := false
		if isProgress && (!sentOnce || now.Sub(lastSent) >= rsyncProgressEvery) {
			p, send, lastSent, sentOnce = parser.Progress(), true, now, true
		}
		mu.Unlock()
		switch {
		case send:
			rep.Progress(p)
		case !isProgress:
			rep.Line("stdout", line)
		}
	})
	tail := newLineTail(20)
	stderr := remote.LineWriter(func(line string) {
		tail.add(line)
		rep.Line("stderr", line)
	})
	r, err := o.Host.Exec(ctx, remote.Cmd{Argv: argv, Stdout: stdout, Stderr: stderr})
	stdout.Flush()
	stderr.Flush()
	res.ExitCode = r.ExitCode
	res.Duration = r.Duration
	res.Meaning = RsyncExitMeaning(r.ExitCode)
	mu.Lock()
	res.Stats = parser.Stats()
	mu.Unlock()
	if err != nil {
		return res, fmt.Errorf("rsync %s to %s: %w", o.Src, o.Dst, err)
	}
	switch {
	case r.ExitCode == 0:
	case r.ExitCode == 24 && o.Hot:
		res.Warning = "some source files vanished during the transfer; expected while services still run, the final pass will catch up"
		rep.Line("info", "warning: "+res.Warning)
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

func (o RsyncOptions) threshold() int {
	if o.DeleteThreshold > 0 {
		return o.DeleteThreshold
	}
	return DefaultDeleteThreshold
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

// rsyncDeleteGuard checks that a --delete run is safe and returns how many
// deletions its dry run found (-1 when no dry run was needed).
func rsyncDeleteGuard(ctx context.Context, o RsyncOptions, rep Reporter) (int, error) {
	sh, err := o.sourceHost()
	if err != nil {
		return -1, fmt.Errorf("rsync %s: %w", o.Src, err)
	}
	fi, err := sh.Stat(ctx, strings.TrimSuffix(o.Src, "/"))
	if errors.Is(err, fs.ErrNotExist) {
		return -1, &DeleteRefusedError{Path: o.Src, Reason: ErrSourceMissing, Deletions: -1}
	}
	if err != nil {
		return -1, fmt.Errorf("rsync --delete guard: inspect source %s on %s: %w", o.Src, sh.Name(), err)
	}
	empty := false
	if fi.IsDir() || fi.Mode&fs.ModeSymlink != 0 {
		empty, err = dirIsEmpty(ctx, sh, o.Src)
		if err != nil {
			return -1, err
		}
	}
	if _, err := o.Host.Stat(ctx, strings.TrimSuffix(o.Dst, "/")); errors.Is(err, fs.ErrNotExist) {
		// Nothing there, nothing to delete.
		return 0, nil
	}

	rep.Line("info", "dry run: counting what --delete would remove")
	n, sourceEntries, sample, err := rsyncCountDeletions(ctx, o)
	if err != nil {
		return -1, err
	}
	if n > 0 && n <= o.ConfirmDeletes {
		rep.Line("info", fmt.Sprintf("%d deletions, confirmed by the admin (%d accepted)", n, o.ConfirmDeletes))
		return n, nil
	}
	if empty && n > 0 {
		return n, &DeleteRefusedError{Path: o.Src, Reason: ErrSourceEmpty, Deletions: n, Sample: sample}
	}
	limit := o.threshold()
	if n > limit {
		return n, &DeleteRefusedError{Path: o.Src, Reason: ErrTooManyDeletions, Deletions: n, Threshold: limit, Sample: sample}
	}
	// The destination holds about what the source holds plus what goes.
	if n >= deleteShareFloor && int64(n)*10 > int64(n)+sourceEntries {
		return n, &DeleteRefusedError{Path: o.Src, Reason: ErrTooManyDeletions, Deletions: n, Threshold: int((int64(n) + sourceEntries) / 10), Sample: sample}
	}
	return n, nil
}

// dirIsEmpty runs find on h to tell whether directory p has any entry.
func dirIsEmpty(ctx context.Context, h remote.Host, p string) (bool, error) {
	var out strings.Builder
	tail := newLineTail(5)
	r, err := h.Exec(ctx, remote.Cmd{
		Argv:   []string{"find", "-H", mapped(h.Path, p), "-mindepth", "1", "-print", "-quit"},
		Stdout: &out,
		Stderr: remote.LineWriter(tail.add),
	})
	if err != nil {
		return false, fmt.Errorf("rsync --delete guard: list source %s on %s: %w", p, h.Name(), err)
	}
	if r.ExitCode != 0 {
		return false, fmt.Errorf("rsync --delete guard: list source %s on %s: find exited with %d: %s", p, h.Name(), r.ExitCode, strings.Join(tail.lines(), "; "))
	}
	return out.Len() == 0, nil
}

// rsyncCountDeletions runs the transfer as a dry run and counts the
// "*deleting" lines. It returns that count, the number of entries in the
// source (from --stats) and the first few names.
func rsyncCountDeletions(ctx context.Context, o RsyncOptions) (n int, sourceEntries int64, sample []string, err error) {
	argv, err := RsyncArgs(o, true)
	if err != nil {
		return 0, 0, nil, err
	}
	var stats RsyncStats
	stdout := remote.LineWriter(func(line string) {
		if name, ok := strings.CutPrefix(line, "*deleting "); ok {
			n++
			if len(sample) < 5 {
				sample = append(sample, strings.TrimSpace(name))
			}
			return
		}
		stats.ParseLine(line)
	})
	tail := newLineTail(20)
	r, err := o.Host.Exec(ctx, remote.Cmd{Argv: argv, Stdout: stdout, Stderr: remote.LineWriter(tail.add)})
	stdout.Flush()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("rsync dry run %s to %s: %w", o.Src, o.Dst, err)
	}
	if r.ExitCode != 0 && !(r.ExitCode == 24 && o.Hot) {
		return 0, 0, nil, &RsyncExitError{Code: r.ExitCode, Meaning: RsyncExitMeaning(r.ExitCode), Stage: "dry run", Stderr: tail.lines()}
	}
	return n, stats.Files, sample, nil
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
