# update-rc.d [-f] NAME defaults|enable|disable|remove (Debian family only).
sim_family_only debian
[ "${1:-}" = -f ] && shift
name=${1:-}
action=${2:-}
if [ -z "$name" ] || [ -z "$action" ]; then
	echo "usage: update-rc.d [-f] <basename> defaults|remove|enable|disable" >&2
	exit 1
fi
if [ "$name" = greenarrow ] && ! sim_installed greenarrow-engine; then
	echo "update-rc.d: error: unable to read the init script of $name" >&2
	exit 1
fi
case "$action" in
defaults | enable) echo on >"$sim_state/enabled/$name" ;;
disable) echo off >"$sim_state/enabled/$name" ;;
remove) rm -f "$sim_state/enabled/$name" ;;
*)
	echo "update-rc.d: error: unknown action $action" >&2
	exit 1
	;;
esac
