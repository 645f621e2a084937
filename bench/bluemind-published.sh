#!/bin/bash
# The published BlueMind procedure's commands (seeds/bluemind-changing-
# distributions.txt), run one after another as a person would paste them,
# against ferry's simulated BlueMind pair. Only places change, never the
# commands: every server path is prefixed with its simulated root, the old
# server is the simulator's SSH server, and its PostgreSQL port and the
# new cluster's socket are the simulator's. Used by bench/bluemindcold.
#
#   bluemind-published.sh hot|cold
#
# Environment (set by bench/bluemindcold): OLD and NEW (the roots),
# SSH_PORT, SSH_KEY, KNOWN_HOSTS, OLD_PG_PORT, NEW_PG_PORT, PG_PASSWORD,
# and FERRY_ROOT/PATH of the new root, so that bmctl and systemctl are the
# new server's stand-ins. Each numbered step prints "step N SECONDS" on
# stderr when it ends.
set -u
RSH="ssh -F none -p $SSH_PORT -i $SSH_KEY -o UserKnownHostsFile=$KNOWN_HOSTS -o StrictHostKeyChecking=yes -o BatchMode=yes"
ORIG=root@127.0.0.1
ssh_old() { $RSH "$ORIG" "$@"; }
t0=$(date +%s.%N)
mark() {
	local now
	now=$(date +%s.%N)
	echo "step $1 $(echo "$now - $t0" | bc)" >&2
	t0=$now
}
spools="bm-hsm bm-elasticsearch bm-docs bm-filehosting"

case "$1" in
hot)
	for d in $spools; do
		rsync -avH --delete -e "$RSH" "$ORIG:$OLD/var/spool/$d/" "$NEW/var/spool/$d/" >/dev/null
	done
	mark hot
	;;
cold)
	# 1. Stop services on original and target servers.
	bmctl stop >/dev/null
	systemctl stop postfix.service
	ssh_old "bmctl stop; systemctl stop postfix.service" >/dev/null
	mark 1
	# 2. A new data synchronization.
	for d in cyrus $spools; do
		rsync -avH --delete -e "$RSH" "$ORIG:$OLD/var/spool/$d/" "$NEW/var/spool/$d/" >/dev/null
	done
	mark 2
	# 3. Restart the PostgreSQL of the original server.
	ssh_old "systemctl start postgresql.service"
	mark 3
	# 4. Database dumps.
	ssh_old "PGPASSWORD=$PG_PASSWORD pg_dump --format=c --username=bj --host localhost --port $OLD_PG_PORT bj" >"$NEW/tmp/dump-bj.sql"
	ssh_old "PGPASSWORD=$PG_PASSWORD pg_dump --format=c --username=bj --host localhost --port $OLD_PG_PORT bj-data" >"$NEW/tmp/dump-bj-data.sql"
	mark 4
	# 5. The configuration files, one transfer each.
	r() { rsync -av -e "$RSH" "$@" >/dev/null; }
	r -r "$ORIG:$OLD/etc/bm/*" "$NEW/etc/bm"
	r "$ORIG:$OLD/etc/nginx/sw.htpasswd" "$NEW/etc/nginx/sw.htpasswd"
	r "$ORIG:$OLD/etc/ssl/certs/bm_cert*.pem" "$NEW/etc/ssl/certs"
	r -r "$ORIG:$OLD/var/lib/bm-ca/*" "$NEW/var/lib/bm-ca"
	r "$ORIG:$OLD/usr/share/bm-elasticsearch/config/elasticsearch.yml" "$NEW/usr/share/bm-elasticsearch/config/elasticsearch.yml"
	for f in main.cf master.cf master_relay_transport-flat master_relay_transport.db transport-flat transport.db \
		virtual_alias-flat virtual_alias.db virtual_domains-flat virtual_domains.db virtual_mailbox-flat virtual_mailbox.db; do
		r "$ORIG:$OLD/etc/postfix/$f" "$NEW/etc/postfix/$f"
	done
	mark 5
	# 6. Restart PostgreSQL on the target.
	systemctl start postgresql.service
	mark 6
	# 7. Re-mount the databases, as postgres (pg_restore -C ends with
	# exit 1 here, the database existing already, as the procedure has it).
	chmod 644 "$NEW/tmp/dump-bj.sql" "$NEW/tmp/dump-bj-data.sql"
	runuser -u postgres -- env PGHOST="$NEW/var/run/postgresql" PGPORT="$NEW_PG_PORT" NEW="$NEW" sh -c '
		cd /
		dropdb bj
		dropdb bj-data
		createdb bj
		createdb bj-data
		nb_cpu=$(cat /proc/cpuinfo | grep "processor" | wc -l)
		pg_restore -C --jobs=${nb_cpu} -d bj "$NEW/tmp/dump-bj.sql" 2>/dev/null
		pg_restore -C --jobs=${nb_cpu} -d bj "$NEW/tmp/dump-bj-data.sql" 2>/dev/null
		exit 0'
	mark 7
	;;
esac
