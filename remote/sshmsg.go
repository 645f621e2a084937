package remote

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// SSHHostKeyRefusal is what OpenSSH's client (run by rsync, or by the
// vendor's script) says when it refuses the server's host key, read from
// its standard error. The sentences matched are those of OpenSSH's
// sshconnect.c (checked against OpenSSH 9.2: see
// testdata/ssh/*.stderr); a key of another type than the recorded one is
// reported there as a changed key too.
type SSHHostKeyRefusal struct {
	// Changed: the host presented a key other than the one recorded.
	// False: no key is recorded for it and checking is strict.
	Changed bool
	// Host is the host as ssh names it ("[127.0.0.1]:2222", "oldserver").
	Host string
	// KeyType and Fingerprint describe the key the host presented
	// ("RSA", "SHA256:..."); either may be empty.
	KeyType     string
	Fingerprint string
	// File and Line locate the recorded key that differs ("Offending ...
	// key in FILE:LINE"); empty and 0 when ssh did not say.
	File string
	Line int
	// RecordedType is the type of that recorded key ("ED25519").
	RecordedType string
}

var (
	sshSentFingerprint = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^The fingerprint for the (\S+) key sent by the remote host is$`)
	})
	sshFingerprintLine = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^(SHA256:[A-Za-z0-9+/=]+|MD5:[0-9a-f:]+)\.?$`) })
	sshOffending       = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Offending (\S+) key in (.+):([0-9]+)$`) })
	sshOffendingIP     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^Offending key for IP in (.+):([0-9]+)$`) })
	sshChanged         = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^Host key for (\S+) has changed and you have requested strict checking\.$`)
	})
	sshUnknown = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^No (\S+) host key is known for (\S+) and you have requested strict checking\.$`)
	})
)

// ParseSSHHostKeyRefusal reads ssh's standard error (lines, in order) and
// returns the host key refusal it describes, or false when it describes
// none ("Host key verification failed." alone is not enough to name a
// file, but is reported as a change of unknown place when a changed-key
// banner came before it).
func ParseSSHHostKeyRefusal(stderr []string) (SSHHostKeyRefusal, bool) {
	var r SSHHostKeyRefusal
	found, banner := false, false
	for i := 0; i < len(stderr); i++ {
		l := strings.TrimSpace(stderr[i])
		switch {
		case strings.Contains(l, "REMOTE HOST IDENTIFICATION HAS CHANGED"):
			banner = true
		case sshSentFingerprint().MatchString(l):
			r.KeyType = sshSentFingerprint().FindStringSubmatch(l)[1]
			if i+1 < len(stderr) {
				if m := sshFingerprintLine().FindStringSubmatch(strings.TrimSpace(stderr[i+1])); m != nil {
					r.Fingerprint = m[1]
					i++
				}
			}
		case sshOffending().MatchString(l):
			m := sshOffending().FindStringSubmatch(l)
			if n, err := strconv.Atoi(m[3]); err == nil && n > 0 && r.File == "" {
				r.RecordedType, r.File, r.Line = m[1], m[2], n
			}
			r.Changed, found = true, true
		case sshOffendingIP().MatchString(l):
			m := sshOffendingIP().FindStringSubmatch(l)
			if n, err := strconv.Atoi(m[2]); err == nil && n > 0 && r.File == "" {
				r.File, r.Line = m[1], n
			}
			r.Changed, found = true, true
		case sshChanged().MatchString(l):
			r.Host = sshChanged().FindStringSubmatch(l)[1]
			r.Changed, found = true, true
		case sshUnknown().MatchString(l):
			m := sshUnknown().FindStringSubmatch(l)
			if !r.Changed {
				r.KeyType, r.Host = m[1], m[2]
			}
			found = true
		case l == "Host key verification failed." && banner:
			r.Changed, found = true, true
		}
	}
	return r, found
}

// Sentence says in words what the refusal means and what to do.
func (r SSHHostKeyRefusal) Sentence() string {
	host := r.Host
	if host == "" {
		host = "the server"
	}
	if !r.Changed {
		return fmt.Sprintf("the system ssh knows no %s host key for %s and checks strictly; record the key ferry verified (the ssh-config step does) or check it and add it to known_hosts", r.KeyType, host)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "HOST KEY CHANGED for %s (seen by the system ssh)", host)
	if r.KeyType != "" {
		fmt.Fprintf(&b, ": it presented a %s key", r.KeyType)
		if r.Fingerprint != "" {
			b.WriteString(" " + r.Fingerprint)
		}
	}
	if r.File != "" {
		fmt.Fprintf(&b, ", which differs from the key recorded in %s line %d", r.File, r.Line)
		if r.RecordedType != "" && r.KeyType != "" && !strings.EqualFold(r.RecordedType, r.KeyType) {
			fmt.Fprintf(&b, " (a %s key: the key type changed)", r.RecordedType)
		}
	}
	b.WriteString("; if the server was really reinstalled, check the new fingerprint out of band and remove that line")
	return b.String()
}
