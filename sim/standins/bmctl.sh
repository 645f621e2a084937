# bmctl start|stop|restart|status: BlueMind's control program. Stopping
# BlueMind stops its PostgreSQL too (the runbook starts it alone for the
# dump and the restore); starting BlueMind starts PostgreSQL first.
sim_installed bm-core || {
	echo "sh: bmctl: command not found" >&2
	exit 127
}
case "${1:-}" in
start | restart)
	if [ "$1" = restart ]; then sim_service_set bluemind down; fi
	"$sim_state/bin/bm-pgctl" start || exit 1
	sim_service_set bluemind up
	echo "BlueMind started"
	;;
stop)
	sim_service_set bluemind down
	"$sim_state/bin/bm-pgctl" stop || exit 1
	echo "BlueMind stopped"
	;;
status)
	case "$(sim_service_state bluemind)" in
	up*) echo "BlueMind is running" ;;
	*)
		echo "BlueMind is stopped"
		exit 3
		;;
	esac
	;;
*)
	echo "usage: bmctl start|stop|restart|status" >&2
	exit 2
	;;
esac
