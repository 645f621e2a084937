# yum [-y] [-q] install|remove|list installed PACKAGE... (Red Hat family
# only). Installing records the package; without -y the question is asked
# on standard input, as yum does.
sim_family_only rhel
yes=no
cmd=
pkgs=
# Options may come before or after the subcommand ("yum install -y ruby").
for a in "$@"; do
	case "$a" in
	-y | --yes | --assume-yes | --assumeyes) yes=yes ;;
	-q | -qq | --quiet | -C | --cacheonly | --no-install-recommends) ;;
	-*)
		echo "yum: option $a is not simulated" >&2
		exit 1
		;;
	*)
		if [ -z "$cmd" ]; then
			cmd=$a
		else
			pkgs="$pkgs $a"
		fi
		;;
	esac
done
set -f
# shellcheck disable=SC2086 # package names hold no white space
set -- $pkgs
set +f
version_of() {
	case "$1" in
	ruby) echo 3.0.7-163.el9 ;;
	wget) echo 1.21.1-7.el9 ;;
	*) echo 1.0-1.el9 ;;
	esac
}
case "$cmd" in
install)
	if [ $# -eq 0 ]; then
		echo "Error: Need to pass a list of pkgs to install" >&2
		exit 1
	fi
	todo=
	for p in "$@"; do
		if sim_installed "$p"; then
			echo "Package $p is already installed."
		else
			todo="$todo $p"
		fi
	done
	if [ -z "$todo" ]; then
		echo "Nothing to do."
		exit 0
	fi
	echo "Installing:$todo"
	if [ "$yes" = no ]; then
		printf 'Is this ok [y/N]: '
		answer=
		read -r answer || true
		case "$answer" in
		y | Y | yes) ;;
		*)
			echo "Operation aborted."
			exit 1
			;;
		esac
	fi
	for p in $todo; do
		sim_pkg_add "$p" "$(version_of "$p")" x86_64
		echo "  Installing       : $p-$(version_of "$p").x86_64"
	done
	echo "Complete!"
	;;
remove | erase)
	for p in "$@"; do
		grep -v "^$p " "$sim_state/packages" >"$sim_state/packages.new"
		mv -f "$sim_state/packages.new" "$sim_state/packages"
	done
	echo "Complete!"
	;;
list)
	echo "Installed Packages"
	while read -r n v a; do
		printf '%-40s %-24s @base\n' "$n.$a" "$v"
	done <"$sim_state/packages"
	;;
*)
	echo "No such command: $cmd. Please use yum --help" >&2
	exit 1
	;;
esac
