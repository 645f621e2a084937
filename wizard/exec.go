package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// TaskExecutor carries out runbook steps with ferry's task library, on the
// new server (where ferry runs) and on the old one (over SSH, connected on
// first need).
type TaskExecutor struct {
	// New is the new server, normally remote.NewLocal("new", "/").
	New remote.Host
	// OldSSH says how to reach the old server. Addr and Port may be left
	// empty: they are then taken from the answers (old_addr, ssh_port) and
	// facts (old_addr).
	OldSSH remote.SSHOptions
	// SSHConfig is the runbook path of root's ssh config on the new server.
	SSHConfig string
	// TrustFingerprint is a host key fingerprint the admin approved in
	// advance (answers file): an unknown key with it is trusted.
	TrustFingerprint string
	// StateDir is the state directory, where a spare sshd's pid file and
	// log go (LifelinePidFile); OpenSession sets it when it is empty.
	StateDir string
	// Dial connects to the old server; nil means remote.DialSSH.
	Dial func(ctx context.Context, o remote.SSHOptions) (*remote.SSH, error)
	// Runbook is the runbook the executor runs, when known: preparing the
	// step that opens the downtime then counts the queue merges after it
	// for the forecast (FactForecastQueued).
	Runbook *Runbook

	mu  sync.Mutex
	old *remote.SSH
}

// Close closes the connection to the old server, if any.
func (x *TaskExecutor) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.old != nil {
		err := x.old.Close()
		x.old = nil
		return err
	}
	return nil
}

// Old returns the connection to the old server, opening it if needed. An
// unknown host key is put to the admin through env.Ask.
func (x *TaskExecutor) Old(ctx context.Context, env *StepEnv) (*remote.SSH, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.old != nil && x.old.Lost() == nil {
		return x.old, nil
	}
	o := x.OldSSH
	if o.Name == "" {
		o.Name = HostOld
	}
	if o.Addr == "" {
		o.Addr = oldLookupName(env.Data)
	}
	if o.Addr == "" {
		return nil, errors.New("the old server's address is not known yet (give --old)")
	}
	if o.Port == 0 {
		if p, err := strconv.Atoi(env.Data.Answers["ssh_port"]); err == nil {
			o.Port = p
		}
	}
	o.TrustUnknown = func(hostport string, key ssh.PublicKey, fp string) bool {
		if x.TrustFingerprint != "" && fp == x.TrustFingerprint {
			return true
		}
		if env.Ask == nil {
			return false
		}
		d, err := env.Ask(NeedTrust, fmt.Sprintf("the old server %s offers the %s host key %s, which is not in known_hosts: trust it and record it?", hostport, key.Type(), fp))
		return err == nil && d.Action == ActTrust
	}
	dial := x.Dial
	if dial == nil {
		dial = remote.DialSSH
	}
	c, err := dial(ctx, o)
	if err != nil {
		return nil, err
	}
	x.old = c
	// The new server's commands name the old server's files in rsync
	// operands (user@host:/path): a simulated new server maps them under
	// the old one's root.
	remote.Link(x.New, c)
	return c, nil
}

// connFacts returns the facts of the open connection to the old server
// (FactOldDestination, FactOldSSHCommand), or nil when none is open.
func (x *TaskExecutor) connFacts() map[string]string {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.old == nil || x.old.Lost() != nil {
		return nil
	}
	return map[string]string{FactOldDestination: x.old.Destination(), FactOldSSHCommand: x.old.RsyncShell()}
}

// planData is data with the facts of the open connection, as a step about
// to run is planned.
func (x *TaskExecutor) planData(data TemplateData) TemplateData {
	cf := x.connFacts()
	if len(cf) == 0 {
		return data
	}
	data.Facts = cloneMap(data.Facts)
	for k, v := range cf {
		data.Facts[k] = v
	}
	return data
}

// Plan returns the actions of step s as they would run now: Plan with
// what the open connection to the old server adds to the facts.
func (x *TaskExecutor) Plan(s *Step, data TemplateData) ([]PlanAction, error) {
	return Plan(s, x.planData(data))
}

// PlanCheck is PlanCheck with what the open connection adds to the facts.
func (x *TaskExecutor) PlanCheck(s *Step, c *Check, data TemplateData) ([]PlanAction, error) {
	return PlanCheck(s, c, x.planData(data))
}

// host returns the host a step runs on.
func (x *TaskExecutor) host(ctx context.Context, s *Step, env *StepEnv) (remote.Host, error) {
	if s.Host == HostOld {
		return x.Old(ctx, env)
	}
	return x.newHost(env.Data), nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// params resolves the templates of a step's (or check's) parameters.
type params map[string]any

func resolveParams(p map[string]any, data TemplateData) (params, error) {
	out := params{}
	for k, v := range p {
		r, err := Resolve(v, data)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", k, err)
		}
		out[k] = r
	}
	return out, nil
}

func (p params) str(k string) string {
	v, ok := p[k]
	if !ok || v == nil {
		return ""
	}
	return strings.TrimSpace(fmt.Sprint(v))
}

func (p params) bool(k string) bool { return Truthy(p[k]) }

func (p params) int(k string, def int) int {
	switch v := p[k].(type) {
	case int:
		return v
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n
		}
	}
	return def
}

// list reads a list parameter; a string is split on white space.
// OKExits returns the exit codes besides 0 that a command step accepts as
// a pass (its ok_exit parameter, as the runbook gives them; numbers only),
// nil when it gives none.
func (s *Step) OKExits() []int {
	var out []int
	for _, e := range params(s.Params).list("ok_exit") {
		if n, err := strconv.Atoi(e); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func (p params) list(k string) []string {
	switch v := p[k].(type) {
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case []string:
		return v
	case string:
		return strings.Fields(v)
	}
	return nil
}

// commandSpecs renders the step's commands for a family into specs. The
// words are handed to the host as the runbook wrote them: a simulated host
// maps the server paths in them itself (package remote).
func commandSpecs(s *Step, data TemplateData) ([]tasks.CommandSpec, error) {
	var out []tasks.CommandSpec
	for _, c := range s.CommandsFor(data.Family) {
		var spec tasks.CommandSpec
		if c.Shell != "" {
			line, err := Render(c.Shell, data)
			if err != nil {
				return nil, err
			}
			spec.Shell = line
		} else {
			for _, w := range c.Argv {
				r, err := Render(w, data)
				if err != nil {
					return nil, err
				}
				spec.Argv = append(spec.Argv, r)
			}
		}
		out = append(out, spec)
	}
	return out, nil
}

// profileEnv returns the environment the profile scripts set (the fact
// profile_env that load-profile records), for every later command on the
// new server.
func profileEnv(data TemplateData) []string {
	var env []string
	if raw := data.Facts["profile_env"]; raw != "" {
		_ = json.Unmarshal([]byte(raw), &env)
	}
	return env
}

// newHost returns the new server as the steps see it: every command it runs
// gets the profile environment learnt so far, so a vendor's programs are
// found on the PATH its profile scripts set, on a real server as on a
// simulated one.
func (x *TaskExecutor) newHost(data TemplateData) remote.Host {
	return remote.WithEnv(x.New, profileEnv(data))
}

// run runs one command of a step (its output to env.Report) and records
// it: journaled as it starts (env.CommandStarted), in out with its exit.
func run(ctx context.Context, h remote.Host, spec tasks.CommandSpec, env *StepEnv, out *Outcome) (tasks.CommandResult, error) {
	env.CommandStarted(h.Name(), spec.Display())
	var rep tasks.Reporter
	if env != nil {
		rep = env.Report
	}
	res, err := tasks.RunCommand(ctx, h, spec, rep)
	out.Commands = append(out.Commands, CommandRecord{Host: h.Name(), Command: spec.Display(), Exit: res.ExitCode})
	if err != nil {
		return res, err
	}
	if !res.OK {
		if res.LastLine != "" && !strings.Contains(res.Reason, res.LastLine) {
			return res, fmt.Errorf("%s on %s: %s; its last line: %s", spec.Display(), h.Name(), res.Reason, res.LastLine)
		}
		return res, fmt.Errorf("%s on %s: %s", spec.Display(), h.Name(), res.Reason)
	}
	return res, nil
}

// startedArgv journals, through env.CommandStarted, a command given as
// words that a task starts on host (its name), in the form its outcome
// records it (tasks.CommandSpec.Display).
func startedArgv(env *StepEnv, host string) func(argv []string) {
	return func(argv []string) { env.CommandStarted(host, tasks.CommandSpec{Argv: argv}.Display()) }
}

// runArgv runs a command given as words.
func runArgv(ctx context.Context, h remote.Host, env *StepEnv, out *Outcome, argv ...string) (tasks.CommandResult, error) {
	return run(ctx, h, tasks.CommandSpec{Argv: argv}, env, out)
}

// output runs a command quietly and returns its whole standard output.
func output(ctx context.Context, h remote.Host, argv ...string) (string, int, error) {
	var b strings.Builder
	res, err := h.Exec(ctx, remote.Cmd{Argv: argv, Stdout: &b})
	return b.String(), res.ExitCode, err
}

// Run implements Executor.
func (x *TaskExecutor) Run(ctx context.Context, s *Step, env *StepEnv) (Outcome, error) {
	p, err := resolveParams(s.Params, env.Data)
	if err != nil {
		return Outcome{}, err
	}
	k, ok := kindRunners[s.Kind]
	if !ok {
		return Outcome{}, fmt.Errorf("kind %q cannot be run by this version of ferry", s.Kind)
	}
	out, err := k(ctx, x, s, p, env)
	// What later plans show of the connection (rsync's -e and operands) is
	// recorded as soon as it is open or changes.
	for k, v := range x.connFacts() {
		if env.Data.Facts[k] != v {
			if out.Facts == nil {
				out.Facts = map[string]string{}
			}
			if _, set := out.Facts[k]; !set {
				out.Facts[k] = v
			}
		}
	}
	return out, err
}

// Check implements Executor: it runs the check kind and reads its outcome.
func (x *TaskExecutor) Check(ctx context.Context, s *Step, c *Check, env *StepEnv) (bool, string, error) {
	p, err := resolveParams(c.Params, env.Data)
	if err != nil {
		return false, "", err
	}
	k, ok := kindRunners[c.Kind]
	if !ok {
		return false, "", fmt.Errorf("check kind %q cannot be run by this version of ferry", c.Kind)
	}
	// A check runs on the host of its step.
	out, err := k(ctx, x, s, p, &StepEnv{Data: env.Data, Report: tasks.Discard, Secrets: env.Secrets, Ask: env.Ask})
	var cf *checkFailed
	if errors.As(err, &cf) {
		return false, cf.reason, nil
	}
	if err != nil {
		return false, "", err
	}
	return true, out.Message, nil
}

// checkFailed is a check that ran and found its condition false (as
// opposed to a check that could not run).
type checkFailed struct{ reason string }

func (e *checkFailed) Error() string { return e.reason }

func failed(format string, a ...any) error { return &checkFailed{reason: fmt.Sprintf(format, a...)} }

type kindRunner func(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error)

// kindRunners maps each kind of kinds.go to its implementation; a test
// checks that none is missing.
var kindRunners map[string]kindRunner

func init() {
	kindRunners = map[string]kindRunner{
		"check-root":       runCheckRoot,
		"ssh-connect":      runSSHConnect,
		"package-version":  runPackageVersion,
		"path-absent":      runPathAbsent,
		"path-present":     runPathPresent,
		"same-platform":    runSamePlatform,
		"pg-version":       runPGVersion,
		"disk-space":       runDiskSpace,
		"record":           runRecord,
		"install-packages": runInstallPackages,
		"hosts-entry":      runHostsEntry,
		"ssh-config":       runSSHConfig,
		"files-present":    runFilesPresent,
		"copy-files":       runCopyFiles,
		"tablespaces":      runTablespaces,
		"manual":           runManual,
		"load-profile":     runLoadProfile,
		"command":          runCommandKind,
		"rsync":            runRsync,
		"queue-merge":      runQueueMerge,
		"count-files":      runCountFiles,
		"remove-dir":       runRemoveDir,
		"remove-files":     runRemoveFiles,
		"delete-files":     runDeleteFiles,
		"resolv-conf":      runResolvConf,
		"service-status":   runServiceStatus,
		"units-inactive":   runUnitsInactive,
		"compare-packages": runComparePackages,
		"compare-setting":  runCompareSetting,
		"pg-dump":          runPGDump,
		"pg-restore":       runPGRestore,
		"pg-verify":        runPGVerify,
		"pg-login":         runPGLogin,
		"postfix-maps":     runPostfixMaps,
	}
}

// CountQueued counts the message files under the parked queue
// (old_queue/mess) of queue-merge step s on the new server, now, for the
// downtime forecast (Prepare); an error when s merges no queue or the
// queue cannot be counted (not parked yet, say).
func (x *TaskExecutor) CountQueued(ctx context.Context, s *Step, env *StepEnv) (int64, error) {
	if !isUntimedKind(s) {
		return 0, fmt.Errorf("step %s merges no queue", s.ID)
	}
	p, err := resolveParams(s.Params, env.Data)
	if err != nil {
		return 0, err
	}
	return tasks.CountFiles(ctx, x.New, path.Join(p.str("old_queue"), "mess"))
}

// Prepare implements Executor. Preparing the step that opens the
// downtime also counts, for the forecast, the parked queue of each queue
// merge after it in Runbook (FactForecastQueued; a queue that cannot be
// counted is left out).
func (x *TaskExecutor) Prepare(ctx context.Context, s *Step, env *StepEnv) (map[string]string, error) {
	facts, err := x.prepareKind(ctx, s, env)
	if err != nil || s.Downtime != DowntimeStart || x.Runbook == nil {
		return facts, err
	}
	after := false
	for i := range x.Runbook.Steps {
		m := &x.Runbook.Steps[i]
		after = after || m.ID == s.ID
		if !after || !isUntimedKind(m) {
			continue
		}
		if n, err := x.CountQueued(ctx, m, env); err == nil {
			if facts == nil {
				facts = map[string]string{}
			}
			facts[FactForecastQueued+m.ID] = strconv.FormatInt(n, 10)
		}
	}
	return facts, nil
}

// prepareKind is what Prepare learns for a step of s's kind.
func (x *TaskExecutor) prepareKind(ctx context.Context, s *Step, env *StepEnv) (map[string]string, error) {
	switch s.Kind {
	case "queue-merge":
		// The parked queue's size before the first attempt, so that the
		// counts after a resume add up to the whole queue.
		key := FactMergeParkedAtStart + s.ID
		if _, ok := env.Data.Facts[key]; ok {
			return nil, nil
		}
		p, err := resolveParams(s.Params, env.Data)
		if err != nil {
			return nil, err
		}
		n, err := tasks.CountFiles(ctx, x.New, path.Join(p.str("old_queue"), "mess"))
		if err != nil {
			return nil, nil // no parked queue yet: the step's own checks say so
		}
		return map[string]string{key: strconv.FormatInt(n, 10)}, nil
	case "resolv-conf":
		p, err := resolveParams(s.Params, env.Data)
		if err != nil {
			return nil, err
		}
		d, err := tasks.DecideResolvers(ctx, x.New, p.str("config"))
		if err != nil {
			return nil, err
		}
		facts := map[string]string{"dns_cache": "no", "resolv_link": ""}
		if d.UseLocalCache {
			facts["dns_cache"] = "yes"
		}
		// A link (to systemd-resolved's stub, most often) is a question of
		// its own: replace it, keep the resolver and set its DNS=, or leave it.
		if fi, err := x.New.Stat(ctx, tasks.ResolvConfFile); err == nil && fi.Mode&fs.ModeSymlink != 0 {
			facts["resolv_link"] = fi.LinkTarget
		}
		if old, err := x.Old(ctx, env); err == nil {
			if ns, err := tasks.ReadResolvers(ctx, old); err == nil && len(ns) > 0 {
				facts["old_resolvers"] = strings.Join(ns, " ")
			}
		}
		env.Report.Line("info", d.Reason)
		return facts, nil
	case "tablespaces":
		// The tablespaces to copy, so that the step shows their directories
		// before it runs; a file not there yet is the step's own error.
		p, err := resolveParams(s.Params, env.Data)
		if err != nil {
			return nil, err
		}
		if fact, _, err := readTablespaces(ctx, x.New, p.str("file")); err == nil {
			return map[string]string{FactTablespaces: fact}, nil
		}
	case "manual":
		p, err := resolveParams(s.Params, env.Data)
		if err != nil {
			return nil, err
		}
		if t := p.str("show"); t != "" {
			env.Report.Line("info", t)
		}
		if f := p.str("show_secret_file"); f != "" {
			b, err := x.New.ReadFile(ctx, f)
			if err != nil {
				env.Report.Line("info", fmt.Sprintf("could not read %s: %v", f, err))
				return nil, nil
			}
			// Shown on screen only: output lines are never journaled.
			for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				env.Report.Line("secret", l)
			}
		}
	}
	return nil, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
