package tasks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ferry-migrate/ferry/remote"
)

// OSRelease is what ferry needs from a server's os-release data.
type OSRelease struct {
	ID         string   `json:"id"`
	IDLike     []string `json:"id_like,omitempty"`
	VersionID  string   `json:"version_id,omitempty"`
	PrettyName string   `json:"pretty_name,omitempty"`
	// Source is the file the values came from ("/etc/os-release",
	// "/etc/redhat-release" ...).
	Source string `json:"source"`
}

var osReleaseKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// ParseOSRelease reads os-release(5) content: KEY=VALUE lines, values bare or
// in single or double quotes, backslash escapes in bare and double-quoted
// values, no variable expansion, "#" comment lines, blank lines; a later
// assignment of a key wins. Lines that are not assignments are skipped.
func ParseOSRelease(data []byte) map[string]string {
	out := map[string]string{}
	for _, l := range splitLines(data) {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok || !osReleaseKey().MatchString(k) {
			continue
		}
		out[k] = unquoteOSRelease(v)
	}
	return out
}

// unquoteOSRelease undoes shell-style quoting of one os-release value.
func unquoteOSRelease(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(v[i+1:], '\'')
			if j < 0 {
				b.WriteString(v[i+1:])
				return b.String()
			}
			b.WriteString(v[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			for i++; i < len(v) && v[i] != '"'; i++ {
				// As in the shell, a backslash inside double quotes escapes
				// only $ ` " and \; before anything else it is kept.
				if v[i] == '\\' && i+1 < len(v) && strings.IndexByte("$`\"\\", v[i+1]) >= 0 {
					i++
				}
				b.WriteByte(v[i])
			}
		case c == '\\' && i+1 < len(v):
			i++
			b.WriteByte(v[i])
		case c == ' ' || c == '\t':
			// An unquoted blank ends the value (a trailing comment or junk).
			return b.String()
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// OSReleaseFromFields picks ID, ID_LIKE, VERSION_ID and PRETTY_NAME out of
// parsed os-release fields. ID defaults to "linux", as os-release(5) says.
func OSReleaseFromFields(f map[string]string, source string) OSRelease {
	r := OSRelease{
		ID:         strings.ToLower(f["ID"]),
		IDLike:     strings.Fields(strings.ToLower(f["ID_LIKE"])),
		VersionID:  f["VERSION_ID"],
		PrettyName: f["PRETTY_NAME"],
		Source:     source,
	}
	if r.ID == "" {
		r.ID = "linux"
	}
	if r.PrettyName == "" {
		r.PrettyName = strings.TrimSpace(f["NAME"] + " " + f["VERSION"])
	}
	if r.PrettyName == "" {
		r.PrettyName = "Linux"
	}
	return r
}

var releaseNumber = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`release\s+([0-9]+(?:\.[0-9]+)*)`) })

// ParseRedHatRelease reads the one line of /etc/redhat-release or
// /etc/centos-release ("CentOS release 6.10 (Final)"), for servers too old to
// have /etc/os-release.
func ParseRedHatRelease(data []byte, source string) (OSRelease, error) {
	line := strings.TrimSpace(string(data))
	if i := strings.IndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[:i])
	}
	if line == "" {
		return OSRelease{}, fmt.Errorf("%s is empty", source)
	}
	r := OSRelease{PrettyName: line, Source: source, IDLike: []string{"rhel", "fedora"}}
	lower := strings.ToLower(line)
	switch {
	case strings.HasPrefix(lower, "centos"):
		r.ID = "centos"
	case strings.HasPrefix(lower, "red hat"):
		r.ID, r.IDLike = "rhel", []string{"fedora"}
	case strings.HasPrefix(lower, "scientific"):
		r.ID = "scientific"
	case strings.HasPrefix(lower, "oracle"):
		r.ID, r.IDLike = "ol", []string{"fedora"}
	case strings.HasPrefix(lower, "cloudlinux"):
		r.ID = "cloudlinux"
	case strings.HasPrefix(lower, "fedora"):
		r.ID, r.IDLike = "fedora", nil
	default:
		r.ID = "rhel"
	}
	if m := releaseNumber().FindStringSubmatch(lower); m != nil {
		r.VersionID = m[1]
	}
	return r, nil
}

// ParseDebianVersion reads /etc/debian_version ("9.13", or "bookworm/sid" on
// testing): ID debian, VERSION_ID the major release number when there is one.
func ParseDebianVersion(data []byte, source string) (OSRelease, error) {
	v := strings.TrimSpace(string(data))
	if v == "" {
		return OSRelease{}, fmt.Errorf("%s is empty", source)
	}
	r := OSRelease{ID: "debian", Source: source, PrettyName: "Debian " + v}
	// The major release is the leading digits ("9.13" is 9, "10a" is 10).
	if n := len(v) - len(strings.TrimLeft(v, "0123456789")); n > 0 {
		r.VersionID = v[:n]
	}
	return r, nil
}

// DistroFamily returns the family of a distribution, as the vendor
// procedures tell them apart: "rhel" or "debian", or "" when unknown.
func DistroFamily(id string, idLike []string) string {
	rhel := []string{"rhel", "centos", "rocky", "almalinux", "ol", "fedora", "scientific", "cloudlinux"}
	debian := []string{"debian", "ubuntu"}
	switch {
	case slices.Contains(rhel, id):
		return "rhel"
	case slices.Contains(debian, id):
		return "debian"
	}
	for _, l := range idLike {
		switch {
		case l == "rhel" || l == "fedora" || l == "centos":
			return "rhel"
		case l == "debian" || l == "ubuntu":
			return "debian"
		}
	}
	return ""
}

// NormalizeArch maps the names a machine architecture goes by (uname -m,
// dpkg, rpm) to one spelling: x86_64, aarch64, i686, armv7l; other names are
// returned lower-cased.
func NormalizeArch(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case "x86_64", "amd64", "x64", "x86-64":
		return "x86_64"
	case "aarch64", "arm64":
		return "aarch64"
	case "i386", "i486", "i586", "i686", "x86":
		return "i686"
	case "armhf", "armv7l", "armv7hl":
		return "armv7l"
	}
	return s
}

// PlatformInfo is a server's distribution and architecture.
type PlatformInfo struct {
	OSRelease
	// Family is "rhel", "debian" or "" (unknown).
	Family string `json:"family"`
	// Arch is the normalised architecture, RawArch what uname -m printed.
	Arch    string `json:"arch"`
	RawArch string `json:"raw_arch"`
}

// Key returns "ID:VERSION_ID" ("ubuntu:18.04"), the form in which runbooks
// list distributions.
func (p PlatformInfo) Key() string { return p.ID + ":" + p.VersionID }

// Describe returns a short description: "CentOS release 6.10 (Final),
// rhel family, x86_64".
func (p PlatformInfo) Describe() string {
	fam := p.Family
	if fam == "" {
		fam = "unknown"
	}
	return fmt.Sprintf("%s, %s family, %s", p.PrettyName, fam, p.Arch)
}

// MatchesDistro reports whether the platform is the distribution named by
// entry: "ubuntu:18.04" matches ID ubuntu with VERSION_ID 18.04, "centos:6"
// also matches VERSION_ID 6.10, and "debian" alone matches every release.
func (p PlatformInfo) MatchesDistro(entry string) bool {
	id, ver, hasVer := strings.Cut(strings.ToLower(strings.TrimSpace(entry)), ":")
	if id != p.ID {
		return false
	}
	if !hasVer || ver == "" {
		return true
	}
	return p.VersionID == ver || strings.HasPrefix(p.VersionID, ver+".")
}

// osReleaseSources are tried in order; the first that exists is used.
var osReleaseSources = []struct {
	path  string
	parse func([]byte, string) (OSRelease, error)
}{
	{"/etc/os-release", func(b []byte, s string) (OSRelease, error) { return OSReleaseFromFields(ParseOSRelease(b), s), nil }},
	{"/usr/lib/os-release", func(b []byte, s string) (OSRelease, error) { return OSReleaseFromFields(ParseOSRelease(b), s), nil }},
	{"/etc/centos-release", ParseRedHatRelease},
	{"/etc/redhat-release", ParseRedHatRelease},
	{"/etc/debian_version", ParseDebianVersion},
}

// ReadOSRelease reads the distribution of h from /etc/os-release, or
// /usr/lib/os-release, or, on servers older than os-release (CentOS 6),
// /etc/centos-release, /etc/redhat-release or /etc/debian_version.
func ReadOSRelease(ctx context.Context, h remote.Host) (OSRelease, error) {
	var tried []string
	for _, src := range osReleaseSources {
		data, err := h.ReadFile(ctx, src.path)
		if errors.Is(err, fs.ErrNotExist) {
			tried = append(tried, src.path)
			continue
		}
		if err != nil {
			return OSRelease{}, fmt.Errorf("read %s on %s: %w", src.path, h.Name(), err)
		}
		r, err := src.parse(data, src.path)
		if err != nil {
			return OSRelease{}, fmt.Errorf("%s on %s: %w", src.path, h.Name(), err)
		}
		return r, nil
	}
	return OSRelease{}, fmt.Errorf("cannot tell the distribution of %s: none of %s exists", h.Name(), strings.Join(tried, ", "))
}

// Platform reads the distribution of h and its architecture (uname -m).
func Platform(ctx context.Context, h remote.Host) (PlatformInfo, error) {
	r, err := ReadOSRelease(ctx, h)
	if err != nil {
		return PlatformInfo{}, err
	}
	var out, errb bytes.Buffer
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{"uname", "-m"}, Stdout: &out, Stderr: &errb})
	if err != nil {
		return PlatformInfo{}, fmt.Errorf("uname -m on %s: %w", h.Name(), err)
	}
	raw := strings.TrimSpace(out.String())
	if res.ExitCode != 0 || raw == "" {
		return PlatformInfo{}, fmt.Errorf("uname -m on %s exited with code %d and printed %q", h.Name(), res.ExitCode, raw+strings.TrimSpace(errb.String()))
	}
	return PlatformInfo{OSRelease: r, Family: DistroFamily(r.ID, r.IDLike), Arch: NormalizeArch(raw), RawArch: raw}, nil
}

// SamePlatform checks that two servers run a distribution of the same
// family on the same architecture, as the GreenArrow procedure requires.
func SamePlatform(oldName string, old PlatformInfo, newName string, nw PlatformInfo) CheckResult {
	desc := fmt.Sprintf("%s runs %s and %s runs %s", oldName, old.Describe(), newName, nw.Describe())
	switch {
	case old.Family == "" || nw.Family == "":
		return CheckResult{Reason: desc + "; the family of an unknown distribution cannot be compared."}
	case old.Family != nw.Family:
		return CheckResult{Reason: desc + "; the families differ."}
	case old.Arch != nw.Arch:
		return CheckResult{Reason: desc + "; the architectures differ."}
	}
	return CheckResult{OK: true, Reason: desc + ": same family and architecture."}
}
