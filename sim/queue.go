package sim

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Split is the queue subdirectory split of the simulated disk queues (qmail's
// conf-split default).
const Split = 23

// queueSplitDirs are the split directories of a qmail-style queue.
var queueSplitDirs = []string{"mess", "info", "local", "remote"}

// makeQueueLayout creates an empty qmail-style queue at q (a real path).
func makeQueueLayout(q string) error {
	for _, d := range queueSplitDirs {
		for i := 0; i < Split; i++ {
			if err := os.MkdirAll(filepath.Join(q, d, strconv.Itoa(i)), 0o750); err != nil {
				return err
			}
		}
	}
	for _, d := range []string{"intd", "todo", "bounce", "pid", "lock"} {
		if err := os.MkdirAll(filepath.Join(q, d), 0o750); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(q, "lock", "tcpto"), make([]byte, 1024), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(q, "lock", "sendmutex"), nil, 0o600); err != nil {
		return err
	}
	trigger := filepath.Join(q, "lock", "trigger")
	if _, err := os.Lstat(trigger); errors.Is(err, fs.ErrNotExist) {
		if err := syscall.Mkfifo(trigger, 0o622); err != nil {
			return fmt.Errorf("mkfifo %s: %w", trigger, err)
		}
	}
	return nil
}

var (
	firstNames = []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar", "peggy", "trent", "victor", "walter"}
	rcptDomain = []string{"example.com", "example.org", "example.edu", "mail.example.com", "yahoo.example", "gmail.example"}
	lorem      = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat")
)

// buildQueue fills the disk queue at q (a real path) with Options.Messages
// messages the way qmail-queue and qmail-send leave them: the body in
// mess/<id%23>/<id> where id is the file's own inode number, the envelope
// sender in info/, recipients in remote/ (a few in local/), and a few
// messages not yet preprocessed (intd/<id> hard-linked to todo/<id>). The
// SHA-256 of every body goes to SimDir/queue-bodies.sha256.
func (s *Sim) buildQueue(q string) error {
	if err := makeQueueLayout(q); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(s.Options.Seed), 3))
	now := time.Now()
	var sums strings.Builder
	for i := 0; i < s.Options.Messages; i++ {
		birth := now.Add(-time.Duration(rng.IntN(72*3600)) * time.Second)
		sender := fmt.Sprintf("bounces-%d-%d@%s", s.Options.Seed, i, "news.example.net")
		nrcpt := 1 + rng.IntN(3)
		rcpts := make([]string, nrcpt)
		for j := range rcpts {
			rcpts[j] = fmt.Sprintf("%s.%d@%s", firstNames[rng.IntN(len(firstNames))], rng.IntN(100000), rcptDomain[rng.IntN(len(rcptDomain))])
		}
		body := s.messageBody(rng, i, sender, rcpts, birth)
		sum := sha256.Sum256(body)
		sums.WriteString(hex.EncodeToString(sum[:]) + "\n")

		id, err := queueBody(q, body, i)
		if err != nil {
			return err
		}
		sub := strconv.FormatUint(id%Split, 10)
		name := strconv.FormatUint(id, 10)
		if err := os.Chtimes(filepath.Join(q, "mess", sub, name), birth, birth); err != nil {
			return err
		}

		// About one message in fifty has not been preprocessed yet.
		if rng.IntN(50) == 0 {
			env := "u0\x00p" + strconv.Itoa(1000+i) + "\x00F" + sender + "\x00"
			for _, r := range rcpts {
				env += "T" + r + "\x00"
			}
			env += "\x00"
			intd := filepath.Join(q, "intd", name)
			if err := writeFile(intd, []byte(env), 0o600); err != nil {
				return err
			}
			if err := os.Chtimes(intd, birth, birth); err != nil {
				return err
			}
			if err := os.Link(intd, filepath.Join(q, "todo", name)); err != nil {
				return err
			}
			continue
		}
		if err := writeFile(filepath.Join(q, "info", sub, name), []byte("F"+sender+"\x00"), 0o600); err != nil {
			return err
		}
		if err := os.Chtimes(filepath.Join(q, "info", sub, name), birth, birth); err != nil {
			return err
		}
		// Recipients: delivered ones are marked D in place, as qmail does.
		var remote, local strings.Builder
		for j, r := range rcpts {
			mark := "T"
			if j > 0 && rng.IntN(3) == 0 {
				mark = "D"
			}
			if rng.IntN(20) == 0 {
				local.WriteString(mark + strings.Replace(r, "@", "@"+OldHostname+"-", 1) + "\x00")
				continue
			}
			remote.WriteString(mark + r + "\x00")
		}
		retry := now.Add(time.Duration(1+rng.IntN(240)) * time.Minute)
		for dir, content := range map[string]string{"remote": remote.String(), "local": local.String()} {
			if content == "" {
				continue
			}
			f := filepath.Join(q, dir, sub, name)
			if err := writeFile(f, []byte(content), 0o600); err != nil {
				return err
			}
			if err := os.Chtimes(f, retry, retry); err != nil {
				return err
			}
		}
		// The first message also has a bounce in progress.
		if i == 0 {
			if err := writeFile(filepath.Join(q, "bounce", name), []byte("<"+rcpts[0]+">:\nSorry, I couldn't find any host by that name.\n\n"), 0o600); err != nil {
				return err
			}
		}
	}
	return writeFile(filepath.Join(s.SimDir, "queue-bodies.sha256"), []byte(sums.String()), 0o644)
}

// queueBody stores body the way qmail-queue does: a new file in pid/, its
// inode number becomes the message id, and it is renamed to
// mess/<id%23>/<id>.
func queueBody(q string, body []byte, seq int) (uint64, error) {
	tmp := filepath.Join(q, "pid", fmt.Sprintf("%d.%d.%d", os.Getpid(), time.Now().Unix(), seq))
	if err := writeFile(tmp, body, 0o644); err != nil {
		return 0, err
	}
	id, err := inode(tmp)
	if err != nil {
		return 0, err
	}
	dst := filepath.Join(q, "mess", strconv.FormatUint(id%Split, 10), strconv.FormatUint(id, 10))
	if _, err := os.Lstat(dst); err == nil {
		return 0, fmt.Errorf("queue %s: %s already exists although inode %d was just allocated", q, dst, id)
	}
	return id, os.Rename(tmp, dst)
}

func inode(path string) (uint64, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no inode number", path)
	}
	return st.Ino, nil
}

func (s *Sim) messageBody(rng *rand.Rand, i int, sender string, rcpts []string, birth time.Time) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Received: (qmail %d invoked by uid 0); %s\n", 10000+i, birth.UTC().Format("2 Jan 2006 15:04:05 -0000"))
	fmt.Fprintf(&b, "Return-Path: <%s>\n", sender)
	fmt.Fprintf(&b, "From: \"Example News\" <news@news.example.net>\n")
	fmt.Fprintf(&b, "To: %s\n", strings.Join(rcpts, ", "))
	fmt.Fprintf(&b, "Subject: Example newsletter, issue %d\n", i+1)
	fmt.Fprintf(&b, "Date: %s\n", birth.UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%d.%d.sim@%s>\n", s.Options.Seed, i, OldHostname)
	b.WriteString("MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n")
	line := 0
	for b.Len() < s.Options.MessageSize {
		b.WriteString(lorem[rng.IntN(len(lorem))])
		line++
		if line%12 == 0 {
			b.WriteByte('\n')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\n")
	return []byte(b.String())
}

// OldQueueMessages counts the message files in the old server's disk queue
// (mess/*), as qmail-qstat does.
func (s *Sim) OldQueueMessages() (int, error) {
	return CountFiles(filepath.Join(s.OldRoot+QueueDir, "mess"))
}

// CountFiles returns how many regular files lie under dir, at any depth
// (symbolic links and directories are not counted). A missing or unreadable
// dir is an error.
func CountFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n, err
}

// QueueReport is what NewQueueCheck found in the new server's disk queue.
type QueueReport struct {
	Messages   int      // files under mess/
	Misnamed   []string // mess files whose name is not their inode number
	WrongSplit []string // mess files not in subdirectory name%23
	// Orphans are mess files with neither info/<id> nor todo/<id>: qmail-send
	// would never deliver them.
	Orphans []string
	// Duplicates counts bodies present more than once.
	Duplicates int
	// Missing counts bodies of the original old queue found nowhere in the
	// new queue; Unknown counts bodies that were not in the original queue.
	Missing, Unknown int
	// Expected is the size of the original old queue.
	Expected int
	// OldPresent reports whether queue/old still exists; OldRemaining is the
	// number of files left under queue/old/mess.
	OldPresent   bool
	OldRemaining int
}

// OK reports whether the new queue holds every original message exactly
// once, each correctly named and placed.
func (r QueueReport) OK() bool {
	return r.Messages == r.Expected && len(r.Misnamed) == 0 && len(r.WrongSplit) == 0 &&
		len(r.Orphans) == 0 && r.Duplicates == 0 && r.Missing == 0 && r.Unknown == 0
}

// String summarises the report on one line.
func (r QueueReport) String() string {
	return fmt.Sprintf("%d messages (expected %d), %d misnamed, %d in the wrong split directory, %d orphans, %d duplicates, %d missing, %d unknown; queue/old present: %v (%d files left)",
		r.Messages, r.Expected, len(r.Misnamed), len(r.WrongSplit), len(r.Orphans), r.Duplicates, r.Missing, r.Unknown, r.OldPresent, r.OldRemaining)
}

// NewQueueCheck inspects the new server's disk queue: every message named
// after its inode and in the right split directory, with its envelope, and
// each of the original old queue's bodies there exactly once.
func (s *Sim) NewQueueCheck() (QueueReport, error) {
	return s.checkQueue(s.NewRoot + QueueDir)
}

func (s *Sim) checkQueue(q string) (QueueReport, error) {
	var r QueueReport
	want, err := s.originalSums()
	if err != nil {
		return r, err
	}
	r.Expected = len(want)
	seen := map[string]int{}
	messDir := filepath.Join(q, "mess")
	subs, err := os.ReadDir(messDir)
	if err != nil {
		return r, fmt.Errorf("new queue: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(messDir, sub.Name()))
		if err != nil {
			return r, err
		}
		for _, f := range files {
			if !f.Type().IsRegular() {
				continue
			}
			r.Messages++
			rel := "mess/" + sub.Name() + "/" + f.Name()
			p := filepath.Join(messDir, sub.Name(), f.Name())
			ino, err := inode(p)
			if err != nil {
				return r, err
			}
			name, perr := strconv.ParseUint(f.Name(), 10, 64)
			if perr != nil || name != ino {
				r.Misnamed = append(r.Misnamed, rel)
			}
			if perr != nil || strconv.FormatUint(name%Split, 10) != sub.Name() {
				r.WrongSplit = append(r.WrongSplit, rel)
			}
			if !exists(filepath.Join(q, "info", sub.Name(), f.Name())) && !exists(filepath.Join(q, "todo", f.Name())) {
				r.Orphans = append(r.Orphans, rel)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return r, err
			}
			sum := sha256.Sum256(b)
			seen[hex.EncodeToString(sum[:])]++
		}
	}
	for h, n := range seen {
		if n > 1 {
			r.Duplicates += n - 1
		}
		if !want[h] {
			r.Unknown += n
		}
	}
	for h := range want {
		if seen[h] == 0 {
			r.Missing++
		}
	}
	sort.Strings(r.Misnamed)
	sort.Strings(r.WrongSplit)
	sort.Strings(r.Orphans)
	old := filepath.Join(q, "old")
	if fi, err := os.Stat(old); err == nil && fi.IsDir() {
		r.OldPresent = true
		if n, err := CountFiles(filepath.Join(old, "mess")); err == nil {
			r.OldRemaining = n
		}
	}
	return r, nil
}

func (s *Sim) originalSums() (map[string]bool, error) {
	f, err := os.Open(filepath.Join(s.SimDir, "queue-bodies.sha256"))
	if err != nil {
		return nil, fmt.Errorf("original queue list: %w", err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out[l] = true
		}
	}
	return out, sc.Err()
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
