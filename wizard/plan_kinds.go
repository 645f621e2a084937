package wizard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// The planners: one per kind, beside its runner. A planner returns every
// command the kind runs (read-only probes included, marked so), in the
// order they run, and says in words what ferry does itself. Where the task
// library builds a command (rsync, the PostgreSQL client programs), the
// planner asks the same builder.

// Facts about ferry's connection to the old server, recorded once it is
// open (TaskExecutor.Run): what rsync's -e option and its remote operands
// hold.
const (
	// FactOldDestination is the user@host the connection logged in as.
	FactOldDestination = "old_destination"
	// FactOldSSHCommand is the system ssh command, with the connection's
	// port, keys, known_hosts and algorithms, that rsync uses (-e).
	FactOldSSHCommand = "old_ssh_command"
	// FactTablespaces is the JSON list of the tablespaces that have a
	// location, read from the tablespaces file before the step runs.
	FactTablespaces = "tablespaces"
	// FactBackupSuffix is the suffix of the backups a copy makes, fixed when
	// the step starts.
	FactBackupSuffix = "backup_suffix"
)

var kindPlanners map[string]planner

func init() {
	kindPlanners = map[string]planner{
		"check-root":       planCheckRoot,
		"ssh-connect":      planSSHConnect,
		"package-version":  planPackageVersion,
		"path-absent":      planPathAbsent,
		"path-present":     planPathPresent,
		"same-platform":    planSamePlatform,
		"pg-version":       planPGVersion,
		"disk-space":       planDiskSpace,
		"record":           planRecord,
		"install-packages": planInstallPackages,
		"hosts-entry":      planHostsEntry,
		"ssh-config":       planSSHConfig,
		"files-present":    planFilesPresent,
		"copy-files":       planCopyFiles,
		"tablespaces":      planTablespaces,
		"manual":           planManual,
		"load-profile":     planLoadProfile,
		"command":          planCommand,
		"rsync":            planRsync,
		"queue-merge":      planQueueMerge,
		"count-files":      planCountFiles,
		"remove-dir":       planRemoveDir,
		"remove-files":     planRemoveFiles,
		"delete-files":     planDeleteFiles,
		"resolv-conf":      planResolvConf,
		"service-status":   planServiceStatus,
		"units-inactive":   planUnitsInactive,
		"compare-packages": planComparePackages,
		"compare-setting":  planCompareSetting,
		"pg-dump":          planPGDump,
		"pg-restore":       planPGRestoreStep,
		"pg-verify":        planPGVerify,
		"pg-login":         planPGLogin,
		"postfix-maps":     planPostfixMaps,
	}
}

// oldAddress is the old server's address as known so far.
func oldAddress(d TemplateData) string {
	return cmp.Or(d.Facts["old_addr"], d.Answers["old_addr"], Placeholder("old_addr"))
}

// oldDestination is user@host of ferry's connection to the old server;
// before it is open, root at the address given.
func oldDestination(d TemplateData) string {
	if v := d.Facts[FactOldDestination]; v != "" {
		return v
	}
	return "root@" + oldAddress(d)
}

// oldSSHCommand is the value of rsync's -e option.
func oldSSHCommand(d TemplateData) string {
	return cmp.Or(d.Facts[FactOldSSHCommand], Placeholder("ssh with the port, key and known_hosts ferry connects with"))
}

// hostOf is the host a step's own actions run on.
func hostOf(s *Step) string {
	if s.Host == HostOld {
		return HostOld
	}
	return HostNew
}

func planCheckRoot(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	return []PlanAction{{Host: hostOf(s), Argv: checkRootArgv, Probe: true}}, nil
}

var checkRootArgv = []string{"id", "-u"}

// platformActions is what tasks.Platform does on a host.
func platformActions(h string) []PlanAction {
	return []PlanAction{
		{Host: h, Does: "read /etc/os-release (on older systems /etc/redhat-release, /etc/centos-release or /etc/debian_version)"},
		{Host: h, Argv: []string{"uname", "-m"}, Probe: true},
	}
}

// hostnameActions is how ssh-connect learns a server's name.
func hostnameActions(h string) []PlanAction {
	return []PlanAction{
		{Host: h, Does: "read /etc/hostname"},
		{Host: h, Argv: []string{"hostname"}, Probe: true, When: "only when /etc/hostname is missing or empty"},
	}
}

func planSSHConnect(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	port := cmp.Or(d.Answers["ssh_port"], "22")
	acts := []PlanAction{{Host: HostNew, Does: fmt.Sprintf("connect to %s over SSH, port %s, with key authentication, checking the host key against known_hosts", oldDestination(d), port)}}
	acts = append(acts, hostnameActions(HostOld)...)
	acts = append(acts, hostnameActions(HostNew)...)
	acts = append(acts, platformActions(HostOld)...)
	return append(acts, platformActions(HostNew)...), nil
}

// packageQueryActions is what tasks.QueryPackage runs for one package.
func packageQueryActions(h, pkg, when string) []PlanAction {
	return []PlanAction{
		{Host: h, Argv: []string{"rpm", "-q", "--qf", tasks.RPMQueryFormat, pkg}, Probe: true, When: when},
		{Host: h, Argv: []string{"dpkg-query", "-W", "-f", tasks.DpkgQueryFormat, pkg}, Probe: true, When: joinWhen(when, "only when rpm is missing or does not know "+pkg)},
	}
}

func joinWhen(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

func planPackageVersion(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	var acts []PlanAction
	pkgs := p.list("packages")
	for i, pkg := range pkgs {
		when := ""
		if i > 0 {
			when = "only when " + strings.Join(pkgs[:i], " and ") + " is not installed"
		}
		acts = append(acts, packageQueryActions(hostOf(s), pkg, when)...)
	}
	acts = append(acts, PlanAction{Host: hostOf(s), Does: "compare the installed version with " + p.str("min") + " by the package manager's ordering"})
	return acts, nil
}

func planPathAbsent(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	does := "check that " + p.str("path") + " does not exist"
	if p.bool("show") {
		does += "; if it does, show its content and stop"
	}
	return []PlanAction{{Host: hostOf(s), Does: does}}, nil
}

func planPathPresent(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	return []PlanAction{{Host: hostOf(s), Does: "check that " + p.str("path") + " exists"}}, nil
}

func planSamePlatform(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	acts := append(platformActions(HostOld), platformActions(HostNew)...)
	return append(acts, PlanAction{Host: HostNew, Does: "compare the distribution family and the architecture of both servers"}), nil
}

func planPGVersion(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	acts := []PlanAction{{Host: HostOld, Does: fmt.Sprintf("read where %s points (or the PG_VERSION file behind it) to learn the PostgreSQL version", p.str("link"))}}
	acts = append(acts, platformActions(HostNew)...)
	return append(acts, PlanAction{Host: HostNew, Does: fmt.Sprintf("stop if PostgreSQL %s would move onto %s", p.str("blocked_version"), strings.Join(p.list("blocked_targets"), ", "))}), nil
}

func planDiskSpace(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	src, dst := p.str("source"), p.str("target")
	return []PlanAction{
		{Host: HostOld, Argv: []string{"du", "-sk", src}, Probe: true},
		{Host: HostNew, Argv: []string{"df", "-Pk", dst}, Probe: true, When: "when " + dst + " exists"},
		{Host: HostNew, Argv: []string{"df", "-Pk", Placeholder("the nearest existing directory above " + dst)}, Probe: true, When: "while " + dst + " does not exist"},
		{Host: HostNew, Does: fmt.Sprintf("compare the size with the free space, with a %d%% margin", p.int("margin_percent", 10))},
	}, nil
}

func planRecord(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	var keys []string
	for _, q := range s.Ask {
		keys = append(keys, q.Key)
	}
	return []PlanAction{{Host: hostOf(s), Does: "record the answers (" + strings.Join(keys, ", ") + "); nothing runs"}}, nil
}

// installPackagesList is the package list of the family.
func installPackagesList(p params, family string) ([]string, error) {
	if m, ok := p["packages"].(map[string]any); ok {
		l, ok := m[family]
		if !ok {
			return nil, fmt.Errorf("no package list for the %q family", family)
		}
		return params{"l": l}.list("l"), nil
	}
	return p.list("packages"), nil
}

func installQueryArgv(family, pkg string) []string {
	if family == FamilyDebian {
		return []string{"dpkg-query", "-W", "-f=${Status}", pkg}
	}
	return []string{"rpm", "-q", pkg}
}

func installArgv(family string, pkgs []string) []string {
	if family == FamilyDebian {
		return append([]string{"apt-get", "install", "-y"}, pkgs...)
	}
	return append([]string{"yum", "install", "-y"}, pkgs...)
}

func planInstallPackages(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	pkgs, err := installPackagesList(p, d.Family)
	if err != nil {
		return nil, err
	}
	var acts []PlanAction
	for _, pkg := range pkgs {
		acts = append(acts, PlanAction{Host: hostOf(s), Argv: installQueryArgv(d.Family, pkg), Probe: true})
	}
	return append(acts, PlanAction{Host: hostOf(s), Argv: installArgv(d.Family, pkgs), When: "only when one of them is not installed"}), nil
}

func planHostsEntry(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	name := p.str("name")
	switch p.str("action") {
	case "add":
		ip := p.str("ip")
		var acts []PlanAction
		if ip != "" && !HasPlaceholder(ip) && tasks.ValidIP(ip) != nil {
			acts = append(acts, PlanAction{Host: HostNew, Does: fmt.Sprintf("find the address %s leads to (root's ssh config HostName, then the resolver)", ip)})
			ip = Placeholder("the address of " + ip)
		}
		line := ip + " " + name
		if note := HostsNote(d.Facts[FactMigrationID]); note != "" {
			line += " # " + note
		}
		return append(acts, PlanAction{Host: hostOf(s), Does: fmt.Sprintf("add the line %q to /etc/hosts, keeping a backup, unless %s already has that address there", line, name)}), nil
	case "remove":
		line := d.Facts["hosts_line_"+name]
		if line == "" {
			line = "ferry added for " + name
		} else {
			line = strconv.Quote(line)
		}
		return []PlanAction{{Host: hostOf(s), Does: "remove the line " + line + " from /etc/hosts, keeping a backup", When: "only when ferry added one"}}, nil
	}
	return nil, fmt.Errorf("hosts-entry: action %q is not add or remove", p.str("action"))
}

func planSSHConfig(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	cfg := tasks.RootSSHConfig
	alias := p.str("alias")
	return []PlanAction{
		{Host: HostNew, Argv: []string{"ssh", "-G", "-F", cfg, alias}, Probe: true, When: "when " + cfg + " exists"},
		{Host: HostNew, Argv: []string{"ssh", "-G", "-F", "/dev/null", alias}, Probe: true, When: "while " + cfg + " does not exist"},
		{Host: HostNew, Argv: []string{"getent", "ahosts", Placeholder("the HostName ssh uses for " + alias)}, Probe: true, When: "when that name is not an address"},
		{Host: HostNew, Argv: []string{"ssh", "-Q", Placeholder("kex, key-sig, cipher or mac")}, Probe: true, When: "for each algorithm of ferry's connection this ssh does not offer by default"},
		{Host: HostNew, Argv: []string{"ssh", "-G", "-F", "/dev/null", "-o", Placeholder("those algorithms, added"), alias}, Probe: true, When: "when such algorithms are needed"},
		{Host: HostNew, Does: fmt.Sprintf("write the settings ssh needs to reach the server ferry reached (HostName, Port, User, IdentityFile, UserKnownHostsFile; weak algorithms only if you agreed) into the Host %s block of %s, keeping a backup; nothing when ssh already does", alias, cfg)},
		{Host: HostNew, Does: "record the old server's verified host key under " + alias + " in known_hosts"},
		{Host: HostNew, Argv: []string{"ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=15", alias, "true"}},
	}, nil
}

func planFilesPresent(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	h := hostOf(s)
	if s.Kind == "pg-dump" {
		// The archives pg_dump streams from the old server are on the new one.
		h = HostNew
	}
	return []PlanAction{{Host: h, Does: fmt.Sprintf("check that %s holds %s", p.str("dir"), strings.Join(p.list("files"), ", "))}}, nil
}

// copyFilesArgv is the rsync of a copy-files step: every item in one
// transfer, --relative keeping each file's place under to.
func copyFilesArgv(p params, d TemplateData) ([]string, string, error) {
	from, to := p.str("from_dir"), cmp.Or(p.str("to_dir"), "/")
	argv := []string{"rsync", "-a", "--relative", "--partial", "-e", oldSSHCommand(d)}
	if p.bool("backup") {
		argv = append(argv, "--backup", "--suffix="+cmp.Or(d.Facts[FactBackupSuffix], Placeholder("backup suffix, the time the step starts")))
	}
	items := p.list("items")
	if len(items) == 0 {
		return nil, "", errors.New("copy-files: no items")
	}
	for i, item := range items {
		base, rel := "/", strings.TrimPrefix(item, "/")
		if from != "" && !strings.HasPrefix(item, "/") {
			base = from
		}
		src := strings.TrimSuffix(base, "/") + "/./" + rel
		if i == 0 {
			argv = append(argv, oldDestination(d)+":"+src)
		} else {
			argv = append(argv, ":"+src)
		}
	}
	return append(argv, strings.TrimSuffix(to, "/")+"/"), to, nil
}

func planCopyFiles(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	argv, to, err := copyFilesArgv(p, d)
	if err != nil {
		return nil, err
	}
	var acts []PlanAction
	if to = path.Clean(to); to != "/" {
		// The root always exists: a mkdir of it would do nothing.
		acts = append(acts, PlanAction{Host: HostNew, Argv: []string{"mkdir", "-p", to}})
	}
	return append(acts, PlanAction{Host: HostNew, Argv: argv}), nil
}

// tablespace is one tablespace with a location.
type tablespace struct {
	Name     string `json:"name"`
	Location string `json:"location"`
}

// readTablespaces reads the tablespaces file on the new server and returns
// the fact FactTablespaces.
func readTablespaces(ctx context.Context, h remote.Host, file string) (string, []tablespace, error) {
	b, err := h.ReadFile(ctx, file)
	if err != nil {
		return "", nil, err
	}
	ts, err := tasks.ParseTablespaces(file, b)
	if err != nil {
		return "", nil, err
	}
	list := []tablespace{}
	for _, t := range tasks.WithLocation(ts) {
		list = append(list, tablespace{t.Name, t.Location})
	}
	j, _ := json.Marshal(list)
	return string(j), list, nil
}

func planTablespaces(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	file := p.str("file")
	acts := []PlanAction{{Host: HostNew, Does: "read " + file + ": the tablespaces that have a location"}}
	var list []tablespace
	if raw := d.Facts[FactTablespaces]; raw != "" && !HasPlaceholder(raw) {
		if err := json.Unmarshal([]byte(raw), &list); err != nil {
			return nil, fmt.Errorf("fact %s: %w", FactTablespaces, err)
		}
	} else {
		list = []tablespace{{Name: Placeholder("tablespace"), Location: Placeholder("its location")}}
		acts[0].Does += "; for each of them:"
	}
	for _, t := range list {
		acts = append(acts, PlanAction{Host: HostNew, Argv: []string{"mkdir", "-p", t.Location}})
		opts := tablespaceRsync(p, t.Location)
		a, err := rsyncActions(opts, d)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a...)
	}
	return acts, nil
}

// tablespaceRsync is the transfer of one tablespace directory.
func tablespaceRsync(p params, dir string) tasks.RsyncOptions {
	return tasks.RsyncOptions{Src: dir + "/", Dst: dir, Delete: true, Hot: p.str("pass") != "final"}
}

// rsyncActions is what tasks.Rsync runs for o (pulling from the old
// server): the --delete guard's look at the source and the destination,
// then the one transfer, built by tasks.RsyncArgs as tasks.Rsync builds it.
func rsyncActions(o tasks.RsyncOptions, d TemplateData) ([]PlanAction, error) {
	o.Host = planHost{HostNew}
	o.Remote = planRemote{shell: oldSSHCommand(d), dest: oldDestination(d)}
	var acts []PlanAction
	maxDelete := o.MaxDelete
	if o.Delete {
		acts = append(acts,
			PlanAction{Host: HostOld, Does: "check that " + o.Src + " is there and not empty (else --delete would wipe the copy)"},
			PlanAction{Host: HostOld, Argv: []string{"find", "-H", o.Src, "-mindepth", "1", "-print", "-quit"}, Probe: true, When: "when " + o.Src + " is a directory"},
			PlanAction{Host: HostNew, Does: "look whether " + o.Dst + " is empty, else count its entries unless the last pass did (for the deletion limit)"})
		if maxDelete == 0 {
			o.MaxDelete = 1 // a stand-in for the word below
		}
	}
	argv, err := tasks.RsyncArgs(o)
	if err != nil {
		return nil, err
	}
	if o.Delete && maxDelete == 0 {
		for i, w := range argv {
			if w == "--max-delete=1" {
				argv[i] = "--max-delete=" + Placeholder(fmt.Sprintf("deletion limit: %d, a tenth of the tree from 100 on, or the count you confirm", tasks.DefaultDeleteThreshold))
			}
		}
	}
	return append(acts, PlanAction{Host: HostNew, Argv: argv}), nil
}

// planHost and planRemote give tasks.RsyncArgs the runbook paths as they
// are and the connection's facts, so that a plan holds the words the
// transfer is handed.
type planHost struct{ name string }

func (h planHost) Name() string         { return h.name }
func (h planHost) Root() string         { return "/" }
func (h planHost) Path(p string) string { return p }
func (h planHost) Exec(context.Context, remote.Cmd) (remote.Result, error) {
	return remote.Result{}, errors.New("a plan runs nothing")
}
func (h planHost) ReadFile(context.Context, string) ([]byte, error) {
	return nil, errors.New("a plan reads nothing")
}
func (h planHost) WriteFile(context.Context, string, []byte, fs.FileMode) error {
	return errors.New("a plan writes nothing")
}
func (h planHost) Stat(context.Context, string) (remote.FileInfo, error) {
	return remote.FileInfo{}, errors.New("a plan looks at nothing")
}
func (h planHost) Close() error { return nil }

type planRemote struct{ shell, dest string }

func (r planRemote) RsyncShell() string   { return r.shell }
func (r planRemote) Destination() string  { return r.dest }
func (r planRemote) Path(p string) string { return p }

func planManual(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	acts := []PlanAction{{Host: hostOf(s), Does: "nothing runs: you do this yourself, then confirm"}}
	if f := p.str("show_secret_file"); f != "" {
		acts = append(acts, PlanAction{Host: HostNew, Does: "show " + f + " on screen (never recorded)"})
	}
	return acts, nil
}

// profileScript is the shell line load-profile runs: it sources each script
// that exists and prints the environment that results.
func profileScript(scripts []string) string {
	var b strings.Builder
	for _, sc := range scripts {
		q := shellQuote(sc)
		fmt.Fprintf(&b, "if [ -e %s ]; then . %s >/dev/null 2>&1 || exit 1; fi\n", q, q)
	}
	b.WriteString("env -0\n")
	return b.String()
}

var profileBaseArgv = []string{"sh", "-c", "env -0"}

func planLoadProfile(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	scripts := p.list("scripts")
	return []PlanAction{
		{Host: HostNew, Does: "check which of " + strings.Join(scripts, ", ") + " exist"},
		{Host: HostNew, Argv: profileBaseArgv, Probe: true},
		{Host: HostNew, Argv: []string{"sh", "-c", profileScript(scripts)}},
		{Host: HostNew, Does: "keep the variables the scripts set (PATH ...) for every later command on the new server"},
	}, nil
}

func planCommand(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	specs, err := commandSpecs(s, d)
	if err != nil {
		return nil, err
	}
	var acts []PlanAction
	for _, sp := range specs {
		acts = append(acts, PlanAction{Host: hostOf(s), Argv: sp.Argv, Shell: sp.Shell})
	}
	return acts, nil
}

// rsyncStepOptions is the transfer of one directory of an rsync step.
func rsyncStepOptions(p params, dir string) tasks.RsyncOptions {
	return tasks.RsyncOptions{Src: strings.TrimSuffix(dir, "/") + "/", Dst: strings.TrimSuffix(dir, "/") + "/",
		HardLinks: p.bool("hard_links"), NumericIDs: p.bool("numeric_ids"), Delete: p.bool("delete"), MaxDelete: p.int("max_delete", 0), Hot: p.str("pass") == "hot",
		// A first copy of many small files is much slower with
		// --no-inc-recursive (bench/README.md); hot passes do not need a
		// fixed total, the counters stay monotonic either way.
		IncRecursive: p.str("pass") == "hot"}
}

func planRsync(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	var acts []PlanAction
	for _, dir := range p.list("paths") {
		a, err := rsyncActions(rsyncStepOptions(p, dir), d)
		if err != nil {
			return nil, err
		}
		acts = append(acts, a...)
	}
	if par := p.int("parallel", 1); par > 1 && len(p.list("paths")) > 1 {
		acts = append(acts, PlanAction{Host: HostNew, Does: fmt.Sprintf("run up to %d of these transfers at once", par)})
	}
	return acts, nil
}

// queueLayoutArgvs is what tasks.DetectQueueLayout runs on a queue.
func queueLayoutArgvs(dir string, listMessages bool) [][]string {
	root := strings.TrimSuffix(dir, "/")
	out := [][]string{
		{"find", root, "-mindepth", "1", "-maxdepth", "2", "-type", "d", "-print0"},
		{"find", root + "/mess", "-mindepth", "1", "-maxdepth", "1", "!", "-type", "d", "-print0"},
	}
	if listMessages {
		out = append(out,
			[]string{"find", root + "/mess", "-mindepth", "2", "!", "-type", "f", "-print0"},
			[]string{"find", root + "/mess", "-mindepth", "2", "-type", "f", "-print0"})
	}
	return out
}

func planQueueMerge(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	h := hostOf(s)
	oldQ, q, merge := p.str("old_queue"), p.str("queue"), p.str("merge")
	acts := []PlanAction{{Host: h, Argv: []string{"sh", "-c", tasks.ProcListing}, Probe: true,
		When: "to find an earlier " + path.Base(merge) + " still running (by its exact argv); again every second while one runs"}}
	for _, argv := range queueLayoutArgvs(oldQ, true) {
		acts = append(acts, PlanAction{Host: h, Argv: argv, Probe: true})
	}
	for _, argv := range queueLayoutArgvs(q, false) {
		acts = append(acts, PlanAction{Host: h, Argv: argv, Probe: true})
	}
	return append(acts,
		PlanAction{Host: h, Argv: []string{merge, oldQ, q}, Input: "the message files found under " + path.Join(oldQ, "mess") + ", one a line", When: "only when messages are left"},
		PlanAction{Host: h, Does: "count the message files left under " + path.Join(oldQ, "mess") + " while it runs"}), nil
}

// countActions is how tasks.CountFiles counts the files under dir: by
// reading the directories itself on the new server (the machine ferry
// runs on), with a find script on the old one.
func countActions(h, dir, when string) []PlanAction {
	if h == HostNew {
		return []PlanAction{{Host: h, Does: "count the files under " + dir, When: when}}
	}
	return []PlanAction{{Host: h, Argv: []string{"sh", "-c", tasks.CountFilesScript, "sh", dir}, Probe: true, When: when}}
}

func planCountFiles(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	when := ""
	if p.bool("missing_ok") {
		when = "only when " + p.str("dir") + " exists (a missing directory holds none)"
	}
	acts := countActions(hostOf(s), p.str("dir"), when)
	if _, ok := p["expect"]; ok {
		acts = append(acts, PlanAction{Host: hostOf(s), Does: "the count must be " + p.str("expect")})
	}
	return acts, nil
}

// removeDirPath is the directory a remove-dir step removes.
func removeDirPath(p params) string { return path.Clean("/" + p.str("path")) }

func planRemoveDir(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	if _, err := deletionTargets(p, s.Params, "path", false, true); err != nil {
		return nil, err
	}
	dir := removeDirPath(p)
	return []PlanAction{{Host: hostOf(s), Argv: []string{"rm", "-rf", "--one-file-system", dir}, When: "only when " + dir + " exists"}}, nil
}

func planRemoveFiles(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	files, err := deletionTargets(p, s.Params, "paths", true, true)
	if err != nil {
		return nil, err
	}
	var acts []PlanAction
	for _, f := range files {
		acts = append(acts, PlanAction{Host: hostOf(s), Argv: []string{"rm", "-f", f}, When: "only when it exists"})
	}
	return acts, nil
}

func planDeleteFiles(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	dirs, err := deletionTargets(p, s.Params, "dirs", true, true)
	if err != nil {
		return nil, err
	}
	var acts []PlanAction
	for _, dir := range dirs {
		when := "only when " + dir + " exists"
		acts = append(acts, countActions(hostOf(s), dir, when)...)
		acts = append(acts, PlanAction{Host: hostOf(s), Argv: []string{"find", dir, "-type", "f", "-delete"}, When: when})
	}
	return acts, nil
}

func planResolvConf(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	ns := Placeholder("resolvers")
	switch {
	case d.Facts["dns_cache"] == "yes":
		ns = tasks.LocalCacheNameserver
	case d.Answers["resolvers"] != "" && !HasPlaceholder(d.Answers["resolvers"]):
		ns = strings.Join(SplitList(d.Answers["resolvers"]), " ")
	}
	acts := []PlanAction{{Host: HostNew, Does: "read " + p.str("setting") + " in " + p.str("config")}}
	link := d.Facts["resolv_link"]
	action := d.Answers["resolv_link_action"]
	if link == "" || HasPlaceholder(link) {
		action = ""
	}
	switch action {
	case resolvLeave:
		return append(acts, PlanAction{Host: HostNew, Does: "leave /etc/resolv.conf (a link to " + link + ") as it is, as you answered"}), nil
	case resolvUseResolved:
		return append(acts,
			PlanAction{Host: HostNew, Does: "write " + tasks.ResolvedDropIn + " with DNS=" + ns + ", keeping a backup"},
			PlanAction{Host: HostNew, Argv: []string{"systemctl", "restart", "systemd-resolved"}}), nil
	}
	what := "write " + tasks.ResolvConfFile + " with nameserver " + ns + ", atomically, keeping a backup"
	if action == resolvReplaceLink {
		what += " (a regular file replaces the link to " + link + ")"
	}
	return append(acts, PlanAction{Host: HostNew, Does: what}), nil
}

// serviceStatusArgv is the status command of a service-status step.
func serviceStatusArgv(p params) []string {
	if l := p.list("command"); len(l) > 0 {
		return l
	}
	return tasks.DefaultServiceStatusCommand
}

func planServiceStatus(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	h := serviceStatusServer(s, p)
	if p.str("expect") == "down" {
		return []PlanAction{
			{Host: h, Argv: serviceStatusArgv(p), Probe: true},
			{Host: h, Does: "no service listed may be up"},
		}, nil
	}
	return []PlanAction{
		{Host: h, Argv: serviceStatusArgv(p), Probe: true},
		{Host: h, Does: "every service listed must be up, except " + cmp.Or(strings.Join(p.list("allowed_down"), ", "), "none")},
	}, nil
}

// serviceStatusServer is the server a service-status step or check reads:
// its server parameter ("old" or "new"), else the step's host.
func serviceStatusServer(s *Step, p params) string {
	switch p.str("server") {
	case HostOld:
		return HostOld
	case HostNew:
		return HostNew
	}
	return hostOf(s)
}

// installedArgv lists the installed packages matching pattern.
func installedArgv(family, pattern string) []string {
	if family == FamilyDebian {
		return []string{"dpkg-query", "-W", "-f=${Package} ${Version} ${Status}\n", pattern}
	}
	return []string{"rpm", "-qa", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\n", pattern}
}

func planComparePackages(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	pat := p.str("pattern")
	what := "compare the versions"
	if p.str("mode") != "version" {
		what = "compare the sets of packages"
	}
	return []PlanAction{
		{Host: HostOld, Argv: installedArgv(cmp.Or(d.Facts["old_family"], d.Family), pat), Probe: true},
		{Host: HostNew, Argv: installedArgv(cmp.Or(d.Facts["new_family"], d.Family), pat), Probe: true},
		{Host: HostNew, Does: what + " on both servers"},
	}, nil
}

func planCompareSetting(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	what := "read " + p.str("key") + " in " + p.str("file")
	return []PlanAction{{Host: HostOld, Does: what}, {Host: HostNew, Does: what + "; both must be equal"}}, nil
}

// pgServerOf is the PostgreSQL server a pg step names, without its
// password (which never reaches a command line).
func pgServerOf(p params, prefix string, defPort int) tasks.PGServer {
	return newPGServer(p, &StepEnv{}, prefix, defPort)
}

func planPGDump(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	srv := dumpServer(p, &StepEnv{})
	var acts []PlanAction
	for _, db := range p.list("databases") {
		file := dumpFile(p.str("dir"), db)
		tmp := path.Join(path.Dir(file), "."+path.Base(file)+".partial-"+Placeholder("random"))
		acts = append(acts,
			PlanAction{Host: HostOld, Argv: tasks.DumpArgv(srv, db), Does: "its output streamed into " + tmp + " on the new server"},
			PlanAction{Host: HostNew, Argv: []string{"pg_restore", "--list", tmp}, Probe: true},
			PlanAction{Host: HostNew, Argv: []string{"pg_restore", "--file=/dev/null", tmp}, Probe: true},
			PlanAction{Host: HostNew, Does: "rename " + tmp + " to " + file + " once pg_restore read it whole"})
	}
	if p.int("parallel", 2) >= 2 && len(p.list("databases")) > 1 {
		acts = append(acts, PlanAction{Host: HostOld, Does: "run the dumps at the same time"})
	}
	return acts, nil
}

func planPGRestoreStep(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	// The options the runner restores with (planPGRestore), without a host.
	pl := planPGRestore(&TaskExecutor{}, p, &StepEnv{Data: d})
	srv := pl.Server
	var acts []PlanAction
	// First the dumps are opened to the restoring user's group.
	for _, argv := range pl.Access {
		acts = append(acts, PlanAction{Host: HostNew, Argv: argv})
	}
	// Then every archive is checked (tasks.CheckRestore) before any drop.
	for _, o := range pl.Opts {
		// One listing, as the OS user the restore runs as when there is one.
		list := []string{"pg_restore", "--list", o.File}
		if srv.OSUser != "" {
			list = append([]string{"runuser", "-u", srv.OSUser, "--"}, list...)
		}
		acts = append(acts, PlanAction{Host: HostNew, Argv: list, Probe: true})
		if o.SHA256 != "" && !HasPlaceholder(o.SHA256) {
			acts = append(acts, PlanAction{Host: HostNew, Argv: []string{"sha256sum", "--", o.File}, Probe: true, Does: "must print " + o.SHA256})
		} else {
			acts = append(acts, PlanAction{Host: HostNew, Argv: []string{"pg_restore", "--file=/dev/null", o.File}, Probe: true})
		}
		acts = append(acts,
			PlanAction{Host: HostNew, Argv: []string{"pg_restore", "--schema-only", "--create", "--file=-", o.File}, Probe: true},
			PlanAction{Host: HostNew, Argv: tasks.PSQLArgv(srv, "postgres", tasks.NamesSQL), Probe: true})
	}
	// Then drop, create and restore, one database after the other.
	for _, o := range pl.Opts {
		owner := cmp.Or(o.Owner, Placeholder("the owner named in the archive"))
		enc := cmp.Or(o.Encoding, Placeholder("encoding of the archive"))
		for _, argv := range tasks.RestoreCommands(srv, o.Database, owner, enc, o.Jobs, o.File) {
			acts = append(acts, PlanAction{Host: HostNew, Argv: argv})
		}
	}
	// A rehearsal drops its scratch databases and archives again.
	if pl.Scratch != "" {
		for _, o := range pl.Opts {
			acts = append(acts, PlanAction{Host: HostNew, Argv: tasks.DropCommand(srv, o.Database)},
				PlanAction{Host: HostNew, Does: "delete " + o.File})
		}
	}
	return acts, nil
}

func planPGVerify(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	src := oldPGServer(p, &StepEnv{})
	dst := pgServerOf(p, "new_", p.int("port", 0))
	var acts []PlanAction
	for _, db := range p.list("databases") {
		acts = append(acts,
			PlanAction{Host: HostOld, Does: fmt.Sprintf("count the rows of every table of %s exactly, through ferry's own PostgreSQL connection over SSH to %s port %d as %s", db, src.Host, cmp.Or(src.Port, 5432), src.User)},
			PlanAction{Host: HostNew, Argv: tasks.PSQLArgv(dst, db, tasks.CountRowsPSQLStatement), Probe: true})
	}
	return append(acts, PlanAction{Host: HostNew, Does: "compare the counts table by table"}), nil
}

func planPGLogin(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	srv := dumpServer(p, &StepEnv{})
	var acts []PlanAction
	for _, db := range p.list("databases") {
		acts = append(acts,
			PlanAction{Host: HostOld, Argv: tasks.PSQLArgv(srv, db, tasks.LoginSQL)},
			PlanAction{Host: HostOld, Does: fmt.Sprintf("log in to %s through ferry's own PostgreSQL connection over SSH, as the row counts will", db)})
	}
	return acts, nil
}

// unitsInactiveArgv asks systemd for the state of each unit, one per line.
func unitsInactiveArgv(p params) []string {
	return append([]string{"systemctl", "is-active"}, p.list("units")...)
}

func planUnitsInactive(s *Step, p params, d TemplateData) ([]PlanAction, error) {
	h := serviceStatusServer(s, p)
	return []PlanAction{
		{Host: h, Argv: unitsInactiveArgv(p), Probe: true},
		{Host: h, Does: "no unit listed may be active"},
	}, nil
}
