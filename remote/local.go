package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/google/renameio/v2"
)

// Local is the machine ferry runs on, seen through a root directory.
type Local struct {
	name    string
	root    string
	env     []string                         // added to every command's environment (WithEnv)
	observe func(host string, argv []string) // told of every command (Observe)
	peers   *peerRoots                       // other servers' roots (Link)
}

// NewLocal returns the local machine as a Host named name, with every runbook
// path mapped under root ("/" in real use). root must be an absolute path.
func NewLocal(name, root string) (*Local, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("host %s: root %q is not an absolute path", name, root)
	}
	return &Local{name: name, root: filepath.Clean(root), peers: &peerRoots{}}, nil
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
// FERRY_ROOT names the root, and the root's own system bin directories (the
// ones a stock distribution has on PATH) come first, so that the
// simulator's stand-ins for the distribution's programs are found before
// any real program of the same name; basePath (ferry's own PATH) follows.
// A vendor's directories (/var/hvmail/bin ...) are not added: on a
// simulated server, as on a real one, its profile scripts put them on PATH
// (the load-profile step carries that into later commands). A root of "/"
// gets no additions.
func SimEnv(root string, basePath string) []string {
	if root == "/" {
		return nil
	}
	var dirs []string
	for _, d := range systemBinDirs {
		dirs = append(dirs, root+d)
	}
	if basePath != "" {
		dirs = append(dirs, basePath)
	}
	return []string{"FERRY_ROOT=" + root, "PATH=" + strings.Join(dirs, ":")}
}

// systemBinDirs are the directories of a stock distribution's PATH.
var systemBinDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// WithEnv returns a Host that runs every command of h with env added to
// its environment (before the command's own Env, which wins on a clash):
// settings that hold for every later command on a server, such as those
// its profile scripts make. A *Local stays a *Local (a copy; h is not
// changed); another Host is wrapped. An empty env returns h itself.
func WithEnv(h Host, env []string) Host {
	if len(env) == 0 {
		return h
	}
	if l, ok := h.(*Local); ok {
		c := *l
		c.env = append(append([]string(nil), l.env...), env...)
		return &c
	}
	return envHost{Host: h, env: append([]string(nil), env...)}
}

// envHost adds environment settings to every command of a Host.
type envHost struct {
	Host
	env []string
}

// Exec implements Host.
func (e envHost) Exec(ctx context.Context, c Cmd) (Result, error) {
	c.Env = append(append([]string(nil), e.env...), c.Env...)
	return e.Host.Exec(ctx, c)
}

// Exec implements Host. The command runs in its own process group, and
// cancelling ctx kills the whole group.
func (l *Local) Exec(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, errors.New("exec: empty command")
	}
	env := append(os.Environ(), SimEnv(l.root, os.Getenv("PATH"))...)
	env = append(env, l.env...)
	env = append(env, c.Env...)
	if l.observe != nil {
		l.observe(l.name, append([]string(nil), c.Argv...))
	}
	argv := l.Argv(c.Argv)
	// A name without a slash is looked up on the PATH the command gets (its
	// own Env, the host's, then ferry's), never on ferry's own PATH alone:
	// a vendor's directories reach it only through the profile environment.
	argv0 := argv[0]
	if !strings.Contains(argv0, "/") {
		p, err := lookPathIn(argv0, envValue(env, "PATH"))
		if err != nil {
			return Result{ExitCode: 127}, fmt.Errorf("host %s: start %s: %w (PATH=%s)", l.name, c.Argv[0], &exec.Error{Name: c.Argv[0], Err: exec.ErrNotFound}, envValue(env, "PATH"))
		}
		argv0 = p
	}
	cmd := exec.Command(argv0, argv[1:]...)
	cmd.Args[0] = c.Argv[0]
	cmd.Env = env
	if c.Dir != "" {
		cmd.Dir = l.Path(c.Dir)
	}
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	cmd.Stderr = c.Stderr
	// Output read line by line goes through a paced pipe: large reads,
	// a pause when the pipe runs dry, so that a program flushing every
	// record does not wake ferry once per record.
	var paced []*pacedPipe
	for _, w := range []*io.Writer{&cmd.Stdout, &cmd.Stderr} {
		lw, ok := (*w).(*Lines)
		if !ok {
			continue
		}
		if w == &cmd.Stderr && len(paced) > 0 && c.Stdout == io.Writer(lw) {
			// One writer for both streams: one pipe, as os/exec does.
			*w = cmd.Stdout
			continue
		}
		p, err := newPacedPipe(*w)
		if err != nil {
			for _, p := range paced {
				p.discard()
			}
			return Result{ExitCode: 127}, fmt.Errorf("host %s: start %s: %w", l.name, c.Argv[0], err)
		}
		paced = append(paced, p)
		*w = p.w
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		for _, p := range paced {
			p.discard()
		}
		return Result{ExitCode: 127}, fmt.Errorf("host %s: start %s: %w", l.name, c.Argv[0], err)
	}
	for _, p := range paced {
		p.closeWrite()
		p.start()
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
	for _, p := range paced {
		p.wait()
	}
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

// Observe returns a Host that tells fn of every command h runs, with the
// argv as it was handed to Exec, before the command starts: how a test
// records what ran. A *Local stays a *Local (a copy; h is not changed);
// another Host is wrapped.
func Observe(h Host, fn func(host string, argv []string)) Host {
	if l, ok := h.(*Local); ok {
		c := *l
		c.observe = fn
		return &c
	}
	return observedHost{Host: h, fn: fn}
}

// observedHost tells a function of every command of a Host.
type observedHost struct {
	Host
	fn func(host string, argv []string)
}

// Exec implements Host.
func (o observedHost) Exec(ctx context.Context, c Cmd) (Result, error) {
	o.fn(o.Host.Name(), append([]string(nil), c.Argv...))
	return o.Host.Exec(ctx, c)
}

// Peer is another server a Local host's commands name in rsync-style
// operands ("DEST:PATH"): *SSH satisfies it.
type Peer interface {
	Destination() string
	Root() string
}

// peerRoots maps a peer's destination ("root@192.0.2.7") to its root.
type peerRoots struct {
	mu    sync.Mutex
	roots map[string]string
}

func (p *peerRoots) root(dest string) (string, bool) {
	if p == nil {
		return "", false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	r, ok := p.roots[dest]
	return r, ok
}

// Link tells h that the rsync-style operands of its commands that name
// peer's destination ("DEST:PATH", and ":PATH" after one) are peer's
// files, so that a simulated peer's paths are mapped under its root as h
// runs the command: callers then hand the same operand for a real and a
// simulated server. Nothing changes for a peer whose root is "/", or when
// h is not a *Local (or a copy of one made by WithEnv or Observe).
func Link(h Host, peer Peer) {
	l, ok := h.(*Local)
	if !ok || l.peers == nil {
		return
	}
	l.peers.mu.Lock()
	defer l.peers.mu.Unlock()
	if l.peers.roots == nil {
		l.peers.roots = map[string]string{}
	}
	l.peers.roots[peer.Destination()] = filepath.Clean(peer.Root())
}

// Argv returns the argv l starts for argv: the server paths in its words
// mapped under l's root (and a linked peer's operands under the peer's),
// as described below; argv itself on a root of "/".
func (l *Local) Argv(argv []string) []string {
	out := simArgv(l.root, argv)
	var peer string
	for i, w := range argv {
		m := remoteSpec().FindStringSubmatch(w)
		if m == nil {
			continue
		}
		if m[1] != "" {
			peer = m[1]
		}
		r, ok := l.peers.root(peer)
		if !ok || r == "/" {
			continue
		}
		p := w[len(m[0])-1:]
		if isUnder(p, r) || strings.Contains(p, "..") {
			continue
		}
		// Joined as it is, keeping rsync's "/./" marker of --relative.
		out[i] = m[1] + ":" + r + p
	}
	return out
}

// SimArgv returns the argv a host whose root is root starts for argv (see
// Local.Argv; no peers): what an SSH host with that root runs, too.
func SimArgv(root string, argv []string) []string { return simArgv(root, argv) }

// Paths inside command words on a simulated host
//
// Commands are built with the paths a real server has ("/var/hvmail/bin/x",
// "rm -f /etc/apt/sources.list.d/greenarrow.list"). A host whose root is not
// "/" maps those paths under its root as it runs the command, so that the
// same argv works on a real server and on a simulated one: nothing outside
// remote/ rewrites a command for the simulator. On a root of "/" nothing
// changes.

// simPathToken finds the absolute paths in a word that belong to a
// server's own tree (not /dev, /proc, /sys or /tmp): after the start of the
// word or a separator of a shell line, an option's "=", or the ":" of a
// PATH-style list.
var simPathToken = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(^|[\s'"=|;&(<>:])(/(?:usr|var|etc|media|root|opt|srv|home|mnt|data|bin|sbin|lib)(?:/[^\s'"|;&()<>:]*)?)`)
})

// remoteSpec matches an rsync or scp remote operand, "[user@]host:/path" or
// ":/path": that path is on another server, which maps it itself.
var remoteSpec = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([^/\s=:'"]*):/`) })

// simArgv maps the paths in argv under root (see above). argv[0], when it
// holds a slash, is a program's path and is mapped whole, and so is any
// word that is one absolute path; in other words (shell lines, options)
// the server paths simPathToken finds are mapped. A path already
// under the root, or under the directory that holds the simulated roots
// (the simulator's own files: keys, known_hosts), is left as it is, so a
// word a caller mapped with Host.Path is not mapped twice.
func simArgv(root string, argv []string) []string {
	if root == "/" || len(argv) == 0 {
		return argv
	}
	out := make([]string, len(argv))
	for i, w := range argv {
		switch {
		case i == 0 && strings.Contains(w, "/"), wholePath(w):
			if isUnder(w, root) || isKernelPath(w) {
				out[i] = w
			} else {
				out[i] = JoinRoot(root, w)
			}
		default:
			out[i] = simWord(root, w)
		}
	}
	return out
}

// wholePath reports whether a word is one absolute path (no blank, so not a
// shell line): it is mapped whole, whatever its first directory, so that no
// path a command names escapes the simulated root ("/" included).
func wholePath(w string) bool {
	return strings.HasPrefix(w, "/") && !strings.ContainsAny(w, " \t\n")
}

// isKernelPath reports whether p is under /dev, /proc or /sys, which a
// simulated server shares with the machine.
func isKernelPath(p string) bool {
	for _, d := range []string{"/dev", "/proc", "/sys"} {
		if p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// simWord maps the server paths inside one word under root.
func simWord(root, w string) string {
	if remoteSpec().MatchString(w) {
		return w
	}
	return simPathToken().ReplaceAllStringFunc(w, func(m string) string {
		sub := simPathToken().FindStringSubmatch(m)
		if isUnder(sub[2], root) {
			return m
		}
		return sub[1] + JoinRoot(root, sub[2])
	})
}

// isUnder reports whether p is already a real path of the simulation: under
// root, or under root's parent directory when that is not a top-level
// directory itself (the simulator keeps its roots side by side there).
func isUnder(p, root string) bool {
	for _, dir := range []string{root, filepath.Dir(root)} {
		if dir == "/" || strings.Count(dir, "/") < 2 && dir != root {
			continue
		}
		if p == dir || strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}
