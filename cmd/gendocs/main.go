// Command gendocs writes ferry's manual pages and shell completions into a
// directory, for the packages: the release build runs
// "go run ./cmd/gendocs -version VERSION -date UNIXTIME build/docs" before
// building (.goreleaser.yaml), and the .deb, .rpm and tar.gz carry what it
// made. Nothing it writes is committed. See WriteDocs (docs.go) for the files
// and their names. It is a program of its own so that the manual-page
// generator (blackfriday) is not linked into ferry: its package start-up
// cost every command.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	version := flag.String("version", "", "version shown in the manual pages' footer")
	date := flag.Int64("date", 0, "the pages' date, in seconds since 1970 (the commit's time); 0 or less: SOURCE_DATE_EPOCH or today")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: gendocs [-version V] [-date UNIXTIME] DIR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	var when time.Time
	// GoReleaser passes year 1 (negative) when it could not read the commit.
	if *date > 0 {
		when = time.Unix(*date, 0).UTC()
	}
	if err := WriteDocs(flag.Arg(0), *version, when); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
