# dpkg-query -W [-f FORMAT] NAME..., -s NAME..., -l [NAME...] (Debian family
# only): answers from the simulated package database.
sim_family_only debian
mode=
fmt='${binary:Package}\t${Version}\n'
while [ $# -gt 0 ]; do
	case "$1" in
	-W | --show) mode=show ;;
	-s | --status) mode=status ;;
	-l | --list) mode=list ;;
	-f | --showformat)
		fmt=${2:-}
		shift
		;;
	-f=* | --showformat=*) fmt=${1#*=} ;;
	-*)
		echo "dpkg-query: error: option $1 is not simulated" >&2
		exit 2
		;;
	*) break ;;
	esac
	shift
done
if [ -z "$mode" ]; then
	echo "dpkg-query: error: need an action option (-W, -s or -l)" >&2
	exit 2
fi
# lookup PATTERN prints the package lines whose name matches PATTERN, a
# shell glob as dpkg-query takes it ("bm-plugin-*"); one line for a name.
lookup() {
	case "$1" in
	*[*?[]*)
		while read -r sim_n sim_rest; do
			# shellcheck disable=SC2254
			case "$sim_n" in $1) echo "$sim_n $sim_rest" ;; esac
		done <"$sim_state/packages"
		;;
	*) grep "^$1 " "$sim_state/packages" | head -n 1 ;;
	esac
}
if [ "$mode" = list ]; then
	echo "Desired=Unknown/Install/Remove/Purge/Hold"
	echo "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend"
	echo "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)"
	echo "||/ Name                 Version          Architecture Description"
	echo "+++-====================-================-============-================================="
fi
if [ $# -eq 0 ]; then
	set -- $(cut -d' ' -f1 "$sim_state/packages")
fi
rc=0
for p in "$@"; do
	lines=$(lookup "$p")
	if [ -z "$lines" ]; then
		echo "dpkg-query: no packages found matching $p" >&2
		rc=1
		continue
	fi
	printf '%s\n' "$lines" | while read -r line; do
		n=${line%% *}
		rest=${line#* }
		v=${rest%% *}
		a=${rest#* }
		case "$mode" in
		show) sim_format "$fmt" '${binary:Package}='"$n" '${Package}='"$n" '${Version}='"$v" '${Architecture}='"$a" '${Status}=install ok installed' '${db:Status-Abbrev}=ii ' ;;
		status) printf 'Package: %s\nStatus: install ok installed\nVersion: %s\nArchitecture: %s\n\n' "$n" "$v" "$a" ;;
		list) printf 'ii  %-20s %-16s %-12s %s\n' "$n" "$v" "$a" "$n package (simulated)" ;;
		esac
	done
done
exit "$rc"
