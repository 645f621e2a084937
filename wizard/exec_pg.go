package wizard

import (
	"context"
	"errors"
	"fmt"
	"github.com/dustin/go-humanize"
	"github.com/dustin/go-humanize/english"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/tasks"
)

// dumpFile is the name of the archive of one database.
func dumpFile(dir, db string) string { return path.Join(dir, "dump-"+db+".sql") }

// Facts the dump step records for each database, read back by the restore
// to prove the archive is still the whole file the dump wrote.
func factDumpSHA256(db string) string { return "dump_sha256_" + db }
func factDumpBytes(db string) string  { return "dump_bytes_" + db }

// The same facts of a rehearsal's archives (pg-dump with record: false),
// read by the rehearsal's restore (pg-restore with scratch_prefix) and
// never by the real one.
func factRehearsalSHA256(db string) string { return "rehearsal_sha256_" + db }
func factRehearsalBytes(db string) string  { return "rehearsal_bytes_" + db }

func password(p params, env *StepEnv) string {
	return secretOf(p, env, "password_answer")
}

func secretOf(p params, env *StepEnv, key string) string {
	if k := p.str(key); k != "" {
		return env.Secrets[k]
	}
	return ""
}

// newPGServer reads how ferry reaches PostgreSQL on the new server from the
// step's parameters, each name after prefix ("" for pg-restore, "new_" for
// pg-verify): os_user (default postgres: the client programs run as that OS
// user over the local socket, so a stock pg_hba.conf's peer line lets them
// in, as the published procedure's `su - postgres` does; an empty value runs
// them as root), host (a host name or socket directory; default the client
// programs' own socket), port, user (a role to log in as) and
// password_answer (the secret answer holding its password).
func newPGServer(p params, env *StepEnv, prefix string, defPort int) tasks.PGServer {
	osUser := "postgres"
	if _, ok := p[prefix+"os_user"]; ok {
		osUser = p.str(prefix + "os_user")
	}
	return tasks.PGServer{OSUser: osUser, Host: p.str(prefix + "host"), Port: p.int(prefix+"port", defPort),
		User: p.str(prefix + "user"), Password: secretOf(p, env, prefix+"password_answer")}
}

// oldPGServer is the old server's PostgreSQL as the BlueMind database user
// reaches it from the old server itself: host (default 127.0.0.1), port,
// user and password_answer.
func oldPGServer(p params, env *StepEnv) tasks.PGServer {
	return tasks.PGServer{Host: firstNonEmpty(p.str("host"), "127.0.0.1"), Port: p.int("port", 0), User: p.str("user"), Password: password(p, env)}
}

// dumpServer is the old server's PostgreSQL as pg_dump reaches it on the
// old server: host (default: pg_dump's own socket), port (default 5432),
// user and password_answer.
func dumpServer(p params, env *StepEnv) tasks.PGServer {
	return tasks.PGServer{Host: p.str("host"), Port: p.int("port", 0), User: p.str("user"), Password: password(p, env)}
}

func runPGDump(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	srv := dumpServer(p, env)
	var opts []tasks.DumpOptions
	for _, db := range p.list("databases") {
		opts = append(opts, tasks.DumpOptions{Source: old, Server: srv, Database: db, Target: x.newHost(env.Data), File: dumpFile(p.str("dir"), db)})
	}
	o := Outcome{Facts: map[string]string{}}
	_, set := p["record"]
	keep := !set || p.bool("record")
	record := func(r tasks.DumpResult) {
		// A rehearsal's dump (record: false) leaves the facts of the
		// archives the real restore will check alone.
		if r.SHA256 == "" {
			return
		}
		if keep {
			o.Facts[factDumpSHA256(r.Database)] = r.SHA256
			o.Facts[factDumpBytes(r.Database)] = strconv.FormatInt(r.Bytes, 10)
		} else {
			o.Facts[factRehearsalSHA256(r.Database)] = r.SHA256
			o.Facts[factRehearsalBytes(r.Database)] = strconv.FormatInt(r.Bytes, 10)
		}
	}
	if p.int("parallel", 2) < 2 {
		// One at a time, in order, when the runbook asks.
		for _, op := range opts {
			startedArgv(env, old.Name())(tasks.DumpArgv(op.Server, op.Database))
			r, err := tasks.Dump(ctx, op, env.Report)
			o.Commands = append(o.Commands, CommandRecord{Host: old.Name(), Command: tasks.CommandSpec{Argv: tasks.DumpArgv(op.Server, op.Database)}.Display(), Exit: exitOf(err)})
			if err != nil {
				return o, err
			}
			record(r)
			o.Message += fmt.Sprintf("%s: %d bytes; ", r.Database, r.Bytes)
		}
		return o, nil
	}
	// Journaled as begun all together: DumpAll runs them side by side.
	for _, op := range opts {
		startedArgv(env, old.Name())(tasks.DumpArgv(op.Server, op.Database))
	}
	res, err := tasks.DumpAll(ctx, opts, env.Report)
	var total int64
	for i, op := range opts {
		ok := err == nil
		if i < len(res) {
			total += max(res[i].Bytes, 0)
			record(res[i])
		}
		exit := 0
		if !ok {
			exit = 1
		}
		o.Commands = append(o.Commands, CommandRecord{Host: old.Name(), Command: tasks.CommandSpec{Argv: tasks.DumpArgv(op.Server, op.Database)}.Display(), Exit: exit})
	}
	o.Counters = &tasks.Progress{Unit: "bytes", Done: total, Total: total}
	if err != nil {
		return o, err
	}
	var parts []string
	for _, r := range res {
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", r.Database, humanize.IBytes(uint64(max(0, r.Bytes))), humanize.Comma(int64(len(r.Archive.Items)))+" "+english.PluralWord(len(r.Archive.Items), "item", "")))
	}
	o.Message = "dumped " + strings.Join(parts, ", ")
	return o, nil
}

func exitOf(err error) int {
	if err != nil {
		return 1
	}
	return 0
}

// pgRestorePlan is what the pg-restore step runs, built from its parameters
// and the facts: the archives to check, then the commands that let the
// restoring OS user read them, then drop, create and restore per database.
type pgRestorePlan struct {
	Server tasks.PGServer
	Opts   []tasks.RestoreOptions
	Access [][]string // runbook paths
	// Scratch is the scratch_prefix of a rehearsal: each archive goes into
	// the database named Scratch+its name, dropped again afterwards with
	// the archive file; "" for the real restore.
	Scratch string
}

func planPGRestore(x *TaskExecutor, p params, env *StepEnv) pgRestorePlan {
	srv := newPGServer(p, env, "", 0)
	jobs := p.int("jobs", 0)
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	pl := pgRestorePlan{Server: srv, Scratch: p.str("scratch_prefix")}
	var files []string
	for _, db := range p.list("databases") {
		file := dumpFile(p.str("dir"), db)
		files = append(files, file)
		o := tasks.RestoreOptions{Target: x.newHost(env.Data), Server: srv, File: file, Database: db,
			Owner: p.str("owner"), Encoding: p.str("encoding"), Jobs: jobs}
		if pl.Scratch != "" {
			// A rehearsal: into a scratch database of its own, the archive
			// checked against the rehearsal dump's facts.
			o.Database, o.Rename = pl.Scratch+db, true
			o.Size, _ = strconv.ParseInt(env.Data.Facts[factRehearsalBytes(db)], 10, 64)
			o.SHA256 = env.Data.Facts[factRehearsalSHA256(db)]
		} else {
			o.Size, _ = strconv.ParseInt(env.Data.Facts[factDumpBytes(db)], 10, 64)
			o.SHA256 = env.Data.Facts[factDumpSHA256(db)]
		}
		pl.Opts = append(pl.Opts, o)
	}
	pl.Access = tasks.ArchiveAccessCommands(srv.OSUser, p.str("dir"), files)
	return pl
}

func runPGRestore(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	var o Outcome
	pl := planPGRestore(x, p, env)
	// First the dumps are opened to the group of the OS user the restore
	// runs as (the only change before the checks, to ferry's own files).
	for _, argv := range pl.Access {
		// Runbook paths, as shown: a simulated host maps them itself.
		startedArgv(env, x.New.Name())(argv)
		res, err := tasks.RunCommand(ctx, x.newHost(env.Data), tasks.CommandSpec{Argv: argv}, env.Report)
		o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: argv}.Display(), Exit: res.ExitCode})
		if err == nil && !res.OK {
			err = errors.New(res.Reason)
		}
		if err != nil {
			return o, fmt.Errorf("nothing was dropped: letting %s read the archives: %s: %w", pl.Server.OSUser, tasks.CommandSpec{Argv: argv}.Display(), err)
		}
	}
	started := time.Now()
	// Every archive is checked before the first database is dropped: whole,
	// readable, its roles and tablespaces present. Every problem is named.
	checks, err := tasks.CheckRestores(ctx, pl.Opts, env.Report)
	if err != nil {
		return o, fmt.Errorf("nothing was dropped: %w", err)
	}
	// The databases are independent: they are restored at once, each
	// with its own jobs, their progress added up. Every failure is named.
	results := make([]tasks.RestoreResult, len(checks))
	errs := make([]error, len(checks))
	sum := &sumReporter{rep: env.Report, slots: make([]tasks.Progress, len(checks))}
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, argv := range tasks.RestoreCommands(pl.Server, c.Database, c.Owner, c.Encoding, c.Options.Jobs, c.Options.File) {
				startedArgv(env, x.New.Name())(argv)
			}
			results[i], errs[i] = tasks.RestoreChecked(ctx, c, slotReporter{sum, i})
		}()
	}
	wg.Wait()
	var parts []string
	var failures []error
	for i, c := range checks {
		for _, argv := range tasks.RestoreCommands(pl.Server, c.Database, c.Owner, c.Encoding, c.Options.Jobs, c.Options.File) {
			o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: argv}.Display(), Exit: exitOf(errs[i])})
		}
		if errs[i] != nil {
			failures = append(failures, fmt.Errorf("%s: %w", c.Database, errs[i]))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (%d items)", results[i].Database, results[i].Items))
	}
	if pl.Scratch != "" {
		// What the real restore should take (the forecast reads it).
		o.Facts = map[string]string{FactRehearsalRestore + s.ID: strconv.FormatFloat(time.Since(started).Seconds(), 'f', 3, 64)}
		// A rehearsal leaves nothing behind: its scratch databases (the
		// ones that failed too) and its archives go.
		for _, c := range pl.Opts {
			startedArgv(env, x.New.Name())(tasks.DropCommand(pl.Server, c.Database))
			err := tasks.DropDatabase(ctx, c.Target, pl.Server, c.Database, env.Report)
			o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: tasks.CommandSpec{Argv: tasks.DropCommand(pl.Server, c.Database)}.Display(), Exit: exitOf(err)})
			if err != nil {
				failures = append(failures, fmt.Errorf("dropping the scratch database %s: %w", c.Database, err))
			}
			if err := os.Remove(c.Target.Path(c.File)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				failures = append(failures, err)
			}
		}
	}
	if len(failures) > 0 {
		return o, errors.Join(failures...)
	}
	o.Message = "restored " + strings.Join(parts, ", ")
	if pl.Scratch != "" {
		o.Message = "rehearsed: restored " + strings.Join(parts, ", ") + " into scratch databases, dropped again"
	}
	return o, nil
}

// sumReporter passes on the lines of several tasks running at once and,
// as their progress, one snapshot adding up each task's latest (Done,
// Total, files, rates; the notes joined), so that the step's counters
// never go backwards while the tasks take turns reporting.
type sumReporter struct {
	rep   tasks.Reporter
	mu    sync.Mutex
	slots []tasks.Progress
}

// slotReporter is the Reporter of task i of a sumReporter.
type slotReporter struct {
	sum *sumReporter
	i   int
}

func (s slotReporter) Line(stream, text string) { s.sum.rep.Line(stream, text) }

func (s slotReporter) Progress(p tasks.Progress) {
	s.sum.mu.Lock()
	defer s.sum.mu.Unlock()
	s.sum.slots[s.i] = p
	var t tasks.Progress
	var notes []string
	for _, sp := range s.sum.slots {
		if t.Unit == "" {
			t.Unit = sp.Unit
		}
		t.Done += sp.Done
		t.Total += sp.Total
		t.FilesDone += sp.FilesDone
		t.FilesTotal += sp.FilesTotal
		t.Rate += sp.Rate
		if sp.Note != "" {
			notes = append(notes, sp.Note)
		}
	}
	t.Note = strings.Join(notes, "; ")
	s.sum.rep.Progress(t)
}

func runPGVerify(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var tables int
	// The old server through the SSH connection with the BlueMind login;
	// the new one the way the restore wrote it (new_os_user, default
	// postgres over the local socket; new_port defaults to port).
	src := oldPGServer(p, env)
	dst := newPGServer(p, env, "new_", p.int("port", 0))
	// The databases are independent: they are counted at once.
	dbs := p.list("databases")
	results := make([]tasks.VerifyResult, len(dbs))
	errs := make([]error, len(dbs))
	sum := &sumReporter{rep: env.Report, slots: make([]tasks.Progress, len(dbs))}
	var wg sync.WaitGroup
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = tasks.Verify(ctx, tasks.VerifyOptions{Database: db, Source: src, SourceVia: old, Target: dst, TargetHost: x.newHost(env.Data)}, slotReporter{sum, i})
		}()
	}
	wg.Wait()
	// Every database that differs or could not be counted is named.
	var differ, broke []string
	var brokeErr error
	for i, db := range dbs {
		var de *tasks.DiffError
		switch {
		case errors.As(errs[i], &de):
			differ = append(differ, fmt.Sprintf("%s: %v", db, errs[i]))
		case errs[i] != nil:
			broke = append(broke, fmt.Sprintf("%s: %v", db, errs[i]))
			if brokeErr == nil {
				brokeErr = fmt.Errorf("%s: %w", db, errs[i])
			}
		default:
			tables += len(results[i].Source)
		}
	}
	if len(broke) == 1 && len(differ) == 0 {
		return o, brokeErr
	}
	if len(broke) > 0 {
		return o, fmt.Errorf("%s", strings.Join(append(broke, differ...), "; "))
	}
	if len(differ) > 0 {
		return o, failed("%s", strings.Join(differ, "; "))
	}
	o.Message = "row counts equal in all " + english.Plural(tables, "table", "")
	return o, nil
}

// loginFailures says the failed logins of errs (one per database of dbs,
// nil where it worked) in one sentence each: failures that differ only in
// the database are said once, naming the databases ("databases bj and
// bj-data"), joined by "; ".
func loginFailures(dbs []string, errs []error) string {
	var order []string
	named := map[string][]string{}
	for i, err := range errs {
		if err == nil {
			continue
		}
		t := strings.Replace(err.Error(), "database "+dbs[i], "database \x00", 1)
		if _, ok := named[t]; !ok {
			order = append(order, t)
		}
		named[t] = append(named[t], dbs[i])
	}
	out := make([]string, len(order))
	for i, t := range order {
		which := "database " + named[t][0]
		if len(named[t]) > 1 {
			which = "databases " + strings.Join(named[t], " and ")
		}
		out[i] = strings.Replace(t, "database \x00", which, 1)
	}
	return strings.Join(out, "; ")
}

// runPGLogin logs in to each database on the old server, as pg_dump (psql
// on the old server) and as the row-count proof (ferry's own connection
// through SSH) will, so that a wrong password is found before the downtime.
func runPGLogin(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	// The same login as the dump; ferry's own connection goes to
	// 127.0.0.1 when no host is given (ConnectPG).
	srv := dumpServer(p, env)
	dbs := p.list("databases")
	errs, err := tasks.CheckLogins(ctx, old, srv, dbs, old, env.Report)
	var o Outcome
	for i, db := range dbs {
		o.Commands = append(o.Commands, CommandRecord{Host: old.Name(), Command: tasks.CommandSpec{Argv: tasks.PSQLArgv(srv, db, tasks.LoginSQL)}.Display(), Exit: exitOf(errs[i])})
	}
	if err != nil {
		return o, err
	}
	if err := errors.Join(errs...); err != nil {
		return o, failed("%s", loginFailures(dbs, errs))
	}
	o.Message = fmt.Sprintf("%s logs in to %s on the old server", srv.User, strings.Join(dbs, " and "))
	return o, nil
}
