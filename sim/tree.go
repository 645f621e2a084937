package sim

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"al.essio.dev/pkg/shellescape"
)

// The simulated servers' names and addresses (documentation ranges only).
const (
	OldHostname = "mail-old.example.net"
	NewHostname = "mail-new.example.net"
	// EngineVersion is the GreenArrow Engine release installed on the old
	// server, as rpm prints it without the arch.
	EngineVersion = "4.1.180-0"
	// TablespaceDir is the located tablespace listed in the backup's
	// postgresql-tablespaces.txt, with a few files under the old root.
	TablespaceDir = "/media/data2"
	// BackupDir is where the old server's backup lies.
	BackupDir = "/root/greenarrow-backup"
	// QueueDir is the disk queue (a runbook path).
	QueueDir = "/var/hvmail/qmail-disk/queue"
)

// localhostLines open every root's /etc/hosts.
const localhostLines = "127.0.0.1   localhost localhost.localdomain\n::1         localhost localhost.localdomain ip6-localhost\n"

type platform struct {
	osRelease string
	extra     map[string]string // family-specific files
	arch      string            // package arch
}

func oldPlatform(family string) platform {
	if family == "debian" {
		return platform{
			osRelease: `NAME="Ubuntu"
VERSION="16.04.7 LTS (Xenial Xerus)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 16.04.7 LTS"
VERSION_ID="16.04"
HOME_URL="http://www.ubuntu.com/"
VERSION_CODENAME=xenial
UBUNTU_CODENAME=xenial
`,
			extra: map[string]string{
				"/etc/network/interfaces":                 "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n    dns-nameservers 192.0.2.53 198.51.100.53\n",
				"/etc/apt/sources.list.d/greenarrow.list": "deb https://repo.example.invalid/greenarrow/ubuntu xenial main\n",
			},
			arch: "amd64",
		}
	}
	return platform{
		osRelease: `NAME="CentOS Linux"
VERSION="7 (Core)"
ID="centos"
ID_LIKE="rhel fedora"
VERSION_ID="7"
PRETTY_NAME="CentOS Linux 7 (Core)"
ANSI_COLOR="0;31"
CPE_NAME="cpe:/o:centos:centos:7"
HOME_URL="https://www.centos.org/"
`,
		extra: map[string]string{
			"/etc/redhat-release":                       "CentOS Linux release 7.9.2009 (Core)\n",
			"/etc/sysconfig/network":                    "NETWORKING=yes\nHOSTNAME=" + OldHostname + "\n",
			"/etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=192.0.2.10\nPREFIX=24\nGATEWAY=192.0.2.1\nPEERDNS=no\nDNS1=192.0.2.53\nDNS2=198.51.100.53\n",
		},
		arch: "x86_64",
	}
}

func newPlatform(family string) platform {
	if family == "debian" {
		return platform{
			osRelease: `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
`,
			extra: map[string]string{
				"/etc/network/interfaces": "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet static\n    address 192.0.2.20/24\n    gateway 192.0.2.1\n",
			},
			arch: "amd64",
		}
	}
	return platform{
		osRelease: `NAME="Rocky Linux"
VERSION="9.4 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.4"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"
HOME_URL="https://rockylinux.org/"
`,
		extra: map[string]string{
			"/etc/redhat-release":                       "Rocky Linux release 9.4 (Blue Onyx)\n",
			"/etc/sysconfig/network":                    "# Created by anaconda\n",
			"/etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nBOOTPROTO=none\nONBOOT=yes\nIPADDR=192.0.2.20\nPREFIX=24\nGATEWAY=192.0.2.1\nPEERDNS=yes\n",
		},
		arch: "x86_64",
	}
}

// commonRoot writes what both roots share: the marker, the stand-ins' state
// directory, the system stand-ins, the base /etc files.
func (s *Sim) commonRoot(root, hostname, hosts, resolv string, p platform, packages []string, simConf string) error {
	if err := writeFile(root+rootMarker, []byte("This directory is the root of a server simulated by ferry's sim package.\n"), 0o644); err != nil {
		return err
	}
	state := root + "/.ferry-sim"
	for _, d := range []string{"services", "enabled", "outbox", "repo"} {
		if err := os.MkdirAll(filepath.Join(state, d), 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"/etc/os-release":      p.osRelease,
		"/etc/hostname":        hostname + "\n",
		"/etc/resolv.conf":     resolv,
		"/etc/hosts":           localhostLines + hosts,
		"/.ferry-sim/packages": strings.Join(packages, "\n") + "\n",
		"/.ferry-sim/sim.conf": simConf,
	}
	for k, v := range p.extra {
		files[k] = v
	}
	if err := rootFiles(root, files, 0o644); err != nil {
		return err
	}
	for _, d := range []string{"/root", "/tmp", "/var", "/usr/bin", "/usr/sbin"} {
		if err := os.MkdirAll(root+d, 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(root+"/root", 0o700); err != nil {
		return err
	}
	if err := installScripts(root, systemScripts); err != nil {
		return err
	}
	// The engine's files, as its package would install them, wait in the
	// simulated repository for hvmail_reinstall_packages.
	return installScripts(root+"/.ferry-sim/repo/greenarrow-engine", engineScripts)
}

func (s *Sim) simConf(oldRoot string) string {
	delay := "0"
	if s.Options.MergeDelay > 0 {
		delay = fmt.Sprintf("%.6f", s.Options.MergeDelay.Seconds())
	}
	var b strings.Builder
	b.WriteString("# Settings of ferry's simulator for its stand-ins. Not part of the simulated server.\n")
	fmt.Fprintf(&b, "sim_family=%s\n", shellescape.Quote(s.Options.Family))
	fmt.Fprintf(&b, "sim_merge_delay=%s\n", shellescape.Quote(delay))
	fmt.Fprintf(&b, "sim_old_root=%s\n", shellescape.Quote(oldRoot))
	return b.String()
}

func pkgLine(name, version, arch string) string { return name + " " + version + " " + arch }

func (s *Sim) buildOld() error {
	root := s.OldRoot
	p := oldPlatform(s.Options.Family)
	resolv := "search example.net\nnameserver 192.0.2.53\nnameserver 198.51.100.53\n"
	if s.Options.DNSCacheService == "yes" || s.Options.DNSCacheService == "true" {
		resolv = "nameserver 127.0.0.1\n"
	}
	pkgs := []string{
		pkgLine("greenarrow-engine", EngineVersion, p.arch),
		pkgLine("greenarrow-studio", EngineVersion, p.arch),
		pkgLine("ruby", "2.0.0.648-39.el7_9", p.arch),
		pkgLine("wget", "1.14-18.el7_6.1", p.arch),
	}
	if err := s.commonRoot(root, OldHostname, "192.0.2.10  "+OldHostname+" mail-old\n", resolv, p, pkgs, s.simConf("")); err != nil {
		return err
	}
	// The engine is installed and running on the old server.
	if err := installScripts(root, engineScripts); err != nil {
		return err
	}
	now := time.Now().Unix()
	if err := rootFiles(root, map[string]string{
		"/.ferry-sim/services/greenarrow": fmt.Sprintf("up %d\n", now-86400*12),
		"/.ferry-sim/services/hvmail-mta": fmt.Sprintf("up %d\n", now-86400*12),
		"/.ferry-sim/enabled/greenarrow":  "on\n",
	}, 0o644); err != nil {
		return err
	}
	if err := s.buildHvmail(root); err != nil {
		return err
	}
	if err := s.buildBackup(root, p.arch); err != nil {
		return err
	}
	return s.buildQueue(root + QueueDir)
}

func (s *Sim) buildHvmail(root string) error {
	conf := `# GreenArrow Engine configuration.
general {
    system_max_smtp_connections 5000
    default_virtual_mta smtp1-1
    message_batching no
`
	if s.Options.DNSCacheService != "" {
		conf += "    dns_cache_service_run " + s.Options.DNSCacheService + "\n"
	}
	conf += `}

ip_address smtp1-1 {
    smtp_source 192.0.2.10 smtp1-1.example.net
}

domain yahoo.com {
    reuse_connections yes
    max_message_retry_time 4h15m
}
`
	pg := s.Options.PostgresVersion
	files := map[string]string{
		"/var/hvmail/control/greenarrow.conf":                        conf,
		"/var/hvmail/control/license_key":                            "GA-SIM-0000-1111-2222-3333\n",
		"/var/hvmail/control/bounce.boogie_studio_api_license_key":   "BB-SIM-4444-5555\n",
		"/var/hvmail/control/me":                                     OldHostname + "\n",
		"/var/hvmail/control/replaceipme":                            "192.0.2.10\n",
		"/var/hvmail/control/concurrencyremote":                      "2000\n",
		"/var/hvmail/control/dnscache/root/servers/@":                "192.0.2.53\n198.51.100.53\n",
		"/var/hvmail/postgres/" + pg + "/data/PG_VERSION":            pg + "\n",
		"/var/hvmail/postgres/" + pg + "/data/postgresql.conf":       "listen_addresses = 'localhost'\nport = 5432\n",
		"/var/hvmail/postgres/" + pg + "/data/base/16384/PG_VERSION": pg + "\n",
		"/var/hvmail/log/qmail-send/current":                         "@400000006553f0a1 status: local 0/10 remote 12/2000\n",
		"/var/hvmail/log/smtpd/current":                              "@400000006553f0a2 tcpserver: status: 1/100\n",
		"/var/hvmail/studio/config/database.yml":                     "production:\n  adapter: postgresql\n  database: greenarrow\n",
		"/var/hvmail/qmail-ram/savedqueue/1044":                      "ram queue saved message 1\n",
		"/var/hvmail/qmail-ram/savedqueue/1187":                      "ram queue saved message 2\n",
		"/var/hvmail/qmail-ram/savedqueue/1230":                      "ram queue saved message 3\n",
		"/var/hvmail/qmail-bounce/savedqueue/2051":                   "bounce queue saved message 1\n",
		"/var/hvmail/qmail-bounce/savedqueue/2090":                   "bounce queue saved message 2\n",
	}
	if err := rootFiles(root, files, 0o644); err != nil {
		return err
	}
	// A few data files of some size, as a database has.
	rng := rand.New(rand.NewPCG(uint64(s.Options.Seed), 7))
	for i, name := range []string{"16385", "16386", "16390", "16391_fsm", "2619"} {
		if err := writeFile(fmt.Sprintf("%s/var/hvmail/postgres/%s/data/base/16384/%s", root, pg, name), randomBytes(rng, 8192*(i+1)), 0o600); err != nil {
			return err
		}
	}
	// The link text is what a real server holds: an absolute path that is
	// meant under that server's root. Readers map it with remote.JoinRoot.
	link := root + "/var/hvmail/postgres/default"
	_ = os.Remove(link)
	return os.Symlink("/var/hvmail/postgres/"+pg, link)
}

func randomBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func (s *Sim) buildBackup(root, arch string) error {
	tablespaces := `                     List of tablespaces
    Name    |   Owner    |              Location
------------+------------+------------------------------------
 data2      | greenarrow | ` + TablespaceDir + `
 pg_default | postgres   |
 pg_global  | postgres   |
(3 rows)

`
	pkgs := fmt.Sprintf("greenarrow-engine-%[1]s.%[2]s\ngreenarrow-studio-%[1]s.%[2]s\n", EngineVersion, arch)
	if s.Options.Family == "debian" {
		pkgs = fmt.Sprintf("greenarrow-engine=%[1]s\ngreenarrow-studio=%[1]s\n", EngineVersion)
	}
	files := map[string]string{
		BackupDir + "/greenarrow-packages.txt":               pkgs,
		BackupDir + "/greenarrow-repository-access-key.txt":  "ga-repo-SIM-7f3c9a01d2e4b5c6\n",
		BackupDir + "/postgresql-tablespaces.txt":            tablespaces,
		BackupDir + "/greenarrow-config.tar":                 "(a tar archive of /var/hvmail/control would be here)\n",
		TablespaceDir + "/PG_9.5_201510051/16384/PG_VERSION": "9.5\n",
	}
	if err := rootFiles(root, files, 0o644); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(s.Options.Seed), 11))
	for i, name := range []string{"24576", "24577", "24580"} {
		if err := writeFile(fmt.Sprintf("%s%s/PG_9.5_201510051/16384/%s", root, TablespaceDir, name), randomBytes(rng, 16384*(i+1)), 0o600); err != nil {
			return err
		}
	}
	return installScripts(root, []script{{path: BackupDir + "/hvmail_reinstall_packages", name: "hvmail_reinstall_packages.sh"}})
}

func (s *Sim) buildNew() error {
	root := s.NewRoot
	p := newPlatform(s.Options.Family)
	var pkgs []string
	if s.Options.Family == "debian" {
		pkgs = append(pkgs, pkgLine("wget", "1.21.3-1+b2", p.arch))
	}
	if err := s.commonRoot(root, NewHostname, "", "nameserver 203.0.113.53\n", p, pkgs, s.simConf(s.OldRoot)); err != nil {
		return err
	}
	if err := os.MkdirAll(root+"/root/.ssh", 0o700); err != nil {
		return err
	}
	// How the stand-in migration script reaches the embedded SSH server:
	// host and port come from the new root's /etc/hosts and ssh config (as
	// for the vendor's script), the key and the host key from here.
	var b strings.Builder
	b.WriteString("# ssh settings of ferry's simulator for hvmail_server_migration. Not part of the simulated server.\n")
	b.WriteString("Host *\n")
	b.WriteString("    User root\n")
	fmt.Fprintf(&b, "    IdentityFile \"%s\"\n", s.UserKeyFile())
	b.WriteString("    IdentitiesOnly yes\n")
	fmt.Fprintf(&b, "    UserKnownHostsFile \"%s\"\n", s.aliasKnownHostsFile())
	b.WriteString("    GlobalKnownHostsFile none\n")
	fmt.Fprintf(&b, "    HostKeyAlias %s\n", hostKeyAlias)
	b.WriteString("    StrictHostKeyChecking yes\n")
	b.WriteString("    BatchMode yes\n")
	b.WriteString("    ConnectTimeout 10\n")
	return writeFile(root+"/.ferry-sim/ssh_config", []byte(b.String()), 0o600)
}
