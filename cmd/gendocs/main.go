// Command gendocs writes ferry's manual pages and shell completions into a
// directory, for the packages: the release build runs
// "go run ./cmd/gendocs -version VERSION build/docs" before building
// (.goreleaser.yaml), and the .deb and .rpm install what it made. Nothing it
// writes is committed. See cmd.WriteDocs for the files and their names.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ferry-migrate/ferry/cmd"
)

func main() {
	version := flag.String("version", "", "version shown in the manual pages' footer")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gendocs [-version V] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := cmd.WriteDocs(flag.Arg(0), *version); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
