package wizard

import (
	"context"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize"
	"github.com/dustin/go-humanize/english"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// verdict turns a check result into an outcome or a failed check, showing
// its detail (a file's content, a list of services) on screen.
func verdict(r tasks.CheckResult, err error, env *StepEnv) (Outcome, error) {
	if err != nil {
		return Outcome{}, err
	}
	if r.Detail != "" {
		for _, l := range strings.Split(strings.TrimRight(r.Detail, "\n"), "\n") {
			env.Report.Line("stdout", l)
		}
	}
	if !r.OK {
		return Outcome{}, failed("%s", r.Reason)
	}
	return Outcome{Message: r.Reason}, nil
}

func runPackageVersion(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	r, info, err := tasks.CheckPackageVersion(ctx, h, p.list("packages"), p.str("min"))
	o, err := verdict(r, err, env)
	if err == nil && info.Version != "" {
		o.Facts = map[string]string{h.Name() + "_" + info.Name + "_version": info.Version}
	}
	return o, err
}

func runDiskSpace(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	r, err := tasks.CheckDiskSpace(ctx, old, p.str("source"), x.newHost(env.Data), p.str("target"), p.int("margin_percent", 10))
	return verdict(r, err, env)
}

func runPGVersion(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	np, err := tasks.Platform(ctx, x.newHost(env.Data))
	if err != nil {
		return Outcome{}, err
	}
	r, err := tasks.CheckPGVersion(ctx, old, p.str("link"), p.str("blocked_version"), p.list("blocked_targets"), np)
	return verdict(r, err, env)
}

func runServiceStatus(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.serverOf(ctx, s, p, env)
	if err != nil {
		return Outcome{}, err
	}
	st, res, err := tasks.QueryServiceStatus(ctx, h, serviceStatusArgv(p), env.Report)
	o := Outcome{Commands: []CommandRecord{{Host: h.Name(), Command: res.Command, Exit: res.ExitCode}}}
	if errors.Is(err, tasks.ErrNoServiceLine) && p.str("expect") == "down" {
		// A stopped supervisor may list nothing: CheckServicesDown judges
		// an empty listing (nothing runs) and an unreadable one.
		err = nil
	}
	if err != nil {
		return o, err
	}
	var r tasks.CheckResult
	switch {
	case p.str("expect") == "down" && res.ExitCode >= 126:
		// Not found or not executable: an empty listing proves nothing.
		return o, failed("%s on %s could not run (exit code %d), so nothing shows the services are down", res.Command, h.Name(), res.ExitCode)
	case p.str("expect") == "down":
		r = tasks.CheckServicesDown(st)
	default:
		r = tasks.CheckServicesUp(st, p.list("allowed_down"))
	}
	if !r.OK {
		return o, failed("%s", r.Reason)
	}
	o.Message = r.Reason
	return o, nil
}

func runQueueMerge(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.host(ctx, s, env)
	if err != nil {
		return Outcome{}, err
	}
	first, _ := strconv.ParseInt(env.Data.Facts[FactMergeParkedAtStart+s.ID], 10, 64)
	if err := waitForEarlierMerge(ctx, h, p.str("merge"), p.str("old_queue"), first, env.Report); err != nil {
		return Outcome{}, err
	}
	merge := []string{p.str("merge"), p.str("old_queue"), p.str("queue")}
	res, err := tasks.QueueMerge(ctx, tasks.QueueMergeOptions{Host: h, OldQueue: p.str("old_queue"), Queue: p.str("queue"), Merge: p.str("merge"),
		Started: startedArgv(env, h.Name())}, wholeQueue{env.Report, first})
	o := Outcome{Counters: &tasks.Progress{Unit: "messages", Done: res.Merged, Total: res.Total, Remaining: res.Remaining}}
	if res.ExitCode >= 0 {
		// The merge program as it ran (its input: the message files found).
		o.Commands = append(o.Commands, CommandRecord{Host: h.Name(), Command: tasks.CommandSpec{Argv: merge}.Display(), Exit: res.ExitCode})
	}
	if err != nil {
		return o, err
	}
	o.Message = fmt.Sprintf("merged %s of %s %s; %s left in the parked queue", humanize.Comma(res.Merged), humanize.Comma(res.Total), english.PluralWord(int(res.Total), "message", ""), humanize.Comma(res.Remaining))
	if first, err := strconv.ParseInt(env.Data.Facts[FactMergeParkedAtStart+s.ID], 10, 64); err == nil && first > res.Total {
		// A resumed merge: count the whole queue, not only this attempt.
		before := first - res.Total
		o.Counters.Done, o.Counters.Total = before+res.Merged, first
		o.Message = fmt.Sprintf("merged %s of the %s parked %s in all: %s in this attempt, %s before it; %s left in the parked queue",
			humanize.Comma(before+res.Merged), humanize.Comma(first), english.PluralWord(int(first), "message", ""), humanize.Comma(res.Merged), humanize.Comma(before), humanize.Comma(res.Remaining))
	}
	return o, nil
}

// wholeQueue reports a resumed merge's progress against the whole parked
// queue (first: its count before the step's first attempt), as the step's
// final counters do, rather than against what this attempt found.
type wholeQueue struct {
	tasks.Reporter
	first int64
}

func (w wholeQueue) Progress(p tasks.Progress) {
	if p.Total > 0 && w.first > p.Total {
		p.Done += w.first - p.Total
		p.Total = w.first
	}
	w.Reporter.Progress(p)
}

// FactMergeParkedAtStart, followed by a queue-merge step's id, is the fact
// holding how many message files the parked queue held before the step's
// first attempt (counted when the step is prepared, once), so that the
// counts of a resumed merge add up to the whole queue.
const FactMergeParkedAtStart = "merge_parked_at_start_"

// installed lists the packages matching a pattern on a host, name → version.
func installed(ctx context.Context, h remote.Host, family, pattern string) (map[string]string, error) {
	argv := installedArgv(family, pattern)
	out, code, err := output(ctx, h, argv...)
	if err != nil {
		return nil, err
	}
	pk := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		if family == FamilyDebian && !strings.Contains(l, "install ok installed") {
			continue
		}
		pk[f[0]] = f[1]
	}
	if code != 0 && len(pk) == 0 && family != FamilyDebian {
		return nil, fmt.Errorf("%s on %s exited with code %d", strings.Join(argv, " "), h.Name(), code)
	}
	return pk, nil
}

func runComparePackages(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	pat := p.str("pattern")
	op, err := installed(ctx, old, firstNonEmpty(env.Data.Facts["old_family"], env.Data.Family), pat)
	if err != nil {
		return Outcome{}, err
	}
	np, err := installed(ctx, x.newHost(env.Data), firstNonEmpty(env.Data.Facts["new_family"], env.Data.Family), pat)
	if err != nil {
		return Outcome{}, err
	}
	var diffs []string
	names := map[string]bool{}
	for k := range op {
		names[k] = true
	}
	for k := range np {
		names[k] = true
	}
	var sorted []string
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		ov, oin := op[k]
		nv, nin := np[k]
		switch {
		case !nin:
			diffs = append(diffs, fmt.Sprintf("%s %s is on old only", k, ov))
		case !oin:
			diffs = append(diffs, fmt.Sprintf("%s %s is on new only", k, nv))
		case p.str("mode") == "version" && ov != nv:
			diffs = append(diffs, fmt.Sprintf("%s is %s on old and %s on new", k, ov, nv))
		}
	}
	if len(op) == 0 && p.str("mode") == "version" {
		diffs = append(diffs, "no package matching "+pat+" is installed on old")
	}
	for _, d := range diffs {
		env.Report.Line("stdout", d)
	}
	if len(diffs) > 0 {
		return Outcome{}, failed("%s in %s packages: %s", english.Plural(len(diffs), "difference", ""), pat, strings.Join(diffs, "; "))
	}
	return Outcome{Message: fmt.Sprintf("the %d %s package(s) are the same on both servers", len(op), pat)}, nil
}

// setting reads "key = value" (or "key: value") from a configuration file.
func setting(ctx context.Context, h remote.Host, file, key string) (string, error) {
	b, err := h.ReadFile(ctx, file)
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";") {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			k, v, ok = strings.Cut(l, ":")
		}
		if ok && strings.TrimSpace(k) == key {
			return strings.Trim(strings.TrimSpace(v), `"'`), nil
		}
	}
	return "", nil
}

func runCompareSetting(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	file, key := p.str("file"), p.str("key")
	ov, err := setting(ctx, old, file, key)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s on old: %w", file, err)
	}
	nv, err := setting(ctx, x.New, file, key)
	if err != nil {
		return Outcome{}, fmt.Errorf("%s on new: %w", file, err)
	}
	if ov == "" || ov != nv {
		return Outcome{}, failed("%s in %s is %q on old and %q on new", key, file, ov, nv)
	}
	return Outcome{Message: fmt.Sprintf("%s is %s on both servers", key, ov)}, nil
}

// waitForEarlierMerge waits until no merge program is running on the host:
// a ferry killed during the merge leaves its merge program to finish what
// it already read (its input is closed, but the paths still in the pipe's
// buffer are read and merged), and starting a second one on the same queue
// could merge a message twice.
//
// A merge program is recognised by its exact argv (tasks.RunningProgram),
// never by a substring of a command line: a pager or editor that has the
// program's path open must not hold the merge.
//
// While it waits it counts the message files left under oldQueue's mess/
// once a second and reports them as progress (of parkedAtStart, the count
// before the step's first attempt, when known: 0 otherwise), so the screen
// shows the earlier merge moving. It gives up only when the earlier merge
// has merged nothing for mergeStallLimit: a long merge that still moves is
// waited for.
func waitForEarlierMerge(ctx context.Context, h remote.Host, program, oldQueue string, parkedAtStart int64, rep tasks.Reporter) error {
	lastLeft, lastMove := int64(-1), time.Now()
	for i := 0; ; i++ {
		pids, err := tasks.RunningProgram(ctx, h, program)
		if err != nil {
			return fmt.Errorf("cannot tell whether an earlier %s is still running: %w", program, err)
		}
		if len(pids) == 0 {
			return nil
		}
		if i == 0 {
			rep.Line("info", fmt.Sprintf("an earlier %s is still running (pid %s); waiting for it to finish before merging what is left", program, joinInts(pids)))
		}
		if left, err := tasks.CountFiles(ctx, h, path.Join(oldQueue, "mess")); err == nil {
			if lastLeft < 0 || left < lastLeft {
				lastMove = time.Now()
			}
			lastLeft = left
			p := tasks.Progress{Unit: "messages", Remaining: left}
			if parkedAtStart >= left {
				p.Done, p.Total = parkedAtStart-left, parkedAtStart
			}
			rep.Progress(p)
		}
		if stalled := time.Since(lastMove); stalled >= mergeStallLimit {
			return fmt.Errorf("an earlier %s is still running (pid %s) and has merged nothing for %s (%s left in %s): find out why it hangs, stop it, then retry this step", program, joinInts(pids), stalled.Round(time.Second), english.Plural(int(lastLeft), "message", ""), oldQueue)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// mergeStallLimit is how long an earlier merge program may go without
// merging a message before waitForEarlierMerge gives up on it.
var mergeStallLimit = 2 * time.Minute

// joinInts writes process ids as "12, 34".
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}

// runUnitsInactive passes when systemctl is-active reports none of the
// units running (a unit not installed reads "inactive" or "unknown").
// systemctl's exit status says only whether at least one is active, so
// the states are read line by line; a run that prints fewer states than
// units (systemctl missing, exit 127) proves nothing and fails.
func runUnitsInactive(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	h, err := x.serverOf(ctx, s, p, env)
	if err != nil {
		return Outcome{}, err
	}
	argv := unitsInactiveArgv(p)
	out, code, err := output(ctx, h, argv...)
	o := Outcome{Commands: []CommandRecord{{Host: h.Name(), Command: tasks.CommandSpec{Argv: argv}.Display(), Exit: code}}}
	if err != nil {
		return o, err
	}
	units := p.list("units")
	states := strings.Fields(out)
	if len(states) != len(units) {
		return o, failed("%s on %s printed %d state(s) for %d unit(s) (exit code %d): cannot tell whether they run", strings.Join(argv, " "), h.Name(), len(states), len(units), code)
	}
	var running []string
	for i, st := range states {
		switch st {
		case "active", "activating", "reloading", "refreshing", "deactivating":
			running = append(running, units[i]+" ("+st+")")
		}
	}
	if len(running) > 0 {
		return o, failed("still running on %s: %s", h.Name(), strings.Join(running, ", "))
	}
	o.Message = fmt.Sprintf("not running on %s: %s", h.Name(), strings.Join(units, ", "))
	return o, nil
}

// serverOf is the host a check with a server parameter reads
// (serviceStatusServer): the old server over SSH, or the new one.
func (x *TaskExecutor) serverOf(ctx context.Context, s *Step, p params, env *StepEnv) (remote.Host, error) {
	if serviceStatusServer(s, p) == HostOld {
		return x.Old(ctx, env)
	}
	return x.newHost(env.Data), nil
}
