package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// ErrUnknownQueueLayout is matched (errors.Is) by the error returned when a
// directory is not a qmail-style queue ferry knows how to merge.
var ErrUnknownQueueLayout = errors.New("queue layout not recognised")

// QueueLayoutError says why a directory was not taken for a qmail queue.
type QueueLayoutError struct {
	Dir     string // runbook path of the queue
	Problem string
}

func (e *QueueLayoutError) Error() string {
	return fmt.Sprintf("%s is not a queue ferry can merge (%s): expected mess/, info/ and todo/, mess/ and info/ split into "+
		"subdirectories 0..N-1, and message files named by number only; newer disk-queue formats need the vendor's own procedure",
		e.Dir, e.Problem)
}

// Unwrap returns ErrUnknownQueueLayout.
func (e *QueueLayoutError) Unwrap() error { return ErrUnknownQueueLayout }

// QueueLayout is what DetectQueueLayout found.
type QueueLayout struct {
	Dir string // runbook path
	// Split is the number of numbered subdirectories of mess/ (conf-split,
	// 23 unless the queue software was rebuilt).
	Split int
	// BigTodo is set when todo/ is split too (the "big-todo" patch).
	BigTodo bool
	// Messages holds the real paths of the message files under mess/, when
	// they were asked for.
	Messages []string
}

// splitDirs are the queue directories that qmail splits by message number.
var splitDirs = []string{"mess", "info", "local", "remote"}

// DetectQueueLayout checks that dir on h is a qmail-style queue: mess/,
// info/ and todo/ present; mess/ and info/ (and local/, remote/ when present)
// split into the same numbered subdirectories 0..N-1 and nothing else; no
// file directly in mess/. With listMessages it also lists every message
// file, refusing any that is not a regular file named by digits alone.
func DetectQueueLayout(ctx context.Context, h remote.Host, dir string, listMessages bool) (QueueLayout, error) {
	lay := QueueLayout{Dir: dir}
	root := strings.TrimSuffix(h.Path(dir), "/")
	bad := func(format string, a ...any) error {
		return &QueueLayoutError{Dir: dir, Problem: fmt.Sprintf(format, a...)}
	}
	dirs, err := findNUL(ctx, h, root, "-mindepth", "1", "-maxdepth", "2", "-type", "d")
	if err != nil {
		return lay, fmt.Errorf("queue %s on %s: %w", dir, h.Name(), err)
	}
	children := map[string][]string{}
	top := map[string]bool{}
	for _, d := range dirs {
		rel := strings.TrimPrefix(d, root+"/")
		parent, name, nested := strings.Cut(rel, "/")
		if !nested {
			top[parent] = true
			continue
		}
		children[parent] = append(children[parent], name)
	}
	for _, need := range []string{"mess", "info", "todo"} {
		if !top[need] {
			return lay, bad("no %s/ directory", need)
		}
	}
	for _, sd := range splitDirs {
		if !top[sd] {
			continue
		}
		n, err := splitCount(children[sd])
		if err != nil {
			return lay, bad("%s/: %v", sd, err)
		}
		if sd == "mess" {
			lay.Split = n
		} else if n != lay.Split {
			return lay, bad("%s/ is split %d ways but mess/ %d ways", sd, n, lay.Split)
		}
	}
	if len(children["todo"]) > 0 {
		if _, err := splitCount(children["todo"]); err != nil {
			return lay, bad("todo/: %v", err)
		}
		lay.BigTodo = true
	}
	stray, err := findNUL(ctx, h, root+"/mess", "-mindepth", "1", "-maxdepth", "1", "!", "-type", "d")
	if err != nil {
		return lay, fmt.Errorf("queue %s on %s: %w", dir, h.Name(), err)
	}
	if len(stray) > 0 {
		return lay, bad("mess/ holds %d entries that are not split directories, such as %q", len(stray), path.Base(stray[0]))
	}
	if !listMessages {
		return lay, nil
	}
	odd, err := findNUL(ctx, h, root+"/mess", "-mindepth", "2", "!", "-type", "f")
	if err != nil {
		return lay, fmt.Errorf("queue %s on %s: %w", dir, h.Name(), err)
	}
	if len(odd) > 0 {
		return lay, bad("mess/ holds %d entries that are not plain message files, such as %q", len(odd), strings.TrimPrefix(odd[0], root+"/"))
	}
	msgs, err := findNUL(ctx, h, root+"/mess", "-mindepth", "2", "-type", "f")
	if err != nil {
		return lay, fmt.Errorf("queue %s on %s: %w", dir, h.Name(), err)
	}
	for _, m := range msgs {
		if !allDigits(path.Base(m)) {
			return lay, bad("message file %q is not named by a number", strings.TrimPrefix(m, root+"/"))
		}
	}
	slices.Sort(msgs)
	lay.Messages = msgs
	return lay, nil
}

// splitCount checks that names are exactly "0".."N-1" and returns N.
func splitCount(names []string) (int, error) {
	if len(names) == 0 {
		return 0, errors.New("no numbered subdirectories")
	}
	seen := make([]bool, len(names))
	for _, n := range names {
		i, err := strconv.Atoi(n)
		if err != nil || !allDigits(n) {
			return 0, fmt.Errorf("subdirectory %q is not a number", n)
		}
		if i >= len(names) || seen[i] {
			return 0, fmt.Errorf("subdirectories are not numbered 0..%d (found %q)", len(names)-1, n)
		}
		seen[i] = true
	}
	return len(names), nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// findNUL runs "find DIR PREDICATES -print0" on h and returns the paths.
func findNUL(ctx context.Context, h remote.Host, dir string, preds ...string) ([]string, error) {
	var out bytes.Buffer
	tail := newLineTail(5)
	argv := append([]string{"find", dir}, preds...)
	argv = append(argv, "-print0")
	r, err := h.Exec(ctx, remote.Cmd{Argv: argv, Stdout: &out, Stderr: remote.LineWriter(tail.add)})
	if err != nil {
		return nil, err
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("find %s exited with %d: %s", dir, r.ExitCode, strings.Join(tail.lines(), "; "))
	}
	var paths []string
	for p := range bytes.SplitSeq(out.Bytes(), []byte{0}) {
		if len(p) > 0 {
			paths = append(paths, string(p))
		}
	}
	return paths, nil
}

// QueueMergeOptions describes a merge of a parked queue into the live one.
type QueueMergeOptions struct {
	// Host holds both queues and runs the merge program.
	Host remote.Host
	// OldQueue is the parked queue ("/var/hvmail/qmail-disk/queue/old"),
	// Queue the live one ("/var/hvmail/qmail-disk/queue"), Merge the merge
	// program ("/var/hvmail/libexec/hvmail_queue_merge"): runbook paths.
	OldQueue, Queue, Merge string
	// PollInterval is how often the messages left are counted; zero means
	// one second.
	PollInterval time.Duration
	// Started, when set, is called with the merge program's argv, its
	// queues as runbook paths, right before it runs; not when there is
	// nothing to merge.
	Started func(argv []string)
}

// QueueMergeResult is how a merge ended.
type QueueMergeResult struct {
	Total     int64 // message files found in the parked queue at the start
	Merged    int64 // of those, how many left it
	Remaining int64 // message files still in the parked queue
	ExitCode  int   // the merge program's; -1 when it did not run
	Old, New  QueueLayout
	Duration  time.Duration
}

// ErrQueueMergeFailed is matched by the error QueueMerge returns when the
// merge program exits non-zero.
var ErrQueueMergeFailed = errors.New("queue merge program failed")

// QueueMerge feeds every message file of the parked queue to the merge
// program, one path a line on its standard input, as
// "find OLD/mess -type f | MERGE OLD QUEUE" would, and reports the
// messages merged and left (Unit "messages") by counting the files left
// under OLD/mess. Both queues must have a layout DetectQueueLayout knows;
// otherwise nothing runs. Run again after an interruption, it feeds what
// is left; with nothing left it does not start the program.
//
// Messages left behind after a successful exit are not an error here: the
// result says how many, and the runbook's "queue empty" check decides.
func QueueMerge(ctx context.Context, o QueueMergeOptions, rep Reporter) (QueueMergeResult, error) {
	if rep == nil {
		rep = Discard
	}
	res := QueueMergeResult{ExitCode: -1}
	if o.Host == nil || o.OldQueue == "" || o.Queue == "" || o.Merge == "" {
		return res, fmt.Errorf("queue merge: host, old queue %q, queue %q and merge program %q must all be given", o.OldQueue, o.Queue, o.Merge)
	}
	h := o.Host
	oldLay, err := DetectQueueLayout(ctx, h, o.OldQueue, true)
	if err != nil {
		return res, err
	}
	newLay, err := DetectQueueLayout(ctx, h, o.Queue, false)
	if err != nil {
		return res, err
	}
	res.Old, res.New = oldLay, newLay
	total := int64(len(oldLay.Messages))
	res.Total = total
	rep.Line("info", fmt.Sprintf("parked queue: %d messages, split %d; live queue split %d", total, oldLay.Split, newLay.Split))
	if total == 0 {
		rep.Line("info", "nothing left to merge")
		rep.Progress(Progress{Unit: "messages"})
		return res, nil
	}

	var (
		mu        sync.Mutex
		remaining = total
		done      int64
	)
	report := func(c FileCount) {
		mu.Lock()
		remaining = min(remaining, c.Remaining)
		done = max(done, total-remaining)
		p := Progress{Unit: "messages", Done: done, Total: total, Remaining: remaining, Rate: c.Rate, ETA: c.ETA}
		mu.Unlock()
		rep.Progress(p)
	}
	report(FileCount{Remaining: total})

	var input bytes.Buffer
	for _, m := range oldLay.Messages {
		input.WriteString(m)
		input.WriteByte('\n')
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		_, _ = WatchFileCount(watchCtx, h, path.Join(o.OldQueue, "mess"), WatchOptions{Interval: o.PollInterval}, report)
	}()
	tail := newLineTail(20)
	if o.Started != nil {
		o.Started([]string{o.Merge, o.OldQueue, o.Queue})
	}
	r, err := h.Exec(ctx, remote.Cmd{
		Argv:   []string{o.Merge, h.Path(o.OldQueue), h.Path(o.Queue)},
		Stdin:  &input,
		Stdout: remote.LineWriter(func(l string) { rep.Line("stdout", l) }),
		Stderr: remote.LineWriter(func(l string) { tail.add(l); rep.Line("stderr", l) }),
	})
	stopWatch()
	<-watchDone
	res.ExitCode, res.Duration = r.ExitCode, r.Duration
	if err != nil {
		return res, fmt.Errorf("queue merge %s: %w", o.Merge, err)
	}
	left, cerr := CountFiles(ctx, h, path.Join(o.OldQueue, "mess"))
	if cerr == nil {
		report(FileCount{Remaining: left})
	}
	mu.Lock()
	res.Remaining, res.Merged = remaining, done
	mu.Unlock()
	if r.ExitCode != 0 {
		msg := fmt.Sprintf("%s exited with %d after merging %d of %d messages", o.Merge, r.ExitCode, res.Merged, total)
		if l := tail.lines(); len(l) > 0 {
			msg += ": " + l[len(l)-1]
		}
		return res, fmt.Errorf("%w: %s; run the step again to feed what is left", ErrQueueMergeFailed, msg)
	}
	if cerr != nil {
		return res, cerr
	}
	if res.Remaining > 0 {
		rep.Line("info", fmt.Sprintf("warning: %d messages are still in %s after the merge", res.Remaining, o.OldQueue))
	}
	return res, nil
}
