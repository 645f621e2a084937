package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// FactMigrationID is the fact holding the migration's id (the journal
// header's), recorded when a session opens.
const FactMigrationID = "migration_id"

// HostsNote is the comment ferry writes after the name on a line it adds to
// /etc/hosts: it says who added the line and for which migration, so that a
// later ferry recognises its own line (HostEvidence).
func HostsNote(migration string) string {
	if migration == "" {
		return ""
	}
	return "added by ferry for migration " + migration
}

// hostsNoteRE reads the migration id back from a hosts line's comment.
var hostsNoteRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#\s*added by ferry for migration (\S+)`) })

// Evidence is one sign, found in the state directory or on a server, that a
// migration already began.
type Evidence struct {
	// What names the sign and where it was found (a path, a line number).
	What string
	// Decisive: this sign alone shows a migration under way or done. Weak
	// signs (a lock file, ferry's backups of /etc/hosts) are named only
	// when a decisive one is found too.
	Decisive bool
}

// LostJournalError says that the state directory's journal is missing,
// empty, or belongs to another migration, while other signs show that a
// migration already began here. ferry stops before any step: starting
// afresh would run again what already ran (stop the old server, copy and
// merge its queue a second time).
type LostJournalError struct {
	Dir string
	// Problem says what is wrong with the journal ("missing", "empty", or
	// which migration it belongs to).
	Problem string
	// Replaced: the journal is there but another migration's (or has no
	// header while the state directory has a migration id).
	Replaced bool
	// Found lists the signs of the earlier migration.
	Found []Evidence
	// Prev describes the rotated copy (JournalPrevFile) when it is usable:
	// its path, events and last time; "" when there is none.
	Prev string
}

func (e *LostJournalError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the journal %s is %s", filepath.Join(e.Dir, JournalFile), e.Problem)
	if e.Replaced {
		b.WriteString("; ferry will not go on from another migration's record, ")
	} else {
		b.WriteString(", but a migration already began here; ferry ")
	}
	b.WriteString("will not start the migration again from the beginning, because that would re-run steps that already ran (stopping mail, copying and merging the queue twice). Found:")
	for _, f := range e.Found {
		b.WriteString("\n  - " + f.What)
	}
	b.WriteString("\nTo go on:")
	if e.Prev != "" {
		fmt.Fprintf(&b, "\n  - restore the journal from ferry's copy, %s:\n      cp -p %s %s\n    the copy is refreshed whenever a step ends or waits; if ferry was killed after it was made, compare its last events with the servers first",
			e.Prev, filepath.Join(e.Dir, JournalPrevFile), filepath.Join(e.Dir, JournalFile))
	}
	b.WriteString("\n  - or, if you truly mean to begin a new migration, run the same command with --start-over (the earlier state is moved aside into the state directory, not deleted)")
	return b.String()
}

// StateEvidence lists the signs of an earlier migration in the state
// directory dir: the migration id file, the journal's rotated copy, a saved
// answers file that holds something, and (weak) a lock file that was there
// before this ferry took it (lockExisted).
func StateEvidence(dir string, lockExisted bool) []Evidence {
	var out []Evidence
	if id, err := ReadMigrationID(dir); err == nil && id != "" {
		out = append(out, Evidence{What: fmt.Sprintf("%s: migration %s", filepath.Join(dir, MigrationIDFile), id), Decisive: true})
	}
	if d := describePrev(dir); d != "" {
		out = append(out, Evidence{What: "ferry's copy of the journal, " + d, Decisive: true})
	}
	if b, err := os.ReadFile(filepath.Join(dir, AnswersFile)); err == nil {
		var a AnswerSet
		if json.Unmarshal(b, &a) == nil && (len(a.Answers)+len(a.Confirm)+len(a.Done)+len(a.Skip)+len(a.Repeat) > 0) {
			out = append(out, Evidence{What: fmt.Sprintf("%s: the answers of that migration (%d answers, %d confirmations, %d manual steps done)",
				filepath.Join(dir, AnswersFile), len(a.Answers), len(a.Confirm), len(a.Done)), Decisive: true})
		}
	}
	if lockExisted {
		what := filepath.Join(dir, LockFile) + ": the lock of an earlier ferry"
		if pid := LockHolder(dir); pid > 0 {
			what += fmt.Sprintf(" (pid %d)", pid)
		}
		out = append(out, Evidence{What: what})
	}
	return out
}

// describePrev describes the rotated copy of the journal in dir, "" when
// there is none or it cannot be read.
func describePrev(dir string) string {
	path := filepath.Join(dir, JournalPrevFile)
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc, err := ScanJournal(f, path)
	if err != nil || len(sc.Events) == 0 {
		return ""
	}
	last := sc.Events[len(sc.Events)-1]
	d := fmt.Sprintf("%s (%d events, the last at %s", path, len(sc.Events), last.Time.UTC().Format(time.RFC3339))
	if sc.Header != nil {
		d += ", migration " + sc.Header.Migration
	}
	return d + ")"
}

// HostEvidence lists the signs of an earlier migration on the new server h,
// using the runbook's parameters: a line in /etc/hosts naming the old
// server's alias (param old_alias; decisive when its comment says ferry
// added it for a migration (HostsNote), or beside ferry's backups of
// /etc/hosts, since an admin may add that line by hand), ferry's backups
// of /etc/hosts (FILE.ferry-backup-*; weak: ferry never deletes them, so
// they outlive a finished migration), and the old server's queue parked on
// the new one (param old_queue; decisive, it exists only between the final
// copy and the merge's clean-up). Errors reading are not evidence.
func HostEvidence(ctx context.Context, h remote.Host, rb *Runbook) []Evidence {
	if h == nil || rb == nil {
		return nil
	}
	var out []Evidence
	backups, _ := filepath.Glob(h.Path("/etc/hosts") + ".ferry-backup-*")
	if alias, _ := rb.Params["old_alias"].(string); alias != "" {
		if b, err := h.ReadFile(ctx, "/etc/hosts"); err == nil {
			for i, l := range strings.Split(string(b), "\n") {
				if _, names, ok := hostsLineNames(l); ok && containsFold(names, alias) {
					if m := hostsNoteRE().FindStringSubmatch(l); m != nil {
						out = append(out, Evidence{What: fmt.Sprintf("/etc/hosts on %s, line %d (%q): the %s alias ferry added for migration %s", h.Name(), i+1, strings.TrimSpace(l), alias, m[1]), Decisive: true})
						continue
					}
					out = append(out, Evidence{What: fmt.Sprintf("/etc/hosts on %s, line %d (%q): the %s alias the migration adds", h.Name(), i+1, strings.TrimSpace(l), alias), Decisive: len(backups) > 0})
				}
			}
		}
	}
	if len(backups) > 0 {
		out = append(out, Evidence{What: fmt.Sprintf("%d backup(s) of /etc/hosts made by ferry on %s (the newest %s)", len(backups), h.Name(), filepath.Base(backups[len(backups)-1]))})
	}
	if q, _ := rb.Params["old_queue"].(string); q != "" {
		if _, err := h.Stat(ctx, q); err == nil {
			out = append(out, Evidence{What: fmt.Sprintf("%s on %s: the old server's queue, parked there by the final copy", q, h.Name()), Decisive: true})
		}
	}
	return out
}

func hostsLineNames(line string) (addr string, names []string, ok bool) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return "", nil, false
	}
	return f[0], f[1:], true
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// CheckContinuity decides, before a session opens the journal of dir,
// whether the journal can be trusted to tell where the migration stands.
// It returns a *LostJournalError when the journal is missing or empty
// while evidence (StateEvidence with lockExisted, and host) shows an
// earlier migration, or when the journal belongs to another migration than
// the state directory's MigrationIDFile. A damaged journal is returned as
// the reader's error.
func CheckContinuity(dir string, lockExisted bool, host []Evidence) error {
	sc, err := InspectJournal(dir)
	var hdr *JournalHeader
	if sc != nil {
		hdr = sc.Header
	}
	return continuity(dir, lockExisted, host, hdr, sc != nil && len(sc.Events) > 0, err)
}

// continuity is CheckContinuity's decision from what the journal's reader
// found: its header (nil when none), whether it holds any event, and the
// reader's error (ErrNoJournal for a missing journal; any other is
// returned as it is).
func continuity(dir string, lockExisted bool, host []Evidence, hdr *JournalHeader, hasEvents bool, err error) error {
	problem := "empty"
	switch {
	case errors.Is(err, ErrNoJournal):
		problem, hdr, hasEvents = "missing", nil, false
	case err != nil:
		return err
	}
	sc := &JournalScan{Header: hdr}
	id, err := ReadMigrationID(dir)
	if err != nil {
		return err
	}
	if sc.Header != nil || hasEvents {
		switch {
		case id == "":
			return nil
		case sc.Header == nil:
			problem = fmt.Sprintf("not the journal of migration %s (it has no header, so it was written elsewhere or before)", id)
		case sc.Header.Migration != id:
			problem = fmt.Sprintf("the journal of migration %s, not of migration %s which this state directory belongs to", sc.Header.Migration, id)
		default:
			return nil
		}
		return &LostJournalError{Dir: dir, Problem: problem, Replaced: true, Found: StateEvidence(dir, lockExisted), Prev: describePrev(dir)}
	}
	found := append(StateEvidence(dir, lockExisted), host...)
	for _, f := range found {
		if f.Decisive {
			return &LostJournalError{Dir: dir, Problem: problem, Found: found, Prev: describePrev(dir)}
		}
	}
	return nil
}

// StartOver moves the journal, its copy, the migration id and the saved
// answers of dir aside into a new directory dir/superseded-TIME (UTC), so
// that a new migration begins; the lock stays. It returns that directory,
// "" when there was nothing to move.
func StartOver(dir string) (string, error) {
	var moved []string
	for _, name := range []string{JournalFile, JournalPrevFile, MigrationIDFile, AnswersFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			moved = append(moved, name)
		}
	}
	if len(moved) == 0 {
		return "", nil
	}
	aside := filepath.Join(dir, "superseded-"+time.Now().UTC().Format("20060102T150405.000000000Z"))
	if err := os.Mkdir(aside, 0o700); err != nil {
		return "", fmt.Errorf("start over: %w", err)
	}
	for _, name := range moved {
		if err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name)); err != nil {
			return "", fmt.Errorf("start over: %w", err)
		}
	}
	if err := syncDir(aside); err != nil {
		return "", err
	}
	return aside, syncDir(dir)
}
