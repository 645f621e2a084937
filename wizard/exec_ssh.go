package wizard

// Helpers of the steps that set up SSH to the old server: ssh-connect (ferry's
// own connection), hosts-entry (the procedure's alias in /etc/hosts) and
// ssh-config (the Host block that lets the system ssh, which the vendor's
// script and rsync use, reach the same server).

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/ferry-migrate/ferry/remote"
	"github.com/ferry-migrate/ferry/tasks"
)

// oldLookupName returns the name ferry connects to the old server by, and
// looks up in root's ssh config: the alias or host name the admin gave
// (fact old_host), else the address (fact or answer old_addr).
func oldLookupName(data TemplateData) string {
	return firstNonEmpty(data.Facts["old_host"], data.Facts["old_addr"], data.Answers["old_addr"])
}

// oldAddressFacts is what a connection tells about the old server's
// address: old_addr, the IP address it reached (what /etc/hosts gets for
// the procedure's alias); old_host, the name the admin gave when it was
// not an address ("" otherwise); old_ssh_legacy, the weak algorithms it had
// to accept, comma-separated ("" when none).
func oldAddressFacts(old *remote.SSH) map[string]string {
	f := map[string]string{"old_addr": old.RemoteIP(), "old_host": ""}
	if a := old.Addr(); tasks.ValidIP(a) != nil {
		f["old_host"] = a
	}
	f["old_ssh_legacy"] = strings.Join(old.LegacyAlgorithms(), ", ")
	return f
}

// describeOld names the old server for messages: the name the admin gave,
// with the address it leads to when they differ.
func describeOld(old *remote.SSH) string {
	if a, ip := old.Addr(), old.RemoteIP(); a != ip {
		return a + ", " + ip
	}
	return old.RemoteIP()
}

// connectHint adds to a refused connection what root's ssh config says
// about the procedure's alias: the seed's step 6 has the admin put the port
// there, under that alias, which the address given does not match.
func connectHint(err error, x *TaskExecutor, data TemplateData) error {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	alias := fmt.Sprint(data.Params["old_alias"])
	if alias == "" || alias == "<nil>" || alias == oldLookupName(data) || alias == x.OldSSH.Addr {
		return err
	}
	e, lerr := remote.LookupSSHConfig(remote.SSHOptions{Addr: alias, ConfigFile: x.OldSSH.ConfigFile})
	if lerr != nil || e.Port == 0 {
		return err
	}
	return fmt.Errorf("%w; the ssh config %s has Port %d for %s: if that is this server, run ferry with --old %s (or answer %d to the port question)",
		err, e.File, e.Port, alias, alias, e.Port)
}

// resolveOldName turns the name the hosts-entry step got instead of an IP
// address into one, as ssh would: root's ssh config HostName, then the
// system resolver.
func resolveOldName(ctx context.Context, x *TaskExecutor, name string) (string, error) {
	r, err := remote.ResolveHost(ctx, remote.SSHOptions{Addr: name, ConfigFile: x.OldSSH.ConfigFile})
	if err != nil {
		return "", fmt.Errorf("the old server's address %w", err)
	}
	return r.IP, nil
}

// sshBlockPlan is what the Host block of the procedure's alias needs so
// that the system ssh reaches the server ferry's own connection reached.
type sshBlockPlan struct {
	settings []tasks.SSHSetting // what ferry writes in any case
	weak     []tasks.SSHSetting // algorithm lines: written with the admin's consent
	hostName string             // the host name ssh looks the key up by once the block is written
}

// planSSHBlock compares what the system ssh on h would do for alias with the
// configuration at cfg ("ssh -G") with what ferry's connection old used,
// and returns the settings that differ: HostName (when alias does not
// resolve to the address reached), Port, User, IdentityFile (the key that
// was accepted, when ssh would not try it), UserKnownHostsFile (ferry's,
// when ssh would not read it) and the algorithms ssh does not offer by
// default. Algorithm lines add to ssh's defaults ("+", or "^" to put first)
// when this ssh accepts that form, else they list the whole set.
func planSSHBlock(ctx context.Context, h remote.Host, cfg, alias string, old *remote.SSH, port int) (sshBlockPlan, error) {
	var plan sshBlockPlan
	eff, err := tasks.SSHEffectiveConfig(ctx, h, cfg, alias)
	if err != nil {
		return plan, err
	}
	one := func(k string) string {
		if v := eff[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	add := func(k, v string) { plan.settings = append(plan.settings, tasks.SSHSetting{Keyword: k, Value: v}) }

	addr := old.RemoteIP()
	plan.hostName = one("hostname")
	if !resolvesTo(ctx, h, plan.hostName, addr) {
		add("HostName", addr)
		plan.hostName = addr
	}
	if one("port") != strconv.Itoa(port) {
		add("Port", strconv.Itoa(port))
	}
	if one("user") != old.User() {
		add("User", old.User())
	}
	if kf := old.AuthKeyFile(); kf != "" && !containsPath(eff["identityfile"], kf) {
		add("IdentityFile", kf)
	}
	if kh := old.KnownHostsFiles(); len(kh) > 0 && !containsPath(strings.Fields(one("userknownhostsfile")), kh[0]) {
		add("UserKnownHostsFile", kh[0])
	}

	// Algorithms ferry negotiated that this ssh does not offer by default.
	a := old.Algorithms()
	type need struct{ keyword, effKey, query, algo string }
	var needs []need
	for _, n := range []need{
		{"KexAlgorithms", "kexalgorithms", "kex", a.KeyExchange},
		{"HostKeyAlgorithms", "hostkeyalgorithms", "key-sig", a.HostKey},
		{"Ciphers", "ciphers", "cipher", a.Cipher},
		{"MACs", "macs", "mac", a.MAC},
	} {
		if n.algo != "" && !slices.Contains(splitComma(one(n.effKey)), n.algo) {
			needs = append(needs, n)
		}
	}
	pubKey, pubKw := "pubkeyacceptedalgorithms", "PubkeyAcceptedAlgorithms"
	if _, ok := eff[pubKey]; !ok {
		// OpenSSH before 8.5 calls it PubkeyAcceptedKeyTypes.
		pubKey, pubKw = "pubkeyacceptedkeytypes", "PubkeyAcceptedKeyTypes"
	}
	// An RSA key that had to sign with SHA-1: ssh-rsa must come before the
	// SHA-2 forms, or a server that lists them but refuses them (as a
	// server restricted to the old algorithms may) is sent a SHA-2 one.
	rsaFirst := func(list []string) bool {
		for _, x := range list {
			if x == "ssh-rsa" {
				return true
			}
			if strings.HasPrefix(x, "rsa-sha2-") {
				return false
			}
		}
		return false
	}
	needPub := a.UserKeySignature == "ssh-rsa" && !rsaFirst(splitComma(one(pubKey)))
	// An algorithm this ssh does not know at all is a newer one ferry's
	// client preferred (the two then agree on another), unless it is one of
	// the weak ones ferry had to fall back to: then nothing else would do.
	weak := strings.Join(old.LegacyAlgorithms(), ",")
	kept := needs[:0]
	for _, n := range needs {
		have, err := tasks.SSHQuery(ctx, h, n.query)
		if err != nil {
			return plan, err
		}
		switch {
		case slices.Contains(have, n.algo):
			kept = append(kept, n)
		case slices.Contains(splitComma(weak), n.algo):
			return plan, fmt.Errorf("the old server needs %s %s, which the ssh client on %s does not support at all (ssh -Q %s)", n.keyword, n.algo, h.Name(), n.query)
		}
	}
	needs = kept
	if len(needs) == 0 && !needPub {
		return plan, nil
	}
	// Does this ssh read "+" (add to the defaults) and "^" (put first)?
	var probe []string
	for _, n := range needs {
		probe = append(probe, n.keyword+"=+"+n.algo)
	}
	if needPub {
		probe = append(probe, pubKw+"=^ssh-rsa")
	}
	short := false
	if got, err := tasks.SSHEffectiveConfig(ctx, h, "/dev/null", alias, probe...); err == nil {
		short = true
		for _, n := range needs {
			short = short && slices.Contains(splitComma(got[n.effKey]...), n.algo)
		}
		if needPub {
			short = short && rsaFirst(splitComma(got[pubKey]...))
		}
	}
	for _, n := range needs {
		v := "+" + n.algo
		if !short {
			v = strings.Join(append(splitComma(one(n.effKey)), n.algo), ",")
		}
		plan.weak = append(plan.weak, tasks.SSHSetting{Keyword: n.keyword, Value: v})
	}
	if needPub {
		v := "^ssh-rsa"
		if !short {
			v = strings.Join(append([]string{"ssh-rsa"}, slices.DeleteFunc(splitComma(one(pubKey)), func(s string) bool { return s == "ssh-rsa" })...), ",")
		}
		plan.weak = append(plan.weak, tasks.SSHSetting{Keyword: pubKw, Value: v})
	}
	return plan, nil
}

// splitComma splits ssh's comma-separated lists.
func splitComma(v ...string) []string {
	var out []string
	for _, s := range v {
		for _, x := range strings.Split(s, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}

// containsPath reports whether list, paths as "ssh -G" prints them ("~"
// and %d standing for the home directory), holds p.
func containsPath(list []string, p string) bool {
	home := ""
	if u, err := user.Current(); err == nil {
		home = u.HomeDir // ssh expands "~" from the password database, not $HOME
	}
	for _, x := range list {
		x = strings.Trim(x, `"`)
		if x == "~" || strings.HasPrefix(x, "~/") {
			x = home + x[1:]
		}
		x = strings.ReplaceAll(x, "%d", home)
		if filepath.Clean(x) == filepath.Clean(p) {
			return true
		}
	}
	return false
}

// resolvesTo reports whether the system resolver on h maps name to addr
// (getent ahosts: /etc/hosts and DNS as nsswitch.conf says, as ssh does).
func resolvesTo(ctx context.Context, h remote.Host, name, addr string) bool {
	want, err := netip.ParseAddr(addr)
	if err != nil {
		return false
	}
	if a, err := netip.ParseAddr(name); err == nil {
		return a.Unmap() == want.Unmap()
	}
	if name == "" {
		return false
	}
	out, code, err := output(ctx, h, "getent", "ahosts", name)
	if err != nil || code != 0 {
		return false
	}
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			if a, err := netip.ParseAddr(f[0]); err == nil && a.Unmap() == want.Unmap() {
				return true
			}
		}
	}
	return false
}

// sshSettingsText lists settings for a message: "Port 2222, User root".
func sshSettingsText(list []tasks.SSHSetting) string {
	s := make([]string, len(list))
	for i, st := range list {
		s[i] = st.String()
	}
	return strings.Join(s, ", ")
}
