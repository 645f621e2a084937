// Command ferry moves a mail-server installation from an old Linux server to
// a new one, step by step, following the vendor's migration procedure.
package main

import (
	"os"

	"github.com/ferry-migrate/ferry/cmd"
)

// Stamped by the release build (.goreleaser.yaml) with -ldflags
// "-X main.version=... -X main.commit=... -X main.date=..."; left empty, ferry
// reads them from the Go toolchain's build information (cmd/version.go).
var (
	version = ""
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(cmd.Main(cmd.BuildInfo{Version: version, Commit: commit, Date: date}))
}
