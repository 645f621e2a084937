package wizard

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize/english"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

func runCheckRoot(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	out, code, err := output(ctx, h, checkRootArgv...)
	if err != nil {
		return Outcome{}, err
	}
	uid := strings.TrimSpace(out)
	if code != 0 || uid != "0" {
		return Outcome{}, failed("ferry runs as uid %s on %s, not as root (uid 0): log in as root and run it again", uid, h.Name())
	}
	return Outcome{Message: "running as root on " + h.Name()}, nil
}

func runSSHConnect(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, connectHint(err, x, env.Data)
	}
	// old_addr becomes the address the connection reached, however it was
	// given (an ssh config alias, a name, an IP address).
	o := Outcome{Facts: oldAddressFacts(old), Answers: map[string]string{"ssh_port": strconv.Itoa(old.Port())}}
	// The name in /etc/hostname, else what hostname answers.
	var name string
	if b, err := old.ReadFile(ctx, "/etc/hostname"); err == nil {
		name = string(b)
	}
	if strings.TrimSpace(name) == "" {
		name, _, _ = output(ctx, old, "hostname")
	}
	if n := strings.TrimSpace(name); n != "" {
		o.Facts["old_name"] = n
	}
	if b, err := x.New.ReadFile(ctx, "/etc/hostname"); err == nil && strings.TrimSpace(string(b)) != "" {
		o.Facts["new_name"] = strings.TrimSpace(string(b))
	} else if n, _, err := output(ctx, x.New, "hostname"); err == nil && strings.TrimSpace(n) != "" {
		o.Facts["new_name"] = strings.TrimSpace(n)
	}
	for _, h := range []remote.Host{old, x.New} {
		if pi, err := tasks.Platform(ctx, h); err == nil {
			o.Facts[h.Name()+"_family"] = pi.Family
			o.Facts[h.Name()+"_platform"] = pi.Describe()
		}
	}
	o.Facts["cpus"] = strconv.Itoa(runtime.NumCPU())
	if a := old.LegacyAlgorithms(); len(a) > 0 {
		o.Warnings = append(o.Warnings, "the old server only speaks weak SSH algorithms: "+strings.Join(a, ", "))
	}
	o.Commands = append(o.Commands, CommandRecord{Host: "new", Command: "ssh " + old.Destination() + " (port " + strconv.Itoa(old.Port()) + ")", Exit: 0})
	o.Message = fmt.Sprintf("connected to %s (%s) as %s, port %d; host key verified", o.Facts["old_name"], describeOld(old), old.User(), old.Port())
	return o, nil
}

func runPathAbsent(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	pth := p.str("path")
	_, err = h.Stat(ctx, pth)
	if errors.Is(err, fs.ErrNotExist) {
		return Outcome{Message: pth + " is absent on " + h.Name()}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	if p.bool("show") {
		if b, rerr := h.ReadFile(ctx, pth); rerr == nil {
			for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				env.Report.Line("stdout", l)
			}
		}
	}
	return Outcome{}, failed("%s exists on %s", pth, h.Name())
}

func runPathPresent(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	pth := p.str("path")
	if _, err := h.Stat(ctx, pth); errors.Is(err, fs.ErrNotExist) {
		return Outcome{}, failed("%s does not exist on %s", pth, h.Name())
	} else if err != nil {
		return Outcome{}, err
	}
	return Outcome{Message: pth + " exists on " + h.Name()}, nil
}

func runFilesPresent(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	if s.Kind == "pg-dump" {
		// pg_dump runs on the old server (the step's host), but the archives
		// it streams are written on the new one: that is where to look.
		h = x.New
	}
	dir := p.str("dir")
	var missing []string
	for _, f := range p.list("files") {
		if _, err := h.Stat(ctx, path.Join(dir, f)); errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, f)
		} else if err != nil {
			return Outcome{}, err
		}
	}
	if len(missing) > 0 {
		return Outcome{}, failed("missing in %s on %s: %s", dir, h.Name(), strings.Join(missing, ", "))
	}
	return Outcome{Message: fmt.Sprintf("all %d files are in %s on %s", len(p.list("files")), dir, h.Name())}, nil
}

func runSamePlatform(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	op, err := tasks.Platform(ctx, old)
	if err != nil {
		return Outcome{}, err
	}
	np, err := tasks.Platform(ctx, x.newHost(env.Data))
	if err != nil {
		return Outcome{}, err
	}
	r := tasks.SamePlatform(old.Name(), op, x.New.Name(), np)
	if !r.OK {
		return Outcome{}, failed("%s", r.Reason)
	}
	return Outcome{Message: r.Reason, Facts: map[string]string{"old_family": op.Family, "new_family": np.Family, "old_platform": op.Describe(), "new_platform": np.Describe()}}, nil
}

func runRecord(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	var parts []string
	for _, q := range s.Ask {
		if v, ok := env.Data.Answers[q.Key]; ok {
			parts = append(parts, q.Key+"="+v)
		}
	}
	return Outcome{Message: "recorded " + strings.Join(parts, ", ")}, nil
}

// runInstallPackages asks the package manager about each package of the
// family's list and, when any is missing, installs the whole list (what the
// plan shows: the package manager leaves those already there alone).
func runInstallPackages(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	fam := env.Data.Family
	pkgs, err := installPackagesList(p, fam)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var missing []string
	for _, pkg := range pkgs {
		out, code, err := output(ctx, h, installQueryArgv(fam, pkg)...)
		if err != nil || code != 0 || (fam == FamilyDebian && !strings.Contains(out, "install ok installed")) {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		o.Message = "already installed: " + strings.Join(pkgs, ", ")
		return o, nil
	}
	if _, err := runArgv(ctx, h, env, &o, installArgv(fam, pkgs)...); err != nil {
		return o, err
	}
	o.Message = "installed " + strings.Join(missing, ", ")
	return o, nil
}

func runHostsEntry(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	name := p.str("name")
	key := "hosts_line_" + name
	switch p.str("action") {
	case "add":
		ip, given := p.str("ip"), ""
		o := Outcome{Facts: map[string]string{}}
		if ip != "" && tasks.ValidIP(ip) != nil {
			// A name (an ssh config alias, a host name): the line needs the
			// address it leads to.
			given = ip
			if ip, err = resolveOldName(ctx, x, given); err != nil {
				return Outcome{}, err
			}
			o.Facts["old_addr"], o.Facts["old_host"] = ip, given
		}
		// The comment names the migration, so that a later ferry knows
		// the line for its own (HostEvidence).
		r, err := tasks.AddHostsEntryNoted(ctx, h, ip, name, HostsNote(env.Data.Facts[FactMigrationID]))
		if err != nil {
			return Outcome{}, err
		}
		o.Message = r.Reason
		if given != "" {
			o.Message += " (" + given + " resolves to " + ip + ")"
		}
		if r.Changed {
			// Only a line ferry added is removed at the end.
			o.Facts[key] = r.Line
		}
		return o, nil
	case "remove":
		line := env.Data.Facts[key]
		if line == "" {
			return Outcome{NotApplicable: true, Message: "ferry added no " + name + " line to /etc/hosts, so it removes none"}, nil
		}
		r, err := tasks.RemoveHostsLine(ctx, h, line)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Message: r.Reason, Facts: map[string]string{key: ""}}, nil
	}
	return Outcome{}, fmt.Errorf("hosts-entry: action %q is not add or remove", p.str("action"))
}

func runSSHConfig(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	port := old.Port()
	if v := p.str("port"); v != "" {
		if port, err = strconv.Atoi(v); err != nil || tasks.ValidPort(v) != nil {
			return Outcome{}, fmt.Errorf("ssh port %q is not a port number", v)
		}
	}
	cfg := firstNonEmpty(x.SSHConfig, tasks.RootSSHConfig)
	alias := p.str("alias")
	var o Outcome
	// What would the system ssh do for the alias now, and what must change
	// for it to reach the server ferry reached?
	plan, err := planSSHBlock(ctx, x.New, cfg, alias, old, port)
	if err != nil {
		return o, err
	}
	settings := plan.settings
	declined := ""
	if len(plan.weak) > 0 {
		// Weak algorithms go into root's config only with the admin's
		// consent (the ssh_legacy question, asked when ferry had to accept
		// some); others the local ssh merely lacks by default need none.
		if Truthy(p.str("legacy")) || env.Data.Facts["old_ssh_legacy"] == "" {
			settings = append(settings, plan.weak...)
		} else {
			declined = sshSettingsText(plan.weak)
		}
	}
	if len(settings) > 0 {
		r, err := tasks.SetSSHConfigBlock(ctx, x.New, cfg, alias, settings)
		if err != nil {
			return o, err
		}
		o.Message = strings.TrimSuffix(r.Reason, ".")
		if r.Changed {
			o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: "write Host " + alias + " into " + cfg + ": " + sshSettingsText(settings), Exit: 0})
		}
	} else {
		o.Message = "the system ssh already reaches " + alias + " the way ferry does; " + cfg + " is left as it is"
	}
	if declined != "" {
		o.Warnings = append(o.Warnings, "not written into "+cfg+", as answered: "+declined)
	}
	// The system ssh looks the host key up under the alias, or under the
	// HostName the block gives: record the key ferry verified under both.
	for _, n := range slices.Compact([]string{alias, plan.hostName}) {
		if added, err := old.RecordAlias(n); err != nil {
			return o, err
		} else if added {
			o.Message += "; recorded the old server's verified host key for " + n + " in " + old.KnownHostsFiles()[0]
		}
	}
	// Prove what the vendor's script will do: the system ssh, in batch mode
	// so that no hidden prompt can hang, reaching the alias through this
	// configuration file.
	if _, err := runArgv(ctx, x.New, env, &o, "ssh", "-F", cfg, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "ConnectTimeout=15", alias, "true"); err != nil {
		err = fmt.Errorf("the system ssh cannot reach %s in batch mode (the vendor's script and rsync need it): %w", alias, err)
		if declined != "" {
			err = fmt.Errorf("%w; the old server needs %s, which was not written into %s (answer yes to the weak-algorithms question to write it)", err, declined, cfg)
		}
		return o, err
	}
	o.Message += "; the system ssh reaches " + alias + " in batch mode"
	return o, nil
}

// runCopyFiles copies files from the old server in one rsync transfer
// (--relative keeps each file's place), backing up what it overwrites.
func runCopyFiles(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	if _, err := x.Old(ctx, env); err != nil {
		return Outcome{}, err
	}
	// The plan, with the connection's facts and the backups' suffix fixed
	// now, is what runs: mkdir, then the one transfer.
	d := x.planData(env.Data)
	d.Facts = cloneMap(d.Facts)
	d.Facts[FactBackupSuffix] = BackupSuffix(time.Now())
	acts, err := planCopyFiles(s, p, d)
	if err != nil {
		return Outcome{}, err
	}
	nh := x.newHost(env.Data)
	// Every action but the last makes the destination (none when it is the
	// root); the last is the transfer.
	for _, a := range acts[:len(acts)-1] {
		if _, _, err := output(ctx, nh, a.Argv...); err != nil {
			return Outcome{}, err
		}
	}
	var o Outcome
	if _, err := runArgv(ctx, nh, env, &o, acts[len(acts)-1].Argv...); err != nil {
		return o, err
	}
	o.Message = fmt.Sprintf("copied %s into %s", english.Plural(len(p.list("items")), "item", ""), path.Clean(cmp.Or(p.str("to_dir"), "/")))
	if path.Clean(cmp.Or(p.str("to_dir"), "/")) == "/" {
		// Not the whole root: each item to its own path.
		o.Message = fmt.Sprintf("copied %s, each to the same path as on the old server", english.Plural(len(p.list("items")), "item", ""))
	}
	return o, nil
}

// BackupSuffix is the suffix of the backup ferry keeps of a file it
// overwrites, the same scheme tasks.BackupName uses.
func BackupSuffix(t time.Time) string {
	name := tasks.BackupName("x", t)
	return strings.TrimPrefix(name, "x")
}

func runTablespaces(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	_, located, err := readTablespaces(ctx, x.New, p.str("file"))
	if err != nil {
		return Outcome{}, err
	}
	if len(located) == 0 {
		return Outcome{Message: "no tablespace has a location: nothing to copy"}, nil
	}
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var finals []tasks.Progress
	for _, t := range located {
		dir := t.Location
		if _, _, err := output(ctx, x.newHost(env.Data), "mkdir", "-p", dir); err != nil {
			return o, err
		}
		opts := tablespaceRsync(p, dir)
		opts.Host, opts.Remote, opts.SourceHost = x.newHost(env.Data), old, old
		opts.Started = startedArgv(env, x.New.Name())
		res, err := tasks.Rsync(ctx, opts, env.Report)
		if len(res.Argv) > 0 {
			// A transfer refused before it started ran no command.
			o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: res.Argv}.Display(), Exit: res.ExitCode})
		}
		if err != nil {
			return o, fmt.Errorf("tablespace %s (%s): %w", t.Name, dir, err)
		}
		if res.Warning != "" {
			o.Warnings = append(o.Warnings, res.Warning)
		}
		finals = append(finals, res.Final)
	}
	// The copies are over: their sizes and what they sent add up; no
	// rate or time left.
	total := sumProgress(finals)
	total.Unit, total.Rate, total.ETA = "bytes", 0, 0
	o.Counters = &total
	names := make([]string, len(located))
	for i, t := range located {
		names[i] = t.Name + " (" + t.Location + ")"
	}
	o.Message = "copied " + strings.Join(names, ", ")
	return o, nil
}

func runManual(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	return Outcome{Message: "done by hand"}, nil
}

// runLoadProfile sources the profile scripts in a shell and keeps the
// variables they set, for the later commands on the new server.
func runLoadProfile(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	var found []string
	var o Outcome
	scripts := p.list("scripts")
	for _, sc := range scripts {
		if _, err := x.New.Stat(ctx, sc); err != nil {
			o.Warnings = append(o.Warnings, sc+" is not there; skipped")
			continue
		}
		found = append(found, sc)
	}
	if len(found) == 0 {
		return o, errors.New("none of the profile scripts exists: did the package reinstall work?")
	}
	// The environment before and after sourcing, on the new server as it is
	// without any earlier profile environment (x.New).
	base, _, err := output(ctx, x.New, profileBaseArgv...)
	if err != nil {
		return o, err
	}
	after, code, err := output(ctx, x.New, "sh", "-c", profileScript(scripts))
	if err != nil {
		return o, err
	}
	if code != 0 {
		return o, fmt.Errorf("sourcing the profile scripts failed (exit %d)", code)
	}
	before := map[string]bool{}
	for _, kv := range strings.Split(base, "\x00") {
		before[kv] = true
	}
	var changed []string
	for _, kv := range strings.Split(after, "\x00") {
		if kv != "" && !before[kv] && strings.Contains(kv, "=") && !strings.HasPrefix(kv, "_=") && !strings.HasPrefix(kv, "SHLVL=") && !strings.HasPrefix(kv, "PWD=") {
			changed = append(changed, kv)
		}
	}
	sort.Strings(changed)
	b, _ := json.Marshal(changed)
	o.Facts = map[string]string{"profile_env": string(b)}
	o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: []string{"sh", "-c", profileScript(scripts)}}.Display(), Exit: code})
	names := make([]string, len(changed))
	for i, kv := range changed {
		names[i], _, _ = strings.Cut(kv, "=")
	}
	o.Message = fmt.Sprintf("sourced %s; later commands get %s", english.Plural(len(found), "script", ""), strings.Join(names, ", "))
	return o, nil
}

func runCommandKind(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	specs, err := commandSpecs(s, env.Data)
	if err != nil {
		return Outcome{}, err
	}
	okExit := s.OKExits()
	var o Outcome
	var last tasks.CommandResult
	var accepted []string
	for i, spec := range specs {
		spec.OKExit = okExit
		if i == len(specs)-1 {
			spec.ExpectLastLine = p.str("expect_last_line")
		}
		last, err = run(ctx, h, spec, env, &o)
		if err != nil {
			return o, err
		}
		if last.ExitCode != 0 {
			accepted = append(accepted, strconv.Itoa(last.ExitCode))
		}
	}
	o.Message = fmt.Sprintf("%s ran on %s", english.Plural(len(specs), "command", ""), h.Name())
	if last.LastLine != "" {
		o.Message += "; last line: " + last.LastLine
	} else if last.Lines == 0 {
		o.Message += ", printing nothing"
	}
	if len(accepted) > 0 {
		// A non-zero exit that passed (a search that found nothing exits
		// 1): said, so that the report's exit column does not alarm.
		o.Message += fmt.Sprintf("; exit %s, which this step accepts", strings.Join(accepted, ", "))
	}
	return o, nil
}

func runRsync(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	paths := p.list("paths")
	par := p.int("parallel", 1)
	if par < 1 {
		par = 1
	}
	sum := &progressSum{rep: env.Report, parts: make([]tasks.Progress, len(paths))}
	var o Outcome
	var mu sync.Mutex
	// Every directory's refusal or failure is reported, in the runbook's
	// order, not only the first one.
	errs := make([]error, len(paths))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	one := func(i int, dir string, confirmed int) {
		// The options the plan shows the transfer with (rsyncStepOptions).
		opts := rsyncStepOptions(p, dir)
		opts.ConfirmDeletes, opts.Host, opts.Remote, opts.SourceHost = confirmed, x.newHost(env.Data), old, old
		// The share rule of the deletion limit uses the tree's size as the
		// last pass of this directory left it.
		if n, err := strconv.ParseInt(env.Data.Facts[TreeEntriesFact(dir)], 10, 64); err == nil && n > 0 {
			opts.TreeEntries = n
		}
		opts.Started = startedArgv(env, x.New.Name())
		res, err := tasks.Rsync(ctx, opts, sum.part(i))
		mu.Lock()
		defer mu.Unlock()
		if len(res.Argv) > 0 {
			// A transfer refused before it started ran no command.
			o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: res.Argv}.Display(), Exit: res.ExitCode})
		}
		if res.Warning != "" {
			o.Warnings = append(o.Warnings, dir+": "+res.Warning)
		}
		if res.Stats.Files > 0 {
			if o.Facts == nil {
				o.Facts = map[string]string{}
			}
			// rsync's count holds the directory itself.
			o.Facts[TreeEntriesFact(dir)] = strconv.FormatInt(res.Stats.Files-1, 10)
		}
		errs[i] = nil
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", dir, err)
		}
	}
	for i, dir := range paths {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, dir string) {
			defer wg.Done()
			defer func() { <-sem }()
			one(i, dir, 0)
		}(i, dir)
	}
	wg.Wait()
	// A transfer refused only for deleting more than the unconfirmed limit
	// is put to the admin, one directory at a time: typing "delete N" lets
	// it delete up to N entries (an answers file: confirm_deletions).
	for i, dir := range paths {
		var dr *tasks.DeleteRefusedError
		if env.Confirm == nil || !errors.As(errs[i], &dr) || !errors.Is(dr.Reason, tasks.ErrTooManyDeletions) || dr.Deletions < 1 {
			continue
		}
		word := DeletionsWord(dr.Deletions)
		msg := fmt.Sprintf("the copy of %s would delete %d entries on the new server, more than the %d ferry lets through unconfirmed", dir, dr.Deletions, dr.Threshold)
		if dr.Deleted > 0 {
			msg += fmt.Sprintf("; rsync deleted %d and kept the other %d", dr.Deleted, dr.Deletions-dr.Deleted)
		}
		if len(dr.Sample) > 0 {
			msg += " (first: " + strings.Join(dr.Sample, ", ") + ")"
		}
		ok, actor, err := env.Confirm(msg+fmt.Sprintf(": type %q to let it", word), word)
		if err != nil {
			return o, err
		}
		if !ok {
			continue
		}
		o.Warnings = append(o.Warnings, fmt.Sprintf("%s: %d deletions confirmed by %s", dir, dr.Deletions, firstNonEmpty(actor, "the admin")))
		one(i, dir, dr.Deletions)
	}
	total := sum.total()
	o.Counters = &total
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	o.Message = english.Plural(len(paths), "directory", "directories") + " in sync"
	return o, nil
}

// TreeEntriesFact is the name of the fact holding how many entries the
// destination dir held after its last rsync pass (rsync's --stats "Number
// of files", less the directory itself); the next pass's deletion limit
// takes a tenth of it (tasks.DeleteLimit).
func TreeEntriesFact(dir string) string {
	return "entries_" + strings.TrimSuffix(dir, "/")
}

// progressSum adds up the progress of several transfers running at once.
type progressSum struct {
	rep   tasks.Reporter
	mu    sync.Mutex
	parts []tasks.Progress
}

type partReporter struct {
	s *progressSum
	i int
}

func (s *progressSum) part(i int) tasks.Reporter { return partReporter{s, i} }

func (r partReporter) Line(stream, text string) { r.s.rep.Line(stream, text) }

func (r partReporter) Progress(p tasks.Progress) {
	r.s.mu.Lock()
	r.s.parts[r.i] = p
	t := r.s.totalLocked()
	r.s.mu.Unlock()
	r.s.rep.Progress(t)
}

func (s *progressSum) total() tasks.Progress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.totalLocked()
}

func (s *progressSum) totalLocked() tasks.Progress { return sumProgress(s.parts) }

// sumProgress adds up the counters of transfers made together: sizes,
// counts and rates add, the ETA is the longest, and what was sent is known
// (Sent) only when every part's rsync said it.
func sumProgress(parts []tasks.Progress) tasks.Progress {
	var t tasks.Progress
	t.Sent = len(parts) > 0
	for _, p := range parts {
		t.Sent = t.Sent && p.Sent
		t.Moved += p.Moved
		t.FilesMoved += p.FilesMoved
		t.Unit = firstNonEmpty(t.Unit, p.Unit)
		t.Done += p.Done
		t.Total += p.Total
		t.FilesDone += p.FilesDone
		t.FilesTotal += p.FilesTotal
		t.Rate += p.Rate
		if p.ETA > t.ETA {
			t.ETA = p.ETA
		}
	}
	return t
}

func runCountFiles(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	dir := p.str("dir")
	// missing_ok: a directory that is gone holds no files (the parked
	// queue's mess directory once an interrupted removal of queue/old has
	// gone past it).
	if p.bool("missing_ok") {
		if _, err := h.Stat(ctx, dir); errors.Is(err, fs.ErrNotExist) {
			o := Outcome{Message: fmt.Sprintf("%s does not exist on %s: no files", dir, h.Name()), Counters: &tasks.Progress{Unit: "files"}}
			if want := p.int("expect", 0); want != 0 {
				return o, failed("%s does not exist on %s, expected %s", dir, h.Name(), english.Plural(want, "file", ""))
			}
			return o, nil
		}
	}
	n, err := tasks.CountFiles(ctx, h, dir)
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Message: fmt.Sprintf("%s under %s on %s", english.Plural(int(n), "file", ""), dir, h.Name()), Counters: &tasks.Progress{Unit: "files", Done: n}}
	if _, ok := p["expect"]; ok {
		want := int64(p.int("expect", -1))
		if n != want {
			return o, failed("%s under %s on %s, expected %d", english.Plural(int(n), "file", ""), dir, h.Name(), want)
		}
	}
	return o, nil
}

func runRemoveDir(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	// The path is judged before anything is looked at or connected to.
	if _, err := deletionTargets(p, s.Params, "path", false, false); err != nil {
		return Outcome{}, refuseDeletion(s, err)
	}
	dir := removeDirPath(p)
	if strings.Count(dir, "/") < 2 {
		return Outcome{}, refuseDeletion(s, fmt.Errorf("parameter path renders %q, a directory right under the root: ferry removes only deeper trees; nothing was deleted", dir))
	}
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	if _, err := h.Stat(ctx, dir); errors.Is(err, fs.ErrNotExist) {
		return Outcome{Message: dir + " is already gone on " + h.Name()}, nil
	}
	acts, err := planRemoveDir(s, p, env.Data)
	if err != nil {
		return Outcome{}, err
	}
	if _, err := runArgv(ctx, h, env, &o, acts[0].Argv...); err != nil {
		return o, err
	}
	o.Message = "removed " + dir + " on " + h.Name()
	return o, nil
}

func runRemoveFiles(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	// Every path is judged before the first is removed.
	files, err := deletionTargets(p, s.Params, "paths", true, false)
	if err != nil {
		return Outcome{}, refuseDeletion(s, err)
	}
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var gone, absent []string
	for _, f := range files {
		if _, err := h.Stat(ctx, f); errors.Is(err, fs.ErrNotExist) {
			absent = append(absent, f)
			continue
		}
		if _, err := runArgv(ctx, h, env, &o, "rm", "-f", f); err != nil {
			return o, err
		}
		gone = append(gone, f)
	}
	o.Message = fmt.Sprintf("removed %s on %s", english.Plural(len(gone), "file", ""), h.Name())
	if len(gone) > 0 {
		o.Message += ": " + strings.Join(gone, ", ")
	}
	if len(absent) > 0 {
		o.Message += "; already absent: " + strings.Join(absent, ", ")
	}
	return o, nil
}

func runDeleteFiles(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	// Every directory is judged before the first is emptied.
	dirs, err := deletionTargets(p, s.Params, "dirs", true, false)
	if err != nil {
		return Outcome{}, refuseDeletion(s, err)
	}
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var total int64
	var parts []string
	for _, d := range dirs {
		if _, err := h.Stat(ctx, d); errors.Is(err, fs.ErrNotExist) {
			parts = append(parts, d+": absent")
			continue
		}
		n, err := tasks.CountFiles(ctx, h, d)
		if err != nil {
			return o, err
		}
		if _, err := runArgv(ctx, h, env, &o, "find", d, "-type", "f", "-delete"); err != nil {
			return o, err
		}
		total += n
		parts = append(parts, fmt.Sprintf("%s: %d", d, n))
		env.Report.Progress(tasks.Progress{Unit: "files", Done: total})
	}
	o.Counters = &tasks.Progress{Unit: "files", Done: total}
	o.Message = fmt.Sprintf("deleted %s on %s (%s)", english.Plural(int(total), "file", ""), h.Name(), strings.Join(parts, "; "))
	return o, nil
}

// Answers to the resolv_link_action question (asked when /etc/resolv.conf
// on the new server is a symbolic link).
const (
	resolvReplaceLink = "replace"          // a regular file takes the link's place
	resolvUseResolved = "systemd-resolved" // the link stays; systemd-resolved gets DNS=
	resolvLeave       = "leave"            // nothing is changed; the admin sees to it
)

func runResolvConf(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	d, err := tasks.DecideResolvers(ctx, x.New, p.str("config"))
	if err != nil {
		return Outcome{}, err
	}
	ns := []string{tasks.LocalCacheNameserver}
	if !d.UseLocalCache {
		ns = SplitList(env.Data.Answers["resolvers"])
		if len(ns) == 0 {
			return Outcome{}, errors.New("no resolvers were chosen")
		}
	}
	action := env.Data.Answers["resolv_link_action"]
	if env.Data.Facts["resolv_link"] == "" {
		action = ""
	}
	o := Outcome{}
	switch action {
	case resolvLeave:
		o.Warnings = append(o.Warnings, fmt.Sprintf("/etc/resolv.conf (a link to %s) was left as it is, as asked: make sure the new server resolves through %s", env.Data.Facts["resolv_link"], strings.Join(ns, ", ")))
		o.Message = d.Reason + "; /etc/resolv.conf left unchanged at the admin's request"
		return o, nil
	case resolvUseResolved:
		r, err := tasks.SetResolvedDNS(ctx, x.New, ns)
		o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: "write " + tasks.ResolvedDropIn + ": DNS=" + strings.Join(ns, " "), Exit: exitOf(err)})
		if err != nil {
			return o, err
		}
		if _, err := runArgv(ctx, x.New, env, &o, "systemctl", "restart", "systemd-resolved"); err != nil {
			return o, err
		}
		if d.UseLocalCache {
			o.Warnings = append(o.Warnings, "systemd-resolved now forwards to 127.0.0.1, but /etc/resolv.conf lists its own stub: GreenArrow's procedure expects 127.0.0.1 alone there")
		}
		o.Message = strings.TrimSuffix(d.Reason, ".") + "; " + r.Reason
		return o, nil
	case "", resolvReplaceLink:
	default:
		return Outcome{}, fmt.Errorf("resolv_link_action %q is not one of %s, %s, %s", action, resolvReplaceLink, resolvUseResolved, resolvLeave)
	}
	r, err := tasks.WriteResolvConf(ctx, x.New, tasks.ResolvConfFile, ns, action == resolvReplaceLink)
	o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: "write /etc/resolv.conf: nameserver " + strings.Join(ns, ", "), Exit: exitOf(err)})
	if err != nil {
		return o, err
	}
	o.Message = strings.TrimSuffix(d.Reason, ".") + "; " + r.Reason
	return o, nil
}

func shellQuote(s string) string { return quoteArgv([]string{s}) }
