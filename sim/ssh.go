package sim

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mathrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ferry-migrate/ferry/remote"
)

// hostKeyAlias is the name the stand-in migration script's ssh settings
// give the old server's host key, so that its known_hosts line holds
// whatever port the embedded server gets.
const hostKeyAlias = "ferry-sim-old"

func (s *Sim) sshDir() string { return filepath.Join(s.SimDir, "ssh") }

// UserKeyFile is the private key (OpenSSH format, no passphrase) the
// embedded SSH server accepts; its public half is UserKeyFile()+".pub".
func (s *Sim) UserKeyFile() string { return filepath.Join(s.sshDir(), "id_ed25519") }

func (s *Sim) hostKeyFile() string { return filepath.Join(s.sshDir(), "host_ed25519") }

func (s *Sim) aliasKnownHostsFile() string { return filepath.Join(s.sshDir(), "known_hosts_alias") }

// ensureKeys creates the host and user keys once; later runs keep them, so
// a known_hosts entry stays valid across demo runs.
func (s *Sim) ensureKeys() error {
	if err := os.MkdirAll(s.sshDir(), 0o700); err != nil {
		return err
	}
	for _, f := range []string{s.hostKeyFile(), s.UserKeyFile()} {
		if _, err := os.Stat(f); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if err := newKeyFile(f); err != nil {
			return err
		}
	}
	host, err := loadSigner(s.hostKeyFile())
	if err != nil {
		return err
	}
	line := knownhosts.Line([]string{hostKeyAlias}, host.PublicKey())
	return writeIfChanged(s.aliasKnownHostsFile(), []byte(line+"\n"), 0o600)
}

// writeIfChanged replaces the file at path with data, atomically (a reader
// sees the old content or the new, never a part), unless it already holds
// exactly data with mode: a demo run again leaves its files untouched.
func writeIfChanged(path string, data []byte, mode fs.FileMode) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm() == mode {
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
			return nil
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return remote.WriteFileAtomic(path, data, mode)
}

// SSHPortFile is where the simulator keeps the port its SSH server listens
// on (the number and a newline): chosen at the first start, used by every
// later one, because the journal and the new server's "Host oldserver"
// block hold it once the ssh-config step has run.
func (s *Sim) SSHPortFile() string { return filepath.Join(s.sshDir(), "port") }

// SSHPort returns the port recorded in SSHPortFile, or 0 when none is
// recorded yet. A file that does not hold a port from 1 to 65535 is an
// error naming it.
func (s *Sim) SSHPort() (int, error) {
	b, err := os.ReadFile(s.SSHPortFile())
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	port, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || port < 1 || port > 65535 {
		return 0, fmt.Errorf("sim ssh port file %s holds %q, not a port number", s.SSHPortFile(), strings.TrimSpace(string(b)))
	}
	return port, nil
}

// RecordSSHPort records port as the one the SSH server listens on from its
// next start (for a simulator built before the port was recorded, whose
// journal already names one). It refuses a port outside 1 to 65535.
func (s *Sim) RecordSSHPort(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("sim ssh port %d is not a port number", port)
	}
	return writeIfChanged(s.SSHPortFile(), []byte(strconv.Itoa(port)+"\n"), 0o600)
}

// newKeyFile writes a new ed25519 key pair: the private key in OpenSSH
// format at path, the public key at path+".pub".
func newKeyFile(path string) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	block, err := ssh.MarshalPrivateKey(priv, "ferry-sim")
	if err != nil {
		return err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return err
	}
	if err := writeFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return err
	}
	authorized := bytes.TrimSpace(ssh.MarshalAuthorizedKey(sshPub))
	return writeFile(path+".pub", append(authorized, []byte(" ferry-sim\n")...), 0o644)
}

func loadSigner(path string) (ssh.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sg, err := ssh.ParsePrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	return sg, nil
}

// Server is the SSH server through which the old server is reached. It
// listens on 127.0.0.1 only, accepts the simulator's user key for any user
// name (commands run as the user running ferry), runs exec requests with
// sh -c under the old root's environment (FERRY_ROOT and the root's bin
// directories first on PATH), and forwards direct-tcpip channels to
// 127.0.0.1 only.
type Server struct {
	Addr               string // "127.0.0.1"
	Port               int
	User               string // the login name to use: "root"
	UserKeyFile        string // private key to log in with
	KnownHostsFile     string // a known_hosts holding "[127.0.0.1]:PORT ssh-ed25519 ..."
	HostKeyFingerprint string // SHA256:... of the host key

	sim          *Sim
	ln           net.Listener
	config       *ssh.ServerConfig
	stop         context.CancelFunc
	wg           sync.WaitGroup
	mu           sync.Mutex
	conns        map[net.Conn]struct{}
	closed       bool
	shutdownOnce sync.Once
}

// StartSSH starts the embedded SSH server on 127.0.0.1, on the port
// recorded in SSHPortFile. The first start picks a free port below the
// kernel's ephemeral range (so that no outgoing connection of this machine
// is ever given it) and records it. When the recorded port is taken by
// another program, StartSSH fails with an error naming the port and, when
// /proc tells, the program; it never moves to another port, because the
// journal and the "Host oldserver" block of a demo that has passed its
// ssh-config step point at this one. The server stops when ctx is cancelled
// or Close is called. KnownHostsFile holds the host key under
// "[127.0.0.1]:PORT"; it is rewritten only when that line changes.
func (s *Sim) StartSSH(ctx context.Context) (*Server, error) {
	if err := s.ensureKeys(); err != nil {
		return nil, fmt.Errorf("sim ssh keys in %s: %w", s.sshDir(), err)
	}
	host, err := loadSigner(s.hostKeyFile())
	if err != nil {
		return nil, err
	}
	user, err := loadSigner(s.UserKeyFile())
	if err != nil {
		return nil, err
	}
	userKey := user.PublicKey().Marshal()
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), userKey) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("key not accepted by the simulator")
		},
		ServerVersion: "SSH-2.0-ferry-sim",
	}
	cfg.AddHostKey(host)

	ln, err := s.listen(ctx)
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	srv := &Server{
		Addr:               "127.0.0.1",
		Port:               port,
		User:               "root",
		UserKeyFile:        s.UserKeyFile(),
		KnownHostsFile:     filepath.Join(s.sshDir(), "known_hosts"),
		HostKeyFingerprint: ssh.FingerprintSHA256(host.PublicKey()),
		sim:                s,
		ln:                 ln,
		config:             cfg,
		conns:              map[net.Conn]struct{}{},
	}
	line := knownhosts.Line([]string{net.JoinHostPort(srv.Addr, strconv.Itoa(port))}, host.PublicKey())
	if err := writeIfChanged(srv.KnownHostsFile, []byte(line+"\n"), 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	ctx, srv.stop = context.WithCancel(ctx)
	srv.wg.Add(2)
	go func() {
		defer srv.wg.Done()
		<-ctx.Done()
		srv.shutdown()
	}()
	go srv.acceptLoop()
	return srv, nil
}

// portBusyWait is how long StartSSH keeps trying a recorded port that is
// in use, for a ferry that is still exiting.
const portBusyWait = 3 * time.Second

// listen opens the server's listening socket on the recorded port, or on a
// new port that it then records.
func (s *Sim) listen(ctx context.Context) (net.Listener, error) {
	port, err := s.SSHPort()
	if err != nil {
		return nil, err
	}
	if port == 0 {
		ln, err := listenNewPort()
		if err != nil {
			return nil, err
		}
		if err := s.RecordSSHPort(ln.Addr().(*net.TCPAddr).Port); err != nil {
			ln.Close()
			return nil, fmt.Errorf("sim ssh: record the port: %w", err)
		}
		return ln, nil
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(portBusyWait)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("sim ssh: listen on %s: %w", addr, err)
		}
		if time.Now().After(deadline) {
			who := "another program"
			if pid, name := portHolder(port); pid > 0 {
				who = fmt.Sprintf("%s (pid %d)", name, pid)
			}
			return nil, fmt.Errorf("sim ssh: port %d on 127.0.0.1 is the simulated old server's (recorded in %s; the journal and the \"Host oldserver\" block of %s/root/.ssh/config name it), but %s is using it: stop that program and run the demo again, or remove %s to start a new demo", port, s.SSHPortFile(), s.NewRoot, who, s.Dir)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listenNewPort listens on a free 127.0.0.1 port below the kernel's
// ephemeral range (/proc/sys/net/ipv4/ip_local_port_range): a port from
// that range may be handed to some outgoing connection while the demo is
// not running, and then be busy when it starts again. When no port below
// the range is free, any free port will do.
func listenNewPort() (net.Listener, error) {
	low := 32768 // Linux's default start of the range
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const first = 20000
	if low > first+100 {
		start := first + mathrand.IntN(low-first)
		for i := 0; i < 100; i++ {
			port := first + (start-first+i*7919)%(low-first)
			if ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				return ln, nil
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("sim ssh: listen on 127.0.0.1: %w", err)
	}
	return ln, nil
}

// portHolder looks in /proc for the process with a TCP socket bound to
// port on this machine; it returns its pid and command name, or 0 when
// /proc does not tell (another user's process, no /proc).
func portHolder(port int) (int, string) {
	inodes := map[string]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			// "sl local_address rem_address st ... uid timeout inode"
			if len(f) < 10 {
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			if i < 0 {
				continue
			}
			if p, err := strconv.ParseUint(f[1][i+1:], 16, 16); err == nil && int(p) == port && f[9] != "0" {
				inodes["socket:["+f[9]+"]"] = true
			}
		}
	}
	if len(inodes) == 0 {
		return 0, ""
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, _ := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && inodes[target] {
				comm, _ := os.ReadFile(filepath.Join("/proc", p.Name(), "comm"))
				return pid, strings.TrimSpace(string(comm))
			}
		}
	}
	return 0, ""
}

// Close stops the server: no new connections, open ones are dropped and
// their commands' process groups killed. It waits until all is done.
func (srv *Server) Close() error {
	srv.stop()
	srv.wg.Wait()
	return nil
}

// SSHArgs are the system ssh client's arguments that log in to this server
// without any question; append "root@127.0.0.1" and a command.
func (srv *Server) SSHArgs() []string {
	return []string{
		"-p", strconv.Itoa(srv.Port),
		"-i", srv.UserKeyFile,
		"-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + srv.KnownHostsFile,
	}
}

// ClientConfig returns an x/crypto/ssh client configuration for this
// server that checks its host key against KnownHostsFile.
func (srv *Server) ClientConfig() (*ssh.ClientConfig, error) {
	signer, err := loadSigner(srv.UserKeyFile)
	if err != nil {
		return nil, err
	}
	cb, err := knownhosts.New(srv.KnownHostsFile)
	if err != nil {
		return nil, fmt.Errorf("known_hosts %s: %w", srv.KnownHostsFile, err)
	}
	return &ssh.ClientConfig{
		User:              srv.User,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback:   cb,
		HostKeyAlgorithms: []string{ssh.KeyAlgoED25519},
		Timeout:           10 * time.Second,
	}, nil
}

func (srv *Server) shutdown() {
	srv.shutdownOnce.Do(func() {
		srv.mu.Lock()
		srv.closed = true
		for c := range srv.conns {
			c.Close()
		}
		srv.mu.Unlock()
		srv.ln.Close()
	})
}

func (srv *Server) track(c net.Conn, add bool) bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if add {
		if srv.closed {
			return false
		}
		srv.conns[c] = struct{}{}
	} else {
		delete(srv.conns, c)
	}
	return true
}

func (srv *Server) acceptLoop() {
	defer srv.wg.Done()
	for {
		c, err := srv.ln.Accept()
		if err != nil {
			return
		}
		if !srv.track(c, true) {
			c.Close()
			return
		}
		srv.wg.Add(1)
		go srv.handleConn(c)
	}
}

func (srv *Server) handleConn(c net.Conn) {
	defer srv.wg.Done()
	defer srv.track(c, false)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	conn, chans, reqs, err := ssh.NewServerConn(c, srv.config)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer conn.Close()
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nch := range chans {
		switch nch.ChannelType() {
		case "session":
			srv.wg.Add(1)
			go srv.handleSession(nch)
		case "direct-tcpip":
			srv.wg.Add(1)
			go srv.handleDirect(nch)
		default:
			_ = nch.Reject(ssh.UnknownChannelType, "the simulator offers session and direct-tcpip channels only")
		}
	}
}

// session is one session channel and the command it runs.
type session struct {
	srv  *Server
	ch   ssh.Channel
	mu   sync.Mutex
	cmd  *exec.Cmd
	done bool
}

func (srv *Server) handleSession(nch ssh.NewChannel) {
	defer srv.wg.Done()
	ch, reqs, err := nch.Accept()
	if err != nil {
		return
	}
	ss := &session{srv: srv, ch: ch}
	started := false
	for req := range reqs {
		switch req.Type {
		case "exec":
			var p struct{ Command string }
			if started || ssh.Unmarshal(req.Payload, &p) != nil {
				_ = req.Reply(false, nil)
				continue
			}
			started = true
			_ = req.Reply(true, nil)
			srv.wg.Add(1)
			go ss.run(p.Command)
		case "pty-req":
			// Accepted so that clients asking for one go on; commands still
			// run on pipes.
			_ = req.Reply(true, nil)
		case "signal":
			var p struct{ Signal string }
			if ssh.Unmarshal(req.Payload, &p) == nil {
				ss.signal(p.Signal)
			}
			if req.WantReply {
				_ = req.Reply(true, nil)
			}
		default:
			// env, shell, subsystem, window-change, x11-req ...
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
		}
	}
	// The channel is closed (by the client, or the connection is gone):
	// whatever the command left running goes with it.
	ss.kill()
	ch.Close()
}

var signals = map[string]syscall.Signal{
	"HUP": syscall.SIGHUP, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "TERM": syscall.SIGTERM,
	"QUIT": syscall.SIGQUIT, "USR1": syscall.SIGUSR1, "USR2": syscall.SIGUSR2, "ALRM": syscall.SIGALRM, "PIPE": syscall.SIGPIPE,
}

func (ss *session) signal(name string) {
	sig, ok := signals[name]
	if !ok {
		return
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cmd != nil && !ss.done {
		_ = syscall.Kill(-ss.cmd.Process.Pid, sig)
	}
}

func (ss *session) kill() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.cmd != nil && !ss.done {
		_ = syscall.Kill(-ss.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// execEnv is the environment of a command run on the old server.
func (s *Sim) execEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "FERRY_ROOT=") || strings.HasPrefix(e, "PATH=") {
			continue
		}
		env = append(env, e)
	}
	return append(env, remote.SimEnv(s.OldRoot, os.Getenv("PATH"))...)
}

func (ss *session) run(command string) {
	defer ss.srv.wg.Done()
	s := ss.srv.sim
	cmd := exec.Command("/bin/sh", "-c", command)
	cmd.Env = s.execEnv()
	cmd.Dir = s.OldRoot + "/root"
	cmd.Stdout = ss.ch
	cmd.Stderr = ss.ch.Stderr()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A command that leaves a background child holding its output must
	// not hold the session forever.
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err == nil {
		ss.mu.Lock()
		err = cmd.Start()
		if err == nil {
			ss.cmd = cmd
		}
		ss.mu.Unlock()
	}
	if err != nil {
		fmt.Fprintf(ss.ch.Stderr(), "ferry-sim: cannot run the command: %v\n", err)
		ss.exit(127, "")
		return
	}
	go func() {
		_, _ = io.Copy(stdin, ss.ch)
		stdin.Close()
	}()
	err = cmd.Wait()
	ss.mu.Lock()
	ss.done = true
	ss.mu.Unlock()
	code, sig := 0, ""
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			sig = strings.TrimPrefix(unixSignalName(ws.Signal()), "SIG")
		} else {
			code = ee.ExitCode()
		}
	} else if err != nil {
		code = 255
	}
	ss.exit(code, sig)
}

// exit reports how the command ended and closes the channel.
func (ss *session) exit(code int, sig string) {
	if sig != "" {
		_, _ = ss.ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
			Signal     string
			CoreDumped bool
			Error      string
			Lang       string
		}{Signal: sig}))
	} else {
		_, _ = ss.ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
	}
	_ = ss.ch.CloseWrite()
	_ = ss.ch.Close()
}

func unixSignalName(sig syscall.Signal) string {
	for name, s := range signals {
		if s == sig {
			return name
		}
	}
	return "SIG" + strconv.Itoa(int(sig))
}

// handleDirect forwards a direct-tcpip channel to a port on 127.0.0.1.
func (srv *Server) handleDirect(nch ssh.NewChannel) {
	defer srv.wg.Done()
	var p struct {
		Host     string
		Port     uint32
		OrigHost string
		OrigPort uint32
	}
	if err := ssh.Unmarshal(nch.ExtraData(), &p); err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, "malformed direct-tcpip request")
		return
	}
	if p.Host != "127.0.0.1" && p.Host != "localhost" {
		_ = nch.Reject(ssh.Prohibited, fmt.Sprintf("the simulator forwards to 127.0.0.1 only, not to %s", p.Host))
		return
	}
	target, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(p.Port))), 10*time.Second)
	if err != nil {
		_ = nch.Reject(ssh.ConnectionFailed, err.Error())
		return
	}
	ch, reqs, err := nch.Accept()
	if err != nil {
		target.Close()
		return
	}
	go func() {
		// The channel is gone once its requests end: drop the forwarded
		// connection too, whatever state it is in.
		ssh.DiscardRequests(reqs)
		target.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, _ = io.Copy(target, ch)
		if tc, ok := target.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(ch, target)
		_ = ch.CloseWrite()
	}()
	wg.Wait()
	ch.Close()
	target.Close()
}
