package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// develVersion is what ferry calls itself when neither the release build
// nor the Go toolchain gave it a version: a build from a checkout. It is the
// word the Go toolchain itself uses for such a main module.
const develVersion = "(devel)"

// unknownCommit is what GoReleaser stamps as the commit when it could not
// read the git state (a snapshot in a clone with no remote): no commit, so
// the Go toolchain's vcs.revision is shown instead.
const unknownCommit = "none"

// shortRevision is how many hex digits of a VCS revision are shown, as
// git's own abbreviated hashes.
const shortRevision = 7

// newVersionCmd is "ferry version".
func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of ferry",
		Long: strings.TrimSpace(`
Print ferry's version, the commit it was built from (with -dirty when the
checkout had uncommitted changes) and when, then the Go version and platform.
A release build carries what it was stamped with; a build from a checkout or
by 'go install' reads the same from the Go toolchain's build information.`),
		Args: cobra.NoArgs,
		RunE: a.action(func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(a.stdout, a.versionText())
			return err
		}),
	}
}

// versionText is "ferry VERSION [COMMIT] [built DATE]" on one line, then
// the Go version and platform on a second.
func (a *app) versionText() string {
	return "ferry " + a.versionLine() + "\n" +
		fmt.Sprintf("%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// versionLine is the version, commit and date of this binary on one line
// (without the leading "ferry"), as --version prints it.
func (a *app) versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	v := resolveVersion(a.info, bi)
	out := v.Version
	if v.Commit != "" {
		out += " " + v.Commit
	} else {
		// Built with no VCS information (-buildvcs=false, a source tree
		// without .git): say so rather than leave the reader guessing.
		out += " (commit unknown)"
	}
	if v.Date != "" {
		out += " built " + v.Date
	}
	return out
}

// resolveVersion fills what the release build did not stamp into stamped
// (each field on its own) from the Go toolchain's build information bi (nil
// when there is none):
//   - Version: bi.Main.Version when it is a real module version (as
//     'go install module@v1.2.3' records), without Go's "+dirty" suffix;
//     "(devel)" when there is none or when Go derived a pseudo-version from
//     the very revision shown beside it (a checkout build, Go 1.24 on).
//   - Commit: the vcs.revision setting, with "-dirty" when vcs.modified is
//     "true" (uncommitted changes). A revision, stamped or not, is shown
//     as its first 7 hex digits.
//   - Date: the vcs.time setting (the commit's time, RFC 3339).
//
// Go records vcs.* only for builds inside a git checkout whose .git is a
// directory, and not with -buildvcs=false.
func resolveVersion(stamped BuildInfo, bi *debug.BuildInfo) BuildInfo {
	var rev, when string
	var dirty bool
	mainVersion := ""
	if bi != nil {
		mainVersion = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	out := stamped
	if out.Commit == unknownCommit {
		out.Commit = ""
	}
	if len(out.Commit) > shortRevision && isHex(out.Commit) {
		out.Commit = out.Commit[:shortRevision]
	}
	if out.Version == "" {
		out.Version = moduleVersion(mainVersion, rev)
	}
	if out.Commit == "" && rev != "" {
		out.Commit = rev
		if len(out.Commit) > shortRevision {
			out.Commit = out.Commit[:shortRevision]
		}
		if dirty {
			out.Commit += "-dirty"
		}
	}
	if out.Date == "" {
		out.Date = when
	}
	return out
}

// moduleVersion is the main module's version v as worth showing beside the
// revision rev: "(devel)" for none, or for a pseudo-version Go built from
// rev itself (v0.0.0-20261130155635-07695f0ade8d, which says no more than
// the commit); otherwise v without "+dirty", which the commit carries.
func moduleVersion(v, rev string) string {
	v = strings.TrimSuffix(v, "+dirty")
	if v == "" || v == develVersion {
		return develVersion
	}
	if len(rev) >= 12 && strings.HasSuffix(v, "-"+rev[:12]) {
		return develVersion
	}
	return v
}

// isHex reports whether s is made of lower-case hex digits only, as a git
// revision.
func isHex(s string) bool {
	return strings.Trim(s, "0123456789abcdef") == ""
}
