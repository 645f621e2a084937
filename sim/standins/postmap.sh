# postmap TYPE:FILE | postmap -q KEY TYPE:FILE: Postfix's table tool. A
# simulated table (FILE.db for hash and btree, FILE.lmdb, FILE.cdb) is a
# text file whose first line names its type and its file format; this
# Postfix supports the types in sim_postfix_types and reads and writes the
# TYPE:FORMAT pairs in sim_postfix_formats (the first one of a type is what
# it writes). Anything else fails as a real postmap fails on a table it
# cannot open. Keys are folded to lower case, as postmap does by default.
sim_q=
sim_key=
while [ $# -gt 0 ]; do
	case "$1" in
	-q)
		sim_q=1
		sim_key=${2:-}
		shift 2 || exit 1
		;;
	-*)
		echo "postmap: option $1 is not simulated" >&2
		exit 1
		;;
	*) break ;;
	esac
done
if [ $# -ne 1 ]; then
	echo "postmap: fatal: usage: postmap [-q key] type:file" >&2
	exit 1
fi
sim_typ=${1%%:*}
sim_file=${1#*:}
if [ "$sim_typ" = "$1" ]; then
	sim_typ=hash
fi
case " $sim_postfix_types " in
*" $sim_typ "*) ;;
*)
	echo "postmap: fatal: unsupported dictionary type: $sim_typ" >&2
	exit 1
	;;
esac
case "$sim_typ" in
hash | btree) sim_suf=.db ;;
lmdb) sim_suf=.lmdb ;;
cdb) sim_suf=.cdb ;;
*)
	echo "postmap: fatal: the simulator keeps hash, btree, lmdb and cdb tables only, not $sim_typ" >&2
	exit 1
	;;
esac
sim_table=$(sim_path "$sim_file$sim_suf") || exit 1
if [ -n "$sim_q" ]; then
	if [ ! -f "$sim_table" ]; then
		echo "postmap: fatal: open database $sim_file$sim_suf: No such file or directory" >&2
		exit 1
	fi
	read -r sim_magic sim_ttype sim_fmt <"$sim_table"
	case " $sim_postfix_formats " in
	*" $sim_typ:$sim_fmt "*) ;;
	*) sim_magic=bad ;;
	esac
	if [ "$sim_magic" != "#ferry-sim-postfix-table" ] || [ "$sim_ttype" != "$sim_typ" ]; then
		echo "postmap: fatal: open database $sim_file$sim_suf: Invalid argument" >&2
		exit 1
	fi
	sim_key=$(printf '%s' "$sim_key" | tr 'A-Z' 'a-z')
	awk -v k="$sim_key" 'NR > 1 && $1 == k { sub(/^[^ \t]+[ \t]+/, ""); print; found = 1; exit } END { exit !found }' "$sim_table"
	exit $?
fi
sim_src=$(sim_path "$sim_file") || exit 1
if [ ! -f "$sim_src" ]; then
	echo "postmap: fatal: open $sim_file: No such file or directory" >&2
	exit 1
fi
sim_fmt=
for sim_f in $sim_postfix_formats; do
	if [ "${sim_f%%:*}" = "$sim_typ" ]; then
		sim_fmt=${sim_f#*:}
		break
	fi
done
{
	echo "#ferry-sim-postfix-table $sim_typ $sim_fmt"
	awk '
		/^[ \t]*#/ || /^[ \t]*$/ { next }
		/^[ \t]/ { if (cur != "") { sub(/^[ \t]+/, ""); cur = cur " " $0 }; next }
		{ if (cur != "") print cur; k = tolower($1); sub(/^[^ \t]+[ \t]+/, ""); cur = k " " $0 }
		END { if (cur != "") print cur }
	' "$sim_src"
} >"$sim_table.tmp" && mv -f "$sim_table.tmp" "$sim_table"
