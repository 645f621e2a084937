// Package sim builds the simulated pair of GreenArrow servers that `ferry
// demo` and the tests run the whole procedure against: two directory trees
// standing for the old and the new server's root file systems, small POSIX sh
// stand-ins for the vendor's programs inside them, and an SSH server embedded
// in the process through which the old server is reached.
//
// Everything a stand-in does happens under the root named by FERRY_ROOT;
// each one refuses to run when FERRY_ROOT is unset, is "/", or names a
// directory without the simulator's marker file. Everything that is not the
// vendor's is real: rsync, the ssh client, sh and the core utilities.
//
// A simulator directory DIR holds:
//
//	DIR/ferry-sim.json  marker and the options the tree was built with
//	DIR/old, DIR/new    the two server roots
//	DIR/state           empty, for ferry's own journal
//	DIR/sim/            keys, known_hosts and the list of the original queue's bodies
//
// Inside each root, /.ferry-sim/ holds the stand-ins' own state (installed
// packages, service states, the mailsubj outbox, a log of every call) and the
// marker the stand-ins look for. It is not part of the simulated server.
package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options shape the simulated pair. The zero value is the demo's default.
type Options struct {
	// Product is the vendor's product the pair runs: "greenarrow" (the
	// default) or "bluemind" (see bluemind.go; Messages, MessageSize,
	// DNSCacheService, PostgresVersion and MergeDelay are GreenArrow's and
	// do not apply, and Family is always "debian").
	Product string
	// Files is about how many files a BlueMind pair's spools and mail
	// store hold on the old server (default 3000).
	Files int
	// Messages is the number of messages in the old server's disk queue
	// (default 3000).
	Messages int
	// Seed makes the generated messages reproducible (default 1).
	Seed int64
	// MessageSize is the approximate size in bytes of each message body
	// (default 2048).
	MessageSize int
	// Family is "rhel" (CentOS 7 to Rocky Linux 9, the default) or "debian"
	// (Ubuntu 16.04 to Debian 12).
	Family string
	// DNSCacheService is the value of dns_cache_service_run in the old
	// server's greenarrow.conf ("yes", "no", "true", "false"); empty leaves
	// the setting out of the file, which means off.
	DNSCacheService string
	// PostgresVersion is the version /var/hvmail/postgres/default points at
	// on the old server (default "9.5"; "8.3" exercises the blocker check).
	PostgresVersion string
	// MergeDelay is the pause hvmail_queue_merge makes after each message so
	// that a demo's counter visibly moves (default 2ms; negative means none).
	// The environment variable SIM_MERGE_DELAY (seconds, e.g. "0.002")
	// overrides it at run time.
	MergeDelay time.Duration
}

func (o Options) withDefaults() Options {
	if o.Product == "" {
		o.Product = ProductGreenArrow
	}
	if o.Product == ProductBlueMind {
		if o.Family == "" {
			o.Family = "debian"
		}
		if o.Files == 0 {
			o.Files = 3000
		}
	}
	if o.Messages == 0 {
		o.Messages = 3000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MessageSize == 0 {
		o.MessageSize = 2048
	}
	if o.Family == "" {
		o.Family = "rhel"
	}
	if o.PostgresVersion == "" {
		o.PostgresVersion = "9.5"
	}
	if o.MergeDelay == 0 {
		o.MergeDelay = 2 * time.Millisecond
	}
	return o
}

func (o Options) validate() error {
	switch o.Product {
	case ProductGreenArrow:
	case ProductBlueMind:
		if o.Family != "debian" {
			return fmt.Errorf("sim options: a BlueMind pair is Debian only, not %q", o.Family)
		}
		if o.Files < 0 {
			return fmt.Errorf("sim options: Files %d is negative", o.Files)
		}
	default:
		return fmt.Errorf("sim options: Product %q is neither %s nor %s", o.Product, ProductGreenArrow, ProductBlueMind)
	}
	if o.Messages < 0 {
		return fmt.Errorf("sim options: Messages %d is negative", o.Messages)
	}
	if o.MessageSize < 0 {
		return fmt.Errorf("sim options: MessageSize %d is negative", o.MessageSize)
	}
	switch o.Family {
	case "rhel", "debian":
	default:
		return fmt.Errorf("sim options: Family %q is neither rhel nor debian", o.Family)
	}
	switch o.DNSCacheService {
	case "", "yes", "no", "true", "false":
	default:
		return fmt.Errorf("sim options: DNSCacheService %q is not yes, no, true, false or empty", o.DNSCacheService)
	}
	switch o.PostgresVersion {
	case "8.3", "9.5":
	default:
		return fmt.Errorf("sim options: PostgresVersion %q is neither 8.3 nor 9.5", o.PostgresVersion)
	}
	return nil
}

// Sim is a built simulator directory.
type Sim struct {
	Dir      string // the simulator directory
	OldRoot  string // Dir/old: root of the old server
	NewRoot  string // Dir/new: root of the new server
	StateDir string // Dir/state: for ferry's journal; the simulator leaves it alone
	SimDir   string // Dir/sim: keys, known_hosts, the original queue's body list

	// Options are the options the tree was built with (read back from the
	// marker when an existing directory is reused).
	Options Options
}

// markerName is the file that marks a directory as a simulator directory.
const markerName = "ferry-sim.json"

// rootMarker is the file, relative to a root, that the stand-ins insist on.
const rootMarker = "/.ferry-sim/marker"

type marker struct {
	Kind     string  `json:"kind"`
	Version  int     `json:"version"`
	Complete bool    `json:"complete"`
	Options  Options `json:"options"`
}

const markerKind = "ferry-sim"

// lockName is the file ferry's lock takes in the state directory
// (wizard.LockFile). The demo takes that lock before Setup writes anything,
// so a new simulator directory may already hold DIR/state/lock.
const lockName = "lock"

// Inspect returns the paths of the simulator directory dir without writing
// anything. It refuses what Setup would refuse: a path with quotes,
// backslashes or white space, "/", and a non-empty directory that holds no
// simulator marker (other than one holding only DIR/state with ferry's lock
// file in it). The returned Sim's Options are those of the marker when
// there is one, else zero.
func Inspect(dir string) (*Sim, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("sim directory %q: %w", dir, err)
	}
	if strings.ContainsAny(abs, "'\"\\\n\r\t ") {
		return nil, fmt.Errorf("sim directory %q: quotes, backslashes and white space are not supported (the path goes into ssh and rsync command strings)", abs)
	}
	if abs == "/" {
		return nil, fmt.Errorf("sim directory %q: refusing to build in /", abs)
	}
	s := &Sim{
		Dir:      abs,
		OldRoot:  filepath.Join(abs, "old"),
		NewRoot:  filepath.Join(abs, "new"),
		StateDir: filepath.Join(abs, "state"),
		SimDir:   filepath.Join(abs, "sim"),
	}
	m, err := readMarker(abs)
	switch {
	case err == nil:
		s.Options = m.Options
		return s, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	if !onlyALock(abs) {
		return nil, fmt.Errorf("sim directory %s is not empty and holds no %s: refusing to build a simulator over it", abs, markerName)
	}
	return s, nil
}

// onlyALock reports whether dir is missing, empty, or holds nothing but a
// state directory with at most ferry's lock file in it.
func onlyALock(dir string) bool {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name() != "state" || !e.IsDir() {
			return false
		}
		inner, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return false
		}
		for _, f := range inner {
			// The lock, and the detached runner's log and socket
			// (runner.LogFile, runner.SocketFile), which come first.
			switch {
			case f.Name() == lockName && f.Type().IsRegular():
			case f.Name() == "runner.log" && f.Type().IsRegular():
			case f.Name() == "runner.sock" && f.Type()&fs.ModeSocket != 0:
			default:
				return false
			}
		}
	}
	return true
}

// Setup builds the simulator in dir, or reuses it as it is when dir already
// holds a complete one (a demo resumes where it stopped; o is then ignored
// and Sim.Options tells what the tree was built with). A directory left
// incomplete by an interrupted Setup is rebuilt. Setup refuses what Inspect
// refuses; a directory holding only DIR/state/lock (the demo's lock, taken
// first) counts as empty.
func Setup(dir string, o Options) (*Sim, error) {
	o = o.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	s, err := Inspect(dir)
	if err != nil {
		return nil, err
	}
	abs := s.Dir
	m, err := readMarker(abs)
	switch {
	case err == nil && m.Complete:
		if p := m.Options.withDefaults().Product; p != o.Product {
			return nil, fmt.Errorf("sim directory %s holds a simulated %s pair, not %s: use another directory", abs, p, o.Product)
		}
		s.Options = m.Options
		return s, nil
	case err == nil:
		// An interrupted Setup: throw away what it built, keep the keys.
		for _, d := range []string{s.OldRoot, s.NewRoot} {
			if err := os.RemoveAll(d); err != nil {
				return nil, fmt.Errorf("sim directory %s: remove the incomplete %s: %w", abs, d, err)
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	s.Options = o
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return nil, fmt.Errorf("sim directory %s: %w", abs, err)
	}
	if err := writeMarker(abs, marker{Kind: markerKind, Version: 1, Options: o}); err != nil {
		return nil, err
	}
	if err := s.build(); err != nil {
		return nil, fmt.Errorf("sim directory %s: %w", abs, err)
	}
	if err := writeMarker(abs, marker{Kind: markerKind, Version: 1, Complete: true, Options: o}); err != nil {
		return nil, err
	}
	return s, nil
}

func readMarker(dir string) (marker, error) {
	var m marker
	b, err := os.ReadFile(filepath.Join(dir, markerName))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("sim marker %s: %w", filepath.Join(dir, markerName), err)
	}
	if m.Kind != markerKind {
		return m, fmt.Errorf("sim marker %s: kind %q is not %q", filepath.Join(dir, markerName), m.Kind, markerKind)
	}
	return m, nil
}

func writeMarker(dir string, m marker) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, markerName), append(b, '\n'), 0o644)
}

func (s *Sim) build() error {
	for _, d := range []string{s.StateDir, s.SimDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := s.ensureKeys(); err != nil {
		return err
	}
	if s.Options.Product == ProductBlueMind {
		return s.buildBlueMind()
	}
	if err := s.buildOld(); err != nil {
		return fmt.Errorf("old root: %w", err)
	}
	if err := s.buildNew(); err != nil {
		return fmt.Errorf("new root: %w", err)
	}
	return nil
}

// writeFile writes data to path, creating the parent directories.
func writeFile(path string, data []byte, mode fs.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return err
	}
	// WriteFile leaves the mode of an existing file alone and the umask may
	// have trimmed a new one: make it what was asked.
	return os.Chmod(path, mode)
}

// rootFiles writes a set of files under root; keys are runbook paths.
func rootFiles(root string, files map[string]string, mode fs.FileMode) error {
	for p, content := range files {
		if err := writeFile(root+p, []byte(content), mode); err != nil {
			return err
		}
	}
	return nil
}
