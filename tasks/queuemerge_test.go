package tasks

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// mergeStandIn is a test stand-in for the vendor's queue merge program. It
// reads message paths from stdin and, for each, does what FACTS §2.4 says a
// merge must, the way queue-fix does it on one file system: the message
// file moves into the live queue under the name of its inode, in
// mess/<inode % split>/, its info, local and remote files follow under the
// new name (mv keeps their mtimes), and the old name is gone. The inodes
// are read with one stat call for all messages, so the script stays quick.
// With a limit it stops after that many messages, as an interrupted run
// would.
const mergeStandIn = `#!/bin/sh
old=$1 new=$2 limit=%d
split=$(ls "$new/mess" | wc -l)
list="$new/pid/merge.$$"
trap 'rm -f "$list" "$list.ino"' EXIT
cat > "$list"
xargs -d '\n' -r stat -c '%%i %%n' < "$list" > "$list.ino" || exit 2
n=0
while read -r ino p; do
	if [ "$limit" -gt 0 ] && [ "$n" -ge "$limit" ]; then echo "stopping after $n" >&2; exit 1; fi
	o=${p##*/}
	od=${p%%/*}; od=${od##*/}
	d=$((ino %% split))
	[ -e "$new/mess/$d/$ino" ] && { echo "$ino already in the queue" >&2; exit 3; }
	mv "$p" "$new/mess/$d/$ino" || exit 3
	for q in info local remote; do
		if [ -e "$old/$q/$od/$o" ]; then mv "$old/$q/$od/$o" "$new/$q/$d/$ino" || exit 4; fi
	done
	n=$((n + 1))
done < "$list.ino"
echo "merged $n messages"
`

// makeQueue creates an empty qmail-style queue with the given split.
func makeQueue(t testing.TB, dir string, split int) {
	t.Helper()
	for _, sd := range []string{"mess", "info", "local", "remote"} {
		for i := range split {
			if err := os.MkdirAll(filepath.Join(dir, sd, strconv.Itoa(i)), 0o700); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, d := range []string{"todo", "intd", "bounce", "pid", "lock"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
}

// addParkedMessages writes n messages into a copied (parked) queue: names
// that are not their inodes, as after a copy to another file system. It
// returns the bodies.
func addParkedMessages(t testing.TB, dir string, split, n int) []string {
	t.Helper()
	var bodies []string
	for i := range n {
		id := 900_000 + i*7
		d := strconv.Itoa(id % split)
		body := fmt.Sprintf("Received: test\nSubject: message %d\n\nbody %d\n", i, i)
		bodies = append(bodies, body)
		files := map[string]string{"mess": body, "info": queueInfo(i)}
		// Like real mail, some messages have remote recipients, some
		// local ones, some both.
		if i%2 == 0 {
			files["remote"] = queueRcpt(i)
		}
		if i%5 == 0 {
			files["local"] = queueRcpt(i)
		}
		for sd, content := range files {
			if err := os.WriteFile(filepath.Join(dir, sd, d, strconv.Itoa(id)), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	return bodies
}

func queueInfo(i int) string { return fmt.Sprintf("Fsender%d@example.test\x00", i) }
func queueRcpt(i int) string { return fmt.Sprintf("Trcpt%d@example.test\x00", i) }

// installStandIn writes the merge stand-in at runbook path p under root.
func installStandIn(t testing.TB, root, p string, limit int) {
	t.Helper()
	full := filepath.Join(root, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(fmt.Sprintf(mergeStandIn, limit)), 0o755); err != nil {
		t.Fatal(err)
	}
}

const (
	liveQueue   = "/var/hvmail/qmail-disk/queue"
	parkedQueue = "/var/hvmail/qmail-disk/queue/old"
	mergeProg   = "/var/hvmail/libexec/hvmail_queue_merge"
)

func TestQueueMerge(t *testing.T) {
	t.Parallel() // mostly waiting on rsync --bwlimit or child processes
	msgs := 2000
	if testing.Short() {
		msgs = 300
	}
	h, root := localHost(t)
	live := filepath.Join(root, liveQueue)
	parked := filepath.Join(root, parkedQueue)
	makeQueue(t, live, 23)
	makeQueue(t, parked, 23)
	bodies := addParkedMessages(t, parked, 23, msgs)
	installStandIn(t, root, mergeProg, 0)
	installStandIn(t, root, "/var/hvmail/libexec/merge_interrupted", msgs/4)
	ctx := context.Background()

	// First an interrupted run: it fails and says how far it got.
	rep1 := &recorder{}
	res, err := QueueMerge(ctx, QueueMergeOptions{Host: h, OldQueue: parkedQueue, Queue: liveQueue,
		Merge: "/var/hvmail/libexec/merge_interrupted", PollInterval: 20e6}, rep1)
	if !errors.Is(err, ErrQueueMergeFailed) || res.ExitCode != 1 {
		t.Fatalf("interrupted merge: err = %v, exit %d; want ErrQueueMergeFailed and exit 1", err, res.ExitCode)
	}
	if res.Merged != int64(msgs/4) || res.Remaining != int64(msgs-msgs/4) || res.Total != int64(msgs) {
		t.Fatalf("interrupted merge: %d merged, %d left of %d; want %d, %d", res.Merged, res.Remaining, res.Total, msgs/4, msgs-msgs/4)
	}

	// Then the real run feeds what is left.
	rep := &recorder{}
	res, err = QueueMerge(ctx, QueueMergeOptions{Host: h, OldQueue: parkedQueue, Queue: liveQueue, Merge: mergeProg, PollInterval: 20e6}, rep)
	if err != nil {
		lines, _ := rep.snapshot()
		t.Fatalf("QueueMerge: %v\n%s", err, strings.Join(lines, "\n"))
	}
	if res.Total != int64(msgs-msgs/4) || res.Merged != res.Total || res.Remaining != 0 || res.ExitCode != 0 || res.Old.Split != 23 || res.New.Split != 23 {
		t.Errorf("result = %+v (without messages listing)", QueueMergeResult{Total: res.Total, Merged: res.Merged, Remaining: res.Remaining, ExitCode: res.ExitCode})
	}
	lines, ps := rep.snapshot()
	if !strings.Contains(strings.Join(lines, "\n"), fmt.Sprintf("merged %d messages", msgs-msgs/4)) {
		t.Errorf("the merge program's output did not reach the reporter: %q", lines)
	}
	if len(ps) < 2 {
		t.Fatalf("only %d progress reports", len(ps))
	}
	for i, p := range ps {
		if p.Unit != "messages" || p.Total != res.Total || p.Done+p.Remaining != p.Total {
			t.Fatalf("report %d = %+v", i, p)
		}
		if i > 0 && (p.Remaining > ps[i-1].Remaining || p.Done < ps[i-1].Done) {
			t.Fatalf("report %d went backwards: %+v after %+v", i, p, ps[i-1])
		}
	}
	if last := ps[len(ps)-1]; last.Remaining != 0 || last.Done != res.Total {
		t.Errorf("last report %+v, want nothing remaining", last)
	}

	// Every message arrived once, named after its inode in the right split
	// directory, with its info and remote files beside it.
	seen := map[string]int{}
	err = filepath.WalkDir(filepath.Join(live, "mess"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasPrefix(p, parked) {
			return filepath.SkipDir
		}
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		ino := fi.Sys().(*syscall.Stat_t).Ino
		name := filepath.Base(p)
		if name != strconv.FormatUint(ino, 10) || filepath.Base(filepath.Dir(p)) != strconv.FormatUint(ino%23, 10) {
			t.Errorf("%s is not named after its inode %d", p, ino)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		seen[string(b)]++
		var i int
		fmt.Sscanf(string(b), "Received: test\nSubject: message %d", &i)
		split := strconv.FormatUint(ino%23, 10)
		info, _ := os.ReadFile(filepath.Join(live, "info", split, name))
		if string(info) != queueInfo(i) {
			t.Errorf("message %d: info %q, want %q", i, info, queueInfo(i))
		}
		for q, has := range map[string]bool{"remote": i%2 == 0, "local": i%5 == 0} {
			b, err := os.ReadFile(filepath.Join(live, q, split, name))
			if has && string(b) != queueRcpt(i) || !has && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("message %d: %s file %q (%v)", i, q, b, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range bodies {
		if seen[b] != 1 {
			t.Errorf("message %d arrived %d times", i, seen[b])
		}
	}
	if len(seen) != msgs {
		t.Errorf("%d distinct messages in the live queue, want %d", len(seen), msgs)
	}
	if n, err := CountFiles(ctx, h, parkedQueue); err != nil || n != 0 {
		t.Errorf("parked queue still holds %d files (%v)", n, err)
	}

	// A third run finds nothing to do and does not start the program.
	res, err = QueueMerge(ctx, QueueMergeOptions{Host: h, OldQueue: parkedQueue, Queue: liveQueue, Merge: "/nonexistent"}, Discard)
	if err != nil || res.ExitCode != -1 || res.Total != 0 {
		t.Errorf("empty parked queue: %+v, %v", res, err)
	}
}

func TestQueueLayoutRefused(t *testing.T) {
	tests := []struct {
		name   string
		break_ func(t *testing.T, q string)
		want   string
	}{
		{"no mess", func(t *testing.T, q string) { os.RemoveAll(filepath.Join(q, "mess")) }, "no mess/"},
		{"no todo", func(t *testing.T, q string) { os.RemoveAll(filepath.Join(q, "todo")) }, "no todo/"},
		{"gap in split", func(t *testing.T, q string) { os.RemoveAll(filepath.Join(q, "mess", "7")) }, "not numbered"},
		{"named split", func(t *testing.T, q string) { os.MkdirAll(filepath.Join(q, "mess", "batch"), 0o700) }, "not a number"},
		{"info split differs", func(t *testing.T, q string) { os.MkdirAll(filepath.Join(q, "info", "23"), 0o700) }, "split 24 ways"},
		{"unsplit message", func(t *testing.T, q string) { os.WriteFile(filepath.Join(q, "mess", "12345"), nil, 0o600) }, "not split directories"},
		{"named message", func(t *testing.T, q string) { os.WriteFile(filepath.Join(q, "mess", "3", "batch-1.dat"), nil, 0o600) }, "not named by a number"},
		{"nested directory", func(t *testing.T, q string) { os.MkdirAll(filepath.Join(q, "mess", "3", "x"), 0o700) }, "not plain message files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, root := localHost(t)
			makeQueue(t, filepath.Join(root, liveQueue), 23)
			parked := filepath.Join(root, parkedQueue)
			makeQueue(t, parked, 23)
			addParkedMessages(t, parked, 23, 5)
			tt.break_(t, parked)
			marker := filepath.Join(root, "ran")
			script := filepath.Join(root, mergeProg)
			os.MkdirAll(filepath.Dir(script), 0o755)
			os.WriteFile(script, []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755)
			_, err := QueueMerge(context.Background(), QueueMergeOptions{Host: h, OldQueue: parkedQueue, Queue: liveQueue, Merge: mergeProg}, Discard)
			var le *QueueLayoutError
			if !errors.As(err, &le) || !errors.Is(err, ErrUnknownQueueLayout) || le.Dir != parkedQueue || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a layout error for %s mentioning %q", err, parkedQueue, tt.want)
			}
			if _, err := os.Stat(marker); err == nil {
				t.Error("the merge program ran despite the refusal")
			}
		})
	}

	// A big-todo queue (todo/ split too) is recognised.
	h, root := localHost(t)
	q := filepath.Join(root, "q")
	makeQueue(t, q, 5)
	for i := range 5 {
		os.MkdirAll(filepath.Join(q, "todo", strconv.Itoa(i)), 0o700)
	}
	lay, err := DetectQueueLayout(context.Background(), otherHost{h}, "/q", true)
	if err != nil || lay.Split != 5 || !lay.BigTodo || len(lay.Messages) != 0 {
		t.Errorf("big-todo queue: %+v, %v", lay, err)
	}
	if _, err := DetectQueueLayout(context.Background(), h, "/missing", false); err == nil || errors.Is(err, ErrUnknownQueueLayout) {
		t.Errorf("missing queue: err = %v, want a plain error", err)
	}
}
