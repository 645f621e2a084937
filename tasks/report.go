// Package tasks holds one file per kind of work a runbook step can do: run a
// command, rsync a tree, count files, merge a queue, dump and restore a
// database, edit a configuration file, check a fact. A task acts on
// remote.Host values and reports what it does through a Reporter; it never
// prints and never touches the terminal.
package tasks

import "time"

// Reporter receives what a running task has to say. Implementations must be
// safe for concurrent use: a task may report from several goroutines.
// Progress may be called very often; the receiver throttles.
type Reporter interface {
	// Line is one line of output, already stripped of terminal control
	// sequences. stream is "stdout", "stderr" or "info" (ferry's own words).
	Line(stream, text string)
	// Progress is the latest snapshot of the task's counters. Counters in
	// successive snapshots never go backwards.
	Progress(p Progress)
}

// Progress is a snapshot of a task's counters. Zero fields are unknown.
type Progress struct {
	// Unit names what Done and Total count: "bytes", "files", "messages",
	// "items" (pg_restore TOC entries) or "rows".
	Unit  string `json:"unit,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total,omitempty"`
	// Files done and total, for transfers counted in bytes.
	FilesDone  int64 `json:"files_done,omitempty"`
	FilesTotal int64 `json:"files_total,omitempty"`
	// Remaining is used by tasks that count down (files left in a queue).
	Remaining int64 `json:"remaining,omitempty"`
	// Rate is Units per second over recent samples.
	Rate float64       `json:"rate,omitempty"`
	ETA  time.Duration `json:"eta,omitempty"`
	// Note is a short phrase on what is happening ("building file list").
	Note string `json:"note,omitempty"`
	// Sent says that Moved and FilesMoved are known: a finished rsync
	// whose --stats summary was read. Done and Total then hold the size of
	// the whole tree (the bar ends full); Moved is the bytes rsync actually
	// sent ("Total transferred file size") and FilesMoved the regular files
	// it sent ("Number of regular files transferred"), both 0 for a pass
	// that found nothing changed (rsync(1), --stats).
	Sent       bool  `json:"sent,omitempty"`
	Moved      int64 `json:"moved,omitempty"`
	FilesMoved int64 `json:"files_moved,omitempty"`
}

// Counts reports whether p counts anything: a unit or a number. A progress
// that only says what is happening (Note alone, "logging in to bj") does
// not, and is no counter to keep once its step ended.
func (p Progress) Counts() bool {
	return p.Unit != "" || p.Done != 0 || p.Total != 0 || p.FilesDone != 0 || p.FilesTotal != 0 || p.Remaining != 0 || p.Sent
}

// Discard is a Reporter that drops everything.
var Discard Reporter = discard{}

type discard struct{}

func (discard) Line(string, string) {}
func (discard) Progress(Progress)   {}
