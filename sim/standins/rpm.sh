# rpm -q [--qf FORMAT] NAME..., rpm -qa [PATTERN] (Red Hat family only):
# answers from the simulated package database.
sim_family_only rhel
query=no
all=no
qf=
while [ $# -gt 0 ]; do
	case "$1" in
	-q | --query) query=yes ;;
	-qa | -aq) query=yes all=yes ;;
	-a | --all) all=yes ;;
	--qf | --queryformat)
		qf=${2:-}
		shift
		;;
	--qf=* | --queryformat=*) qf=${1#*=} ;;
	-*)
		echo "rpm: option $1 is not simulated" >&2
		exit 1
		;;
	*) break ;;
	esac
	shift
done
if [ "$query" = no ]; then
	echo "rpm: only queries (-q) are simulated" >&2
	exit 1
fi
show() {
	if [ -n "$qf" ]; then
		sim_format "$qf" "%{NAME}=$1" "%{VERSION}=${2%-*}" "%{RELEASE}=${2##*-}" "%{ARCH}=$3" "%{EPOCH}=(none)"
	else
		printf '%s-%s.%s\n' "$1" "$2" "$3"
	fi
}
rc=0
if [ "$all" = yes ]; then
	while read -r n v a; do
		[ -n "$n" ] || continue
		if [ $# -gt 0 ]; then
			# shellcheck disable=SC2254
			case "$n" in $1) ;; *) continue ;; esac
		fi
		show "$n" "$v" "$a"
	done <"$sim_state/packages"
	exit 0
fi
if [ $# -eq 0 ]; then
	echo "rpm: no arguments given for query" >&2
	exit 1
fi
for p in "$@"; do
	line=$(grep "^$p " "$sim_state/packages" | head -n 1)
	if [ -z "$line" ]; then
		echo "package $p is not installed"
		rc=1
		continue
	fi
	set -f
	# shellcheck disable=SC2086
	set -- $line
	set +f
	show "$1" "$2" "$3"
done
exit "$rc"
