package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"al.essio.dev/pkg/shellescape"
	"golang.org/x/crypto/ssh"
)

// How a remote command is run
//
// The SSH protocol carries a command as one string, which the login shell
// runs. ferry sends
//
//	exec /bin/sh -c SCRIPT
//
// where SCRIPT (every word quoted with shellescape) first reads N lines from
// stdin and evals them: they export Cmd.Env (and the simulator's settings),
// so no value of Env is ever in an argv. The script then reports its PID on
// stderr behind a marker line that Exec strips: sshd makes every session a
// process group of its own, so that PID names the group, and cancelling
// kills the group from a second session (root sessions ignore the SSH
// "signal" request). Finally it changes directory and execs the command;
// the rest of stdin is Cmd.Stdin.

var envKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

// envScript returns the lines that export env, and how many there are.
func envScript(env []string, root string) (string, int, error) {
	var b strings.Builder
	if root != "/" {
		for _, kv := range SimEnv(root, "") {
			k, v, _ := strings.Cut(kv, "=")
			if k == "PATH" {
				// The remote PATH is appended on the remote side.
				fmt.Fprintf(&b, "PATH=%s:\"$PATH\"; export PATH\n", shellescape.Quote(v))
				continue
			}
			fmt.Fprintf(&b, "export %s\n", shellescape.Quote(kv))
		}
	}
	for _, kv := range env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKey().MatchString(k) {
			// Do not echo the value: it may be a secret.
			return "", 0, fmt.Errorf("environment entry for %q is not of the form NAME=VALUE", k)
		}
		fmt.Fprintf(&b, "export %s\n", shellescape.Quote(kv))
	}
	s := b.String()
	return s, strings.Count(s, "\n"), nil
}

// execScript builds the script described above.
func execScript(nonce string, lines int, dir string, argv []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "__f=; __i=0; while [ \"$__i\" -lt %d ]; do IFS= read -r __l || break; __f=\"$__f$__l\n\"; __i=$((__i+1)); done\n", lines)
	b.WriteString("eval \"$__f\"; unset __f __i __l\n")
	fmt.Fprintf(&b, "echo \"ferry:%s:pgid:$$\" >&2\n", nonce)
	if dir != "" {
		fmt.Fprintf(&b, "cd -- %s || exit 1\n", shellescape.Quote(dir))
	}
	fmt.Fprintf(&b, "command -v %s >/dev/null 2>&1 || { echo \"ferry:%s:notfound\" >&2; exit 127; }\n", shellescape.Quote(argv[0]), nonce)
	fmt.Fprintf(&b, "echo \"ferry:%s:exec\" >&2\n", nonce)
	fmt.Fprintf(&b, "exec %s\n", shellescape.QuoteCommand(argv))
	return b.String()
}

func newNonce() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// markerWriter passes stderr through, minus the script's marker lines.
type markerWriter struct {
	prefix string
	out    io.Writer

	mu       sync.Mutex
	buf      []byte
	done     bool
	pgid     int
	notFound bool
	gotPGID  chan struct{}
}

func newMarkerWriter(nonce string, out io.Writer) *markerWriter {
	return &markerWriter{prefix: "ferry:" + nonce + ":", out: out, gotPGID: make(chan struct{})}
}

func (m *markerWriter) Write(p []byte) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		_, err := m.out.Write(p)
		return len(p), err
	}
	m.buf = append(m.buf, p...)
	for !m.done {
		i := bytes.IndexByte(m.buf, '\n')
		if i < 0 {
			break
		}
		line := string(m.buf[:i])
		if rest, ok := strings.CutPrefix(line, m.prefix); ok {
			switch {
			case strings.HasPrefix(rest, "pgid:"):
				if n, err := strconv.Atoi(rest[5:]); err == nil && m.pgid == 0 {
					m.pgid = n
					close(m.gotPGID)
				}
			case rest == "notfound":
				m.notFound = true
				m.done = true
			case rest == "exec":
				m.done = true
			}
		} else if _, err := m.out.Write(m.buf[:i+1]); err != nil {
			return len(p), err
		}
		m.buf = m.buf[i+1:]
	}
	if m.done || len(m.buf) > maxLine {
		_, err := m.out.Write(m.buf)
		m.buf = nil
		return len(p), err
	}
	return len(p), nil
}

func (m *markerWriter) flush() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.buf) > 0 {
		_, _ = m.out.Write(m.buf)
		m.buf = nil
	}
}

func (m *markerWriter) group() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pgid
}

// Exec implements Host.
func (s *SSH) Exec(ctx context.Context, c Cmd) (Result, error) {
	if s.opts.Observe != nil {
		s.opts.Observe(s.name, append([]string(nil), c.Argv...))
	}
	return s.exec(ctx, c, true)
}

// cancelGrace is how long a cancelled command has between TERM and KILL.
const cancelGrace = 3 * time.Second

// exec runs c; sim says whether the simulator's settings (root's bin
// directories first on PATH, server paths in the words mapped under the
// root) apply. The Host's own file operations run without them.
func (s *SSH) exec(ctx context.Context, c Cmd, sim bool) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, fmt.Errorf("host %s: exec: empty command", s.name)
	}
	root := "/"
	if sim {
		root = s.root
	}
	env, lines, err := envScript(c.Env, root)
	if err != nil {
		return Result{}, fmt.Errorf("host %s: %s: %w", s.name, c.Argv[0], err)
	}
	// On a simulated host (root not "/") the server paths in the words are
	// mapped under the root, as Local does; on a real one argv is as given.
	argv := simArgv(root, c.Argv)
	dir := ""
	if c.Dir != "" {
		dir = s.Path(c.Dir)
	}
	nonce := newNonce()
	script := execScript(nonce, lines, dir, argv)

	sess, err := s.client.NewSession()
	if err != nil {
		return Result{}, s.connErr(c.Argv[0], err)
	}
	defer sess.Close()
	stdin, err := sess.StdinPipe()
	if err != nil {
		return Result{}, s.connErr(c.Argv[0], err)
	}
	stdout := c.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	stderr := c.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	marker := newMarkerWriter(nonce, stderr)
	sess.Stdout = stdout
	sess.Stderr = marker

	start := time.Now()
	if err := sess.Start("exec /bin/sh -c " + shellescape.Quote(script)); err != nil {
		return Result{}, s.connErr(c.Argv[0], err)
	}
	go func() {
		if _, err := io.WriteString(stdin, env); err == nil && c.Stdin != nil {
			_, _ = io.Copy(stdin, c.Stdin)
		}
		_ = stdin.Close()
	}()
	waited := make(chan error, 1)
	go func() { waited <- sess.Wait() }()

	var werr error
	select {
	case werr = <-waited:
	case <-ctx.Done():
		werr = s.cancel(marker, sess, waited)
	}
	marker.flush()
	res := Result{Duration: time.Since(start)}
	if marker.notFound {
		res.ExitCode = 127
		return res, fmt.Errorf("host %s: start %s: executable file not found", s.name, c.Argv[0])
	}
	var ee *ssh.ExitError
	var em *ssh.ExitMissingError
	switch {
	case werr == nil:
	case errors.As(werr, &ee):
		res.ExitCode = ee.ExitStatus()
		res.Signal = strings.TrimPrefix(ee.Signal(), "SIG")
	case errors.As(werr, &em):
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, s.connErr(c.Argv[0], fmt.Errorf("the remote command ended without an exit status (connection lost?): %w", werr))
	default:
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, s.connErr(c.Argv[0], werr)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

// cancel ends a running command: TERM to its process group from a second
// session, KILL after cancelGrace, and the session is closed if even that
// brings no exit status.
func (s *SSH) cancel(marker *markerWriter, sess *ssh.Session, waited <-chan error) error {
	select {
	case <-marker.gotPGID:
	case err := <-waited:
		return err
	case <-time.After(cancelGrace):
	}
	pgid := marker.group()
	if pgid > 1 {
		s.killGroup(pgid, "TERM")
		select {
		case err := <-waited:
			return err
		case <-time.After(cancelGrace):
		}
		s.killGroup(pgid, "KILL")
		select {
		case err := <-waited:
			return err
		case <-time.After(cancelGrace):
		}
	}
	_ = sess.Close()
	select {
	case err := <-waited:
		return err
	case <-time.After(cancelGrace):
		// The Wait goroutine ends when the connection does.
		return fmt.Errorf("the remote command did not end when cancelled (process group %d) and may still run", pgid)
	}
}

// killGroup sends sig to a remote process group, best effort.
func (s *SSH) killGroup(pgid int, sig string) {
	sess, err := s.client.NewSession()
	if err != nil {
		return
	}
	defer sess.Close()
	_ = sess.Run(fmt.Sprintf("kill -s %s -- -%d 2>/dev/null || kill -s %s %d 2>/dev/null; true", sig, pgid, sig, pgid))
}

func (s *SSH) connErr(what string, err error) error {
	if lost := s.Lost(); lost != nil {
		return fmt.Errorf("host %s: %s: %w (%v)", s.name, what, err, lost)
	}
	return fmt.Errorf("host %s: %s: %w", s.name, what, err)
}

// script runs a /bin/sh script of ferry's own (no simulator settings) with
// stdin and returns its stdout, stderr and exit code.
func (s *SSH) script(ctx context.Context, script string, stdin io.Reader) ([]byte, string, int, error) {
	var out, errb bytes.Buffer
	res, err := s.exec(ctx, Cmd{Argv: []string{"/bin/sh", "-c", script}, Stdin: stdin, Stdout: &out, Stderr: &errb}, false)
	if err != nil {
		return nil, "", 0, err
	}
	return out.Bytes(), strings.TrimSpace(errb.String()), res.ExitCode, nil
}

// exitMissing is the exit code the file scripts use for "no such file".
const exitMissing = 3

func (s *SSH) notExist(op, p string) error {
	return fmt.Errorf("host %s: %w", s.name, &fs.PathError{Op: op, Path: p, Err: fs.ErrNotExist})
}

// ReadFile implements Host.
func (s *SSH) ReadFile(ctx context.Context, p string) ([]byte, error) {
	full := shellescape.Quote(s.Path(p))
	out, stderr, code, err := s.script(ctx, fmt.Sprintf("[ -e %s ] || exit %d\nexec cat -- %s\n", full, exitMissing, full), nil)
	switch {
	case err != nil:
		return nil, err
	case code == exitMissing:
		return nil, s.notExist("open", s.Path(p))
	case code != 0:
		return nil, fmt.Errorf("host %s: read %s: exit %d: %s", s.name, s.Path(p), code, stderr)
	}
	return out, nil
}

// WriteFile implements Host: a temporary file in the same directory, fsync,
// mv over the target; owner and mode of an existing file are kept. When mv
// is refused because the target is a mount point, the file is rewritten in
// place.
func (s *SSH) WriteFile(ctx context.Context, p string, data []byte, mode fs.FileMode) error {
	full := s.Path(p)
	q := shellescape.Quote(full)
	d := shellescape.Quote(path.Dir(full))
	script := fmt.Sprintf(`set -e
[ -d %[2]s ] || exit %[4]d
t=$(mktemp %[5]s)
trap 'rm -f -- "$t"' EXIT
cat > "$t"
if [ -e %[1]s ]; then
  chmod --reference=%[1]s -- "$t"
  chown --reference=%[1]s -- "$t" 2>/dev/null || true
else
  chmod %[3]o -- "$t"
fi
sync -- "$t" 2>/dev/null || sync
if ! e=$(mv -f -- "$t" %[1]s 2>&1); then
  case "$e" in
  *[Bb]usy*) cat -- "$t" > %[1]s; sync -- %[1]s 2>/dev/null || sync ;;
  *) printf '%%s\n' "$e" >&2; exit 1 ;;
  esac
fi
`, q, d, mode.Perm(), exitMissing, shellescape.Quote(path.Join(path.Dir(full), ".ferry-tmp-XXXXXXXX")))
	_, stderr, code, err := s.script(ctx, script, bytes.NewReader(data))
	switch {
	case err != nil:
		return err
	case code == exitMissing:
		return s.notExist("write", path.Dir(full))
	case code != 0:
		return fmt.Errorf("host %s: write %s: exit %d: %s", s.name, full, code, stderr)
	}
	return nil
}

// Stat implements Host with lstat semantics.
func (s *SSH) Stat(ctx context.Context, p string) (FileInfo, error) {
	full := s.Path(p)
	q := shellescape.Quote(full)
	script := fmt.Sprintf("[ -e %[1]s ] || [ -L %[1]s ] || exit %[2]d\nstat -c '%%f %%s %%i %%u %%g %%y' -- %[1]s || exit 1\nif [ -L %[1]s ]; then readlink -- %[1]s; fi\n", q, exitMissing)
	out, stderr, code, err := s.script(ctx, script, nil)
	switch {
	case err != nil:
		return FileInfo{}, err
	case code == exitMissing:
		return FileInfo{}, s.notExist("lstat", full)
	case code != 0:
		return FileInfo{}, fmt.Errorf("host %s: stat %s: exit %d: %s", s.name, full, code, stderr)
	}
	fi, err := parseStat(string(out))
	if err != nil {
		return FileInfo{}, fmt.Errorf("host %s: stat %s: %w", s.name, full, err)
	}
	fi.Name = path.Base(full)
	return fi, nil
}

// parseStat reads "%f %s %i %u %g %y" and, for a symlink, a second line
// with its target.
func parseStat(out string) (FileInfo, error) {
	first, rest, _ := strings.Cut(out, "\n")
	f := strings.SplitN(first, " ", 6)
	if len(f) != 6 {
		return FileInfo{}, fmt.Errorf("unexpected stat output %q", first)
	}
	raw, err1 := strconv.ParseUint(f[0], 16, 32)
	size, err2 := strconv.ParseInt(f[1], 10, 64)
	ino, err3 := strconv.ParseUint(f[2], 10, 64)
	uid, err4 := strconv.Atoi(f[3])
	gid, err5 := strconv.Atoi(f[4])
	mt, err6 := time.Parse("2006-01-02 15:04:05.999999999 -0700", f[5])
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return FileInfo{}, fmt.Errorf("unexpected stat output %q: %w", first, err)
	}
	fi := FileInfo{Size: size, Mode: unixMode(uint32(raw)), ModTime: mt, Inode: ino, UID: uid, GID: gid}
	if fi.Mode&fs.ModeSymlink != 0 {
		fi.LinkTarget = strings.TrimSuffix(rest, "\n")
	}
	return fi, nil
}

// unixMode converts a raw st_mode the way package os does.
func unixMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & 0o170000 {
	case 0o060000:
		mode |= fs.ModeDevice
	case 0o020000:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case 0o040000:
		mode |= fs.ModeDir
	case 0o010000:
		mode |= fs.ModeNamedPipe
	case 0o120000:
		mode |= fs.ModeSymlink
	case 0o140000:
		mode |= fs.ModeSocket
	}
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
