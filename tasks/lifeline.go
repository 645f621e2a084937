package tasks

// The SSH lifeline: a spare OpenSSH server on another port, kept running
// while a step that can cut the admin's own access to the new server runs
// (moving IP addresses, rewriting resolv.conf, reinstalling packages that
// may restart sshd). It is the host's own sshd binary with the host's own
// configuration, so whoever can log in now can log in through it; only the
// port and the pid file differ.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ferry-migrate/ferry/remote"
)

// Runbook paths of the OpenSSH server on the new server: the program and
// the configuration the spare sshd uses (the distributions' defaults).
const (
	SSHDProgram = "/usr/sbin/sshd"
	SSHDConfig  = "/etc/ssh/sshd_config"
)

// The ports a spare sshd is offered on: the first free one from
// LifelineFirstPort, among LifelinePortCount ports.
const (
	LifelineFirstPort = 2222
	LifelinePortCount = 10
)

// lifelineWait bounds how long StartLifeline waits for the spare's banner.
const lifelineWait = 15 * time.Second

// LifelineOptions say how to start a spare sshd.
type LifelineOptions struct {
	// Port is the TCP port the spare listens on (1-65535).
	Port int
	// PidFile is where sshd writes its process id (a path on the machine
	// ferry runs on, in the state directory): StopStaleLifeline finds a
	// spare a killed ferry left by it. Required.
	PidFile string
	// LogFile receives sshd's own log (-E); "" means PidFile+".log".
	LogFile string
	// Program and Config are runbook paths (mapped by the host); empty
	// means SSHDProgram and SSHDConfig.
	Program, Config string
}

func (o *LifelineOptions) defaults() {
	if o.Program == "" {
		o.Program = SSHDProgram
	}
	if o.Config == "" {
		o.Config = SSHDConfig
	}
	if o.LogFile == "" {
		o.LogFile = o.PidFile + ".log"
	}
}

// Lifeline is a running spare sshd, from StartLifeline until Stop.
type Lifeline struct {
	// Port is the port it listens on; Pid its process id (from its pid
	// file); Addrs the host:port addresses its banner was read on;
	// Banner the first one it sent ("SSH-2.0-OpenSSH_9.2p1 ...").
	Port   int
	Pid    int
	Addrs  []string
	Banner string

	o      LifelineOptions
	cancel context.CancelFunc
	done   chan struct{}
	res    remote.Result
	err    error
	once   sync.Once
	stop   error
}

// PortInUse returns an error naming port when something on this machine
// listens on it (a connection to 127.0.0.1:port is accepted, or the port
// cannot be bound on every address), nil when it is free. The port must
// be free on the machine ferry runs on, which is the new server.
func PortInUse(port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("%d is not a TCP port number (1 to 65535)", port)
	}
	hp := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if c, err := net.DialTimeout("tcp", hp, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("port %d is in use: something answers on %s", port, hp)
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return fmt.Errorf("port %d is in use: it cannot be bound (%v)", port, err)
	}
	l.Close()
	return nil
}

// FreeLifelinePort returns the first port from LifelineFirstPort, among
// LifelinePortCount, that PortInUse finds free; an error when every one
// is taken.
func FreeLifelinePort() (int, error) {
	for p := LifelineFirstPort; p < LifelineFirstPort+LifelinePortCount; p++ {
		if PortInUse(p) == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("ports %d to %d are all in use: give a port for the spare sshd", LifelineFirstPort, LifelineFirstPort+LifelinePortCount-1)
}

// LifelineArgv is the command that runs the spare sshd in the foreground
// (-D) with the host's configuration, on o.Port, writing its pid to
// o.PidFile and its log to o.LogFile. config is the configuration's path
// as the host maps it.
func LifelineArgv(o LifelineOptions, config string) []string {
	o.defaults()
	return []string{o.Program, "-D", "-f", config, "-p", strconv.Itoa(o.Port), "-o", "PidFile=" + o.PidFile, "-E", o.LogFile}
}

// StartLifeline starts a spare sshd on h (the new server): the port must be
// free (PortInUse), "sshd -T" must accept the configuration with the port
// and pid file given and say it listens on that port (a ListenAddress
// with a port of its own overrides -p); then sshd runs in the foreground
// until Stop, and StartLifeline returns once an address it listens on
// answers with an "SSH-2.0-" banner and its pid file is written. On an
// error nothing is left running. The spare's own connections (sessions
// opened through it) are processes of their own session: Stop ends the
// listener only, so a login made through the spare survives.
func StartLifeline(ctx context.Context, h remote.Host, o LifelineOptions) (*Lifeline, error) {
	o.defaults()
	if o.PidFile == "" {
		return nil, errors.New("spare sshd: no pid file given")
	}
	if err := PortInUse(o.Port); err != nil {
		return nil, err
	}
	if _, err := h.Stat(ctx, o.Program); err != nil {
		return nil, fmt.Errorf("no OpenSSH server at %s on the %s server (%v)", o.Program, h.Name(), err)
	}
	config := h.Path(o.Config)
	argv := LifelineArgv(o, config)
	// -T checks the configuration as -t does and prints the result.
	test := []string{o.Program, "-T", "-f", config, "-p", strconv.Itoa(o.Port), "-o", "PidFile=" + o.PidFile}
	var out, errOut strings.Builder
	r, err := h.Exec(ctx, remote.Cmd{Argv: test, Stdout: &out, Stderr: &errOut})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(test, " "), err)
	}
	if r.ExitCode != 0 {
		return nil, fmt.Errorf("%s refuses the configuration (exit %d): %s", strings.Join(test, " "), r.ExitCode, lastLines(errOut.String(), 3))
	}
	addrs, other := ListenAddrs(out.String(), o.Port)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("with %s, sshd would not listen on port %d: its ListenAddress lines name their own ports (%s)", config, o.Port, strings.Join(other, ", "))
	}
	_ = os.Remove(o.PidFile) // a spare's pid file is read only once its sshd wrote it
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l := &Lifeline{Port: o.Port, o: o, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		// No Stdout or Stderr: sessions opened through the spare inherit
		// them, and Exec would wait on a pipe they hold. sshd logs to
		// LogFile instead (-E).
		l.res, l.err = h.Exec(runCtx, remote.Cmd{Argv: argv})
	}()
	if err := l.await(ctx, addrs); err != nil {
		_ = l.Stop()
		return nil, err
	}
	return l, nil
}

// await waits until one of addrs answers with an SSH banner and the pid
// file holds a pid, or the sshd exits, or the wait runs out.
func (l *Lifeline) await(ctx context.Context, addrs []string) error {
	deadline := time.Now().Add(lifelineWait)
	var last error
	for {
		select {
		case <-l.done:
			return fmt.Errorf("the spare sshd on port %d ended at once (%s): %s", l.Port, l.ended(), l.logTail())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if l.Banner == "" {
			for _, a := range addrs {
				b, err := ReadSSHBanner(a, 2*time.Second)
				if err != nil {
					last = err
					continue
				}
				l.Banner = b
				l.Addrs = append(l.Addrs, a)
			}
		}
		if l.Banner != "" {
			if b, err := os.ReadFile(l.o.PidFile); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
					l.Pid = pid
					return nil
				}
			}
			last = fmt.Errorf("its pid file %s is not written yet", l.o.PidFile)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the spare sshd on port %d did not answer within %s (%v): %s", l.Port, lifelineWait, last, l.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ended says how the sshd process ended, once it has.
func (l *Lifeline) ended() string {
	if l.err != nil {
		return l.err.Error()
	}
	if l.res.Signal != "" {
		return "killed by SIG" + l.res.Signal
	}
	return fmt.Sprintf("exit %d", l.res.ExitCode)
}

func (l *Lifeline) logTail() string {
	b, err := os.ReadFile(l.o.LogFile)
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return "nothing in its log " + l.o.LogFile
	}
	return "its log says: " + lastLines(string(b), 3)
}

// Running reports whether the spare's sshd is still running.
func (l *Lifeline) Running() bool {
	select {
	case <-l.done:
		return false
	default:
		return true
	}
}

// Stop ends the spare sshd: SIGTERM to its process group, SIGKILL when it
// has not ended 3 s later (the host's cancellation), then checks that no
// address it answered on still answers and removes its pid file. It is
// safe to call more than once; later calls return the first result. The
// error says when the spare had ended by itself before Stop, or still
// answers after it.
func (l *Lifeline) Stop() error {
	l.once.Do(func() {
		early := !l.Running()
		l.cancel()
		<-l.done
		_ = os.Remove(l.o.PidFile)
		for _, a := range l.Addrs {
			if _, err := ReadSSHBanner(a, time.Second); err == nil {
				l.stop = fmt.Errorf("something still answers on %s after the spare sshd (pid %d) was stopped", a, l.Pid)
				return
			}
		}
		if early && l.Pid != 0 {
			l.stop = fmt.Errorf("the spare sshd on port %d had already ended (%s): %s", l.Port, l.ended(), l.logTail())
		}
	})
	return l.stop
}

// ReadSSHBanner connects to addr (host:port) and returns the first line
// the server sends, which must begin with "SSH-2.0-" (RFC 4253, section
// 4.2; OpenSSH sends it before reading anything). timeout bounds the
// connection and the read.
func ReadSSHBanner(addr string, timeout time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	line, err := bufio.NewReaderSize(c, 512).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if !strings.HasPrefix(line, "SSH-2.0-") {
		if err != nil {
			return "", fmt.Errorf("%s sent no SSH banner (%v)", addr, err)
		}
		return "", fmt.Errorf("%s answered %q, not an SSH banner", addr, line)
	}
	return line, nil
}

// ListenAddrs reads the "listenaddress HOST:PORT" lines of "sshd -T"
// output and returns the addresses to dial for those on port (0.0.0.0
// becomes 127.0.0.1, [::] becomes [::1]), and the others as printed.
func ListenAddrs(sshdT string, port int) (dial, other []string) {
	for _, line := range strings.Split(sshdT, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || !strings.EqualFold(k, "listenaddress") {
			continue
		}
		v = strings.TrimSpace(v)
		host, p, err := net.SplitHostPort(v)
		if err != nil {
			continue
		}
		if n, err := strconv.Atoi(p); err != nil || n != port {
			other = append(other, v)
			continue
		}
		switch host {
		case "0.0.0.0", "":
			host = "127.0.0.1"
		case "::":
			host = "::1"
		}
		dial = append(dial, net.JoinHostPort(host, p))
	}
	return dial, other
}

// StopStaleLifeline stops a spare sshd that an earlier ferry started and
// did not stop (it was killed): pidFile names it. The process is taken for
// that spare only when its command line (as /proc shows it, through a sh
// on h) names sshd and "PidFile=" with exactly pidFile, so a recycled
// process id is never signalled. It gets SIGTERM, and SIGKILL when it has
// not ended 5 s later; the pid file is removed. It returns the pid
// stopped (0 when there was none to stop) and an error when one could
// not be stopped.
func StopStaleLifeline(ctx context.Context, h remote.Host, pidFile string) (int, error) {
	b, err := os.ReadFile(pidFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("spare sshd pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		_ = os.Remove(pidFile)
		return 0, nil
	}
	alive, err := isLifeline(ctx, h, pid, pidFile)
	if err != nil {
		return 0, err
	}
	if !alive {
		_ = os.Remove(pidFile)
		return 0, nil
	}
	signal := func(sig string) {
		_, _ = h.Exec(ctx, remote.Cmd{Argv: []string{"sh", "-c", `kill -` + sig + ` "$1"`, "sh", strconv.Itoa(pid)}})
	}
	signal("TERM")
	deadline := time.Now().Add(5 * time.Second)
	for {
		alive, err := isLifeline(ctx, h, pid, pidFile)
		if err != nil {
			return pid, err
		}
		if !alive {
			_ = os.Remove(pidFile)
			return pid, nil
		}
		if time.Now().After(deadline) {
			signal("KILL")
			deadline = time.Now().Add(5 * time.Second)
			if ctx.Err() != nil {
				return pid, ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return pid, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// isLifeline reports whether process pid on h runs the spare sshd whose
// pid file is pidFile.
func isLifeline(ctx context.Context, h remote.Host, pid int, pidFile string) (bool, error) {
	var out strings.Builder
	p := strconv.Itoa(pid)
	r, err := h.Exec(ctx, remote.Cmd{Argv: []string{"sh", "-c", `tr '\000' ' ' < "/proc/$1/cmdline"`, "sh", p}, Stdout: &out})
	if err != nil {
		return false, fmt.Errorf("look at process %d on %s: %w", pid, h.Name(), err)
	}
	if r.ExitCode != 0 {
		return false, nil // no such process
	}
	cmd := out.String()
	return strings.Contains(cmd, "sshd") && strings.Contains(cmd+" ", "PidFile="+pidFile+" "), nil
}

// lastLines returns the last n non-empty lines of s joined with " / ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
