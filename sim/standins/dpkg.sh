# dpkg -l [NAME...], dpkg -s NAME... (Debian family only): the queries,
# answered by the dpkg-query stand-in.
sim_family_only debian
case "${1:-}" in
-l | --list | -s | --status) exec "$FERRY_ROOT/usr/bin/dpkg-query" "$@" ;;
*)
	echo "dpkg: error: only -l and -s are simulated" >&2
	exit 2
	;;
esac
