# mailsubj SUBJECT ADDRESS: mails standard input to ADDRESS. The simulated
# message lands in the root's outbox instead of a queue.
if [ $# -ne 2 ]; then
	echo "usage: mailsubj SUBJECT ADDRESS < body" >&2
	exit 100
fi
case "$2" in
?*@?*.?*) ;;
*)
	echo "mailsubj: $2 is not an e-mail address" >&2
	exit 100
	;;
esac
out=$sim_state/outbox/$(date +%s).$$
{
	printf 'To: %s\nSubject: %s\nDate: %s\n\n' "$2" "$1" "$(date -R)"
	cat
} >"$out.tmp" && mv -f "$out.tmp" "$out"
