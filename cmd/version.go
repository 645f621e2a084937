package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// newVersionCmd is "ferry version".
func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of ferry",
		Args:  cobra.NoArgs,
		RunE: a.action(func(c *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(a.stdout, a.versionText())
			return err
		}),
	}
}

// versionText is the version, the commit and build date when stamped (or
// known to the Go toolchain), and the Go version and platform.
func (a *app) versionText() string {
	info := a.info
	if info.Version == "" {
		info.Version = "dev"
	}
	if bi, ok := debug.ReadBuildInfo(); ok && info.Commit == "" {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				info.Commit = s.Value
			case "vcs.time":
				if info.Date == "" {
					info.Date = s.Value
				}
			}
		}
	}
	out := "ferry " + info.Version + "\n"
	if info.Commit != "" {
		out += "commit " + info.Commit + "\n"
	}
	if info.Date != "" {
		out += "built  " + info.Date + "\n"
	}
	return out + fmt.Sprintf("go     %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
