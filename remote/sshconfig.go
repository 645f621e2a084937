package remote

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"

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

// resolveSSHTarget applies the ssh config file named by o.ConfigFile
// (default ~/.ssh/config, "none" for no file) to o. The options given
// explicitly win over the config file, which wins over OpenSSH's defaults.
func resolveSSHTarget(o SSHOptions) (*sshTarget, error) {
	if o.Addr == "" {
		return nil, fmt.Errorf("ssh host %s: no address given", o.Name)
	}
	t := &sshTarget{alias: o.Addr, host: o.Addr, port: o.Port, user: o.User}
	cfgFile := o.ConfigFile
	if cfgFile == "" {
		cfgFile = filepath.Join(homeDir(), ".ssh", "config")
	}
	var cfg *ssh_config.Config
	if cfgFile != "none" {
		f, err := os.Open(expandSSHPath(cfgFile, t))
		switch {
		case err == nil:
			cfg, err = ssh_config.Decode(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("ssh config %s: %w", cfgFile, err)
			}
		case os.IsNotExist(err) && o.ConfigFile == "":
			// No ~/.ssh/config: nothing to apply.
		default:
			return nil, fmt.Errorf("ssh config: %w", err)
		}
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
	if t.port == 0 {
		if p := get("Port"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("ssh config %s: Port %q for host %s is not a port number", cfgFile, p, o.Addr)
			}
			t.port = n
		} else {
			t.port = 22
		}
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
