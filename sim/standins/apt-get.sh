# apt-get [-y] [-q] update|install PACKAGE... (Debian family only).
# Installing records the package; without -y the question is asked on
# standard input, as apt-get does.
sim_family_only debian
yes=no
cmd=
pkgs=
# Options may come before or after the subcommand ("yum install -y ruby").
for a in "$@"; do
	case "$a" in
	-y | --yes | --assume-yes | --assumeyes) yes=yes ;;
	-q | -qq | --quiet | -C | --cacheonly | --no-install-recommends) ;;
	-*)
		echo "E: Command line option $a is not simulated" >&2
		exit 100
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
	ruby) echo 1:3.1 ;;
	wget) echo 1.21.3-1+b2 ;;
	*) echo 1.0-1 ;;
	esac
}
case "$cmd" in
update) echo "Reading package lists... Done" ;;
install)
	if [ $# -eq 0 ]; then
		echo "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
		exit 0
	fi
	echo "Reading package lists... Done"
	todo=
	for p in "$@"; do
		if sim_installed "$p"; then
			echo "$p is already the newest version."
		else
			todo="$todo $p"
		fi
	done
	if [ -z "$todo" ]; then
		echo "0 upgraded, 0 newly installed, 0 to remove and 0 not upgraded."
		exit 0
	fi
	echo "The following NEW packages will be installed:"
	echo " $todo"
	if [ "$yes" = no ]; then
		printf 'Do you want to continue? [Y/n] '
		answer=
		if ! read -r answer; then
			echo "Abort."
			exit 1
		fi
		case "$answer" in
		"" | y | Y | yes) ;;
		*)
			echo "Abort."
			exit 1
			;;
		esac
	fi
	for p in $todo; do
		sim_pkg_add "$p" "$(version_of "$p")" amd64
		echo "Setting up $p ($(version_of "$p")) ..."
	done
	;;
*)
	echo "E: Invalid operation $cmd" >&2
	exit 100
	;;
esac
