# hvmail_server_migration [--no-exit-on-error]: run on the new server, pulls
# /var/hvmail from the server that the hosts file calls oldserver, with rsync
# over ssh (port from root's ssh config), all but the disk queue; the disk
# queue is parked in qmail-disk/queue/old for hvmail_queue_merge. The last
# line reads "No errors were detected." only when everything worked.
# At the root of a test host (FERRY_ROOT empty) it runs the system ssh as
# "ssh oldserver", which reads root's own ~/.ssh/config, as the vendor's
# script does; under a simulated root it uses the simulator's ssh settings.
keep_going=no
for a in "$@"; do
	case "$a" in
	--no-exit-on-error) keep_going=yes ;;
	*)
		echo "usage: hvmail_server_migration [--no-exit-on-error]" >&2
		exit 2
		;;
	esac
done
errors=0
problem() {
	echo "ERROR: $1"
	errors=$((errors + 1))
	if [ "$keep_going" = no ]; then
		echo "Stopped at the first error; correct it and run this script again."
		exit 1
	fi
}
fatal() {
	echo "ERROR: $1"
	echo "Errors were detected; the migration cannot go on."
	exit 1
}
hv=$FERRY_ROOT/var/hvmail
if ! sim_installed greenarrow-engine || [ ! -d "$hv" ]; then
	fatal "GreenArrow Engine is not installed on this server; install its packages first"
fi
ip=$(awk '{ sub(/#.*/, "") } { for (i = 2; i <= NF; i++) if ($i == "oldserver") { print $1; exit } }' "$FERRY_ROOT/etc/hosts" 2>/dev/null)
if [ -z "$ip" ]; then
	fatal "cannot resolve oldserver: the hosts file has no entry for it"
fi
port=$(awk '
	{ sub(/#.*/, ""); sub(/=/, " "); key = tolower($1) }
	key == "host" { inblock = 0; for (i = 2; i <= NF; i++) if ($i == "oldserver" || $i == "*") inblock = 1; next }
	key == "match" { inblock = 0; next }
	inblock && key == "port" && !found { print $2; found = 1 }
' "$FERRY_ROOT/root/.ssh/config" 2>/dev/null)
port=${port:-22}
case "$port" in
*[!0-9]*) fatal "the ssh port for oldserver ($port) is not a number" ;;
esac
echo "Old server: oldserver, address $ip, ssh port $port."
if [ -n "$FERRY_ROOT" ]; then
	if ! out=$(ssh -F "$sim_state/ssh_config" -p "$port" "root@$ip" true 2>&1); then
		fatal "cannot log in to oldserver over ssh: $out"
	fi
	rsh="ssh -F '$sim_state/ssh_config' -p $port"
	src=root@$ip:$sim_old_root/var/hvmail
else
	# A test host: the old server's root is the real root too.
	if ! out=$(ssh oldserver true 2>&1); then
		fatal "cannot log in to oldserver over ssh: $out"
	fi
	rsh=ssh
	src=oldserver:$FERRY_ROOT/var/hvmail
fi

echo "Copying /var/hvmail from oldserver (all but the disk queue) ..." # not-a-path
rsync -aH --delete --exclude=/qmail-disk/queue/ -e "$rsh" "$src/" "$hv/"
rc=$?
case "$rc" in
0) ;;
24) echo "Some files vanished while they were copied (normal while GreenArrow runs on oldserver)." ;;
*) problem "rsync of the hvmail directory stopped with exit code $rc" ;;
esac

q=$hv/qmail-disk/queue
if [ -f "$q/old/merge.log" ]; then
	problem "a queue merge has already started from qmail-disk/queue/old: not copying the old disk queue again"
else
	echo "Copying the disk queue from oldserver to qmail-disk/queue/old ..."
	mkdir -p "$q/old"
	rsync -aH --delete -e "$rsh" "$src/qmail-disk/queue/" "$q/old/"
	rc=$?
	case "$rc" in
	0) ;;
	24) echo "Some queue files vanished while they were copied (normal while GreenArrow runs on oldserver)." ;;
	*) problem "rsync of the disk queue stopped with exit code $rc" ;;
	esac
fi
if [ "$errors" -gt 0 ]; then
	echo "$errors errors were detected; review the messages above, correct them and run this script again."
	exit 1
fi
echo "No errors were detected."
