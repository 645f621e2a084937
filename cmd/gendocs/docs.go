package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-migrate/ferry/cmd"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// Where WriteDocs puts what it makes, relative to its directory, and the
// file names the packages install (.goreleaser.yaml nfpms contents).
const (
	DocsManDir         = "man"         // the manual pages, section 1, gzipped
	DocsCompletionsDir = "completions" // the shell completions
	BashCompletionFile = "ferry.bash"  // bash-completion's per-command file, installed as "ferry"
	ZshCompletionFile  = "_ferry"      // zsh's autoloaded completion function
	FishCompletionFile = "ferry.fish"  // fish's per-command completion file
)

// WriteDocs writes ferry's manual pages and shell completions under dir
// (made if missing), generated from the same cobra commands the binary runs,
// so they cannot drift from --help:
//   - dir/man/ferry.1.gz, and ferry-CMD.1.gz for every command --help lists
//     (hidden ones are left out), gzipped as man-db reads them where the
//     packages install them;
//   - dir/completions/ferry.bash, _ferry and ferry.fish, from cobra's bash
//     (v2), zsh and fish generators.
//
// What an earlier run left in those two directories is removed first, so a
// command renamed or hidden leaves no page behind.
//
// version is shown in each page's footer ("ferry VERSION"); may be empty.
// date is the pages' date (month and year are shown); when zero it is taken
// from SOURCE_DATE_EPOCH (seconds since 1970) if set, else today. The
// release build passes the commit's time, so that a release rebuilt from the
// same commit is byte-identical; the gzip streams carry no name and no time
// for the same reason. Errors are those of writing the files.
func WriteDocs(dir, version string, date time.Time) error {
	root := cmd.Command(cmd.BuildInfo{Version: version})
	root.DisableAutoGenTag = true
	root.InitDefaultVersionFlag()

	manDir := filepath.Join(dir, DocsManDir)
	compDir := filepath.Join(dir, DocsCompletionsDir)
	for _, d := range []string{manDir, compDir} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}

	plain, err := os.MkdirTemp("", "ferry-man-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(plain)
	source := "ferry"
	if version != "" {
		source += " " + version
	}
	header := &doc.GenManHeader{Section: "1", Source: source, Manual: "ferry manual"}
	if !date.IsZero() {
		header.Date = &date
	}
	if err := doc.GenManTreeFromOpts(root, doc.GenManTreeOptions{
		Header: header, Path: plain, CommandSeparator: "-",
	}); err != nil {
		return fmt.Errorf("manual pages: %w", err)
	}
	pages, err := os.ReadDir(plain)
	if err != nil {
		return err
	}
	for _, p := range pages {
		page, err := os.ReadFile(filepath.Join(plain, p.Name()))
		if err != nil {
			return err
		}
		if p.Name() == "ferry.1" {
			page = withRootSections(page)
		}
		if err := writeGzip(filepath.Join(manDir, p.Name()+".gz"), page); err != nil {
			return err
		}
	}

	completions := []struct {
		name string
		gen  func(*bytes.Buffer) error
	}{
		{BashCompletionFile, func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) }},
		{ZshCompletionFile, func(b *bytes.Buffer) error { return root.GenZshCompletion(b) }},
		{FishCompletionFile, func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) }},
	}
	for _, c := range completions {
		var b bytes.Buffer
		if err := c.gen(&b); err != nil {
			return fmt.Errorf("completion %s: %w", c.name, err)
		}
		if err := os.WriteFile(filepath.Join(compDir, c.name), b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// ManPageNames is the file name of every manual page WriteDocs makes for
// the command tree under root, before gzip: "ferry.1", "ferry-run.1", … one
// per command that --help lists, as cobra's GenManTree names them.
func ManPageNames(root *cobra.Command) []string {
	names := []string{strings.ReplaceAll(root.CommandPath(), " ", "-") + ".1"}
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() {
			continue
		}
		names = append(names, ManPageNames(c)...)
	}
	return names
}

// rootSections is what ferry.1 says beyond the command's help: the exit
// codes (cmd/exit.go), the files a migration keeps, and a pointer to the
// README. roff, inserted before SEE ALSO as man-pages(7) orders sections.
const rootSections = `.SH EXIT STATUS
.TP
.B 0
done.
.TP
.B 1
a step failed, or another error.
.TP
.B 2
bad usage or bad input: an unknown flag or value, a broken runbook, answers file or journal.
.TP
.B 3
a run with no terminal (headless, JSON or plain lines): a step needs a person; stderr says what to add to the answers file.
.TP
.B 4
another ferry holds this migration (the lock in the state directory).
.TP
.B 5
the journal is missing, empty or another migration's while the state directory or the new server shows that one began; no step runs. Restore the journal from \fBjournal.prev\fR, or give \fB\-\-start\-over\fR.
.TP
.B 130
interrupted (ctrl+c, a signal) or stopped at the admin's request; the journal keeps the place.
.SH FILES
.TP
.I /var/lib/ferry
the default state directory (\fB\-\-state\-dir\fR): the journal, its copy \fBjournal.prev\fR, the lock, \fBmigration\-id\fR and the answers given.
.TP
.I /usr/share/doc/ferry/README.md
how to try ferry on simulated servers and how to use it for real.
.TP
.I /usr/share/doc/ferry/answers.md
the answers file of a headless run, key by key (see also \fBferry\-answers\fR(1)).
`

// withRootSections inserts rootSections into the roff page before its SEE
// ALSO section, or at its end when it has none.
func withRootSections(page []byte) []byte {
	s := string(page)
	if i := strings.Index(s, ".SH SEE ALSO"); i >= 0 {
		return []byte(s[:i] + rootSections + s[i:])
	}
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + rootSections)
}

// writeGzip writes data gzipped (best compression, no name or time in the
// header) to path, mode 0644.
func writeGzip(path string, data []byte) error {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(data); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
