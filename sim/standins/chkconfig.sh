# chkconfig NAME on|off, chkconfig NAME, chkconfig --list [NAME]
# (Red Hat family only).
sim_family_only rhel
levels() {
	if [ "$(cat "$sim_state/enabled/$1" 2>/dev/null)" = on ]; then
		printf '%-16s0:off\t1:off\t2:on\t3:on\t4:on\t5:on\t6:off\n' "$1"
	else
		printf '%-16s0:off\t1:off\t2:off\t3:off\t4:off\t5:off\t6:off\n' "$1"
	fi
}
known() {
	[ "$1" != greenarrow ] || sim_installed greenarrow-engine
}
case "${1:-}" in
--list)
	if [ -n "${2:-}" ]; then
		known "$2" || {
			echo "error reading information on service $2: No such file or directory" >&2
			exit 1
		}
		levels "$2"
	else
		for f in "$sim_state/enabled"/*; do
			[ -f "$f" ] && levels "${f##*/}"
		done
	fi
	;;
--add | --del) exit 0 ;;
"" | -*)
	echo "usage: chkconfig [--list] [name] | chkconfig name on|off" >&2
	exit 1
	;;
*)
	known "$1" || {
		echo "error reading information on service $1: No such file or directory" >&2
		exit 1
	}
	case "${2:-}" in
	on | off) echo "$2" >"$sim_state/enabled/$1" ;;
	"") [ "$(cat "$sim_state/enabled/$1" 2>/dev/null)" = on ] ;;
	*)
		echo "usage: chkconfig name on|off" >&2
		exit 1
		;;
	esac
	;;
esac
