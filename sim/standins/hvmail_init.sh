# hvmail_init start|stop|restart|status: starts or stops GreenArrow's MTA
# (the qmail-send services) without touching the rest.
if ! sim_installed greenarrow-engine; then
	echo "hvmail_init: GreenArrow Engine is not installed" >&2
	exit 1
fi
case "${1:-}" in
start | restart)
	sim_service_set hvmail-mta up
	echo "GreenArrow MTA started."
	;;
stop)
	sim_service_set hvmail-mta down
	echo "GreenArrow MTA stopped."
	;;
status)
	case "$(sim_service_state hvmail-mta)" in
	up*) echo "GreenArrow MTA is running." ;;
	*)
		echo "GreenArrow MTA is stopped."
		exit 3
		;;
	esac
	;;
*)
	echo "usage: hvmail_init start|stop|restart|status" >&2
	exit 2
	;;
esac
