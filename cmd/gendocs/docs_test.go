package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ferry-migrate/ferry/cmd"
)

func TestWriteDocs(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1796083200") // 2026-12-01
	dir := t.TempDir()
	if err := WriteDocs(dir, "1.2.3", time.Time{}); err != nil {
		t.Fatal(err)
	}

	// One page per command that --help lists, and no other.
	root := cmd.Command(cmd.BuildInfo{})
	var want []string
	for _, n := range ManPageNames(root) {
		want = append(want, n+".gz")
	}
	entries, err := os.ReadDir(filepath.Join(dir, DocsManDir))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("manual pages %v, want %v", got, want)
	}
	for _, must := range []string{"ferry.1.gz", "ferry-run.1.gz", "ferry-checklist.1.gz", "ferry-version.1.gz"} {
		if !slices.Contains(got, must) {
			t.Errorf("no %s among %v", must, got)
		}
	}
	if !slices.Contains(got, "ferry-attach.1.gz") {
		t.Errorf("no page for the attach command: %v", got)
	}

	// Every listed command has its page; each page is a roff man page.
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() && !slices.Contains(got, "ferry-"+c.Name()+".1.gz") {
			t.Errorf("no page for %q", c.Name())
		}
	}
	for _, name := range got {
		page := gunzip(t, filepath.Join(dir, DocsManDir, name))
		title := strings.ToUpper(strings.TrimSuffix(name, ".1.gz"))
		if !strings.Contains(page, `.TH "`+title+`" "1" "Dec 2026" "ferry 1.2.3"`) {
			t.Errorf("%s: no .TH line for %s dated by SOURCE_DATE_EPOCH:\n%.300s", name, title, page)
		}
	}
	rootPage := gunzip(t, filepath.Join(dir, DocsManDir, "ferry.1.gz"))
	exit, see := strings.Index(rootPage, ".SH EXIT STATUS"), strings.Index(rootPage, ".SH SEE ALSO")
	if exit < 0 || see < exit || !strings.Contains(rootPage, `\fB--version\fP`) || !strings.Contains(rootPage, "ferry-run(1)") {
		t.Errorf("ferry.1 lacks exit status before SEE ALSO, --version or its subcommands:\n%s", rootPage)
	}

	// The three completions, each for ferry and in its shell's form.
	for name, marker := range map[string]string{
		BashCompletionFile: "complete -o default -F __start_ferry ferry",
		ZshCompletionFile:  "#compdef ferry",
		FishCompletionFile: "complete -c ferry",
	} {
		b, err := os.ReadFile(filepath.Join(dir, DocsCompletionsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), marker) {
			t.Errorf("%s (%d bytes) lacks %q", name, len(b), marker)
		}
	}

	// Same commit, same bytes: a second run writes identical files.
	again := t.TempDir()
	// A stale page from an earlier run is removed.
	stale := filepath.Join(again, DocsManDir, "ferry-gone.1.gz")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteDocs(again, "1.2.3", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Errorf("%s left behind", stale)
	}
	// An explicit date wins over SOURCE_DATE_EPOCH.
	dated := t.TempDir()
	if err := WriteDocs(dated, "", time.Unix(1780000000, 0).UTC()); err != nil { // 2026-05-28
		t.Fatal(err)
	}
	if page := gunzip(t, filepath.Join(dated, DocsManDir, "ferry-run.1.gz")); !strings.Contains(page, `.TH "FERRY-RUN" "1" "May 2026" "ferry" "ferry manual"`) {
		t.Errorf("dated page's header:\n%.200s", page)
	}
	for _, name := range got {
		a, _ := os.ReadFile(filepath.Join(dir, DocsManDir, name))
		b, _ := os.ReadFile(filepath.Join(again, DocsManDir, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// gunzip returns the decompressed contents of the gzip file path.
func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return string(b)
}
