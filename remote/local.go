package remote

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// Local is the machine ferry runs on, seen through a root directory.
type Local struct {
	name string
	root string
}

// NewLocal returns the local machine as a Host named name, with every runbook
// path mapped under root ("/" in real use). root must be an absolute path.
func NewLocal(name, root string) (*Local, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("host %s: root %q is not an absolute path", name, root)
	}
	return &Local{name: name, root: filepath.Clean(root)}, nil
}

// Name implements Host.
func (l *Local) Name() string { return l.name }

// Root implements Host.
func (l *Local) Root() string { return l.root }

// Path implements Host.
func (l *Local) Path(p string) string { return JoinRoot(l.root, p) }

// JoinRoot maps runbook path p under root. A relative p is taken as relative
// to the root too; ".." cannot climb out of the root.
func JoinRoot(root, p string) string {
	clean := filepath.Clean("/" + p)
	if root == "/" {
		return clean
	}
	if clean == "/" {
		return root
	}
	// Keep a trailing slash: rsync gives it a meaning.
	out := root + clean
	if strings.HasSuffix(p, "/") {
		out += "/"
	}
	return out
}

// SimEnv returns the environment additions for a host whose root is not "/":
// FERRY_ROOT names the root, and the root's own bin directories come first on
// PATH so that the simulator's stand-ins for vendor programs are found before
// any real program of the same name.
func SimEnv(root string, basePath string) []string {
	if root == "/" {
		return nil
	}
	var dirs []string
	for _, d := range []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin", "/var/hvmail/bin", "/var/hvmail/libexec"} {
		dirs = append(dirs, root+d)
	}
	if basePath != "" {
		dirs = append(dirs, basePath)
	}
	return []string{"FERRY_ROOT=" + root, "PATH=" + strings.Join(dirs, ":")}
}

// Exec implements Host. The command runs in its own process group, and
// cancelling ctx kills the whole group.
func (l *Local) Exec(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, errors.New("exec: empty command")
	}
	argv0 := c.Argv[0]
	env := append(os.Environ(), SimEnv(l.root, os.Getenv("PATH"))...)
	env = append(env, c.Env...)
	if strings.Contains(argv0, "/") {
		argv0 = l.Path(argv0)
	} else if l.root != "/" {
		// exec.Command looks names up on ferry's own PATH; look them up on
		// the host's instead so the root's stand-ins win.
		if p, err := lookPathIn(argv0, envValue(env, "PATH")); err == nil {
			argv0 = p
		}
	}
	cmd := exec.Command(argv0, c.Argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Env = env
	if c.Dir != "" {
		cmd.Dir = l.Path(c.Dir)
	}
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{ExitCode: 127}, fmt.Errorf("host %s: start %s: %w", l.name, c.Argv[0], err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		case <-done:
		}
	}()
	err := cmd.Wait()
	close(done)
	res := Result{Duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws, _ := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			res.Signal = strings.ToUpper(strings.TrimPrefix(unix2name(ws.Signal()), "SIG"))
			res.ExitCode = 128 + int(ws.Signal())
		} else {
			res.ExitCode = ee.ExitCode()
		}
	default:
		return res, fmt.Errorf("host %s: %s: %w", l.name, c.Argv[0], err)
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

func unix2name(s syscall.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "TERM"
	case syscall.SIGKILL:
		return "KILL"
	case syscall.SIGINT:
		return "INT"
	case syscall.SIGHUP:
		return "HUP"
	case syscall.SIGPIPE:
		return "PIPE"
	}
	return s.String()
}

func envValue(env []string, key string) string {
	v := ""
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			v = e[len(key)+1:]
		}
	}
	return v
}

func lookPathIn(name, path string) (string, error) {
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fs.ErrNotExist
}

// ReadFile implements Host.
func (l *Local) ReadFile(_ context.Context, p string) ([]byte, error) {
	return os.ReadFile(l.Path(p))
}

// WriteFile implements Host.
func (l *Local) WriteFile(_ context.Context, p string, data []byte, mode fs.FileMode) error {
	return WriteFileAtomic(l.Path(p), data, mode)
}

// WriteFileAtomic replaces the file at path (a real path, not a runbook path)
// with data: a temporary file in the same directory, fsync, rename. An
// existing file keeps its mode and owner. When the rename is refused because
// the target is a mount point (EBUSY: a bind-mounted /etc/hosts in a
// container), the file is rewritten in place instead.
func WriteFileAtomic(path string, data []byte, mode fs.FileMode) error {
	uid, gid := -1, -1
	// Lstat: a symlink is replaced, not followed (it may point outside a
	// simulated root); it then gets the mode given.
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() {
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	t, err := renameio.NewPendingFile(path, renameio.WithPermissions(mode), renameio.WithExistingPermissions())
	if err != nil {
		return err
	}
	defer t.Cleanup()
	if _, err := t.Write(data); err != nil {
		return err
	}
	if uid >= 0 {
		_ = t.Chown(uid, gid)
	}
	err = t.CloseAtomicallyReplace()
	if errors.Is(err, syscall.EBUSY) {
		return writeInPlace(path, data)
	}
	return err
}

func writeInPlace(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Stat implements Host.
func (l *Local) Stat(_ context.Context, p string) (FileInfo, error) {
	full := l.Path(p)
	fi, err := os.Lstat(full)
	if err != nil {
		return FileInfo{}, err
	}
	out := FileInfo{Name: fi.Name(), Size: fi.Size(), Mode: fi.Mode(), ModTime: fi.ModTime(), UID: -1, GID: -1}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		out.Inode, out.UID, out.GID = st.Ino, int(st.Uid), int(st.Gid)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		out.LinkTarget, _ = os.Readlink(full)
	}
	return out, nil
}

// Close implements Host.
func (l *Local) Close() error { return nil }
