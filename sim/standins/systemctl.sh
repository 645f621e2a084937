# systemctl [OPTIONS] VERB UNIT...: start, stop, restart, status,
# is-active, enable, disable, is-enabled, daemon-reload. greenarrow.service
# is driven through the service stand-in, postgresql.service through
# bm-pgctl where the root has a real cluster (a BlueMind pair).
while [ $# -gt 0 ]; do
	case "$1" in
	-q | --quiet | --no-pager | --no-block | --now | -l | --full | --system) shift ;;
	-*)
		echo "systemctl: unrecognized option '$1'" >&2
		exit 1
		;;
	*) break ;;
	esac
done
verb=${1:-}
[ $# -gt 0 ] && shift
case "$verb" in
daemon-reload) exit 0 ;;
start | stop | restart | status | is-active | enable | disable | is-enabled) ;;
*)
	echo "systemctl: unknown command '$verb' (the simulator knows start, stop, restart, status, is-active, enable, disable, is-enabled, daemon-reload)" >&2
	exit 1
	;;
esac
if [ $# -eq 0 ]; then
	echo "systemctl: too few arguments" >&2
	exit 1
fi
rc=0
for unit in "$@"; do
	name=${unit%.service}
	if [ "$name" = greenarrow ] && ! sim_installed greenarrow-engine; then
		echo "Unit $name.service could not be found." >&2
		rc=5
		continue
	fi
	case "$verb" in
	start | stop | restart)
		if [ "$name" = greenarrow ]; then
			"$FERRY_ROOT/usr/sbin/service" greenarrow "$verb" >/dev/null || rc=$?
		elif [ "$name" = postgresql ] && [ -x "$sim_state/bin/bm-pgctl" ]; then
			# A simulated BlueMind server's cluster is a real one.
			if [ "$verb" != start ]; then "$sim_state/bin/bm-pgctl" stop || rc=$?; fi
			if [ "$verb" != stop ]; then "$sim_state/bin/bm-pgctl" start || rc=$?; fi
		elif [ "$verb" = stop ]; then
			sim_service_set "$name" down
		else
			sim_service_set "$name" up
		fi
		;;
	status | is-active)
		case "$(sim_service_state "$name")" in
		up*) state=active ;;
		*) state=inactive ;;
		esac
		if [ "$verb" = is-active ]; then
			echo "$state"
		elif [ "$state" = active ]; then
			printf '* %s.service\n   Active: active (running)\n' "$name"
		else
			printf '* %s.service\n   Active: inactive (dead)\n' "$name"
		fi
		[ "$state" = active ] || rc=3
		;;
	enable) echo on >"$sim_state/enabled/$name" ;;
	disable) echo off >"$sim_state/enabled/$name" ;;
	is-enabled)
		if [ "$(cat "$sim_state/enabled/$name" 2>/dev/null)" = on ]; then
			echo enabled
		else
			echo disabled
			rc=1
		fi
		;;
	esac
done
exit "$rc"
