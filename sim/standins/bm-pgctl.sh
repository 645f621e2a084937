# bm-pgctl ACTION: drives the simulated server's own PostgreSQL cluster, a
# real one whose data, socket and log directories lie under the root, with
# the installation's pg_ctl as the cluster's OS user. Not a vendor program:
# the systemctl and bmctl stand-ins call it for postgresql, and the
# simulator for its own start and end.
#   start   start the cluster (if it is not running) and mark the service up
#   stop    stop it (if it runs) and mark the service down
#   halt    stop it, leaving the service state as it is (the demo ends)
#   resume  start it if the service state is up (the demo begins again)
#   status  exit 0 if it runs, 3 if not
sim_pg_dir=$FERRY_ROOT$sim_pg_data
sim_pg_sock=$FERRY_ROOT/var/run/postgresql
sim_pg_log=$FERRY_ROOT/var/log/postgresql/postgresql-main.log
cd "$FERRY_ROOT/" || exit 1
sim_pg_ctl() {
	if [ "$(id -u)" = 0 ] && [ "$sim_pg_user" != root ]; then
		runuser -u "$sim_pg_user" -- "$sim_pg_bindir/pg_ctl" -D "$sim_pg_dir" "$@"
	else
		"$sim_pg_bindir/pg_ctl" -D "$sim_pg_dir" "$@"
	fi
}
sim_pg_running() { sim_pg_ctl status >/dev/null 2>&1; }
sim_pg_start() {
	sim_pg_running && return 0
	if ! sim_pg_ctl -l "$sim_pg_log" -w -t 60 -o "-p $sim_pg_port -k $sim_pg_sock -c listen_addresses='$sim_pg_listen' -c fsync=off -c full_page_writes=off" start >/dev/null; then
		echo "bm-pgctl: PostgreSQL did not start; the end of its log:" >&2
		tail -n 5 "$sim_pg_log" >&2
		return 1
	fi
}
sim_pg_stop() {
	sim_pg_running || return 0
	sim_pg_ctl -m fast -w -t 60 stop >/dev/null
}
case "${1:-}" in
start) sim_pg_start && sim_service_set postgresql up ;;
stop) sim_pg_stop && sim_service_set postgresql down ;;
halt) sim_pg_stop ;;
resume)
	case "$(sim_service_state postgresql)" in
	up*) sim_pg_start ;;
	esac
	;;
status) sim_pg_running || exit 3 ;;
*)
	echo "usage: bm-pgctl start|stop|halt|resume|status" >&2
	exit 2
	;;
esac
