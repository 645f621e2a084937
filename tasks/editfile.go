package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/mail"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// Files ferry edits, as runbook paths.
const (
	HostsFile      = "/etc/hosts"
	ResolvConfFile = "/etc/resolv.conf"
	RootSSHConfig  = "/root/.ssh/config"
	// GreenArrowConf is GreenArrow's main configuration file.
	GreenArrowConf = "/var/hvmail/control/greenarrow.conf"
	// GreenArrowAptSource is the vendor's apt source on Debian-family servers.
	GreenArrowAptSource = "/etc/apt/sources.list.d/greenarrow.list"
)

// Backups. Before ferry changes a file it copies it, on the same host and in
// the same directory, to FILE.ferry-backup-YYYYMMDDTHHMMSSZ (UTC), for example
// /etc/hosts.ferry-backup-20250314T021500Z. Should that name be taken (two
// edits in one second), ".1", ".2" ... is appended. An edit that changes
// nothing makes no backup. The backup keeps the original's permission bits.
const (
	BackupInfix      = ".ferry-backup-"
	backupTimeLayout = "20060102T150405Z"
)

// backupClock is the time source for backup names; tests replace it.
var backupClock = time.Now

// BackupName returns the backup name for the file p made at t.
func BackupName(p string, t time.Time) string {
	return p + BackupInfix + t.UTC().Format(backupTimeLayout)
}

// BackupFile copies the file at runbook path p on h to a fresh backup name
// (see BackupName) and returns that name. It never overwrites a file.
func BackupFile(ctx context.Context, h remote.Host, p string) (string, error) {
	data, err := h.ReadFile(ctx, p)
	if err != nil {
		return "", fmt.Errorf("back up %s on %s: %w", p, h.Name(), err)
	}
	mode := fs.FileMode(0o600)
	if fi, err := h.Stat(ctx, p); err == nil && fi.Mode.IsRegular() {
		mode = fi.Mode.Perm()
	}
	return writeBackup(ctx, h, p, data, mode)
}

func writeBackup(ctx context.Context, h remote.Host, p string, data []byte, mode fs.FileMode) (string, error) {
	base := BackupName(p, backupClock())
	name := base
	for i := 1; ; i++ {
		_, err := h.Stat(ctx, name)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("back up %s on %s: %w", p, h.Name(), err)
		}
		if i > 100 {
			return "", fmt.Errorf("back up %s on %s: too many backups named %s*", p, h.Name(), base)
		}
		name = base + "." + strconv.Itoa(i)
	}
	if err := h.WriteFile(ctx, name, data, mode); err != nil {
		return "", fmt.Errorf("back up %s on %s to %s: %w", p, h.Name(), name, err)
	}
	return name, nil
}

// EditResult says what an edit did.
type EditResult struct {
	// Host and Path name the file edited.
	Host string `json:"host"`
	Path string `json:"path"`
	// Changed is false when the file already said what it should.
	Changed bool `json:"changed"`
	// Backup is the copy made before the change; empty when nothing changed
	// or the file did not exist.
	Backup string `json:"backup,omitempty"`
	// Line is the line the edit is about (the /etc/hosts entry added, found
	// or removed), when there is one. Remember it to undo the edit.
	Line string `json:"line,omitempty"`
	// Reason is one sentence on what was done and why.
	Reason string `json:"reason"`
}

// readOptional reads p on h; a missing file gives nil data and exists=false.
func readOptional(ctx context.Context, h remote.Host, p string) (data []byte, exists bool, err error) {
	data, err = h.ReadFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read %s on %s: %w", p, h.Name(), err)
	}
	return data, true, nil
}

// replaceFile backs up the current file (when it exists) and then replaces
// it atomically with data. It returns the backup name.
func replaceFile(ctx context.Context, h remote.Host, p string, old []byte, exists bool, data []byte, newMode fs.FileMode) (string, error) {
	backup := ""
	if exists {
		mode := newMode
		if fi, err := h.Stat(ctx, p); err == nil && fi.Mode.IsRegular() {
			mode = fi.Mode.Perm()
		}
		var err error
		if backup, err = writeBackup(ctx, h, p, old, mode); err != nil {
			return "", err
		}
	}
	if err := h.WriteFile(ctx, p, data, newMode); err != nil {
		return backup, fmt.Errorf("write %s on %s: %w", p, h.Name(), err)
	}
	return backup, nil
}

// splitLines splits data into lines without their "\n"; a final line
// without a newline is kept. An empty input gives no lines.
func splitLines(data []byte) []string {
	if len(data) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(data), "\n")
	return strings.Split(s, "\n")
}

// joinLines is the inverse of splitLines, always ending with a newline.
func joinLines(lines []string) []byte {
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\n") + "\n")
}

// ---- validators -----------------------------------------------------------

// ValidIP reports whether s is a single IPv4 or IPv6 address usable as a
// server or resolver address (not 0.0.0.0, ::, or a multicast address).
func ValidIP(s string) error {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || strings.TrimSpace(s) != s {
		return fmt.Errorf("%q is not an IP address (expected something like 192.0.2.10 or 2001:db8::10)", s)
	}
	if a.Zone() != "" {
		return fmt.Errorf("IP address %q has a zone (%%%s); give the address without it", s, a.Zone())
	}
	if a.IsUnspecified() {
		return fmt.Errorf("IP address %q is the unspecified address, which reaches no server", s)
	}
	if a.IsMulticast() {
		return fmt.Errorf("IP address %q is a multicast address, which reaches no single server", s)
	}
	return nil
}

// ValidPort reports whether s is a TCP port number from 1 to 65535.
func ValidPort(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || strings.TrimSpace(s) != s || strings.HasPrefix(s, "+") {
		return fmt.Errorf("port %q is not a whole number", s)
	}
	if n < 1 || n > 65535 {
		return fmt.Errorf("port %q is outside 1-65535", s)
	}
	return nil
}

// ValidHostname reports whether s is a host name per RFC 1123: dot-separated
// labels of 1 to 63 letters, digits and hyphens, not starting or ending with a
// hyphen, 253 characters at most. A trailing dot is refused.
func ValidHostname(s string) error {
	if s == "" {
		return errors.New("host name is empty")
	}
	if len(s) > 253 {
		return fmt.Errorf("host name %q is longer than 253 characters", s)
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" {
			return fmt.Errorf("host name %q has an empty label (two dots in a row, or a leading or trailing dot)", s)
		}
		if len(label) > 63 {
			return fmt.Errorf("host name %q has a label longer than 63 characters", s)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("host name %q has label %q starting or ending with a hyphen", s, label)
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Errorf("host name %q has %q, but only letters, digits, hyphens and dots are allowed", s, r)
			}
		}
	}
	// A top-level label is never all digits (RFC 3696, 2): "999.1.1.1" is a
	// mistyped IP address, which a resolver would look up as a name.
	labels := strings.Split(s, ".")
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return fmt.Errorf("%q is not an IP address (four numbers from 0 to 255, like 192.0.2.10), and a host name cannot end in a number", s)
	}
	return nil
}

// ValidEmail reports whether s is a bare e-mail address (user@example.com:
// no display name, no angle brackets, no spaces) whose domain is a valid host
// name. The address is handed to a mail program as an argument, so it may
// not start with "-" either.
func ValidEmail(s string) error {
	if s == "" {
		return errors.New("e-mail address is empty")
	}
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("e-mail address %q starts with a hyphen", s)
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Errorf("%q is not a plain e-mail address (expected something like admin@example.com)", s)
	}
	at := strings.LastIndexByte(s, '@')
	if err := ValidHostname(s[at+1:]); err != nil {
		return fmt.Errorf("e-mail address %q: %w", s, err)
	}
	return nil
}

// MaxNameservers is how many nameserver lines the C library reads from
// resolv.conf; later ones are ignored.
const MaxNameservers = 3

// ValidNameservers reports whether list is a usable set of resolvers: one to
// MaxNameservers valid IP addresses, none repeated.
func ValidNameservers(list []string) error {
	if len(list) == 0 {
		return errors.New("no nameserver given")
	}
	if len(list) > MaxNameservers {
		return fmt.Errorf("%d nameservers given (%s), but the resolver reads only the first %d", len(list), strings.Join(list, ", "), MaxNameservers)
	}
	seen := map[netip.Addr]bool{}
	for _, s := range list {
		if err := ValidIP(s); err != nil {
			return fmt.Errorf("nameserver: %w", err)
		}
		a := netip.MustParseAddr(s)
		if seen[a] {
			return fmt.Errorf("nameserver %q is listed twice", s)
		}
		seen[a] = true
	}
	return nil
}

// ---- /etc/hosts -----------------------------------------------------------

// HostsConflictError is returned when a name ferry is to add to /etc/hosts
// already points at another address.
type HostsConflictError struct {
	Host   string // "new"
	Path   string // "/etc/hosts"
	LineNo int    // 1-based
	Line   string // the line as it is in the file
	Name   string // the name asked for
	IP     string // the address asked for
}

func (e *HostsConflictError) Error() string {
	return fmt.Sprintf("%s on %s, line %d (%q), already maps %s to another address than %s; fix or remove that line first",
		e.Path, e.Host, e.LineNo, e.Line, e.Name, e.IP)
}

// hostsFields returns the address and names of a hosts line, ignoring a
// comment; ok is false for blank, comment-only or malformed lines.
func hostsFields(line string) (addr netip.Addr, names []string, ok bool) {
	if i := strings.IndexByte(line, '#'); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 2 {
		return netip.Addr{}, nil, false
	}
	a, err := netip.ParseAddr(f[0])
	if err != nil {
		return netip.Addr{}, nil, false
	}
	return a, f[1:], true
}

// addHostsLine is the pure part of AddHostsEntry: note, when not empty,
// follows the names as a comment on a line it adds.
func addHostsLine(data []byte, ip, name, note string) (out []byte, line string, lineNo int, changed bool, err error) {
	want := netip.MustParseAddr(ip)
	lines := splitLines(data)
	for i, l := range lines {
		a, names, ok := hostsFields(l)
		if !ok || !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			continue
		}
		if a == want {
			return data, strings.TrimSpace(l), i + 1, false, nil
		}
		return nil, "", 0, false, &HostsConflictError{LineNo: i + 1, Line: l, Name: name, IP: ip}
	}
	line = ip + " " + name
	if note != "" {
		line += " # " + note
	}
	return joinLines(append(lines, line)), line, len(lines) + 1, true, nil
}

// AddHostsEntry makes /etc/hosts on h map name to ip, adding the line
// "IP NAME" unless a line already maps name to ip. If a line maps name to
// another address, it changes nothing and returns a *HostsConflictError.
// The result's Line is the line to pass to RemoveHostsLine later; when the
// line was there before, Changed is false, and a caller that must undo only
// its own change should remember that too.
func AddHostsEntry(ctx context.Context, h remote.Host, ip, name string) (EditResult, error) {
	return AddHostsEntryNoted(ctx, h, ip, name, "")
}

// AddHostsEntryNoted is AddHostsEntry writing note as a comment after the
// name on the line it adds ("203.0.113.5 oldserver # NOTE"), so that the
// line says who added it; a line already there is left as it is. The
// result's Line holds the comment too, and RemoveHostsLine takes it as it
// is. A note must fit on one line.
func AddHostsEntryNoted(ctx context.Context, h remote.Host, ip, name, note string) (EditResult, error) {
	res := EditResult{Host: h.Name(), Path: HostsFile}
	if strings.ContainsAny(note, "\r\n") {
		return res, fmt.Errorf("hosts comment %q spans lines", note)
	}
	if err := ValidIP(ip); err != nil {
		return res, err
	}
	if err := ValidHostname(name); err != nil {
		return res, err
	}
	ip = netip.MustParseAddr(ip).String()
	old, exists, err := readOptional(ctx, h, HostsFile)
	if err != nil {
		return res, err
	}
	out, line, n, changed, err := addHostsLine(old, ip, name, note)
	var ce *HostsConflictError
	if errors.As(err, &ce) {
		ce.Host, ce.Path = h.Name(), HostsFile
		return res, ce
	}
	res.Line = line
	if !changed {
		res.Reason = fmt.Sprintf("%s on %s already maps %s to %s (line %d: %q); nothing changed.", HostsFile, h.Name(), name, ip, n, line)
		return res, nil
	}
	if res.Backup, err = replaceFile(ctx, h, HostsFile, old, exists, out, 0o644); err != nil {
		return res, err
	}
	res.Changed = true
	res.Reason = fmt.Sprintf("Added %q to %s on %s as line %d.", line, HostsFile, h.Name(), n)
	return res, nil
}

// removeHostsLine is the pure part of RemoveHostsLine.
func removeHostsLine(data []byte, line string) (out []byte, removed int) {
	want := strings.Fields(line)
	lines := splitLines(data)
	kept := lines[:0:0]
	for _, l := range lines {
		if slices.Equal(strings.Fields(l), want) {
			removed++
			continue
		}
		kept = append(kept, l)
	}
	if removed == 0 {
		return data, 0
	}
	return joinLines(kept), removed
}

// RemoveHostsLine removes from /etc/hosts on h every line whose words are
// exactly those of line (the Line an AddHostsEntry returned), and nothing
// else: a line with another name or address, or with a comment added, stays.
func RemoveHostsLine(ctx context.Context, h remote.Host, line string) (EditResult, error) {
	res := EditResult{Host: h.Name(), Path: HostsFile, Line: strings.TrimSpace(line)}
	entry, _, _ := strings.Cut(line, "#") // a comment ferry wrote after the name
	f := strings.Fields(entry)
	if len(f) != 2 {
		return res, fmt.Errorf("hosts line %q is not of the form \"IP NAME\"", line)
	}
	if err := ValidIP(f[0]); err != nil {
		return res, fmt.Errorf("hosts line %q: %w", line, err)
	}
	old, exists, err := readOptional(ctx, h, HostsFile)
	if err != nil {
		return res, err
	}
	out, n := removeHostsLine(old, line)
	if n == 0 {
		res.Reason = fmt.Sprintf("%s on %s has no line %q; nothing changed.", HostsFile, h.Name(), res.Line)
		return res, nil
	}
	if res.Backup, err = replaceFile(ctx, h, HostsFile, old, exists, out, 0o644); err != nil {
		return res, err
	}
	res.Changed = true
	res.Reason = fmt.Sprintf("Removed %q from %s on %s.", res.Line, HostsFile, h.Name())
	if n > 1 {
		res.Reason = fmt.Sprintf("Removed %d copies of %q from %s on %s.", n, res.Line, HostsFile, h.Name())
	}
	return res, nil
}

// ---- ssh client configuration ----------------------------------------------

// sshKeyword returns the lower-cased keyword of an ssh_config line and the
// rest (keyword and arguments may be separated by spaces or "=").
func sshKeyword(line string) (kw, rest string) {
	s := strings.TrimSpace(line)
	if s == "" || s[0] == '#' {
		return "", ""
	}
	i := strings.IndexAny(s, " \t=")
	if i < 0 {
		return strings.ToLower(s), ""
	}
	kw = strings.ToLower(s[:i])
	rest = strings.TrimLeft(s[i:], " \t")
	rest = strings.TrimPrefix(rest, "=")
	return kw, strings.TrimSpace(rest)
}

// sshHostMatches reports whether alias matches a Host line's pattern list,
// honouring "*", "?" and "!" negation the way ssh does.
func sshHostMatches(patterns []string, alias string) bool {
	matched := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		p = strings.ToLower(strings.TrimPrefix(p, "!"))
		ok, err := path.Match(p, strings.ToLower(alias))
		if err != nil || !ok {
			continue
		}
		if neg {
			return false
		}
		matched = true
	}
	return matched
}

// SSHSetting is one line of an ssh client configuration block: a keyword as
// ssh_config(5) spells it ("HostName", "Port", "KexAlgorithms") and its
// value, written as given ("+diffie-hellman-group14-sha1" adds to ssh's
// defaults).
type SSHSetting struct {
	Keyword string
	Value   string
}

func (st SSHSetting) String() string { return st.Keyword + " " + quoteSSHValue(st.Value) }

// sshMultiValued are the keywords ssh accumulates over every matching line
// instead of taking the first value.
var sshMultiValued = map[string]bool{"identityfile": true, "certificatefile": true, "localforward": true,
	"remoteforward": true, "dynamicforward": true, "sendenv": true}

// quoteSSHValue puts a value holding white space in double quotes, as
// ssh_config(5) reads it.
func quoteSSHValue(v string) string {
	if strings.ContainsAny(v, " \t") && !strings.HasPrefix(v, `"`) {
		return `"` + v + `"`
	}
	return v
}

// unquoteSSHValue is the inverse of quoteSSHValue, for comparisons.
func unquoteSSHValue(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// setSSHHostBlock is the pure part of SetSSHConfigBlock.
func setSSHHostBlock(data []byte, alias string, settings []SSHSetting) ([]byte, bool, error) {
	lines := splitLines(data)
	ours, firstBlock := -1, -1
	for i, l := range lines {
		kw, rest := sshKeyword(l)
		if kw != "host" && kw != "match" {
			continue
		}
		if firstBlock < 0 {
			firstBlock = i
		}
		if pats := strings.Fields(rest); kw == "host" && len(pats) == 1 && strings.EqualFold(pats[0], alias) {
			ours = i
			break
		}
	}
	want := map[string]string{}
	for _, st := range settings {
		if !sshMultiValued[strings.ToLower(st.Keyword)] {
			want[strings.ToLower(st.Keyword)] = st.Value
		}
	}
	// ssh takes the first value it finds: a line that applies to alias
	// before our block (before any Host line, or in an earlier matching
	// block) and says something else would win over it.
	limit := ours
	if limit < 0 {
		limit = firstBlock
	}
	if limit < 0 {
		limit = len(lines)
	}
	block, applies := "", true
	for j := 0; j < limit; j++ {
		kw, rest := sshKeyword(lines[j])
		switch {
		case kw == "host":
			block, applies = strings.TrimSpace(lines[j]), sshHostMatches(strings.Fields(rest), alias)
		case kw == "match":
			block, applies = strings.TrimSpace(lines[j]), false
		case kw == "":
		default:
			v, ok := want[kw]
			if !ok || !applies || unquoteSSHValue(rest) == v {
				continue
			}
			if block == "" {
				return nil, false, fmt.Errorf("line %d (%q) sets %s for every host before any Host block, which would override the Host %s block", j+1, strings.TrimSpace(lines[j]), kw, alias)
			}
			return nil, false, fmt.Errorf("line %d (%q) sets %s for %s in the block %q, which comes first and would win", j+1, strings.TrimSpace(lines[j]), kw, alias, block)
		}
	}
	if ours < 0 {
		block := []string{"Host " + alias}
		for _, st := range settings {
			block = append(block, "  "+st.String())
		}
		var out []string
		if firstBlock < 0 {
			out = append(out, lines...)
			if len(out) > 0 && strings.TrimSpace(out[len(out)-1]) != "" {
				out = append(out, "")
			}
			out = append(out, block...)
		} else {
			out = append(out, lines[:firstBlock]...)
			out = append(out, block...)
			out = append(out, "")
			out = append(out, lines[firstBlock:]...)
		}
		return joinLines(out), true, nil
	}
	indent := ""
	found := map[string]bool{}
	haveMulti := map[string]bool{} // "identityfile\x00/path"
	out := append([]string(nil), lines...)
	changed := false
	for j := ours + 1; j < len(lines); j++ {
		k, rest := sshKeyword(lines[j])
		if k == "host" || k == "match" {
			break
		}
		if k == "" {
			continue
		}
		lead := lines[j][:len(lines[j])-len(strings.TrimLeft(lines[j], " \t"))]
		if indent == "" {
			indent = lead
		}
		if sshMultiValued[k] {
			haveMulti[k+"\x00"+unquoteSSHValue(rest)] = true
			continue
		}
		if v, ok := want[k]; ok && !found[k] {
			found[k] = true
			if unquoteSSHValue(rest) != v {
				for _, st := range settings {
					if strings.ToLower(st.Keyword) == k {
						out[j] = lead + st.String()
					}
				}
				changed = true
			}
		}
	}
	if indent == "" {
		indent = "  "
	}
	var add []string
	for _, st := range settings {
		k := strings.ToLower(st.Keyword)
		if sshMultiValued[k] {
			if !haveMulti[k+"\x00"+st.Value] {
				add = append(add, indent+st.String())
				haveMulti[k+"\x00"+st.Value] = true
			}
		} else if !found[k] {
			add = append(add, indent+st.String())
			found[k] = true
		}
	}
	if len(add) > 0 {
		out = slices.Insert(out, ours+1, add...)
		changed = true
	}
	if !changed {
		return data, false, nil
	}
	return joinLines(out), true, nil
}

// SetSSHConfigHost makes the ssh client configuration at path on h (usually
// RootSSHConfig) hold a "Host ALIAS" block with "Port PORT" (and "HostName
// HOSTNAME" when hostName is not empty); see SetSSHConfigBlock.
func SetSSHConfigHost(ctx context.Context, h remote.Host, configPath, alias string, port int, hostName string) (EditResult, error) {
	var settings []SSHSetting
	if hostName != "" {
		settings = append(settings, SSHSetting{"HostName", hostName})
	}
	settings = append(settings, SSHSetting{"Port", strconv.Itoa(port)})
	return SetSSHConfigBlock(ctx, h, configPath, alias, settings)
}

// SetSSHConfigBlock makes the ssh client configuration at configPath on h
// (usually RootSSHConfig) hold a "Host ALIAS" block with every setting: an
// existing block is updated in place (a keyword ssh reads once gets its
// value replaced; IdentityFile and the other keywords ssh accumulates get
// a line added unless one with that value is there), and every other line
// is left alone. A new block goes before the first Host or Match block,
// because ssh takes the first value it finds. The file (0600) and its
// directory (0700) are created when missing, and an existing file is backed
// up before it changes. It refuses, and changes nothing, when a line before
// the block would give alias another value for one of the keywords, when a
// Port or HostName is not valid, or when a value holds a newline.
func SetSSHConfigBlock(ctx context.Context, h remote.Host, configPath, alias string, settings []SSHSetting) (EditResult, error) {
	res := EditResult{Host: h.Name(), Path: configPath}
	if err := ValidHostname(alias); err != nil {
		return res, fmt.Errorf("ssh alias: %w", err)
	}
	var what []string
	for _, st := range settings {
		k := strings.ToLower(st.Keyword)
		switch {
		case st.Keyword == "" || strings.Trim(k, "abcdefghijklmnopqrstuvwxyz") != "":
			return res, fmt.Errorf("ssh config keyword %q is not a keyword", st.Keyword)
		case st.Value == "" || strings.ContainsAny(st.Value, "\n\r\x00") || strings.Contains(st.Value, `"`):
			return res, fmt.Errorf("ssh config %s value %q is empty or holds a newline, NUL or double quote", st.Keyword, st.Value)
		case k == "port":
			if err := ValidPort(st.Value); err != nil {
				return res, err
			}
		case k == "hostname":
			if ValidIP(st.Value) != nil && ValidHostname(st.Value) != nil {
				return res, fmt.Errorf("ssh HostName %q is neither an IP address nor a host name", st.Value)
			}
		}
		what = append(what, st.String())
	}
	if len(settings) == 0 {
		return res, fmt.Errorf("ssh config Host %s: no settings to write", alias)
	}
	old, exists, err := readOptional(ctx, h, configPath)
	if err != nil {
		return res, err
	}
	out, changed, err := setSSHHostBlock(old, alias, settings)
	if err != nil {
		return res, fmt.Errorf("%s on %s: %w", configPath, h.Name(), err)
	}
	desc := fmt.Sprintf("Host %s with %s", alias, strings.Join(what, ", "))
	if !changed {
		res.Reason = fmt.Sprintf("%s on %s already has %s; nothing changed.", configPath, h.Name(), desc)
		return res, nil
	}
	if !exists {
		dir := path.Dir(configPath)
		if _, err := h.Stat(ctx, dir); errors.Is(err, fs.ErrNotExist) {
			r, err := h.Exec(ctx, remote.Cmd{Argv: []string{"mkdir", "-p", "-m", "700", h.Path(dir)}})
			if err != nil || r.ExitCode != 0 {
				return res, fmt.Errorf("create %s on %s: mkdir exited %d: %v", dir, h.Name(), r.ExitCode, err)
			}
		}
	}
	if res.Backup, err = replaceFile(ctx, h, configPath, old, exists, out, 0o600); err != nil {
		return res, err
	}
	res.Changed = true
	res.Reason = fmt.Sprintf("Wrote %s into %s on %s.", desc, configPath, h.Name())
	return res, nil
}

// SSHEffectivePort asks the ssh client on h which port it would use for
// alias with the configuration file at configPath alone ("ssh -G -F").
func SSHEffectivePort(ctx context.Context, h remote.Host, configPath, alias string) (int, error) {
	var out bytes.Buffer
	r, err := h.Exec(ctx, remote.Cmd{Argv: []string{"ssh", "-G", "-F", h.Path(configPath), alias}, Stdout: &out})
	if err != nil {
		return 0, fmt.Errorf("ssh -G %s on %s: %w", alias, h.Name(), err)
	}
	if r.ExitCode != 0 {
		return 0, fmt.Errorf("ssh -G %s on %s exited with code %d", alias, h.Name(), r.ExitCode)
	}
	for _, l := range splitLines(out.Bytes()) {
		if k, v, ok := strings.Cut(l, " "); ok && k == "port" {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("ssh -G %s on %s printed no port line", alias, h.Name())
}

// SSHEffectiveConfig asks the ssh client on h what it would use to reach
// alias ("ssh -G"): with the configuration file at configPath alone (-F;
// /dev/null when the file does not exist yet), and the extra options (each
// "Keyword=value", passed with -o). The result maps each lower-case
// keyword to its values: one for most keywords, one per line for
// identityfile and the others ssh accumulates. The error says how ssh
// failed, with its last line of stderr.
func SSHEffectiveConfig(ctx context.Context, h remote.Host, configPath, alias string, options ...string) (map[string][]string, error) {
	f := h.Path(configPath)
	if _, err := h.Stat(ctx, configPath); errors.Is(err, fs.ErrNotExist) {
		f = "/dev/null"
	}
	argv := []string{"ssh", "-G", "-F", f}
	for _, o := range options {
		argv = append(argv, "-o", o)
	}
	argv = append(argv, alias)
	var out, errb bytes.Buffer
	r, err := h.Exec(ctx, remote.Cmd{Argv: argv, Stdout: &out, Stderr: &errb})
	if err != nil {
		return nil, fmt.Errorf("ssh -G %s on %s: %w", alias, h.Name(), err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("%s on %s exited with code %d: %s", strings.Join(argv, " "), h.Name(), r.ExitCode, sshLastLine(errb.String()))
	}
	m := map[string][]string{}
	for _, l := range splitLines(out.Bytes()) {
		if k, v, ok := strings.Cut(l, " "); ok {
			m[k] = append(m[k], strings.TrimSpace(v))
		}
	}
	return m, nil
}

// sshLastLine returns the last non-blank line of s, trimmed.
func sshLastLine(s string) string {
	lines := splitLines([]byte(strings.TrimSpace(s)))
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" {
			return l
		}
	}
	return "(nothing on stderr)"
}

// SSHQuery lists what the ssh client on h supports ("ssh -Q WHAT": kex,
// cipher, mac, key-sig ...), one name per entry.
func SSHQuery(ctx context.Context, h remote.Host, what string) ([]string, error) {
	var out, errb bytes.Buffer
	r, err := h.Exec(ctx, remote.Cmd{Argv: []string{"ssh", "-Q", what}, Stdout: &out, Stderr: &errb})
	if err != nil {
		return nil, fmt.Errorf("ssh -Q %s on %s: %w", what, h.Name(), err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("ssh -Q %s on %s exited with code %d: %s", what, h.Name(), r.ExitCode, sshLastLine(errb.String()))
	}
	return strings.Fields(out.String()), nil
}

// ---- resolv.conf -------------------------------------------------------------

// ResolvConf is what ferry reads from a resolv.conf file.
type ResolvConf struct {
	Nameservers []string
	// Kept holds the search, domain, options and sortlist lines, in file
	// order, as they are written back.
	Kept []string
}

// ParseResolvConf reads resolv.conf content. Comments (# or ;) and unknown
// lines are dropped.
func ParseResolvConf(data []byte) ResolvConf {
	var rc ResolvConf
	for _, l := range splitLines(data) {
		s := strings.TrimSpace(l)
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		f := strings.Fields(s)
		switch f[0] {
		case "nameserver":
			if len(f) >= 2 {
				rc.Nameservers = append(rc.Nameservers, f[1])
			}
		case "search", "domain", "options", "sortlist":
			rc.Kept = append(rc.Kept, strings.Join(f, " "))
		}
	}
	return rc
}

// Render returns the file content for rc: a comment saying who wrote it,
// the kept lines, then the nameserver lines.
func (rc ResolvConf) Render() []byte {
	lines := []string{"# Written by ferry during the server migration."}
	lines = append(lines, rc.Kept...)
	for _, n := range rc.Nameservers {
		lines = append(lines, "nameserver "+n)
	}
	return joinLines(lines)
}

// ReadResolvers returns the nameserver addresses in /etc/resolv.conf on h
// (on the old server: the resolvers it uses today).
func ReadResolvers(ctx context.Context, h remote.Host) ([]string, error) {
	data, err := h.ReadFile(ctx, ResolvConfFile)
	if err != nil {
		return nil, fmt.Errorf("read %s on %s: %w", ResolvConfFile, h.Name(), err)
	}
	ns := ParseResolvConf(data).Nameservers
	if len(ns) == 0 {
		return nil, fmt.Errorf("%s on %s lists no nameserver", ResolvConfFile, h.Name())
	}
	return ns, nil
}

// ResolvSymlinkError is returned when resolv.conf is a symbolic link (most
// often to the systemd-resolved stub). Replacing it would take the file away
// from whatever manages it, so the admin is asked first.
type ResolvSymlinkError struct {
	Host, Path, Target string
}

func (e *ResolvSymlinkError) Error() string {
	return fmt.Sprintf("%s on %s is a symbolic link to %s (a local resolver such as systemd-resolved manages it); replacing it needs the admin's consent",
		e.Path, e.Host, e.Target)
}

// WriteResolvConf makes resolv.conf at p on h (ResolvConfFile when p is
// empty) list exactly nameservers, keeping the current search, domain,
// options and sortlist lines. It does nothing when the file already lists
// exactly these nameservers in this order. When p is a symbolic link it
// returns a *ResolvSymlinkError unless replaceSymlink is true, in which case
// the link is replaced by a regular file (its target is left alone).
func WriteResolvConf(ctx context.Context, h remote.Host, p string, nameservers []string, replaceSymlink bool) (EditResult, error) {
	if p == "" {
		p = ResolvConfFile
	}
	res := EditResult{Host: h.Name(), Path: p}
	if err := ValidNameservers(nameservers); err != nil {
		return res, err
	}
	readFrom, link := p, ""
	if fi, err := h.Stat(ctx, p); err == nil && fi.Mode&fs.ModeSymlink != 0 {
		link = fi.LinkTarget
		if !replaceSymlink {
			return res, &ResolvSymlinkError{Host: h.Name(), Path: p, Target: link}
		}
		// Read the target through the host's root, never through the real
		// file system's absolute path.
		readFrom = link
		if !path.IsAbs(link) {
			readFrom = path.Join(path.Dir(p), link)
		}
	}
	old, exists, err := readOptional(ctx, h, readFrom)
	if err != nil {
		return res, err
	}
	cur := ParseResolvConf(old)
	if link == "" && exists && slices.Equal(cur.Nameservers, nameservers) {
		res.Reason = fmt.Sprintf("%s on %s already lists nameserver %s; nothing changed.", p, h.Name(), strings.Join(nameservers, ", "))
		return res, nil
	}
	want := ResolvConf{Nameservers: nameservers, Kept: cur.Kept}
	if res.Backup, err = replaceFile(ctx, h, p, old, exists, want.Render(), 0o644); err != nil {
		return res, err
	}
	res.Changed = true
	before := "none"
	if len(cur.Nameservers) > 0 {
		before = strings.Join(cur.Nameservers, ", ")
	}
	res.Reason = fmt.Sprintf("%s on %s now lists nameserver %s (before: %s).", p, h.Name(), strings.Join(nameservers, ", "), before)
	if link != "" {
		res.Reason = fmt.Sprintf("%s on %s was a link to %s and is now a file listing nameserver %s (before: %s).", p, h.Name(), link, strings.Join(nameservers, ", "), before)
	}
	return res, nil
}

// ResolvedDropIn is the systemd-resolved drop-in ferry writes when the admin
// keeps systemd-resolved in charge of resolv.conf (resolved.conf(5): files in
// /etc/systemd/resolved.conf.d/*.conf override /etc/systemd/resolved.conf).
const ResolvedDropIn = "/etc/systemd/resolved.conf.d/ferry-migration.conf"

// SetResolvedDNS makes systemd-resolved on h use exactly nameservers as its
// upstream DNS servers, by writing ResolvedDropIn ("[Resolve]" with "DNS="
// and an empty "FallbackDNS=", resolved.conf(5)) atomically, with a backup of
// an earlier version. It changes nothing when the drop-in already says so.
// resolv.conf itself is left to systemd-resolved; the caller restarts the
// service for the setting to take effect. Bad addresses are refused before
// anything is written.
func SetResolvedDNS(ctx context.Context, h remote.Host, nameservers []string) (EditResult, error) {
	res := EditResult{Host: h.Name(), Path: ResolvedDropIn}
	if err := ValidNameservers(nameservers); err != nil {
		return res, err
	}
	want := joinLines([]string{
		"# Written by ferry during the server migration: the resolvers chosen for this server.",
		"[Resolve]",
		"DNS=" + strings.Join(nameservers, " "),
		"FallbackDNS=",
	})
	old, exists, err := readOptional(ctx, h, ResolvedDropIn)
	if err != nil {
		return res, err
	}
	if exists && string(old) == string(want) {
		res.Reason = fmt.Sprintf("%s on %s already sets DNS=%s; nothing changed.", ResolvedDropIn, h.Name(), strings.Join(nameservers, " "))
		return res, nil
	}
	if !exists {
		dir := path.Dir(ResolvedDropIn)
		r, err := h.Exec(ctx, remote.Cmd{Argv: []string{"mkdir", "-p", h.Path(dir)}})
		if err == nil && r.ExitCode != 0 {
			err = fmt.Errorf("mkdir exited with code %d", r.ExitCode)
		}
		if err != nil {
			return res, fmt.Errorf("create %s on %s: %w", dir, h.Name(), err)
		}
	}
	if res.Backup, err = replaceFile(ctx, h, ResolvedDropIn, old, exists, want, 0o644); err != nil {
		return res, err
	}
	res.Changed = true
	res.Reason = fmt.Sprintf("%s on %s now sets DNS=%s for systemd-resolved.", ResolvedDropIn, h.Name(), strings.Join(nameservers, " "))
	return res, nil
}

// ---- GreenArrow DNS cache setting -------------------------------------------

// DNSCacheSetting is the dns_cache_service_run setting of greenarrow.conf.
type DNSCacheSetting struct {
	// Present is false when the file does not set it.
	Present bool `json:"present"`
	// Enabled is the setting's value (false when absent).
	Enabled bool `json:"enabled"`
	// Value is the word as written and Line its 1-based line number.
	Value string `json:"value,omitempty"`
	Line  int    `json:"line,omitempty"`
}

// ParseDNSCacheSetting finds dns_cache_service_run in greenarrow.conf
// content. The file's full syntax is not published; ferry reads it as
// NGINX-like: "#" starts a comment, a directive is a name followed by a
// value, blocks are in braces, and an optional ";" after the value is
// accepted. "name = value" and "name: value" are read the same way. The last
// occurrence wins. Values yes, no, true, false, on, off, 1 and 0 are
// understood (in any case, optionally quoted); anything else is a
// *DNSSettingError naming the line, which the DNS step turns into a question
// rather than a failure (DecideResolvers).
func ParseDNSCacheSetting(data []byte) (DNSCacheSetting, error) {
	const key = "dns_cache_service_run"
	var st DNSCacheSetting
	raw := splitLines(data)
	for i, l := range raw {
		if j := strings.IndexByte(l, '#'); j >= 0 {
			l = l[:j]
		}
		l = dnsSettingSeparators.Replace(l)
		f := strings.Fields(l)
		for k := 0; k < len(f); k++ {
			if f[k] != key {
				continue
			}
			if k+1 < len(f) && (f[k+1] == "=" || f[k+1] == ":") {
				k++
			}
			if k+1 >= len(f) || f[k+1] == ";" || f[k+1] == "{" || f[k+1] == "}" {
				return st, &DNSSettingError{Line: i + 1, Text: strings.TrimSpace(raw[i]), Problem: key + " has no value"}
			}
			v := strings.Trim(f[k+1], `"'`)
			switch strings.ToLower(v) {
			case "yes", "true", "on", "1":
				st = DNSCacheSetting{Present: true, Enabled: true, Value: f[k+1], Line: i + 1}
			case "no", "false", "off", "0":
				st = DNSCacheSetting{Present: true, Enabled: false, Value: f[k+1], Line: i + 1}
			default:
				return st, &DNSSettingError{Line: i + 1, Text: strings.TrimSpace(raw[i]), Problem: fmt.Sprintf("%s has the value %q, and ferry knows only yes, no, true, false, on, off, 1 and 0", key, f[k+1])}
			}
			k++
		}
	}
	return st, nil
}

// dnsSettingSeparators sets the punctuation of a greenarrow.conf line apart
// from the words around it.
var dnsSettingSeparators = strings.NewReplacer("{", " { ", "}", " } ", ";", " ; ", "=", " = ", ":", " : ")

// DNSSettingError is a dns_cache_service_run line ferry cannot read: Line is
// its 1-based number, Text the line as written, Problem what is wrong.
type DNSSettingError struct {
	Line    int
	Text    string
	Problem string
}

func (e *DNSSettingError) Error() string {
	return fmt.Sprintf("greenarrow.conf line %d (%s): %s", e.Line, e.Text, e.Problem)
}

// ResolverDecision is what the DNS resolver step should do.
type ResolverDecision struct {
	// UseLocalCache is true when resolv.conf must list only 127.0.0.1
	// (GreenArrow runs its own DNS cache service); otherwise the admin
	// chooses the resolvers.
	UseLocalCache bool            `json:"use_local_cache"`
	Setting       DNSCacheSetting `json:"setting"`
	// Unreadable, when set, says why the setting could not be read; the
	// admin then chooses, as when the setting is off.
	Unreadable string `json:"unreadable,omitempty"`
	Reason     string `json:"reason"`
}

// LocalCacheNameserver is the only resolver when GreenArrow's DNS cache
// service runs.
const LocalCacheNameserver = "127.0.0.1"

// DecideResolvers reads greenarrow.conf at confPath on h (GreenArrowConf when
// empty) and decides between "use 127.0.0.1" and "ask the admin". A missing
// file counts as the setting being absent.
func DecideResolvers(ctx context.Context, h remote.Host, confPath string) (ResolverDecision, error) {
	if confPath == "" {
		confPath = GreenArrowConf
	}
	data, exists, err := readOptional(ctx, h, confPath)
	if err != nil {
		return ResolverDecision{}, err
	}
	st, err := ParseDNSCacheSetting(data)
	var bad *DNSSettingError
	if errors.As(err, &bad) {
		// The file's syntax is not published: what ferry cannot read, the
		// admin decides.
		return ResolverDecision{Setting: st, Unreadable: bad.Error(),
			Reason: fmt.Sprintf("ferry cannot read the DNS cache setting in %s on %s: %s. Choose the resolvers; if GreenArrow's DNS cache service runs there, the only resolver must be %s.", confPath, h.Name(), bad.Error(), LocalCacheNameserver)}, nil
	}
	if err != nil {
		return ResolverDecision{}, fmt.Errorf("%s on %s: %w", confPath, h.Name(), err)
	}
	d := ResolverDecision{Setting: st, UseLocalCache: st.Enabled}
	switch {
	case !exists:
		d.Reason = fmt.Sprintf("%s does not exist on %s, so dns_cache_service_run is not set and the resolvers must be chosen.", confPath, h.Name())
	case !st.Present:
		d.Reason = fmt.Sprintf("%s on %s does not set dns_cache_service_run, so the resolvers must be chosen.", confPath, h.Name())
	case st.Enabled:
		d.Reason = fmt.Sprintf("%s on %s sets dns_cache_service_run to %s (line %d), so resolv.conf must list only %s.", confPath, h.Name(), st.Value, st.Line, LocalCacheNameserver)
	default:
		d.Reason = fmt.Sprintf("%s on %s sets dns_cache_service_run to %s (line %d), so the resolvers must be chosen.", confPath, h.Name(), st.Value, st.Line)
	}
	return d, nil
}

// ---- apt source -----------------------------------------------------------------

// commentOutDeb is the pure part of CommentOutDebLines.
func commentOutDeb(data []byte) ([]byte, int) {
	lines := splitLines(data)
	n := 0
	for i, l := range lines {
		if strings.HasPrefix(l, "deb ") {
			lines[i] = "#" + l
			n++
		}
	}
	if n == 0 {
		return data, 0
	}
	return joinLines(lines), n
}

// CommentOutDebLines puts "#" before every line of the apt source file p on
// h that starts with "deb " (what sed -i 's/^deb /#deb /' does), with a
// backup. Running it again changes nothing. A missing file is an error.
func CommentOutDebLines(ctx context.Context, h remote.Host, p string) (EditResult, error) {
	res := EditResult{Host: h.Name(), Path: p}
	old, err := h.ReadFile(ctx, p)
	if err != nil {
		return res, fmt.Errorf("read %s on %s: %w", p, h.Name(), err)
	}
	out, n := commentOutDeb(old)
	if n == 0 {
		res.Reason = fmt.Sprintf("%s on %s has no active deb line; nothing changed.", p, h.Name())
		return res, nil
	}
	if res.Backup, err = replaceFile(ctx, h, p, old, true, out, 0o644); err != nil {
		return res, err
	}
	res.Changed = true
	res.Reason = fmt.Sprintf("Commented out %d deb line(s) in %s on %s.", n, p, h.Name())
	return res, nil
}
