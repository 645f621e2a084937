package wizard

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/ferry-migrate/ferry/tasks"
)

// dumpFile is the name of the archive of one database.
func dumpFile(dir, db string) string { return path.Join(dir, "dump-"+db+".sql") }

func password(p params, env *StepEnv) string {
	if k := p.str("password_answer"); k != "" {
		return env.Secrets[k]
	}
	return ""
}

func runPGDump(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	// port (default 5432) is the PostgreSQL port on the old server.
	srv := tasks.PGServer{Host: p.str("host"), Port: p.int("port", 0), User: p.str("user"), Password: password(p, env)}
	var opts []tasks.DumpOptions
	for _, db := range p.list("databases") {
		opts = append(opts, tasks.DumpOptions{Source: old, Server: srv, Database: db, Target: x.New, File: dumpFile(p.str("dir"), db)})
	}
	if p.int("parallel", 2) < 2 {
		// One at a time, in order, when the runbook asks.
		var o Outcome
		for _, op := range opts {
			r, err := tasks.Dump(ctx, op, env.Report)
			o.Commands = append(o.Commands, CommandRecord{Host: old.Name(), Command: "pg_dump -Fc " + op.Database + " > " + op.File, Exit: exitOf(err)})
			if err != nil {
				return o, err
			}
			o.Message += fmt.Sprintf("%s: %d bytes; ", r.Database, r.Bytes)
		}
		return o, nil
	}
	res, err := tasks.DumpAll(ctx, opts, env.Report)
	var o Outcome
	var total int64
	for i, op := range opts {
		ok := err == nil
		if i < len(res) && res[i].Bytes > 0 {
			total += res[i].Bytes
		}
		exit := 0
		if !ok {
			exit = 1
		}
		o.Commands = append(o.Commands, CommandRecord{Host: old.Name(), Command: "pg_dump -Fc " + op.Database + " > " + op.File, Exit: exit})
	}
	o.Counters = &tasks.Progress{Unit: "bytes", Done: total, Total: total}
	if err != nil {
		return o, err
	}
	var parts []string
	for _, r := range res {
		parts = append(parts, fmt.Sprintf("%s (%d bytes, %d items)", r.Database, r.Bytes, len(r.Archive.Items)))
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

func runPGRestore(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	var o Outcome
	var parts []string
	// host and port name the new server's PostgreSQL; left out, the client
	// programs use their default socket and port 5432.
	srv := tasks.PGServer{Host: p.str("host"), Port: p.int("port", 0), User: "postgres"}
	for _, db := range p.list("databases") {
		file := dumpFile(p.str("dir"), db)
		r, err := tasks.Restore(ctx, tasks.RestoreOptions{Target: x.New, Server: srv, File: file, Database: db, Jobs: p.int("jobs", 0)}, env.Report)
		o.Commands = append(o.Commands, CommandRecord{Host: x.New.Name(), Command: fmt.Sprintf("pg_restore --jobs=%d -d %s %s", p.int("jobs", 0), db, file), Exit: exitOf(err)})
		if err != nil {
			return o, fmt.Errorf("%s: %w", db, err)
		}
		parts = append(parts, fmt.Sprintf("%s (%d items)", r.Database, r.Items))
	}
	o.Message = "restored " + strings.Join(parts, ", ")
	return o, nil
}

func runPGVerify(ctx context.Context, x *TaskExecutor, s *Step, p params, env *StepEnv) (Outcome, error) {
	old, err := x.Old(ctx, env)
	if err != nil {
		return Outcome{}, err
	}
	var o Outcome
	var tables int
	// port is the PostgreSQL port on both servers (default 5432); new_port
	// overrides it on the new one.
	port := p.int("port", 0)
	newPort := p.int("new_port", port)
	for _, db := range p.list("databases") {
		r, err := tasks.Verify(ctx, tasks.VerifyOptions{Database: db,
			Source: tasks.PGServer{Host: "127.0.0.1", Port: port, User: p.str("user"), Password: password(p, env)}, SourceVia: old,
			Target: tasks.PGServer{Host: "127.0.0.1", Port: newPort, User: "postgres"}}, env.Report)
		var de *tasks.DiffError
		if errors.As(err, &de) {
			return o, failed("%s: %v", db, err)
		}
		if err != nil {
			return o, fmt.Errorf("%s: %w", db, err)
		}
		tables += len(r.Source)
	}
	o.Message = fmt.Sprintf("row counts equal in all %d table(s)", tables)
	return o, nil
}
