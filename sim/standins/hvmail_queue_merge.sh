# hvmail_queue_merge OLDQUEUE QUEUE: merges the messages whose files
# (OLDQUEUE/mess/N/ID) are listed on standard input, one per line, into the
# qmail-style queue QUEUE. Each message gets a new id, the inode number of
# its new file, as qmail requires: the body is copied into QUEUE/pid, renamed
# to mess/<ino % split>/<ino>, then info, local, remote, bounce and todo/intd
# follow under the new id with their times kept, and the old files go.
#
# Killed at any point and run again on what remains, it merges no message
# twice and loses none: OLDQUEUE/merge.log records "OLD NEW start" before the
# new message file appears under mess and "OLD NEW done" once all its files
# are in place; a logged message is finished, not merged again.
if [ $# -ne 2 ]; then
	echo "usage: hvmail_queue_merge OLDQUEUE QUEUE < list of message files" >&2
	exit 2
fi
old=$(sim_path "$1") || exit 97
q=$(sim_path "$2") || exit 97
if [ ! -d "$old/mess" ]; then
	echo "hvmail_queue_merge: $1 has no mess directory: not a qmail-style queue" >&2
	exit 2
fi
for d in mess/0 info/0 local/0 remote/0 intd todo bounce pid; do
	if [ ! -d "$q/$d" ]; then
		echo "hvmail_queue_merge: $2 is not a qmail-style queue ($d is missing)" >&2
		exit 2
	fi
done
case "$(sim_service_state hvmail-mta)" in
up*)
	echo "hvmail_queue_merge: GreenArrow's MTA is running on this server; stop it before merging a queue" >&2
	exit 1
	;;
esac
# The split is the target's own: one more than its highest mess subdirectory.
split=0
for d in "$q/mess"/*; do
	n=${d##*/}
	case "$n" in
	"" | *[!0-9]*) continue ;;
	esac
	[ "$n" -lt "$split" ] || split=$((n + 1))
done
delay=${SIM_MERGE_DELAY:-$sim_merge_delay}
case "$delay" in
"" | *[!0-9.]*) delay=0 ;;
*[1-9]*) ;;
*) delay=0 ;;
esac
# For the tests that crash the merge mid-message: SIM_MERGE_PAUSE="K:POINT"
# stops the K-th message merged (1 = the first) at POINT, one of
#   tmp   its body copied to pid/, "start" logged, not yet under mess;
#   body  its body under mess, its envelope files not yet written;
#   done  "done" logged, the old files not yet removed;
# writes "PID OLDID NEWID POINT" to the file SIM_MERGE_PAUSE_FILE and waits
# there to be killed, or for that file to be removed (it then goes on: a
# merge held still while a test does something else).
pause_at=${SIM_MERGE_PAUSE:-}
pause_file=${SIM_MERGE_PAUSE_FILE:-}
count=0
pause() {
	[ -n "$pause_at" ] && [ -n "$pause_file" ] && [ "$pause_at" = "$count:$1" ] || return 0
	echo "$$ $o $n $1" >"$pause_file.tmp" && mv -f "$pause_file.tmp" "$pause_file"
	while [ -e "$pause_file" ]; do
		sleep 0.2
	done
}
log=$old/merge.log
: >>"$log" || exit 1
# Only a run that follows an interrupted one has log entries to look up.
resumed=no
[ ! -s "$log" ] || resumed=yes

# merge_one merges message $o (file $f, old split directory $od). The
# target is not live (its MTA is stopped), so the envelope files are
# written in place: after a crash they are simply written again.
merge_one() {
	n=
	state=
	if [ "$resumed" = yes ]; then
		last=$(grep "^$o " "$log" | tail -n 1)
		if [ -n "$last" ]; then
			rest=${last#* }
			n=${rest%% *}
			state=${rest#* }
		fi
	fi
	tmp=$q/pid/merge.$o
	if [ "$state" = start ]; then
		d=$((n % split))
		if [ -f "$tmp" ] && [ "$(stat -c %i "$tmp")" = "$n" ]; then
			mv -f "$tmp" "$q/mess/$d/$n" || return 1
		elif [ -f "$q/mess/$d/$n" ] && [ "$(stat -c %i "$q/mess/$d/$n")" = "$n" ]; then
			:
		else
			state=
		fi
	fi
	if [ -z "$state" ]; then
		if [ ! -f "$old/info/$od/$o" ] && [ ! -f "$old/todo/$o" ]; then
			echo "hvmail_queue_merge: message $o has neither info nor todo in $1 (qmail would discard it); left where it is" >&2
			return 1
		fi
		rm -f "$tmp"
		cp -p "$f" "$tmp" || return 1
		n=$(stat -c %i "$tmp") || return 1
		d=$((n % split))
		if [ -e "$q/mess/$d/$n" ]; then
			echo "hvmail_queue_merge: $2 already holds mess/$d/$n although that inode was just allocated: its file names do not match their inodes; message $o not merged" >&2
			rm -f "$tmp"
			return 1
		fi
		echo "$o $n start" >>"$log" || return 1
		pause tmp
		mv -f "$tmp" "$q/mess/$d/$n" || return 1
		pause body
		state=start
	fi
	if [ "$state" = start ]; then
		for k in info local remote; do
			if [ -f "$old/$k/$od/$o" ]; then
				cp -p "$old/$k/$od/$o" "$q/$k/$d/$n" || return 1
			fi
		done
		if [ -f "$old/bounce/$o" ]; then
			cp -p "$old/bounce/$o" "$q/bounce/$n" || return 1
		fi
		if [ -f "$old/todo/$o" ]; then
			# qmail-queue's order: intd first, then todo as a link to it.
			if [ ! -f "$q/todo/$n" ]; then
				cp -p "$old/todo/$o" "$q/intd/$n" || return 1
				ln "$q/intd/$n" "$q/todo/$n" || return 1
			fi
		fi
		echo "$o $n done" >>"$log" || return 1
		pause done
	fi
	# The message is complete under its new id: remove the old one, its
	# body last (rm goes in order), so that a message still listed under
	# mess is never lost.
	rm -f "$old/info/$od/$o" "$old/local/$od/$o" "$old/remote/$od/$o" "$old/bounce/$o" "$old/todo/$o" "$old/intd/$o" "$f"
}

merged=0
skipped=0
failed=0
while IFS= read -r line || [ -n "$line" ]; do
	[ -n "$line" ] || continue
	case "$line" in
	"$FERRY_ROOT"/*) f=$line ;;
	/*) f=$FERRY_ROOT$line ;;
	*) f=$(sim_path "$line") || {
		failed=$((failed + 1))
		continue
	} ;;
	esac
	case "/$f/" in
	*/../*)
		echo "hvmail_queue_merge: skipping $line: it climbs out with .." >&2
		failed=$((failed + 1))
		continue
		;;
	esac
	o=${f##*/}
	od=${f%/*}
	od=${od##*/}
	case "$o:$od" in
	*[!0-9:]* | :* | *:)
		echo "hvmail_queue_merge: skipping $line: not a message file (mess/N/ID)" >&2
		skipped=$((skipped + 1))
		continue
		;;
	esac
	if [ "$f" != "$old/mess/$od/$o" ]; then
		echo "hvmail_queue_merge: skipping $line: not a message file of $1" >&2
		skipped=$((skipped + 1))
		continue
	fi
	if [ ! -f "$f" ]; then
		echo "hvmail_queue_merge: skipping $line: it is gone already" >&2
		skipped=$((skipped + 1))
		continue
	fi
	count=$((count + 1))
	if merge_one "$@"; then
		merged=$((merged + 1))
	else
		failed=$((failed + 1))
	fi
	[ "$delay" = 0 ] || sleep "$delay"
done
echo "hvmail_queue_merge: $merged messages merged, $skipped skipped, $failed failed."
[ "$failed" -eq 0 ]
