package wizard

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
)

// treeOf lists every file and directory under root, relative to it.
func treeOf(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The deleting kinds refuse, when planned and when run, a path that renders
// empty, "/", a relative path or a top-level system directory, naming the
// step and the parameter, and delete nothing on the (simulated) server. A
// sound path is then removed, so the tree's listing would have shown a
// deletion.
func TestDeletingKindsRefuseRootAndEmpty(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"etc/hostname", "var/hvmail/qmail-disk/queue/old/mess/7/1234", "lib64/libc.so", "top.txt", "work/queue/a"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h, err := remote.NewLocal(HostNew, root)
	if err != nil {
		t.Fatal(err)
	}
	x := &TaskExecutor{New: h}
	data := TemplateData{
		Params:  map[string]any{"old_queue": "/var/hvmail/qmail-disk/queue/old"},
		Answers: map[string]string{}, Facts: map[string]string{},
	}
	before := treeOf(t, root)

	kinds := map[string]string{"remove-dir": "path", "remove-files": "paths", "delete-files": "dirs"}
	values := []any{
		"/", "", "   ", "{{.Params.old_qeue}}", "{{.Params.old_qeue}}/", "work/queue", "/etc", "/etc/", "/var/hvmail/../../etc", "/lib64", "/usr",
		[]any{"/work/queue/a", "/"}, []any{},
	}
	for kind, param := range kinds {
		for _, v := range values {
			if kind == "remove-dir" {
				if _, isList := v.([]any); isList {
					continue
				}
			}
			s := &Step{ID: "remove-old-queue", Host: HostNew, Kind: kind, Params: map[string]any{param: v}}
			name := kind + " " + strings.ReplaceAll(filepath.ToSlash(strings.TrimSpace(strings.Trim(strings.ReplaceAll(fmtAny(v), "{", ""), "}"))), "/", "∕")
			t.Run(name, func(t *testing.T) {
				_, perr := Plan(s, data)
				_, rerr := x.Run(context.Background(), s, &StepEnv{Data: data})
				for what, err := range map[string]error{"plan": perr, "run": rerr} {
					if err == nil {
						t.Errorf("%s of %s with %s = %#v: no error", what, kind, param, v)
						continue
					}
					msg := err.Error()
					outcome := map[string]string{"plan": "the step will refuse to run", "run": "nothing was deleted"}[what]
					for _, want := range []string{"remove-old-queue", "parameter " + param, outcome} {
						if !strings.Contains(msg, want) {
							t.Errorf("%s: %q does not say %q", what, msg, want)
						}
					}
				}
				if after := treeOf(t, root); !slices.Equal(after, before) {
					t.Fatalf("the tree changed:\nbefore %v\nafter  %v", before, after)
				}
			})
		}
	}

	// The control: the same step with the parameter spelt right removes
	// the old queue, and the plan shows the real path.
	s := &Step{ID: "remove-old-queue", Host: HostNew, Kind: "remove-dir", Params: map[string]any{"path": "{{.Params.old_queue}}"}}
	acts, err := Plan(s, data)
	if err != nil || len(acts) != 1 || acts[0].Argv[len(acts[0].Argv)-1] != "/var/hvmail/qmail-disk/queue/old" {
		t.Fatalf("plan = %+v, %v", acts, err)
	}
	if _, err := x.Run(context.Background(), s, &StepEnv{Data: data}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/hvmail/qmail-disk/queue/old")); !os.IsNotExist(err) {
		t.Errorf("the old queue is still there after its removal: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/hvmail/qmail-disk/queue")); err != nil {
		t.Errorf("the queue's parent went too: %v", err)
	}
}

// A path that still holds an unknown answer is planned (it is judged when
// the step runs, with the answer given).
func TestDeletingKindsPlanPlaceholders(t *testing.T) {
	s := &Step{ID: "clean-backup", Host: HostNew, Kind: "remove-dir", Params: map[string]any{"path": Placeholder("backup_dir") + "/old"}}
	if _, err := Plan(s, TemplateData{}); err != nil {
		t.Errorf("plan with a placeholder: %v", err)
	}
}

func fmtAny(v any) string {
	if l, ok := v.([]any); ok {
		parts := make([]string, len(l))
		for i, e := range l {
			parts[i] = fmtAny(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	s, _ := v.(string)
	if strings.TrimSpace(s) == "" {
		return "empty"
	}
	return s
}
