//go:build tools

// This file keeps the planned dependencies in go.mod while the packages that
// use them are being written in parallel. Remove it once every dependency is
// imported by real code.
package main

import (
	_ "al.essio.dev/pkg/shellescape"
	_ "charm.land/bubbles/v2/viewport"
	_ "charm.land/bubbletea/v2"
	_ "charm.land/huh/v2"
	_ "charm.land/lipgloss/v2"
	_ "github.com/charmbracelet/colorprofile"
	_ "github.com/charmbracelet/x/ansi"
	_ "github.com/charmbracelet/x/exp/golden"
	_ "github.com/charmbracelet/x/exp/teatest/v2"
	_ "github.com/charmbracelet/x/term"
	_ "github.com/dustin/go-humanize"
	_ "github.com/google/renameio/v2"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/kevinburke/ssh_config"
	_ "github.com/knqyf263/go-deb-version"
	_ "github.com/knqyf263/go-rpm-version"
	_ "github.com/spf13/cobra"
	_ "golang.org/x/crypto/ssh"
	_ "golang.org/x/crypto/ssh/agent"
	_ "golang.org/x/crypto/ssh/knownhosts"
	_ "gopkg.in/yaml.v3"
)
