// Package remote gives ferry one way to act on a server, whether that server
// is the machine ferry runs on (Local) or the old server reached over SSH
// (SSH): run a command with streamed output, read, write and inspect files.
//
// Every path handed to a Host is a path as the runbook names it ("/var/hvmail");
// the Host maps it under its Root. In real use the root is "/"; the demo and
// the tests give each simulated server its own directory as root, so nothing
// they do can reach the real /etc or /var.
package remote

import (
	"context"
	"io"
	"io/fs"
	"time"
)

// Host is one server taking part in a migration.
type Host interface {
	// Name is the label used in messages: "old" or "new".
	Name() string
	// Root is the directory runbook paths are relative to ("/" in real use).
	Root() string
	// Path maps a runbook path under Root. Path("/etc/hosts") is
	// "/etc/hosts" when Root is "/", and ROOT+"/etc/hosts" otherwise.
	Path(p string) string

	// Exec runs cmd and returns once it has exited and its output has been
	// delivered. A non-zero exit is not an error: it is in Result.ExitCode.
	// err is for commands that could not be started or whose exit status is
	// unknown (connection lost, cancelled). Cancelling ctx ends the process
	// (on SSH the whole remote process group, not just the session).
	Exec(ctx context.Context, cmd Cmd) (Result, error)

	// ReadFile returns the content of the file at runbook path p.
	ReadFile(ctx context.Context, p string) ([]byte, error)
	// WriteFile replaces the file at p atomically (temporary file in the same
	// directory, fsync, rename), keeping the owner and mode of an existing file;
	// mode applies to a new file. Where rename cannot work (p is a bind mount:
	// EBUSY) it writes in place after the caller's backup.
	WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error
	// Stat describes the file at p without following a final symlink (lstat).
	// A missing file gives an error satisfying errors.Is(err, fs.ErrNotExist).
	Stat(ctx context.Context, p string) (FileInfo, error)

	// Close releases the connection, if any.
	Close() error
}

// Cmd is a command to run on a Host. Argv is never passed through a shell by
// the Host unless Argv itself asks for one ("sh", "-c", ...); where the SSH
// protocol needs a command string, the Host quotes every word.
type Cmd struct {
	// Argv is the program and its arguments. An argv[0] holding a slash is a
	// runbook path and is mapped under the Host's Root; other words are passed
	// as they are (callers map path arguments with Host.Path).
	Argv []string
	// Env is extra KEY=VALUE settings for the command. They never appear in
	// any process's argv, on either machine (secrets such as PGPASSWORD go
	// here): the SSH host passes them through the session's stdin to a small
	// shell preamble, the local host through the process environment.
	Env []string
	// Dir is the working directory (a runbook path); empty means the default.
	Dir string
	// Stdin, Stdout and Stderr are optional. Nil Stdout/Stderr discard the
	// output. Use LineWriter to receive output line by line.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Result is how a command ended.
type Result struct {
	ExitCode int           // 0 on success; 128+n when killed by signal n
	Signal   string        // signal name ("TERM") when killed by one
	Duration time.Duration // wall time from start to exit
}

// FileInfo is what ferry needs to know about a file on a Host.
type FileInfo struct {
	Name       string
	Size       int64
	Mode       fs.FileMode // includes fs.ModeSymlink, fs.ModeDir ...
	ModTime    time.Time
	LinkTarget string // for symlinks: the target as stored in the link
	Inode      uint64
	UID, GID   int
}

// IsDir reports whether the file is a directory.
func (f FileInfo) IsDir() bool { return f.Mode.IsDir() }
