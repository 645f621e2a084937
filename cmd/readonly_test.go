package cmd

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestChecklistCodeCannotWrite reads the source of the checklist (its
// package, its terminal view and its command) and fails on anything that
// could run a program, reach a server or write a file. Together with
// TestChecklistIsReadOnly it keeps the checklist read-only by construction.
func TestChecklistCodeCannotWrite(t *testing.T) {
	files, err := filepath.Glob("../checklist/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no checklist sources: %v", err)
	}
	files = append(files, "../tui/checklist.go", "../tui/styles.go", "../tui/keys.go", "checklist.go")
	forbiddenImports := []string{"os/exec", "syscall", "net", "net/http",
		"github.com/ferry-migrate/ferry/remote", "github.com/ferry-migrate/ferry/tasks"}
	forbiddenCalls := map[string][]string{
		"os": {"WriteFile", "Create", "CreateTemp", "OpenFile", "Mkdir", "MkdirAll", "MkdirTemp", "Remove",
			"RemoveAll", "Rename", "Chmod", "Chown", "Chtimes", "Truncate", "Symlink", "Link", "StartProcess"},
		"wizard": {"OpenJournal", "AcquireLock", "NewEngine", "WriteAnswers"},
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbiddenImports {
				if p == bad {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok {
				for _, name := range forbiddenCalls[id.Name] {
					if sel.Sel.Name == name {
						t.Errorf("%s: uses %s.%s", fset.Position(sel.Pos()), id.Name, name)
					}
				}
			}
			return true
		})
	}
	if checked < 4 {
		t.Errorf("checked only %d files", checked)
	}
}
