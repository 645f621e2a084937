package main

import (
	"go/build"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackageDocs checks that every package in the module has exactly one
// package doc comment (in the style of tailscale's pkgdoc_test.go): none
// leaves "go doc" empty, two make it depend on file order.
func TestPackageDocs(t *testing.T) {
	docs := map[string][]string{} // package directory -> files with a doc comment
	fset := token.NewFileSet()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		dir := filepath.Dir(path)
		// Files a normal build leaves out (build tags such as "tools") do
		// not count.
		if ok, err := build.Default.MatchFile(dir, name); err != nil || !ok {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		if _, seen := docs[dir]; !seen {
			docs[dir] = nil
		}
		if f.Doc != nil {
			docs[dir] = append(docs[dir], path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 2 {
		t.Fatalf("found only %d packages", len(docs))
	}
	for dir, files := range docs {
		switch len(files) {
		case 1:
		case 0:
			t.Errorf("package %s has no package doc comment", dir)
		default:
			t.Errorf("package %s has %d package doc comments (%s); keep one", dir, len(files), strings.Join(files, ", "))
		}
	}
}
