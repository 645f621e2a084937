package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"al.essio.dev/pkg/shellescape"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// SSHOptions says how to reach a host over SSH.
type SSHOptions struct {
	Name string // the Host name: "old"
	Addr string // IP, hostname, or a Host alias of the ssh config file
	Port int    // 0: from the ssh config file, else 22
	User string // "": from the ssh config file, else "root"
	Root string // "" means "/": runbook paths are mapped under it
	// IdentityFiles are keys tried first; then the config's IdentityFile
	// entries (or, when it names none, ~/.ssh/id_ed25519, id_ecdsa, id_rsa);
	// then the keys of ssh-agent when SSH_AUTH_SOCK is set.
	IdentityFiles  []string
	ConfigFile     string        // default ~/.ssh/config; "none" reads no file
	KnownHostsFile string        // default: the config's UserKnownHostsFile, else ~/.ssh/known_hosts
	ConnectTimeout time.Duration // bounds TCP connect and handshake; default 15s
	Keepalive      time.Duration // keepalive interval; default 15s; no answer closes the client
	// TrustUnknown is asked when the host key is in no known_hosts file;
	// returning true appends it to the known_hosts file. Nil refuses.
	TrustUnknown func(hostport string, key ssh.PublicKey, fingerprint string) bool
	// AllowLegacy offers CentOS 6-era algorithms (diffie-hellman-group14-sha1,
	// ssh-rsa host keys and SHA-1 RSA signatures, hmac-sha1) after the
	// modern ones; Warn is told when one of them is used.
	AllowLegacy bool
	Warn        func(msg string)
	// Observe, when set, is told of every command Exec runs (argv as
	// given, before it starts): how a test records what ran.
	Observe func(host string, argv []string)
}

// SSH is a Host reached over an SSH connection.
type SSH struct {
	opts     SSHOptions
	name     string
	root     string
	target   *sshTarget
	keyFiles []string // key files that could be loaded, for the system ssh
	// keyFileOf maps a public key (wire form) to the file it was loaded from.
	keyFileOf   map[string]string
	authKeyFile string        // the identity file whose key was accepted
	algos       SSHAlgorithms // negotiated on this connection
	client      *ssh.Client
	agent       net.Conn

	keys    *hostKeys     // the known_hosts files checked
	hostKey ssh.PublicKey // the host key verified at connection

	legacyAlgos []string // weak algorithms in use on this connection
	legacyAuth  bool     // authenticated with an SHA-1 RSA signature

	done      chan struct{}
	closeOnce sync.Once
	lostMu    sync.Mutex
	lost      error // why the connection was closed behind the caller's back
}

var _ Host = (*SSH)(nil)

// Weak algorithms that are offered only with AllowLegacy.
var (
	legacyKex  = []string{"diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"}
	legacyMACs = []string{ssh.HMACSHA1}
)

func modernMACs() []string {
	var out []string
	for _, m := range ssh.SupportedAlgorithms().MACs {
		if !contains(legacyMACs, m) {
			out = append(out, m)
		}
	}
	return out
}

// DialSSH connects to the host o describes, checks its key against
// known_hosts and authenticates with keys, and returns it as a Host.
func DialSSH(ctx context.Context, o SSHOptions) (*SSH, error) {
	if o.Name == "" {
		o.Name = o.Addr
	}
	root := o.Root
	if root == "" {
		root = "/"
	}
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("host %s: root %q is not an absolute path", o.Name, root)
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 15 * time.Second
	}
	if o.Keepalive <= 0 {
		o.Keepalive = 15 * time.Second
	}
	t, err := resolveSSHTarget(o)
	if err != nil {
		return nil, err
	}
	s := &SSH{opts: o, name: o.Name, root: filepath.Clean(root), target: t, done: make(chan struct{}), keyFileOf: map[string]string{}}
	hp := hostPort(t.host, t.port)
	dest := fmt.Sprintf("%s@%s", t.user, hp)

	keys, err := loadHostKeys(t.knownHosts)
	s.keys = keys
	if err != nil {
		return nil, fmt.Errorf("host %s (%s): %w", o.Name, dest, err)
	}
	var lastAlgo atomic.Value
	signers, err := s.signers(&lastAlgo)
	if err != nil {
		return nil, fmt.Errorf("host %s (%s): %w", o.Name, dest, err)
	}

	kex := ssh.SupportedAlgorithms().KeyExchanges
	macs := modernMACs()
	if o.AllowLegacy {
		kex = append(kex, legacyKex...)
		macs = append(macs, legacyMACs...)
	}

	ctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", hp)
	if err != nil {
		return nil, fmt.Errorf("host %s: connect to %s: %w%s", o.Name, hp, err, refusedHint(err, o, t))
	}
	deadline, _ := ctx.Deadline()
	_ = conn.SetDeadline(deadline)
	var expired atomic.Bool
	stop := context.AfterFunc(ctx, func() {
		expired.Store(true)
		_ = conn.SetDeadline(time.Now())
	})

	cfg := &ssh.ClientConfig{
		Config:            ssh.Config{KeyExchanges: kex, MACs: macs, Ciphers: ssh.SupportedAlgorithms().Ciphers},
		User:              t.user,
		Auth:              []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyAlgorithms: hostKeyAlgorithms(keys.known(hp), o.AllowLegacy),
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			// A person may take a while to answer: no deadline meanwhile.
			trust := o.TrustUnknown
			if trust != nil {
				trust = func(hp string, key ssh.PublicKey, fp string) bool {
					if !stop() {
						return false // already cancelled or timed out
					}
					_ = conn.SetDeadline(time.Time{})
					ok := o.TrustUnknown(hp, key, fp)
					_ = conn.SetDeadline(time.Now().Add(o.ConnectTimeout))
					return ok
				}
			}
			if err := keys.check(hp, remote, key, trust); err != nil {
				return err
			}
			s.hostKey = key
			return nil
		},
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, hp, cfg)
	stop()
	if err != nil {
		conn.Close()
		if s.agent != nil {
			s.agent.Close()
		}
		return nil, s.explainDialError(ctx, dest, err, signers, !expired.Load())
	}
	_ = conn.SetDeadline(time.Time{})
	s.client = ssh.NewClient(c, chans, reqs)

	if am, ok := c.(ssh.AlgorithmsConnMetadata); ok {
		a := am.Algorithms()
		s.algos = SSHAlgorithms{KeyExchange: a.KeyExchange, HostKey: a.HostKey, Cipher: a.Write.Cipher, MAC: a.Write.MAC}
		for _, x := range []string{a.KeyExchange, a.HostKey, a.Read.MAC, a.Write.MAC} {
			if (contains(legacyKex, x) || contains(legacyMACs, x) || x == ssh.KeyAlgoRSA) && !contains(s.legacyAlgos, x) {
				s.legacyAlgos = append(s.legacyAlgos, x)
			}
		}
	}
	if v, ok := lastAlgo.Load().(signature); ok {
		s.algos.UserKeySignature = v.algo
		s.authKeyFile = s.keyFileOf[string(v.key.Marshal())]
	}
	if v, _ := lastAlgo.Load().(signature); v.algo == ssh.KeyAlgoRSA {
		s.legacyAuth = true
		if !contains(s.legacyAlgos, "ssh-rsa (user key signature)") {
			s.legacyAlgos = append(s.legacyAlgos, "ssh-rsa (user key signature)")
		}
	}
	if len(s.legacyAlgos) > 0 {
		s.warn(fmt.Sprintf("host %s (%s) is reached with weak, SHA-1 era algorithms: %s; accepted for this old server only",
			o.Name, dest, strings.Join(s.legacyAlgos, ", ")))
	}
	go s.keepalive(o.Keepalive)
	return s, nil
}

// refusedHint explains a refused TCP connection: most often sshd listens
// on another port than the one tried.
func refusedHint(err error, o SSHOptions, t *sshTarget) string {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return ""
	}
	switch {
	case t.configPort != 0 && t.configPort != t.port:
		return fmt.Sprintf("; nothing listens on port %d there, and the ssh config %s gives Port %d for %s: "+
			"port %d was given explicitly and wins, so leave it out (or give %d)", t.port, t.configFile, t.configPort, o.Addr, t.port, t.configPort)
	case t.configPort != 0:
		return fmt.Sprintf("; nothing listens on port %d there, the Port that the ssh config %s gives for %s", t.port, t.configFile, o.Addr)
	}
	where := "root's ~/.ssh/config"
	if t.configFile != "" {
		where = t.configFile
	}
	return fmt.Sprintf("; nothing listens on port %d there: if sshd on the old server listens on another port, give it "+
		"(--old HOST:PORT, the SSH port question, or a Port line in a Host %s block of %s)", t.port, o.Addr, where)
}

// peerHostKeyAlgos finds what the host offered in x/crypto's "no common
// algorithm for host key; we offered: [...], peer offered: [...]".
var peerHostKeyAlgos = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`no common algorithm for host key; .*peer offered: \[([^\]]*)\]`)
})

// keyTypeChanged reads a handshake error that found no common host key
// algorithm: when known_hosts records keys for the host and the host offers
// none of their types (not even through a legacy algorithm, such as ssh-rsa
// for a recorded RSA key), the host's key changed type. It returns that
// change, naming the recorded key's file and line, or nil.
func (s *SSH) keyTypeChanged(msg string) *HostKeyChangedError {
	m := peerHostKeyAlgos().FindStringSubmatch(msg)
	if m == nil || s.keys == nil {
		return nil
	}
	hp := hostPort(s.target.host, s.target.port)
	known := s.keys.known(hp)
	if len(known) == 0 {
		return nil
	}
	var offered []string
	for _, q := range strings.Fields(m[1]) {
		offered = append(offered, strings.Trim(q, `"`))
	}
	keyType := func(algo string) string {
		switch algo {
		case ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSASHA512:
			return ssh.KeyAlgoRSA
		}
		return strings.TrimSuffix(algo, "-cert-v01@openssh.com")
	}
	for _, k := range known {
		for _, o := range offered {
			if keyType(o) == k.Key.Type() {
				return nil // the type is there: an algorithm question, not a new key
			}
		}
	}
	return &HostKeyChangedError{HostPort: hp, File: known[0].Filename, Line: known[0].Line, RecordedType: known[0].Key.Type(), Offered: offered}
}

func (s *SSH) warn(msg string) {
	if s.opts.Warn != nil {
		s.opts.Warn(msg)
	}
}

// explainDialError turns a handshake error into one that says what to do.
func (s *SSH) explainDialError(ctx context.Context, dest string, err error, signers []ssh.Signer, inTime bool) error {
	var changed *HostKeyChangedError
	var unknown *UnknownHostKeyError
	if errors.As(err, &changed) || errors.As(err, &unknown) {
		return fmt.Errorf("host %s (%s): %w", s.name, dest, err)
	}
	if !inTime || errors.Is(err, os.ErrDeadlineExceeded) {
		if errors.Is(ctx.Err(), context.Canceled) {
			return fmt.Errorf("host %s (%s): connection cancelled: %w", s.name, dest, err)
		}
		return fmt.Errorf("host %s (%s): the SSH handshake did not finish within %s: %w", s.name, dest, s.opts.ConnectTimeout, err)
	}
	msg := err.Error()
	if changed := s.keyTypeChanged(msg); changed != nil {
		return fmt.Errorf("host %s (%s): %w", s.name, dest, changed)
	}
	switch {
	case strings.Contains(msg, "no common algorithm") && !s.opts.AllowLegacy:
		return fmt.Errorf("host %s (%s) offers only old algorithms that ferry does not use by default; "+
			"a CentOS 6-era server needs legacy algorithms allowed (diffie-hellman-group14-sha1, ssh-rsa, hmac-sha1): %w", s.name, dest, err)
	case strings.Contains(msg, "unable to authenticate"):
		var tried []string
		rsa := false
		for _, sg := range signers {
			tried = append(tried, sg.PublicKey().Type()+" "+ssh.FingerprintSHA256(sg.PublicKey()))
			rsa = rsa || sg.PublicKey().Type() == ssh.KeyAlgoRSA
		}
		hint := ""
		if rsa && !s.opts.AllowLegacy {
			hint = "; an old server may accept an RSA key only with SHA-1 signatures (allow legacy algorithms)"
		}
		return fmt.Errorf("host %s (%s): no key was accepted for %s (tried %s from %s%s)%s: %w", s.name, dest, s.target.user,
			strings.Join(tried, ", "), strings.Join(s.keyFiles, ", "), s.agentNote(), hint, err)
	}
	return fmt.Errorf("host %s (%s): %w", s.name, dest, err)
}

func (s *SSH) agentNote() string {
	if s.agent != nil {
		return " and ssh-agent"
	}
	return ""
}

// signers loads the identity files and the agent's keys. RSA keys sign
// with SHA-2 only; with AllowLegacy each RSA key is offered once more, after
// all others, with SHA-1 signatures (ssh-rsa) for servers that know nothing
// else. The algorithm of every signature made is stored in last.
func (s *SSH) signers(last *atomic.Value) ([]ssh.Signer, error) {
	var base []ssh.Signer
	seen := map[string]bool{}
	add := func(sg ssh.Signer) {
		k := string(sg.PublicKey().Marshal())
		if !seen[k] {
			seen[k] = true
			base = append(base, sg)
		}
	}
	for _, f := range s.target.identityFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			if s.target.explicitIDs[f] {
				return nil, fmt.Errorf("identity file: %w", err)
			}
			continue
		}
		sg, err := ssh.ParsePrivateKey(b)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				s.warn(fmt.Sprintf("key %s is protected by a passphrase and is skipped; load it into ssh-agent to use it", f))
				continue
			}
			return nil, fmt.Errorf("identity file %s: %w", f, err)
		}
		s.keyFiles = append(s.keyFiles, f)
		if _, dup := s.keyFileOf[string(sg.PublicKey().Marshal())]; !dup {
			s.keyFileOf[string(sg.PublicKey().Marshal())] = f
		}
		add(sg)
	}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !s.target.identitiesOnly {
		if c, err := net.Dial("unix", sock); err == nil {
			s.agent = c
			if list, err := agent.NewClient(c).Signers(); err == nil {
				for _, sg := range list {
					add(sg)
				}
			}
		} else {
			s.warn(fmt.Sprintf("ssh-agent at SSH_AUTH_SOCK=%s cannot be reached: %v", sock, err))
		}
	}
	if len(base) == 0 {
		return nil, fmt.Errorf("no SSH key to log in with: none of %s exists and no ssh-agent holds one; "+
			"make one with `ssh-keygen -t ed25519` and install it with `ssh-copy-id -p %d %s@%s` (one password login)",
			strings.Join(s.target.identityFiles, ", "), s.target.port, s.target.user, s.target.alias)
	}
	var out, legacy []ssh.Signer
	for _, sg := range base {
		as, ok := sg.(ssh.AlgorithmSigner)
		if !ok {
			out = append(out, sg)
			continue
		}
		if sg.PublicKey().Type() != ssh.KeyAlgoRSA {
			out = append(out, recordingSigner{as, last})
			continue
		}
		modern, err := ssh.NewSignerWithAlgorithms(as, []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256})
		if err != nil {
			return nil, err
		}
		out = append(out, recordingMultiSigner{modern, last})
		if s.opts.AllowLegacy {
			old, err := ssh.NewSignerWithAlgorithms(as, []string{ssh.KeyAlgoRSA})
			if err != nil {
				return nil, err
			}
			legacy = append(legacy, recordingMultiSigner{old, last})
		}
	}
	return append(out, legacy...), nil
}

// signature is what the last user-key signature was made with. A client
// signs only after the server said it would accept the key, so after a
// successful login it names the key that was accepted.
type signature struct {
	algo string
	key  ssh.PublicKey
}

// recordingSigner notes which key and signature algorithm were used last.
type recordingSigner struct {
	ssh.AlgorithmSigner
	last *atomic.Value
}

func (r recordingSigner) SignWithAlgorithm(rand io.Reader, data []byte, algo string) (*ssh.Signature, error) {
	r.last.Store(signature{algo: algo, key: r.PublicKey()})
	return r.AlgorithmSigner.SignWithAlgorithm(rand, data, algo)
}

type recordingMultiSigner struct {
	ssh.MultiAlgorithmSigner
	last *atomic.Value
}

func (r recordingMultiSigner) SignWithAlgorithm(rand io.Reader, data []byte, algo string) (*ssh.Signature, error) {
	r.last.Store(signature{algo: algo, key: r.PublicKey()})
	return r.MultiAlgorithmSigner.SignWithAlgorithm(rand, data, algo)
}

// keepalive asks the server for a sign of life every interval. When no
// answer comes within three intervals, the peer is taken for dead and the
// client is closed, so that every pending operation fails instead of
// hanging.
func (s *SSH) keepalive(every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-tick.C:
		}
		answer := make(chan error, 1)
		go func() {
			_, _, err := s.client.SendRequest("keepalive@openssh.com", true, nil)
			answer <- err
		}()
		select {
		case <-s.done:
			return
		case err := <-answer:
			if err != nil {
				s.lose(fmt.Errorf("host %s: connection lost: %w", s.name, err))
				return
			}
		case <-time.After(3 * every):
			s.lose(fmt.Errorf("host %s: no answer to keepalives for %s; connection closed", s.name, 3*every))
			return
		}
	}
}

func (s *SSH) lose(err error) {
	s.lostMu.Lock()
	if s.lost == nil {
		s.lost = err
	}
	s.lostMu.Unlock()
	_ = s.Close()
}

// Lost returns why the connection was closed by ferry itself (keepalives
// unanswered), or nil.
func (s *SSH) Lost() error {
	s.lostMu.Lock()
	defer s.lostMu.Unlock()
	return s.lost
}

// Name implements Host.
func (s *SSH) Name() string { return s.name }

// Root implements Host.
func (s *SSH) Root() string { return s.root }

// Path implements Host.
func (s *SSH) Path(p string) string { return JoinRoot(s.root, p) }

// Close implements Host.
func (s *SSH) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		err = s.client.Close()
		if s.agent != nil {
			s.agent.Close()
		}
	})
	return err
}

// Client returns the underlying SSH client (for agent forwarding and the
// like). Closing it closes the Host.
func (s *SSH) Client() *ssh.Client { return s.client }

// Destination returns "user@host" as the system ssh client and rsync must
// use it: the host is the resolved address, never an ssh config alias.
func (s *SSH) Destination() string { return s.target.user + "@" + s.target.host }

// Port returns the port the connection uses.
func (s *SSH) Port() int { return s.target.port }

// LegacyAlgorithms lists the weak algorithms in use on this connection.
func (s *SSH) LegacyAlgorithms() []string { return append([]string(nil), s.legacyAlgos...) }

// SSHAlgorithms are the algorithms an SSH connection negotiated, by their
// protocol names (as "ssh -Q kex", "ssh -Q mac" ... list them).
type SSHAlgorithms struct {
	KeyExchange string // "curve25519-sha256", "diffie-hellman-group14-sha1" ...
	HostKey     string // the host key signature algorithm: "ssh-ed25519", "ssh-rsa" (SHA-1) ...
	Cipher      string // client to server
	MAC         string // client to server; "" with an AEAD cipher, which needs none
	// UserKeySignature is the algorithm the accepted user key signed with
	// ("ssh-rsa" is an RSA key with SHA-1); "" when no signature was made.
	UserKeySignature string
}

// Algorithms returns what the connection negotiated.
func (s *SSH) Algorithms() SSHAlgorithms { return s.algos }

// Addr returns the old server's name or address as given in SSHOptions.Addr
// (an ssh config alias stays an alias).
func (s *SSH) Addr() string { return s.opts.Addr }

// Host returns the host name or address connected to: the ssh config
// file's HostName for Addr, else Addr.
func (s *SSH) Host() string { return s.target.host }

// RemoteIP returns the IP address the connection reached (no port).
func (s *SSH) RemoteIP() string {
	if ap, err := netip.ParseAddrPort(s.client.RemoteAddr().String()); err == nil {
		return ap.Addr().Unmap().String()
	}
	h, _, _ := net.SplitHostPort(s.client.RemoteAddr().String())
	return h
}

// User returns the remote user logged in as.
func (s *SSH) User() string { return s.target.user }

// AuthKeyFile returns the identity file whose key the server accepted, or
// "" when that key came from ssh-agent.
func (s *SSH) AuthKeyFile() string { return s.authKeyFile }

// KnownHostsFiles returns the known_hosts files the host key was checked
// against; the first is where new keys (and RecordAlias) are written.
func (s *SSH) KnownHostsFiles() []string { return append([]string(nil), s.target.knownHosts...) }

// SystemSSHArgs returns arguments for the system ssh client that reach the
// same host with the same port, keys and known_hosts, never prompting.
// "-F /dev/null" keeps a config file from sending it anywhere else.
func (s *SSH) SystemSSHArgs() []string {
	args := []string{"-F", "/dev/null", "-p", strconv.Itoa(s.target.port)}
	for _, f := range s.keyFiles {
		args = append(args, "-i", f)
	}
	args = append(args,
		"-o", "BatchMode=yes",
		"-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+knownHostsOption(s.target.knownHosts),
		"-o", "ConnectTimeout="+strconv.Itoa(ceilSeconds(s.opts.ConnectTimeout)),
		"-o", "ServerAliveInterval="+strconv.Itoa(ceilSeconds(s.opts.Keepalive)),
		"-o", "ServerAliveCountMax=3",
	)
	for _, a := range s.legacyAlgos {
		switch {
		case contains(legacyKex, a):
			args = append(args, "-o", "KexAlgorithms=+"+a)
		case a == ssh.KeyAlgoRSA:
			args = append(args, "-o", "HostKeyAlgorithms=+ssh-rsa")
		case contains(legacyMACs, a):
			args = append(args, "-o", "MACs=+"+a)
		}
	}
	if s.legacyAuth {
		// The key that worked is RSA with SHA-1 signatures; a server that
		// also lists SHA-2 in server-sig-algs but refuses it would otherwise
		// make the client pick SHA-2.
		args = append(args, "-o", "PubkeyAcceptedAlgorithms=ssh-rsa")
	}
	return args
}

// knownHostsOption joins files for ssh's UserKnownHostsFile, which splits
// at spaces unless a name is in double quotes.
func knownHostsOption(files []string) string {
	q := make([]string, len(files))
	for i, f := range files {
		q[i] = f
		if strings.ContainsAny(f, " \t") {
			q[i] = `"` + f + `"`
		}
	}
	return strings.Join(q, " ")
}

func ceilSeconds(d time.Duration) int {
	return int(math.Max(1, math.Ceil(d.Seconds())))
}

// RsyncShell returns the value for rsync's -e option: the system ssh with
// SystemSSHArgs, quoted.
func (s *SSH) RsyncShell() string {
	return shellescape.QuoteCommand(append([]string{"ssh"}, s.SystemSSHArgs()...))
}

// CheckSystemSSH runs the system ssh client in batch mode with
// SystemSSHArgs to prove that it reaches the same host without a prompt.
func (s *SSH) CheckSystemSSH(ctx context.Context) error {
	sshPath, err := exec.LookPath("ssh")
	if err != nil {
		return fmt.Errorf("host %s: the system ssh client is not installed (rsync and the vendor's scripts need it): %w", s.name, err)
	}
	args := append(s.SystemSSHArgs(), s.Destination(), "true")
	cmd := exec.CommandContext(ctx, sshPath, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		text := strings.TrimSpace(stripControl(string(out)))
		if hk, ok := ParseSSHHostKeyRefusal(strings.Split(text, "\n")); ok {
			return fmt.Errorf("host %s: the system ssh client refused %s: %s (ssh %s: %v)", s.name, s.Destination(), hk.Sentence(), strings.Join(args, " "), err)
		}
		return fmt.Errorf("host %s: the system ssh client cannot log in to %s in batch mode (ssh %s): %v: %s",
			s.name, s.Destination(), strings.Join(args, " "), err, text)
	}
	return nil
}

func stripControl(s string) string {
	var out []string
	w := LineWriter(func(l string) { out = append(out, l) })
	_, _ = w.Write([]byte(s))
	w.Flush()
	return strings.Join(out, "\n")
}

// DialContext opens a connection to addr ("host:port" for "tcp", a socket
// path for "unix") as seen from the remote host, through the SSH
// connection. The returned conn supports deadlines (SSH channels do not,
// and pgx relies on them to cancel queries) and reports addr as its
// RemoteAddr (pgx dials it again to send a cancel request).
func (s *SSH) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ch, err := s.client.DialContext(ctx, network, addr)
	if err != nil {
		if lost := s.Lost(); lost != nil {
			return nil, fmt.Errorf("host %s: dial %s %s: %w (%v)", s.name, network, addr, err, lost)
		}
		return nil, fmt.Errorf("host %s: dial %s %s: %w", s.name, network, addr, err)
	}
	return newPipeConn(ch, network, addr), nil
}

// pipeConn is one end of a net.Pipe whose other end is copied to and from
// an SSH channel.
type pipeConn struct {
	net.Conn
	remote net.Addr
}

func (p *pipeConn) RemoteAddr() net.Addr { return p.remote }

type namedAddr struct{ network, addr string }

func (a namedAddr) Network() string { return a.network }
func (a namedAddr) String() string  { return a.addr }

func newPipeConn(ch net.Conn, network, addr string) net.Conn {
	mine, theirs := net.Pipe()
	go func() {
		_, _ = io.Copy(theirs, ch)
		theirs.Close()
	}()
	go func() {
		_, _ = io.Copy(ch, theirs)
		ch.Close()
	}()
	var remote net.Addr = namedAddr{network, addr}
	if strings.HasPrefix(network, "tcp") {
		// Only an IP literal: a name is resolved on the remote side.
		if ap, err := netip.ParseAddrPort(addr); err == nil {
			remote = net.TCPAddrFromAddrPort(ap)
		}
	} else if strings.HasPrefix(network, "unix") {
		remote = &net.UnixAddr{Name: addr, Net: network}
	}
	return &pipeConn{Conn: mine, remote: remote}
}

// HostKey is the old server's host key, as verified when connecting.
func (s *SSH) HostKey() ssh.PublicKey { return s.hostKey }

// RecordAlias makes the known_hosts file know the verified host key under
// another name too (the procedure's "oldserver" alias, which the vendor's
// script gives to the system ssh), so that the system ssh, in batch mode,
// does not refuse or prompt for it. It returns whether a line was added; a
// different key already recorded for the alias is a *HostKeyChangedError.
func (s *SSH) RecordAlias(alias string) (bool, error) {
	if s.hostKey == nil || s.keys == nil {
		return false, fmt.Errorf("host %s: no verified host key to record", s.name)
	}
	hp := net.JoinHostPort(alias, strconv.Itoa(s.target.port))
	added := false
	err := s.keys.check(hp, &net.TCPAddr{IP: net.IPv4zero}, s.hostKey, func(string, ssh.PublicKey, string) bool {
		added = true
		return true
	})
	if err != nil {
		return false, err
	}
	if added {
		// Later checks of this host key set must see the new line.
		if k, lerr := loadHostKeys(s.keys.files); lerr == nil {
			s.keys = k
		}
	}
	return added, nil
}
