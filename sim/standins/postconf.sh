# postconf -m | -n | -h NAME...: Postfix's configuration tool, as far as
# the table proof uses it. -m lists the table types this Postfix supports
# (sim_postfix_types); -n prints main.cf's settings as "name = value", one
# per line (continuation lines joined); -h prints the values of the named
# settings.
sim_main_cf=$FERRY_ROOT/etc/postfix/main.cf
sim_settings() {
	awk '
		/^[ \t]*#/ || /^[ \t]*$/ { next }
		/^[ \t]/ { if (cur != "") { sub(/^[ \t]+/, ""); cur = cur " " $0 }; next }
		{ if (cur != "") print cur; cur = $0 }
		END { if (cur != "") print cur }
	' "$sim_main_cf" | sed 's/[ \t]*=[ \t]*/ = /'
}
case "${1:-}" in
-m)
	for t in $sim_postfix_types; do echo "$t"; done
	;;
-n)
	[ -f "$sim_main_cf" ] || {
		echo "postconf: fatal: open main.cf: No such file or directory" >&2
		exit 1
	}
	sim_settings
	;;
-h)
	shift
	for n in "$@"; do
		sim_settings | awk -v n="$n" 'index($0, n " = ") == 1 { print substr($0, length(n) + 4) }'
	done
	;;
*)
	echo "postconf: only -m, -n and -h are simulated" >&2
	exit 1
	;;
esac
