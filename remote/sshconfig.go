package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kevinburke/ssh_config"
)

// sshTarget is where and how to connect, after the ssh config file has been
// applied to SSHOptions.
type sshTarget struct {
	alias          string          // Addr as given
	host           string          // HostName from the config, else Addr
	port           int             // from options, config, else 22
	user           string          // from options, config, else root
	identityFiles  []string        // in the order they are tried
	knownHosts     []string        // the first is the one new keys are appended to
	identitiesOnly bool            // IdentitiesOnly yes: no keys from the agent
	explicitIDs    map[string]bool // identity files named in SSHOptions: must exist
	configFile     string          // the ssh config file read; "" for none
	configPort     int             // the Port the config file gives; 0 for none
}

// homeDir returns the user's home directory for "~" and the default files.
func homeDir() string {
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return "/root"
}

// expandSSHPath expands "~" and the OpenSSH tokens %d (home), %u (local
// user), %h (remote host), %r (remote user), %p (port) and %% in a path
// taken from an ssh config file, which kevinburke/ssh_config leaves as is.
func expandSSHPath(p string, t *sshTarget) string {
	home := homeDir()
	if p == "~" {
		p = home
	} else if strings.HasPrefix(p, "~/") {
		p = filepath.Join(home, p[2:])
	}
	if !strings.Contains(p, "%") {
		return p
	}
	local := "root"
	if u, err := user.Current(); err == nil {
		local = u.Username
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '%' || i+1 == len(p) {
			b.WriteByte(p[i])
			continue
		}
		i++
		switch p[i] {
		case 'd':
			b.WriteString(home)
		case 'u':
			b.WriteString(local)
		case 'h':
			b.WriteString(t.host)
		case 'n':
			b.WriteString(t.alias)
		case 'r':
			b.WriteString(t.user)
		case 'p':
			b.WriteString(strconv.Itoa(t.port))
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

// readSSHConfig reads the ssh client configuration file o names:
// o.ConfigFile, or ~/.ssh/config when that is empty ("none" reads no file).
// A missing default file is no error (nil config). kevinburke/ssh_config
// cannot evaluate some Match blocks (exec, user, canonical ...): such a
// block is left out, and warn is told, rather than refusing the whole file;
// the system ssh still applies it.
func readSSHConfig(o SSHOptions, t *sshTarget, warn func(string)) (*ssh_config.Config, string, error) {
	cfgFile := o.ConfigFile
	if cfgFile == "" {
		cfgFile = filepath.Join(homeDir(), ".ssh", "config")
	}
	if cfgFile == "none" {
		return nil, "", nil
	}
	b, err := os.ReadFile(expandSSHPath(cfgFile, t))
	switch {
	case err == nil:
	case os.IsNotExist(err) && o.ConfigFile == "":
		// No ~/.ssh/config: nothing to apply.
		return nil, "", nil
	default:
		return nil, "", fmt.Errorf("ssh config: %w", err)
	}
	cfg, err := ssh_config.DecodeBytes(b)
	if err != nil && strings.Contains(err.Error(), "Match") {
		kept, dropped := dropMatchBlocks(b)
		if len(dropped) > 0 {
			if c2, err2 := ssh_config.DecodeBytes(kept); err2 == nil {
				if warn != nil {
					warn(fmt.Sprintf("ssh config %s: ferry cannot evaluate %s and reads the file without %s; the system ssh still applies it",
						cfgFile, strings.Join(dropped, ", "), plural(len(dropped), "that block", "those blocks")))
				}
				return c2, cfgFile, nil
			}
		}
	}
	if err != nil {
		return nil, "", fmt.Errorf("ssh config %s: %w", cfgFile, err)
	}
	return cfg, cfgFile, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// dropMatchBlocks removes from an ssh config file every Match block other
// than "Match all" and "Match host ...", which kevinburke/ssh_config
// understands: the Match line and the lines up to the next Host or Match
// line. It returns the rest and the Match lines removed ("line 12: Match
// exec ...").
func dropMatchBlocks(b []byte) ([]byte, []string) {
	lines := strings.Split(string(b), "\n")
	var out, dropped []string
	skipping := false
	for i, l := range lines {
		f := strings.Fields(strings.ReplaceAll(l, "=", " "))
		if len(f) > 0 && (strings.EqualFold(f[0], "host") || strings.EqualFold(f[0], "match")) {
			skipping = false
			if strings.EqualFold(f[0], "match") && (len(f) < 2 || !(strings.EqualFold(f[1], "all") || strings.EqualFold(f[1], "host"))) {
				skipping = true
				dropped = append(dropped, fmt.Sprintf("line %d (%s)", i+1, strings.TrimSpace(l)))
			}
		}
		if !skipping {
			out = append(out, l)
		}
	}
	return []byte(strings.Join(out, "\n")), dropped
}

// SSHConfigEntry is what an ssh client configuration file says about one
// host: the first value of each keyword, as ssh takes it, or the zero value
// where the file says nothing.
type SSHConfigEntry struct {
	File          string   // the file read; "" when there was none
	HostName      string   // HostName ("%h" expanded); "" when none
	Port          int      // Port; 0 when none
	User          string   // User; "" when none
	IdentityFiles []string // IdentityFile entries, "~" and %-tokens expanded
}

// LookupSSHConfig returns what the ssh config file o.ConfigFile (default
// ~/.ssh/config of $HOME, "none" for none) says about o.Addr, an alias or an
// address. A missing default file gives an empty entry; an unreadable file,
// a file ferry cannot parse or a Port that is no port number is an error
// naming the file.
func LookupSSHConfig(o SSHOptions) (SSHConfigEntry, error) {
	t := &sshTarget{alias: o.Addr, host: o.Addr}
	cfg, file, err := readSSHConfig(o, t, o.Warn)
	if err != nil || cfg == nil {
		return SSHConfigEntry{}, err
	}
	e := SSHConfigEntry{File: file}
	get := func(key string) string {
		v, _ := cfg.Get(o.Addr, key)
		return strings.TrimSpace(v)
	}
	if h := get("HostName"); h != "" {
		e.HostName = strings.ReplaceAll(h, "%h", o.Addr)
		t.host = e.HostName
	}
	if p := get("Port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return e, fmt.Errorf("ssh config %s: Port %q for host %s is not a port number", file, p, o.Addr)
		}
		e.Port = n
		t.port = n
	}
	if o.Port != 0 {
		t.port = o.Port
	} else if t.port == 0 {
		t.port = 22
	}
	e.User = get("User")
	t.user = firstNonEmptyString(o.User, e.User, "root")
	ids, _ := cfg.GetAll(o.Addr, "IdentityFile")
	for _, p := range ids {
		e.IdentityFiles = append(e.IdentityFiles, expandSSHPath(p, t))
	}
	return e, nil
}

// ResolvedHost is where a name given for a server leads.
type ResolvedHost struct {
	Given  string         // the alias, name or address as given
	Host   string         // the ssh config file's HostName for Given, else Given
	IP     string         // the address Host resolves to (Host itself when it is one)
	Config SSHConfigEntry // what the ssh config file says about Given
}

// ResolveHost does what ssh does with o.Addr before connecting: it applies
// the ssh config file (o.ConfigFile, see LookupSSHConfig) to find its
// HostName, then resolves that with the system resolver (/etc/hosts, then
// DNS, as nsswitch.conf says) to one IP address, the first one given.
// Something that ends in a number but is no IP address (999.1.1.1, 10.1)
// is refused without a lookup. Every error names o.Addr.
func ResolveHost(ctx context.Context, o SSHOptions) (ResolvedHost, error) {
	r := ResolvedHost{Given: o.Addr}
	if o.Addr == "" {
		return r, errors.New("no address given")
	}
	e, err := LookupSSHConfig(o)
	if err != nil {
		return r, fmt.Errorf("%s: %w", o.Addr, err)
	}
	r.Config = e
	r.Host = firstNonEmptyString(e.HostName, o.Addr)
	via := ""
	if e.HostName != "" {
		via = fmt.Sprintf(" (HostName of %s in %s)", o.Addr, e.File)
	}
	if a, err := netip.ParseAddr(r.Host); err == nil {
		if err := usableIP(a); err != nil {
			return r, fmt.Errorf("%s%s: %w", r.Host, via, err)
		}
		r.IP = a.String()
		return r, nil
	}
	labels := strings.Split(strings.TrimSuffix(r.Host, "."), ".")
	if last := labels[len(labels)-1]; last != "" && strings.Trim(last, "0123456789") == "" {
		return r, fmt.Errorf("%q%s is not an IP address (four numbers from 0 to 255, like 192.0.2.10), and a host name cannot end in a number", r.Host, via)
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", r.Host)
	if err != nil {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			where := "no Host block of the ssh config gives it a HostName, and"
			if e.HostName != "" {
				where = "the ssh config sends it to " + r.Host + ", but"
			} else if e.File == "" {
				where = "there is no ssh config file, and"
			}
			return r, fmt.Errorf("%q is not known: %s neither /etc/hosts nor DNS has that name", o.Addr, where)
		}
		return r, fmt.Errorf("%q%s cannot be resolved: %w", r.Host, via, err)
	}
	for _, a := range ips {
		a = a.Unmap()
		if usableIP(a) == nil {
			r.IP = a.String()
			return r, nil
		}
	}
	return r, fmt.Errorf("%q%s resolves to no usable address (%v)", r.Host, via, ips)
}

// usableIP refuses addresses that reach no single server.
func usableIP(a netip.Addr) error {
	switch {
	case a.Zone() != "":
		return fmt.Errorf("IP address %s has a zone; give the address without it", a)
	case a.IsUnspecified():
		return fmt.Errorf("IP address %s is the unspecified address, which reaches no server", a)
	case a.IsMulticast():
		return fmt.Errorf("IP address %s is a multicast address, which reaches no single server", a)
	}
	return nil
}

func firstNonEmptyString(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// resolveSSHTarget applies the ssh config file named by o.ConfigFile
// (default ~/.ssh/config, "none" for no file) to o. The options given
// explicitly win over the config file, which wins over OpenSSH's defaults.
func resolveSSHTarget(o SSHOptions) (*sshTarget, error) {
	if o.Addr == "" {
		return nil, fmt.Errorf("ssh host %s: no address given", o.Name)
	}
	t := &sshTarget{alias: o.Addr, host: o.Addr, port: o.Port, user: o.User}
	cfg, cfgFile, err := readSSHConfig(o, t, o.Warn)
	if err != nil {
		return nil, err
	}
	get := func(key string) string {
		if cfg == nil {
			return ""
		}
		v, _ := cfg.Get(o.Addr, key)
		return strings.TrimSpace(v)
	}
	getAll := func(key string) []string {
		if cfg == nil {
			return nil
		}
		v, _ := cfg.GetAll(o.Addr, key)
		return v
	}

	if h := get("HostName"); h != "" {
		t.host = strings.ReplaceAll(h, "%h", o.Addr)
	}
	t.configFile = cfgFile
	if p := get("Port"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("ssh config %s: Port %q for host %s is not a port number", cfgFile, p, o.Addr)
		}
		t.configPort = n
	}
	if t.port == 0 {
		t.port = t.configPort
	}
	if t.port == 0 {
		t.port = 22
	}
	if t.port < 1 || t.port > 65535 {
		return nil, fmt.Errorf("ssh host %s: port %d is out of range", o.Name, t.port)
	}
	if t.user == "" {
		if u := get("User"); u != "" {
			t.user = u
		} else {
			t.user = "root"
		}
	}
	t.identitiesOnly = strings.EqualFold(get("IdentitiesOnly"), "yes")

	seen := map[string]bool{}
	addID := func(p string) {
		p = expandSSHPath(p, t)
		if p != "" && !seen[p] {
			seen[p] = true
			t.identityFiles = append(t.identityFiles, p)
		}
	}
	t.explicitIDs = map[string]bool{}
	for _, p := range o.IdentityFiles {
		addID(p)
		t.explicitIDs[expandSSHPath(p, t)] = true
	}
	cfgIDs := getAll("IdentityFile")
	for _, p := range cfgIDs {
		addID(p)
	}
	// OpenSSH tries its default keys only when the config names none.
	if len(cfgIDs) == 0 {
		for _, n := range []string{"id_ed25519", "id_ecdsa", "id_rsa"} {
			addID(filepath.Join(homeDir(), ".ssh", n))
		}
	}

	switch {
	case o.KnownHostsFile != "":
		t.knownHosts = []string{expandSSHPath(o.KnownHostsFile, t)}
	case get("UserKnownHostsFile") != "":
		for _, f := range strings.Fields(get("UserKnownHostsFile")) {
			t.knownHosts = append(t.knownHosts, expandSSHPath(f, t))
		}
	default:
		t.knownHosts = []string{filepath.Join(homeDir(), ".ssh", "known_hosts")}
	}
	return t, nil
}
