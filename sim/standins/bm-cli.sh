# bm-cli tick reconfigure: rewrites the bm-tick monitoring settings for the
# server it runs on. Other bm-cli commands are not simulated.
sim_installed bm-core || {
	echo "sh: bm-cli: command not found" >&2
	exit 127
}
if [ "${1:-}" != tick ] || [ "${2:-}" != reconfigure ]; then
	echo "bm-cli: only 'tick reconfigure' is simulated" >&2
	exit 2
fi
host=$(cat "$FERRY_ROOT/etc/hostname")
mkdir -p "$FERRY_ROOT/etc/bm-tick" || exit 1
printf 'hostname = %s\nreconfigured = %s\n' "$host" "$(date +%s)" >"$FERRY_ROOT/etc/bm-tick/agent.conf" || exit 1
echo "bm-tick reconfigured for $host"
