# hvmail_reinstall_packages PACKAGE-LIST: installs the GreenArrow packages the
# list names (name-version-release.arch, or name=version on Debian), as the
# backup's script does. The simulated packages come from the root's
# simulated repository. Safe to run again.
if [ $# -ne 1 ]; then
	echo "usage: hvmail_reinstall_packages greenarrow-packages.txt" >&2
	exit 2
fi
list=$(sim_path "$1") || exit 97
if [ ! -s "$list" ]; then
	echo "hvmail_reinstall_packages: package list $1 is missing or empty" >&2
	exit 1
fi
arch=$(sim_arch)
count=0
while IFS= read -r line || [ -n "$line" ]; do
	line=${line%%#*}
	set -f
	# shellcheck disable=SC2086
	set -- $line
	set +f
	[ $# -gt 0 ] || continue
	spec=$1
	case "$spec" in
	*=*)
		name=${spec%%=*}
		version=${spec#*=}
		;;
	*)
		name=$(printf '%s\n' "$spec" | sed 's/-[0-9][^-]*-[^-]*$//')
		rest=${spec#"$name"-}
		version=${rest%.*}
		;;
	esac
	case "$name" in
	"" | *[!a-z0-9.+-]*)
		echo "hvmail_reinstall_packages: cannot read the package name in line: $spec" >&2
		exit 1
		;;
	esac
	if [ "$name" = "$spec" ] || [ -z "$version" ]; then
		echo "hvmail_reinstall_packages: no version in line: $spec" >&2
		exit 1
	fi
	echo "Installing $name $version ..."
	if [ -d "$sim_state/repo/$name" ]; then
		cp -Rp "$sim_state/repo/$name/." "$FERRY_ROOT/" || exit 1
	fi
	sim_pkg_add "$name" "$version" "$arch"
	count=$((count + 1))
done <"$list"
if [ "$count" -eq 0 ]; then
	echo "hvmail_reinstall_packages: package list $1 names no package" >&2
	exit 1
fi

if sim_installed greenarrow-engine; then
	# An empty disk queue, as the engine package lays it out.
	q=$FERRY_ROOT/var/hvmail/qmail-disk/queue
	for d in mess info local remote; do
		i=0
		while [ "$i" -lt 23 ]; do
			mkdir -p "$q/$d/$i" || exit 1
			i=$((i + 1))
		done
	done
	for d in intd todo bounce pid lock; do
		mkdir -p "$q/$d" || exit 1
	done
	[ -f "$q/lock/tcpto" ] || printf '%1024s' '' | tr ' ' '\000' >"$q/lock/tcpto"
	[ -f "$q/lock/sendmutex" ] || : >"$q/lock/sendmutex"
	[ -p "$q/lock/trigger" ] || mkfifo -m 622 "$q/lock/trigger" || exit 1
	mkdir -p "$FERRY_ROOT/var/hvmail/control" || exit 1
	if [ "$sim_family" = debian ] && [ ! -f "$FERRY_ROOT/etc/apt/sources.list.d/greenarrow.list" ]; then
		mkdir -p "$FERRY_ROOT/etc/apt/sources.list.d"
		echo "deb https://repo.example.invalid/greenarrow/debian bookworm main" >"$FERRY_ROOT/etc/apt/sources.list.d/greenarrow.list"
	fi
fi
echo "$count packages are installed."
