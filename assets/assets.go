// Package assets holds the built-in runbooks, embedded in the binary: one
// YAML file per vendor procedure, named after the runbook's id.
package assets

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// files holds every runbook shipped with ferry.
//
//go:embed *.yaml
var files embed.FS

// Names returns the names of the built-in runbooks, sorted.
func Names() []string {
	entries, err := fs.Glob(files, "*.yaml")
	if err != nil {
		// The pattern is constant and valid, so Glob cannot fail.
		panic(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e, ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Runbook returns the YAML text of the built-in runbook with the given name.
// An unknown name is an error that lists the known ones.
func Runbook(name string) ([]byte, error) {
	if name == "" || strings.ContainsAny(name, "/\\.") {
		return nil, unknown(name)
	}
	data, err := files.ReadFile(name + ".yaml")
	if err != nil {
		return nil, unknown(name)
	}
	return data, nil
}

func unknown(name string) error {
	return fmt.Errorf("unknown runbook %q: the built-in runbooks are %s", name, strings.Join(Names(), ", "))
}
