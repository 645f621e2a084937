package sim

import (
	"embed"
	"fmt"
	"path"
)

// The stand-ins' bodies live in standins/*.sh; installScripts puts the guard
// below in front of each.
//
//go:embed standins/*.sh
var standins embed.FS

// script is one stand-in: where it goes under a root, and its body file.
type script struct {
	path string // runbook path of the installed program
	name string // file under standins/
}

// systemScripts stand in for the distribution's own programs on both
// roots. The family's sim.conf decides which of them answer and which
// behave as if not installed.
var systemScripts = []script{
	{"/usr/sbin/service", "service.sh"},
	{"/usr/bin/systemctl", "systemctl.sh"},
	{"/usr/sbin/chkconfig", "chkconfig.sh"},
	{"/usr/sbin/update-rc.d", "update-rc.d.sh"},
	{"/usr/bin/yum", "yum.sh"},
	{"/usr/bin/apt-get", "apt-get.sh"},
	{"/usr/bin/rpm", "rpm.sh"},
	{"/usr/bin/dpkg-query", "dpkg-query.sh"},
	{"/usr/bin/dpkg", "dpkg.sh"},
}

// engineScripts are the GreenArrow Engine's programs: installed on the old
// root by Setup, on the new one by hvmail_reinstall_packages.
var engineScripts = []script{
	{"/var/hvmail/libexec/hvmail_server_migration", "hvmail_server_migration.sh"},
	{"/var/hvmail/libexec/hvmail_queue_merge", "hvmail_queue_merge.sh"},
	{"/var/hvmail/bin/hvmail_check_config", "hvmail_check_config.sh"},
	{"/var/hvmail/bin/hvmail_init", "hvmail_init.sh"},
	{"/var/hvmail/bin/mailsubj", "mailsubj.sh"},
	{"/etc/profile.d/greenarrow-engine.sh", "profile-engine.sh"},
	{"/etc/profile.d/greenarrow-ruby.sh", "profile-ruby.sh"},
	{"/etc/profile.d/greenarrow-studio.sh", "profile-studio.sh"},
	{"/etc/profile.d/greenarrow-passenger.sh", "profile-passenger.sh"},
}

// blueMindScripts are BlueMind's programs and the driver of a simulated
// server's real PostgreSQL cluster, on both roots of a BlueMind pair.
var blueMindScripts = []script{
	{"/usr/bin/bmctl", "bmctl.sh"},
	{"/usr/bin/bm-cli", "bm-cli.sh"},
	{"/.ferry-sim/bin/bm-pgctl", "bm-pgctl.sh"},
}

// allScripts is every stand-in, for the tests.
func allScripts() []script {
	out := append([]script{}, systemScripts...)
	out = append(out, engineScripts...)
	out = append(out, blueMindScripts...)
	out = append(out, postfixScripts...)
	return append(out, script{BackupDir + "/hvmail_reinstall_packages", "hvmail_reinstall_packages.sh"})
}

// guard opens every stand-in. It refuses to do anything unless either
// FERRY_ROOT names a directory other than / that carries the simulator's
// marker, or FERRY_ROOT is unset (or "/") and the root's /.ferry-sim is a
// mount point holding the marker: a host of the real-path test harness
// (package testenv), where a simulated root is bound over the real paths
// inside private namespaces. No real machine has a mount at /.ferry-sim,
// so there the stand-ins still refuse. It then loads the simulator's
// settings and the helpers all stand-ins share. In the harness's hosts
// FERRY_ROOT is empty, so "$FERRY_ROOT/etc/hosts" is /etc/hosts.
const guard = `#!/bin/sh
# Stand-in for %[1]s, written by ferry's simulator (package sim). It acts only
# inside the simulated server root named by FERRY_ROOT, or at the root of a
# test host whose /.ferry-sim is mounted by ferry's test harness, and refuses
# to run anywhere else. It is not the vendor's program.
sim_me=%[1]s
sim_refuse() {
	echo "$sim_me: $1: this is a stand-in of ferry's simulator, refusing to run" >&2
	exit 97
}
case "${FERRY_ROOT:-/}" in
/)
	# The real root: allowed only where the simulator's state directory is
	# a mount point, which only the test harness's namespaced hosts have.
	FERRY_ROOT=
	awk -v d="$FERRY_ROOT/.ferry-sim" '$5 == d { m = 1 } END { exit !m }' "$FERRY_ROOT/proc/self/mountinfo" 2>/dev/null ||
		sim_refuse "FERRY_ROOT is unset or / and no simulator state is mounted at the root (a real machine)"
	;;
/?*)
	FERRY_ROOT=${FERRY_ROOT%%/}
	sim_real=$(cd "$FERRY_ROOT" 2>/dev/null && pwd -P) || sim_refuse "FERRY_ROOT $FERRY_ROOT is not a directory"
	[ "$sim_real" != / ] || sim_refuse "FERRY_ROOT $FERRY_ROOT is the real root"
	;;
*) sim_refuse "FERRY_ROOT $FERRY_ROOT is relative" ;;
esac
[ -f "$FERRY_ROOT/.ferry-sim/marker" ] || sim_refuse "FERRY_ROOT $FERRY_ROOT has no simulator marker"
sim_state=$FERRY_ROOT/.ferry-sim
. "$sim_state/sim.conf"
`

// lib holds the helpers every stand-in may use. Paths given as arguments
// may be runbook paths ("/var/migrate/x") or already mapped under the root;
// sim_path accepts both and refuses anything that climbs out with "..".
const lib = `
# sim_log records the call in the root's call log.
sim_log() { printf '%s\n' "$*" >>"$sim_state/calls.log"; }
# sim_path P prints P mapped under FERRY_ROOT (kept as is when it already is).
sim_path() {
	case "$1" in
	"$FERRY_ROOT" | "$FERRY_ROOT"/*) sim_p=$1 ;;
	/*) sim_p=$FERRY_ROOT$1 ;;
	*)
		sim_p=$(pwd)
		case "$sim_p" in
		"$FERRY_ROOT" | "$FERRY_ROOT"/*) sim_p=$sim_p/$1 ;;
		*) sim_p=$FERRY_ROOT/$1 ;;
		esac
		;;
	esac
	case "/$sim_p/" in
	*/../*) echo "$sim_me: path $1 climbs out with ..: refusing it" >&2; return 1 ;;
	esac
	printf '%s\n' "$sim_p"
}
# sim_installed NAME succeeds when package NAME is installed.
sim_installed() { grep -q "^$1 " "$sim_state/packages" 2>/dev/null; }
# sim_family_only FAMILY: behave as a missing program on the other family.
sim_family_only() {
	if [ "$sim_family" != "$1" ]; then
		echo "sh: $sim_me: command not found" >&2
		exit 127
	fi
}
# sim_service_state NAME prints "up SINCE" or "down SINCE".
sim_service_state() {
	if [ -f "$sim_state/services/$1" ]; then cat "$sim_state/services/$1"; else echo "down 0"; fi
}
sim_service_set() { echo "$2 $(date +%s)" >"$sim_state/services/$1"; }
# sim_pkg_add NAME VERSION ARCH records an installed package.
sim_pkg_add() {
	if ! sim_installed "$1"; then echo "$1 $2 $3" >>"$sim_state/packages"; fi
}
# sim_format FORMAT KEY=VALUE...: FORMAT with every KEY replaced by its
# VALUE and backslash escapes (\n, \t) expanded, as rpm --qf and
# dpkg-query -f do.
sim_format() {
	sim_f=$1
	shift
	awk -v fmt="$sim_f" 'BEGIN {
		out = fmt
		for (i = 1; i < ARGC; i++) {
			eq = index(ARGV[i], "=")
			k = substr(ARGV[i], 1, eq - 1)
			v = substr(ARGV[i], eq + 1)
			res = ""
			while ((p = index(out, k)) > 0) {
				res = res substr(out, 1, p - 1) v
				out = substr(out, p + length(k))
			}
			out = res out
		}
		printf "%s", out
	}' "$@"
}
# sim_arch prints the package architecture of the family.
sim_arch() { if [ "$sim_family" = debian ]; then echo amd64; else echo x86_64; fi; }
`

// scriptText returns the installed text of a stand-in: guard, helpers, body.
func scriptText(sc script) (string, error) {
	body, err := standins.ReadFile("standins/" + sc.name)
	if err != nil {
		return "", fmt.Errorf("stand-in %s: %w", sc.name, err)
	}
	name := path.Base(sc.path)
	return fmt.Sprintf(guard, name) + lib + "sim_log " + name + ` "$@"` + "\n\n" + string(body), nil
}

// installScripts writes stand-ins under root.
func installScripts(root string, list []script) error {
	for _, sc := range list {
		text, err := scriptText(sc)
		if err != nil {
			return err
		}
		if err := writeFile(root+sc.path, []byte(text), 0o755); err != nil {
			return err
		}
	}
	return nil
}
