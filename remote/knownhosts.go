package remote

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// UnknownHostKeyError is returned when the host's key is in no known_hosts
// file and TrustUnknown was nil or declined it.
type UnknownHostKeyError struct {
	HostPort    string // "127.0.0.1:2222"
	KeyType     string // "ssh-ed25519"
	Fingerprint string // "SHA256:..."
}

func (e *UnknownHostKeyError) Error() string {
	return fmt.Sprintf("host key of %s is not known (%s %s) and was not accepted", e.HostPort, e.KeyType, e.Fingerprint)
}

// HostKeyChangedError is returned when the host presents a key other than
// the one known_hosts records for it: the server was reinstalled, or someone
// is in the middle. The connection is refused; the admin has to check and
// remove the stale line by hand.
type HostKeyChangedError struct {
	HostPort    string
	KeyType     string // the type of the key the host presented
	Fingerprint string // the fingerprint of the key the host presented
	File        string // the known_hosts file holding the recorded key
	Line        int    // its line number in File
	// When the key's type changed, the handshake ends before the host
	// presents a key: Fingerprint is empty, RecordedType is the type
	// known_hosts holds ("ssh-ed25519") and Offered lists the host key
	// algorithms the host offers instead ("rsa-sha2-512").
	RecordedType string
	Offered      []string
}

func (e *HostKeyChangedError) Error() string {
	if e.Fingerprint == "" {
		return fmt.Sprintf("HOST KEY CHANGED for %s: it now offers only %s host keys, none of the type recorded in %s line %d (%s); "+
			"if the server was really reinstalled, check its new fingerprint out of band and remove that line",
			e.HostPort, strings.Join(e.Offered, ", "), e.File, e.Line, e.RecordedType)
	}
	return fmt.Sprintf("HOST KEY CHANGED for %s: it presented %s %s, which differs from the key recorded in %s line %d; "+
		"if the server was really reinstalled, check the new fingerprint out of band and remove that line",
		e.HostPort, e.KeyType, e.Fingerprint, e.File, e.Line)
}

// hostKeys checks host keys against a list of known_hosts files.
type hostKeys struct {
	files    []string // the first receives new keys
	callback ssh.HostKeyCallback
	mu       sync.Mutex // serialises appends
}

// loadHostKeys reads the known_hosts files that exist. None existing is the
// same as an empty file: every host is unknown.
func loadHostKeys(files []string) (*hostKeys, error) {
	var existing []string
	for _, f := range files {
		if _, err := os.Stat(f); err == nil {
			existing = append(existing, f)
		} else if !os.IsNotExist(err) {
			return nil, fmt.Errorf("known_hosts: %w", err)
		}
	}
	h := &hostKeys{files: files}
	if len(existing) == 0 {
		h.callback = func(string, net.Addr, ssh.PublicKey) error { return &knownhosts.KeyError{} }
		return h, nil
	}
	cb, err := knownhosts.New(existing...)
	if err != nil {
		return nil, err
	}
	h.callback = cb
	return h, nil
}

// known returns the keys recorded for hostport: the probe asks the
// callback about a throwaway key, and the mismatch lists what is wanted.
func (h *hostKeys) known(hostport string) []knownhosts.KnownKey {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	err = h.callback(hostport, &net.TCPAddr{IP: net.IPv4zero}, probe)
	var ke *knownhosts.KeyError
	if errors.As(err, &ke) {
		return ke.Want
	}
	return nil
}

// hostKeyAlgorithms returns the host key algorithms to offer for hostport:
// those of the recorded keys when there are any (x/crypto otherwise prefers
// a type the file may not hold and reports a false mismatch), else the
// modern defaults. Legacy adds ssh-rsa (SHA-1 signatures) at the end.
func hostKeyAlgorithms(known []knownhosts.KnownKey, legacy bool) []string {
	var out []string
	add := func(a ...string) {
		for _, x := range a {
			if !contains(out, x) {
				out = append(out, x)
			}
		}
	}
	if len(known) == 0 {
		add(ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
			ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
	}
	for _, k := range known {
		switch t := k.Key.Type(); t {
		case ssh.KeyAlgoRSA:
			add(ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256)
		default:
			add(t)
		}
	}
	if legacy && (len(known) == 0 || hasKeyType(known, ssh.KeyAlgoRSA)) {
		add(ssh.KeyAlgoRSA)
	}
	return out
}

func hasKeyType(known []knownhosts.KnownKey, typ string) bool {
	for _, k := range known {
		if k.Key.Type() == typ {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// check verifies key for hostport. An unknown key goes to trust; when it
// says yes the key is appended to the first known_hosts file.
func (h *hostKeys) check(hostport string, remote net.Addr, key ssh.PublicKey,
	trust func(hostport string, key ssh.PublicKey, fingerprint string) bool) error {
	err := h.callback(hostport, remote, key)
	if err == nil {
		return nil
	}
	fp := ssh.FingerprintSHA256(key)
	var revoked *knownhosts.RevokedError
	if errors.As(err, &revoked) {
		return fmt.Errorf("host key %s %s of %s is marked @revoked in %s line %d", key.Type(), fp, hostport,
			revoked.Revoked.Filename, revoked.Revoked.Line)
	}
	var ke *knownhosts.KeyError
	if !errors.As(err, &ke) {
		return fmt.Errorf("known_hosts check for %s: %w", hostport, err)
	}
	if len(ke.Want) > 0 {
		want := ke.Want[0]
		for _, w := range ke.Want {
			if w.Key.Type() == key.Type() {
				want = w
				break
			}
		}
		return &HostKeyChangedError{HostPort: hostport, KeyType: key.Type(), Fingerprint: fp, File: want.Filename, Line: want.Line}
	}
	if trust == nil || !trust(hostport, key, fp) {
		return &UnknownHostKeyError{HostPort: hostport, KeyType: key.Type(), Fingerprint: fp}
	}
	return h.appendKey(hostport, key)
}

// appendKey adds a known_hosts line for hostport to the first file,
// creating the file (and its directory) if needed.
func (h *hostKeys) appendKey(hostport string, key ssh.PublicKey) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	file := h.files[0]
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("record host key of %s: %w", hostport, err)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("record host key of %s: %w", hostport, err)
	}
	// Make sure the new line does not glue onto a last line without "\n".
	prefix := ""
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		last := make([]byte, 1)
		if r, err := os.Open(file); err == nil {
			if _, err := r.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
				prefix = "\n"
			}
			r.Close()
		}
	}
	line := prefix + knownhosts.Line([]string{knownhosts.Normalize(hostport)}, key) + "\n"
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return fmt.Errorf("record host key of %s in %s: %w", hostport, file, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("record host key of %s in %s: %w", hostport, file, err)
	}
	return f.Close()
}

// hostPort joins host and port the way known_hosts lookups expect.
func hostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
