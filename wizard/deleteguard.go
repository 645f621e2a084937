package wizard

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// systemTopDirs are the top-level directories of a Linux system that hold
// the system itself or its users' homes. No deleting kind (remove-dir,
// remove-files, delete-files) works on them or on the root, whatever its
// parameters render to; the directories whose names begin with "lib"
// (/lib, /lib64, /lib32, /libx32) are refused too (isSystemTop).
var systemTopDirs = []string{"/etc", "/usr", "/var", "/root", "/home", "/boot", "/bin", "/sbin", "/opt", "/srv"}

// isSystemTop reports whether clean, an absolute cleaned path, is the root
// or one of systemTopDirs, or a top-level directory named lib*.
func isSystemTop(clean string) bool {
	if clean == "/" || slices.Contains(systemTopDirs, clean) {
		return true
	}
	return path.Dir(clean) == "/" && strings.HasPrefix(path.Base(clean), "lib")
}

// deletionTargets returns the paths a deleting step's parameter names, once
// rendered (p as resolveParams made it), or an error when any of them must
// not be deleted: an empty parameter, an empty path, a path that is not
// absolute, the root or a top-level system directory (isSystemTop). param
// is the parameter's name and raw its text in the runbook (quoted in the
// error when it is a template). list says whether the parameter is a list
// (paths, dirs) or one path. planning allows a path still holding an
// unknown answer's placeholder (‹name›), which is checked when the step
// runs. The paths are the server's paths as the admin sees them: a
// simulated host maps them under its root only when the command runs
// (remote.Local), so "/" here is the server's root, never the simulation's.
func deletionTargets(p params, raw map[string]any, param string, list, planning bool) ([]string, error) {
	var got []string
	if list {
		got = p.list(param)
	} else if s := p.str(param); s != "" {
		got = []string{s}
	}
	// What the refusal means for the admin: while planning nothing has run
	// yet; at run time the refusal comes before any deletion.
	outcome := "nothing was deleted"
	if planning {
		outcome = "the step will refuse to run"
	}
	from := ""
	if t, ok := raw[param].(string); ok && strings.Contains(t, "{{") {
		from = fmt.Sprintf(" (from %s)", t)
	}
	if len(got) == 0 {
		return nil, fmt.Errorf("parameter %s%s renders empty: ferry deletes nothing rather than guess; %s", param, from, outcome)
	}
	for _, g := range got {
		g = strings.TrimSpace(g)
		if planning && HasPlaceholder(g) {
			continue
		}
		clean := path.Clean(g)
		switch {
		case g == "":
			return nil, fmt.Errorf("parameter %s%s holds an empty path: ferry deletes nothing rather than guess; %s", param, from, outcome)
		case !path.IsAbs(g):
			return nil, fmt.Errorf("parameter %s%s renders %q, not an absolute path: ferry deletes only what an absolute path names; %s", param, from, g, outcome)
		case isSystemTop(clean):
			return nil, fmt.Errorf("parameter %s%s renders %q, the root or a top-level system directory: ferry never deletes there; %s", param, from, g, outcome)
		}
	}
	return got, nil
}

// refuseDeletion wraps err, a refusal from deletionTargets while step s
// runs, so that it names the step and its kind as a plan's refusal does.
func refuseDeletion(s *Step, err error) error {
	return fmt.Errorf("step %s (%s): %w", s.ID, s.Kind, err)
}
