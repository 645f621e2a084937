# service NAME ACTION: the SysV service command. greenarrow gets the
# GreenArrow start/stop and a daemontools-style status list; postgresql
# drives the real cluster of a BlueMind root (bm-pgctl); any other service
# only keeps an up/down state.
name=${1:-}
action=${2:-}
if [ -z "$name" ]; then
	echo "Usage: service < option > | --status-all | [ service_name [ command | --full-restart ] ]" >&2
	exit 1
fi
if [ "$name" = postgresql ] && [ -x "$sim_state/bin/bm-pgctl" ]; then
	# A simulated BlueMind server's cluster is a real one.
	case "$action" in
	start | stop) "$sim_state/bin/bm-pgctl" "$action" || exit 1 ;;
	restart) "$sim_state/bin/bm-pgctl" stop && "$sim_state/bin/bm-pgctl" start || exit 1 ;;
	status)
		if "$sim_state/bin/bm-pgctl" status; then echo "postgresql is running"; else
			echo "postgresql is stopped"
			exit 3
		fi
		;;
	*)
		echo "Usage: service postgresql {start|stop|restart|status}" >&2
		exit 2
		;;
	esac
	exit 0
fi
if [ "$name" != greenarrow ]; then
	case "$action" in
	start | restart)
		sim_service_set "$name" up
		echo "Starting $name:  [  OK  ]"
		;;
	stop)
		sim_service_set "$name" down
		echo "Stopping $name:  [  OK  ]"
		;;
	status)
		case "$(sim_service_state "$name")" in
		up*) echo "$name is running" ;;
		*)
			echo "$name is stopped"
			exit 3
			;;
		esac
		;;
	*)
		echo "Usage: service $name {start|stop|restart|status}" >&2
		exit 2
		;;
	esac
	exit 0
fi

if ! sim_installed greenarrow-engine; then
	echo "greenarrow: unrecognized service" >&2
	exit 1
fi
conf=$FERRY_ROOT/var/hvmail/control/greenarrow.conf
case "$action" in
start | restart)
	if [ ! -f "$conf" ]; then
		echo "Starting GreenArrow: greenarrow.conf is missing from the control directory; not starting" >&2
		exit 1
	fi
	sim_service_set greenarrow up
	sim_service_set hvmail-mta up
	echo "Starting GreenArrow:  [  OK  ]"
	;;
stop)
	sim_service_set greenarrow down
	sim_service_set hvmail-mta down
	echo "Stopping GreenArrow:  [  OK  ]"
	;;
status)
	read -r ga ga_since <<STATE
$(sim_service_state greenarrow)
STATE
	read -r mta mta_since <<STATE
$(sim_service_state hvmail-mta)
STATE
	now=$(date +%s)
	[ "$ga_since" -gt 0 ] 2>/dev/null || ga_since=$now
	secs=$((now - ga_since))
	services="hvmail-apache hvmail-bounce-processor hvmail-logfile-processor hvmail-postgres hvmail-qmail-bounce-send hvmail-qmail-ram-send hvmail-qmail-send hvmail-qmail-smtpd hvmail-qmail-smtpd2 hvmail-qmail-smtpd3 hvmail-studio-worker"
	if grep -Eq '^[[:space:]]*dns_cache_service_run[[:space:]]+(yes|true)' "$conf" 2>/dev/null; then
		services="hvmail-dnscache $services"
	fi
	sim_sv=/service # not-a-path: the daemontools service directory named in the status lines
	pid=2100
	for s in $services; do
		pid=$((pid + 37))
		up=$ga
		case "$s" in
		hvmail-qmail-*send) [ "$mta" = up ] || up=down ;;
		hvmail-qmail-smtpd3) up=off ;;
		esac
		case "$up" in
		up) echo "$sim_sv/$s: up (pid $pid) $secs seconds" ;;
		*) echo "$sim_sv/$s: down $secs seconds, normally up" ;;
		esac
	done
	;;
*)
	echo "Usage: service greenarrow {start|stop|restart|status}" >&2
	exit 2
	;;
esac
