// Command ferry moves a mail-server installation from an old Linux server to
// a new one, step by step, following the vendor's migration procedure.
package main

import (
	"os"

	"github.com/ferry-migrate/ferry/cmd"
)

// Stamped at build time with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func main() {
	os.Exit(cmd.Main(cmd.BuildInfo{Version: version, Commit: commit, Date: date}))
}
