package tasks

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/testenv"
)

// pgLossyHost runs commands on the local machine but delivers only the first
// limit bytes of their standard output, and can pretend the command
// succeeded: a transport that lost the end of the stream without noticing.
type pgLossyHost struct {
	remote.Host
	limit    int64
	exitZero bool
	fail     error
}

func (h pgLossyHost) Exec(ctx context.Context, c remote.Cmd) (remote.Result, error) {
	if c.Stdout != nil && h.limit >= 0 {
		c.Stdout = &pgLimitWriter{w: c.Stdout, left: h.limit}
	}
	res, err := h.Host.Exec(ctx, c)
	if h.exitZero {
		res.ExitCode = 0
	}
	if h.fail != nil {
		err = h.fail
	}
	return res, err
}

type pgLimitWriter struct {
	w    io.Writer
	left int64
}

func (l *pgLimitWriter) Write(p []byte) (int, error) {
	n := len(p)
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	l.left -= int64(len(p))
	if len(p) > 0 {
		if _, err := l.w.Write(p); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// pgCancelOnProgress cancels the dump at its first byte count: the stream is
// killed while pg_dump runs.
type pgCancelOnProgress struct {
	cancel context.CancelFunc
}

func (c pgCancelOnProgress) Line(string, string) {}
func (c pgCancelOnProgress) Progress(p Progress) {
	if p.Done > 0 {
		c.cancel()
	}
}

func TestDumpRefusesTruncated(t *testing.T) {
	t.Parallel()
	src, pw := bjSource(t)
	local := pgLocal(t, "new")
	server := PGServer{Host: src.Host, Port: src.Port, User: "bj", Password: pw, BinDir: src.BinDir}
	dir := t.TempDir()
	ctx := context.Background()

	// A good dump, to learn its size and to cut copies of it.
	good := filepath.Join(dir, "good.dump")
	res, err := Dump(ctx, DumpOptions{Source: local, Server: server, Database: "bj-data", Target: local, File: good, CheckBinDir: src.BinDir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(data)) != res.Bytes || string(data[:5]) != "PGDMP" {
		t.Fatalf("good dump: %d bytes on disk, %d counted, starts %q", len(data), res.Bytes, data[:5])
	}

	// Cut files: the listing may still read, the full read must not.
	for _, size := range []int{100, len(data) / 2, len(data) - 10} {
		cut := filepath.Join(dir, "cut.dump")
		if err := os.WriteFile(cut, data[:size], 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckArchive(ctx, local, src.BinDir, cut); err == nil {
			t.Errorf("an archive cut to %d of %d bytes passed the check", size, len(data))
		}
	}
	plain := filepath.Join(dir, "plain.sql")
	if err := os.WriteFile(plain, []byte("--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 15.18\n\nSET statement_timeout = 0;\nSET lock_timeout = 0;\nSELECT 1;\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckArchive(ctx, local, src.BinDir, plain); err == nil || !strings.Contains(err.Error(), "plain SQL dump") {
		t.Errorf("a plain SQL file: %v", err)
	}

	// Streams that end early. The destination already holds an older
	// archive, which must be left alone.
	final := filepath.Join(dir, "dump-bj-data.sql")
	if err := os.WriteFile(final, []byte("previous"), 0o600); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cases := []struct {
		name string
		ctx  context.Context
		src  remote.Host
		db   string
		rep  Reporter
		want string
	}{
		{"stream cut, exit status 0", ctx, pgLossyHost{Host: local, limit: res.Bytes / 2, exitZero: true}, "bj-data", nil, "cut short"},
		{"stream cut in the header", ctx, pgLossyHost{Host: local, limit: 3, exitZero: true}, "bj-data", nil, "does not start with PGDMP"},
		{"connection lost", ctx, pgLossyHost{Host: local, limit: res.Bytes / 3, fail: errors.New("ssh: connection lost")}, "bj-data", nil, "connection lost"},
		{"pg_dump fails", ctx, local, "no_such_db", nil, "exited with status 1"},
		{"stream killed", cctx, local, "bj-data", pgCancelOnProgress{cancel}, "context canceled"},
	}
	for _, tc := range cases {
		_, err := Dump(tc.ctx, DumpOptions{Source: tc.src, Server: server, Database: tc.db, Target: local, File: final, CheckBinDir: src.BinDir}, tc.rep)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error holds the password: %v", tc.name, err)
		}
		if b, _ := os.ReadFile(final); string(b) != "previous" {
			t.Errorf("%s: the previous file was replaced (%d bytes)", tc.name, len(b))
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".partial-") {
				t.Errorf("%s: temporary file %s left behind", tc.name, e.Name())
			}
		}
	}

	// A wrong password is refused by the server and the message says so.
	bad := server
	bad.Password = "wrong"
	_, err = Dump(ctx, DumpOptions{Source: local, Server: bad, Database: "bj", Target: local, File: filepath.Join(dir, "x.dump"), CheckBinDir: src.BinDir}, nil)
	if err == nil || !strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("dump with a wrong password: %v", err)
	}
}

func TestDumpAllRefusesSameFile(t *testing.T) {
	local := pgLocal(t, "new")
	f := filepath.Join(t.TempDir(), "d.dump")
	_, err := DumpAll(context.Background(), []DumpOptions{
		{Source: local, Database: "a", Target: local, File: f},
		{Source: local, Database: "b", Target: local, File: f},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), f) {
		t.Fatalf("two dumps into one file: %v", err)
	}
}

func TestDumpRejectsBadDatabaseName(t *testing.T) {
	local := pgLocal(t, "new")
	_, err := Dump(context.Background(), DumpOptions{Source: local, Database: "host=evil", Target: local, File: filepath.Join(t.TempDir(), "d")}, nil)
	if err == nil || !strings.Contains(err.Error(), `"host=evil"`) {
		t.Fatalf("bad database name: %v", err)
	}
}

// TestDumpOverSSH runs pg_dump on the "old" server reached over a real
// OpenSSH sshd, streams it into a local file, and counts rows on the old
// server through the same SSH connection.
func TestDumpOverSSH(t *testing.T) {
	t.Parallel()
	src, pw := bjSource(t)
	srv := testenv.StartSSHD(t, testenv.SSHDOptions{})
	old, err := remote.DialSSH(context.Background(), remote.SSHOptions{Name: "old", Addr: "127.0.0.1", Port: srv.Port,
		ConfigFile: "none", KnownHostsFile: srv.KnownHosts, IdentityFiles: []string{srv.UserKey}})
	if err != nil {
		t.Fatalf("DialSSH: %v\n%s", err, srv.Log())
	}
	t.Cleanup(func() { old.Close() })
	local := pgLocal(t, "new")
	bin := testenv.LogArgv(t, src.BinDir)
	server := PGServer{Host: src.Host, Port: src.Port, User: "bj", Password: pw, BinDir: bin.Dir}
	watch := testenv.WatchArgv(t, pw)
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "dump-bj-data.sql")

	rep := &pgRecorder{}
	res, err := Dump(ctx, DumpOptions{Source: old, Server: server, Database: "bj-data", Target: local, File: file, CheckBinDir: src.BinDir}, rep)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Size() != res.Bytes || len(res.Archive.Items) == 0 {
		t.Fatalf("dump over SSH: %+v, file %v %v", res, fi, err)
	}
	last, lines, _ := rep.snapshot()
	if last.Done != res.Bytes {
		t.Errorf("byte counter ended at %d, the file has %d", last.Done, res.Bytes)
	}
	pgNoSecret(t, lines, pw)

	// Killing the stream over SSH leaves no file.
	killed := filepath.Join(filepath.Dir(file), "killed.sql")
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if _, err := Dump(cctx, DumpOptions{Source: old, Server: server, Database: "bj-data", Target: local, File: killed, CheckBinDir: src.BinDir}, pgCancelOnProgress{cancel}); err == nil {
		t.Error("a dump whose stream was killed succeeded")
	}
	if _, err := os.Stat(killed); !os.IsNotExist(err) {
		t.Errorf("the killed dump left %s: %v", killed, err)
	}

	// Row counts on the old server through the SSH connection equal those
	// read directly.
	vr, err := Verify(ctx, VerifyOptions{Database: "bj-data", Source: server, SourceVia: old, Target: server}, nil)
	if err != nil || len(vr.Source) != 3 {
		t.Fatalf("verify through SSH: %+v %v", vr, err)
	}

	leaks, _ := watch.Result()
	if len(leaks) > 0 {
		t.Fatalf("the password appeared in a process's argv: %q", leaks)
	}
	bin.Check(t, pw, "pg_dump")
}
