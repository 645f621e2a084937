package tasks

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/charmbracelet/x/ansi"
	"github.com/dustin/go-humanize"
	debversion "github.com/knqyf263/go-deb-version"
	rpmversion "github.com/knqyf263/go-rpm-version"

	"github.com/ferry-migrate/ferry/remote"
)

// CheckResult is the outcome of a read-only check.
type CheckResult struct {
	OK bool `json:"ok"`
	// Reason is one sentence naming the values compared.
	Reason string `json:"reason"`
	// Detail is longer text worth showing (a file's content, a list of
	// services), stripped of terminal control sequences; often empty.
	Detail string `json:"detail,omitempty"`
}

// ---- versions ----------------------------------------------------------------

// versionFamily maps a family or package manager name to "rpm" or "deb".
func versionFamily(family string) (string, error) {
	switch strings.ToLower(family) {
	case "rhel", "rpm", "centos":
		return "rpm", nil
	case "debian", "deb", "dpkg", "ubuntu":
		return "deb", nil
	}
	return "", fmt.Errorf("version ordering for family %q is unknown (expected rhel or debian)", family)
}

var rpmVersionShape = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:[0-9]+:)?[0-9A-Za-z][0-9A-Za-z._+~^]*(?:-[0-9A-Za-z._+~^]+)?$`)
})

// CompareVersions compares package versions a and b with the ordering of
// family's package manager (rpm for "rhel", dpkg for "debian"), epochs
// included: -1 if a < b, 0 if equal, +1 if a > b.
func CompareVersions(family, a, b string) (int, error) {
	fam, err := versionFamily(family)
	if err != nil {
		return 0, err
	}
	if fam == "rpm" {
		for _, v := range []string{a, b} {
			if !rpmVersionShape().MatchString(v) {
				return 0, fmt.Errorf("%q is not an rpm version", v)
			}
		}
		return rpmversion.NewVersion(a).Compare(rpmversion.NewVersion(b)), nil
	}
	va, err := debversion.NewVersion(a)
	if err != nil || strings.TrimSpace(a) != a {
		return 0, fmt.Errorf("%q is not a Debian version: %v", a, err)
	}
	vb, err := debversion.NewVersion(b)
	if err != nil || strings.TrimSpace(b) != b {
		return 0, fmt.Errorf("%q is not a Debian version: %v", b, err)
	}
	// The library returns any negative or positive number; callers are
	// promised -1, 0 or +1.
	return cmp.Compare(va.Compare(vb), 0), nil
}

// VersionAtLeast reports whether version have is min or later, in the
// ordering of family's package manager ("rhel" or "debian").
func VersionAtLeast(family, have, min string) (bool, error) {
	c, err := CompareVersions(family, have, min)
	return c >= 0, err
}

// PackageInfo is what a package manager says about one package.
type PackageInfo struct {
	Name string `json:"name"`
	// Manager is "rpm" or "dpkg".
	Manager   string `json:"manager"`
	Installed bool   `json:"installed"`
	// Version is [EPOCH:]VERSION-RELEASE as the manager orders it.
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"`
	// Status is dpkg's status when the package is known but not installed
	// ("deinstall ok config-files").
	Status string `json:"status,omitempty"`
}

// Family returns the family whose version ordering applies.
func (p PackageInfo) Family() string {
	if p.Manager == "rpm" {
		return "rhel"
	}
	return "debian"
}

// rpmQueryFormat makes rpm print the epoch, which its default output omits.
const rpmQueryFormat = `%{NAME}\t%{EPOCH}\t%{VERSION}-%{RELEASE}\t%{ARCH}\n`

// RPMQueryFormat is the --qf format QueryPackage gives rpm -q, for plans
// that show the command.
const RPMQueryFormat = rpmQueryFormat

var rpmArches = map[string]bool{
	"x86_64": true, "i386": true, "i486": true, "i586": true, "i686": true, "noarch": true,
	"aarch64": true, "ppc64": true, "ppc64le": true, "s390x": true, "armv7hl": true,
}

// ParseRPMQuery reads the output of "rpm -q PKG" (NAME-VERSION-RELEASE.ARCH
// lines, such as greenarrow-engine-4.1.180-0.x86_64) or of rpm -q with
// ferry's query format (NAME, EPOCH, VERSION-RELEASE, ARCH separated by
// tabs). With several versions installed, the latest is returned.
// "package PKG is not installed" gives Installed false.
func ParseRPMQuery(pkg, out string) (PackageInfo, error) {
	info := PackageInfo{Name: pkg, Manager: "rpm"}
	for _, l := range splitLines([]byte(out)) {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "package ") && strings.HasSuffix(l, " is not installed") {
			continue
		}
		var ver, arch string
		if f := strings.Split(l, "\t"); len(f) == 4 {
			if f[0] != pkg {
				return info, fmt.Errorf("rpm -q %s printed %q, which is about another package", pkg, l)
			}
			ver, arch = f[2], f[3]
			if f[1] != "(none)" && f[1] != "" {
				ver = f[1] + ":" + ver
			}
		} else {
			rest, ok := strings.CutPrefix(l, pkg+"-")
			if !ok {
				return info, fmt.Errorf("rpm -q %s printed %q, which is not NAME-VERSION-RELEASE", pkg, l)
			}
			if i := strings.LastIndexByte(rest, '.'); i >= 0 && rpmArches[rest[i+1:]] {
				rest, arch = rest[:i], rest[i+1:]
			}
			ver = rest
		}
		if !rpmVersionShape().MatchString(ver) || !strings.Contains(ver, "-") {
			return info, fmt.Errorf("rpm -q %s printed %q, whose version %q is not VERSION-RELEASE", pkg, l, ver)
		}
		if !info.Installed || rpmversion.NewVersion(ver).Compare(rpmversion.NewVersion(info.Version)) > 0 {
			info.Installed, info.Version, info.Arch = true, ver, arch
		}
	}
	return info, nil
}

// dpkgQueryFormat is the format ferry gives dpkg-query -W -f.
const dpkgQueryFormat = `${Status}\t${Version}\t${Architecture}\n`

// DpkgQueryFormat is the -f format QueryPackage gives dpkg-query -W, for
// plans that show the command.
const DpkgQueryFormat = dpkgQueryFormat

// ParseDpkgQuery reads the output of dpkg-query -W -f for one package: either
// ferry's format (status, version and architecture separated by tabs) or a
// bare version (-f '${Version}'). A package is installed when its status ends
// in "installed"; a bare version is taken as installed. Empty output, or
// "no packages found", gives Installed false.
func ParseDpkgQuery(pkg, out string) (PackageInfo, error) {
	info := PackageInfo{Name: pkg, Manager: "dpkg"}
	s := strings.TrimSpace(out)
	if s == "" || strings.Contains(s, "no packages found matching") {
		return info, nil
	}
	line, _, _ := strings.Cut(s, "\n")
	f := strings.Split(line, "\t")
	ver := strings.TrimSpace(f[0])
	if len(f) >= 2 {
		info.Status = strings.TrimSpace(f[0])
		ver = strings.TrimSpace(f[1])
		if len(f) >= 3 {
			info.Arch = strings.TrimSpace(f[2])
		}
		st := strings.Fields(info.Status)
		if len(st) != 3 || st[2] != "installed" {
			info.Version = ver
			return info, nil
		}
		info.Status = ""
	}
	if _, err := debversion.NewVersion(ver); err != nil {
		return info, fmt.Errorf("dpkg-query for %s printed %q, whose version %q is not a Debian version", pkg, line, ver)
	}
	info.Installed, info.Version = true, ver
	return info, nil
}

// ParseDpkgList reads the output of "dpkg -l PKG": the package line starts
// with two status letters ("ii" is installed; "rc" is removed with its
// configuration left), then the name, version and architecture.
func ParseDpkgList(pkg, out string) (PackageInfo, error) {
	info := PackageInfo{Name: pkg, Manager: "dpkg"}
	for _, l := range splitLines([]byte(out)) {
		f := strings.Fields(l)
		if len(f) < 3 || len(f[0]) < 2 || len(f[0]) > 3 || strings.ContainsAny(f[0], "|+=/") {
			continue
		}
		name, _, _ := strings.Cut(f[1], ":") // multiarch: "libc6:amd64"
		if name != pkg {
			continue
		}
		info.Version = f[2]
		if len(f) >= 4 {
			info.Arch = f[3]
		}
		if f[0] != "ii" && f[0] != "hi" {
			info.Status = f[0]
			return info, nil
		}
		if _, err := debversion.NewVersion(f[2]); err != nil {
			return info, fmt.Errorf("dpkg -l %s printed %q, whose version %q is not a Debian version", pkg, strings.TrimSpace(l), f[2])
		}
		info.Installed = true
		return info, nil
	}
	return info, nil
}

// notFound reports whether a command could not be run because the program
// is missing (the local host fails to start it; a shell says 127).
func notFound(res remote.Result) bool {
	return res.ExitCode == 127
}

// QueryPackage asks h's package managers about pkg: rpm first, then
// dpkg-query (a Debian server may have rpm installed too, knowing nothing).
// It fails only when neither program can be run.
func QueryPackage(ctx context.Context, h remote.Host, pkg string) (PackageInfo, error) {
	if pkg == "" || strings.HasPrefix(pkg, "-") || strings.ContainsAny(pkg, " \t\n/") {
		return PackageInfo{}, fmt.Errorf("package name %q is not valid", pkg)
	}
	var rpmInfo *PackageInfo
	var out, errb bytes.Buffer
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{"rpm", "-q", "--qf", rpmQueryFormat, pkg}, Stdout: &out, Stderr: &errb})
	switch {
	case notFound(res):
	case err != nil:
		return PackageInfo{}, fmt.Errorf("rpm -q %s on %s: %w", pkg, h.Name(), err)
	default:
		info, perr := ParseRPMQuery(pkg, out.String())
		if perr != nil {
			return info, fmt.Errorf("on %s: %w", h.Name(), perr)
		}
		if info.Installed {
			return info, nil
		}
		rpmInfo = &info
	}
	out.Reset()
	errb.Reset()
	res, err = h.Exec(ctx, remote.Cmd{Argv: []string{"dpkg-query", "-W", "-f", dpkgQueryFormat, pkg}, Stdout: &out, Stderr: &errb})
	switch {
	case notFound(res):
		if rpmInfo != nil {
			return *rpmInfo, nil
		}
		return PackageInfo{Name: pkg}, fmt.Errorf("neither rpm nor dpkg-query can be run on %s to ask about %s", h.Name(), pkg)
	case err != nil:
		return PackageInfo{}, fmt.Errorf("dpkg-query -W %s on %s: %w", pkg, h.Name(), err)
	}
	info, perr := ParseDpkgQuery(pkg, out.String()+errb.String())
	if perr != nil {
		return info, fmt.Errorf("on %s: %w", h.Name(), perr)
	}
	return info, nil
}

// CheckPackageVersion checks that one of packages (tried in order: the
// package was renamed over time) is installed on h at version min or later,
// compared with the installed manager's ordering. The PackageInfo is that
// of the package found.
func CheckPackageVersion(ctx context.Context, h remote.Host, packages []string, min string) (CheckResult, PackageInfo, error) {
	if len(packages) == 0 {
		return CheckResult{}, PackageInfo{}, errors.New("package-version check: no package named")
	}
	for _, pkg := range packages {
		info, err := QueryPackage(ctx, h, pkg)
		if err != nil {
			return CheckResult{}, info, err
		}
		if !info.Installed {
			continue
		}
		ok, err := VersionAtLeast(info.Family(), info.Version, min)
		if err != nil {
			return CheckResult{}, info, fmt.Errorf("compare %s %s with %s: %w", pkg, info.Version, min, err)
		}
		if ok {
			return CheckResult{OK: true, Reason: fmt.Sprintf("%s %s (%s) on %s is %s or later.", pkg, info.Version, info.Manager, h.Name(), min)}, info, nil
		}
		return CheckResult{Reason: fmt.Sprintf("%s %s (%s) on %s is older than the required %s.", pkg, info.Version, info.Manager, h.Name(), min)}, info, nil
	}
	return CheckResult{Reason: fmt.Sprintf("%s is not installed on %s (neither rpm nor dpkg knows it), so no version %s or later is there.", strings.Join(packages, " or "), h.Name(), min)}, PackageInfo{Name: packages[0]}, nil
}

// ---- disk space -----------------------------------------------------------------

// ParseDuSK reads the output of "du -sk PATH" and returns the size in KiB.
func ParseDuSK(out string) (int64, error) {
	for _, l := range splitLines([]byte(out)) {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err == nil && n >= 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("du printed %q, which has no size", strings.TrimSpace(out))
}

// DfInfo is one file system as "df -Pk" reports it, sizes in KiB.
type DfInfo struct {
	Filesystem string `json:"filesystem"`
	SizeKB     int64  `json:"size_kb"`
	UsedKB     int64  `json:"used_kb"`
	AvailKB    int64  `json:"avail_kb"`
	MountedOn  string `json:"mounted_on"`
}

// ParseDfPk reads the output of "df -Pk PATH": a header, then one line per
// file system (-P keeps each on one line); the first one is returned.
func ParseDfPk(out string) (DfInfo, error) {
	lines := splitLines([]byte(out))
	for i, l := range lines {
		f := strings.Fields(l)
		if i == 0 && len(f) > 0 && f[0] == "Filesystem" {
			continue
		}
		if len(f) < 6 {
			continue
		}
		var n [3]int64
		var err error
		for j := range n {
			if n[j], err = strconv.ParseInt(f[1+j], 10, 64); err != nil {
				return DfInfo{}, fmt.Errorf("df printed %q, whose column %d (%q) is not a number", l, j+2, f[1+j])
			}
		}
		// The mount point is the rest of the line after the capacity column.
		mnt := strings.TrimSpace(l[strings.Index(l, f[4])+len(f[4]):])
		return DfInfo{Filesystem: f[0], SizeKB: n[0], UsedKB: n[1], AvailKB: n[2], MountedOn: mnt}, nil
	}
	return DfInfo{}, fmt.Errorf("df printed %q, which has no file system line", strings.TrimSpace(out))
}

// TreeSize returns the disk space the tree at p on h uses, in bytes
// ("du -sk"). When du could not read everything but printed a total, the
// size is returned with a note saying the figure is a lower bound. du does
// not follow symbolic links, so data reached through them (GreenArrow's
// Persistence Path Mode keeps its data elsewhere and links to it from
// /var/hvmail) is not counted; neither does rsync -a copy it.
func TreeSize(ctx context.Context, h remote.Host, p string) (bytes int64, note string, err error) {
	if _, err := h.Stat(ctx, p); err != nil {
		return 0, "", fmt.Errorf("size of %s on %s: %w", p, h.Name(), err)
	}
	var out, errb strings.Builder
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{"du", "-sk", h.Path(p)}, Stdout: &out, Stderr: &errb})
	if err != nil {
		return 0, "", fmt.Errorf("du -sk %s on %s: %w", p, h.Name(), err)
	}
	kb, perr := ParseDuSK(out.String())
	if perr != nil {
		return 0, "", fmt.Errorf("du -sk %s on %s (exit code %d, %s): %w", p, h.Name(), res.ExitCode, firstLine(errb.String()), perr)
	}
	if res.ExitCode != 0 {
		note = fmt.Sprintf("du could not read all of %s (%s), so its size is at least this", p, firstLine(errb.String()))
	}
	return kb * 1024, note, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(ansi.Strip(s)), "\n")
	return l
}

// FreeSpace returns the file system holding p on h ("df -Pk"). When p does
// not exist yet, its nearest existing parent is asked about instead.
func FreeSpace(ctx context.Context, h remote.Host, p string) (DfInfo, error) {
	dir := path.Clean("/" + p)
	for {
		_, err := h.Stat(ctx, dir)
		if err == nil || dir == "/" {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return DfInfo{}, fmt.Errorf("free space for %s on %s: %w", p, h.Name(), err)
		}
		dir = path.Dir(dir)
	}
	var out, errb strings.Builder
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{"df", "-Pk", h.Path(dir)}, Stdout: &out, Stderr: &errb})
	if err != nil {
		return DfInfo{}, fmt.Errorf("df -Pk %s on %s: %w", dir, h.Name(), err)
	}
	if res.ExitCode != 0 {
		return DfInfo{}, fmt.Errorf("df -Pk %s on %s exited with code %d: %s", dir, h.Name(), res.ExitCode, firstLine(errb.String()))
	}
	return ParseDfPk(out.String())
}

// DiskSpaceVerdict decides whether used bytes (of srcPath on srcHost) fit
// in the space df reports for dstPath on dstHost with marginPercent extra.
func DiskSpaceVerdict(srcHost, srcPath string, used int64, dstHost, dstPath string, df DfInfo, marginPercent int) CheckResult {
	need := used + used*int64(marginPercent)/100
	free := df.AvailKB * 1024
	where := df.MountedOn
	if where == "" {
		where = dstPath
	}
	what := fmt.Sprintf("%s on %s uses %s; with a %d%% margin it needs %s, and %s on %s (for %s) has %s free",
		srcPath, srcHost, humanize.IBytes(uint64(used)), marginPercent, humanize.IBytes(uint64(need)),
		where, dstHost, dstPath, humanize.IBytes(uint64(free)))
	if free >= need {
		return CheckResult{OK: true, Reason: what + "."}
	}
	return CheckResult{Reason: fmt.Sprintf("%s: %s short.", what, humanize.IBytes(uint64(need-free)))}
}

// CheckDiskSpace checks that the tree srcPath on src fits into the free
// space of the file system that will hold dstPath on dst, with
// marginPercent extra (a negative margin counts as 0).
func CheckDiskSpace(ctx context.Context, src remote.Host, srcPath string, dst remote.Host, dstPath string, marginPercent int) (CheckResult, error) {
	marginPercent = max(marginPercent, 0)
	used, note, err := TreeSize(ctx, src, srcPath)
	if err != nil {
		return CheckResult{}, err
	}
	df, err := FreeSpace(ctx, dst, dstPath)
	if err != nil {
		return CheckResult{}, err
	}
	r := DiskSpaceVerdict(src.Name(), srcPath, used, dst.Name(), dstPath, df, marginPercent)
	r.Detail = note
	return r, nil
}

// ---- paths --------------------------------------------------------------------------

// maxShow bounds how much of a file a check shows.
const maxShow = 16 << 10

// CheckPathAbsent passes when p does not exist on h. When it exists and show
// is true, a regular file's content (stripped of terminal control sequences,
// at most 16 KiB) goes into Detail, so the admin can read why it is there.
func CheckPathAbsent(ctx context.Context, h remote.Host, p string, show bool) (CheckResult, error) {
	fi, err := h.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return CheckResult{OK: true, Reason: fmt.Sprintf("%s does not exist on %s, as required.", p, h.Name())}, nil
	}
	if err != nil {
		return CheckResult{}, fmt.Errorf("stat %s on %s: %w", p, h.Name(), err)
	}
	r := CheckResult{Reason: fmt.Sprintf("%s exists on %s (%s) but must not.", p, h.Name(), describeFile(fi))}
	if show && fi.Mode.IsRegular() {
		data, err := h.ReadFile(ctx, p)
		if err != nil {
			return r, fmt.Errorf("read %s on %s: %w", p, h.Name(), err)
		}
		if len(data) > maxShow {
			data = append(data[:maxShow:maxShow], "\n[...]"...)
		}
		r.Detail = ansi.Strip(string(data))
	}
	return r, nil
}

// CheckPathPresent passes when p exists on h (a symbolic link counts, even
// a dangling one).
func CheckPathPresent(ctx context.Context, h remote.Host, p string) (CheckResult, error) {
	fi, err := h.Stat(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return CheckResult{Reason: fmt.Sprintf("%s does not exist on %s but must.", p, h.Name())}, nil
	}
	if err != nil {
		return CheckResult{}, fmt.Errorf("stat %s on %s: %w", p, h.Name(), err)
	}
	return CheckResult{OK: true, Reason: fmt.Sprintf("%s exists on %s (%s).", p, h.Name(), describeFile(fi))}, nil
}

func describeFile(fi remote.FileInfo) string {
	switch {
	case fi.Mode&fs.ModeSymlink != 0:
		return "a symbolic link to " + fi.LinkTarget
	case fi.IsDir():
		return "a directory"
	case fi.Mode.IsRegular():
		return "a file of " + humanize.IBytes(uint64(fi.Size))
	}
	return "a special file"
}

// ---- PostgreSQL version -----------------------------------------------------------

var pgVersionDir = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(?:\.[0-9]+)?$`) })

// PGVersionFromTarget extracts the PostgreSQL version from the target of the
// data directory link: "/var/hvmail/postgres/8.3" or "8.3/" gives "8.3".
func PGVersionFromTarget(target string) (string, bool) {
	base := path.Base(path.Clean(strings.TrimSpace(target)))
	if pgVersionDir().MatchString(base) {
		return base, true
	}
	return "", false
}

// ReadPGVersion finds the PostgreSQL version behind link on h (GreenArrow's
// /var/hvmail/postgres/default): from the link's target name, or, when that
// says nothing, from LINK/data/PG_VERSION. how says which.
func ReadPGVersion(ctx context.Context, h remote.Host, link string) (version, how string, err error) {
	fi, err := h.Stat(ctx, link)
	if err != nil {
		return "", "", fmt.Errorf("stat %s on %s: %w", link, h.Name(), err)
	}
	if fi.Mode&fs.ModeSymlink != 0 {
		if v, ok := PGVersionFromTarget(fi.LinkTarget); ok {
			return v, fmt.Sprintf("%s points to %s", link, fi.LinkTarget), nil
		}
	}
	pv := path.Join(link, "data", "PG_VERSION")
	if fi.Mode&fs.ModeSymlink != 0 && path.IsAbs(fi.LinkTarget) {
		pv = path.Join(fi.LinkTarget, "data", "PG_VERSION")
	} else if fi.Mode&fs.ModeSymlink != 0 {
		pv = path.Join(path.Dir(link), fi.LinkTarget, "data", "PG_VERSION")
	}
	data, err := h.ReadFile(ctx, pv)
	if err != nil {
		return "", "", fmt.Errorf("%s on %s names no PostgreSQL version (%s), and %s cannot be read: %w", link, h.Name(), describeFile(fi), pv, err)
	}
	v := strings.TrimSpace(string(data))
	if !pgVersionDir().MatchString(v) {
		return "", "", fmt.Errorf("%s on %s holds %q, which is not a PostgreSQL version", pv, h.Name(), v)
	}
	return v, fmt.Sprintf("%s says %s", pv, v), nil
}

// PGVersionRule blocks a migration of PostgreSQL blockedVersion onto a
// target distribution listed in blockedTargets ("ubuntu:18.04", see
// PlatformInfo.MatchesDistro).
func PGVersionRule(version, how, blockedVersion string, blockedTargets []string, target PlatformInfo) CheckResult {
	if version != blockedVersion {
		return CheckResult{OK: true, Reason: fmt.Sprintf("PostgreSQL is %s (%s), not %s, so the target distribution does not matter.", version, how, blockedVersion)}
	}
	for _, e := range blockedTargets {
		if target.MatchesDistro(e) {
			return CheckResult{Reason: fmt.Sprintf("PostgreSQL is %s (%s), and the new server runs %s (%s), where PostgreSQL %s is not available.", version, how, target.PrettyName, target.Key(), blockedVersion)}
		}
	}
	return CheckResult{OK: true, Reason: fmt.Sprintf("PostgreSQL is %s (%s), and the new server runs %s (%s), which is not one of %s.", version, how, target.PrettyName, target.Key(), strings.Join(blockedTargets, ", "))}
}

// CheckPGVersion reads the PostgreSQL version behind link on old and applies
// PGVersionRule for the new server's platform.
func CheckPGVersion(ctx context.Context, old remote.Host, link, blockedVersion string, blockedTargets []string, target PlatformInfo) (CheckResult, error) {
	v, how, err := ReadPGVersion(ctx, old, link)
	if err != nil {
		return CheckResult{}, err
	}
	return PGVersionRule(v, how, blockedVersion, blockedTargets, target), nil
}

// ---- root ----------------------------------------------------------------------------

// ParseIDU reads the output of "id -u".
func ParseIDU(out string) (int, error) {
	s := strings.TrimSpace(out)
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("id -u printed %q, which is not a user id", s)
	}
	return n, nil
}

// CheckRoot passes when commands on h run with effective user id 0.
func CheckRoot(ctx context.Context, h remote.Host) (CheckResult, error) {
	var out strings.Builder
	res, err := h.Exec(ctx, remote.Cmd{Argv: []string{"id", "-u"}, Stdout: &out})
	if err != nil {
		return CheckResult{}, fmt.Errorf("id -u on %s: %w", h.Name(), err)
	}
	if res.ExitCode != 0 {
		return CheckResult{}, fmt.Errorf("id -u on %s exited with code %d", h.Name(), res.ExitCode)
	}
	uid, err := ParseIDU(out.String())
	if err != nil {
		return CheckResult{}, fmt.Errorf("on %s: %w", h.Name(), err)
	}
	if uid != 0 {
		return CheckResult{Reason: fmt.Sprintf("ferry runs on %s as user id %d, not as root (0).", h.Name(), uid)}, nil
	}
	return CheckResult{OK: true, Reason: fmt.Sprintf("ferry runs on %s as root (user id 0).", h.Name())}, nil
}
