# hvmail_check_config: a few checks of the installation, one line each,
# [PASS] or [FAIL]; exits 1 when any fails.
hv=$FERRY_ROOT/var/hvmail
conf=$hv/control/greenarrow.conf
resolv=$FERRY_ROOT/etc/resolv.conf
fails=0
pass() { echo "[PASS] $1"; }
fail() {
	echo "[FAIL] $1"
	fails=$((fails + 1))
}
if [ -s "$hv/control/license_key" ]; then
	pass "GreenArrow license key is present"
else
	fail "GreenArrow license key is missing"
fi
if [ -f "$conf" ]; then
	pass "greenarrow.conf is present"
else
	fail "greenarrow.conf is missing"
fi
nameservers=$(awk '$1 == "nameserver" { printf "%s ", $2 }' "$resolv" 2>/dev/null)
nameservers=${nameservers% }
if [ -z "$nameservers" ]; then
	fail "resolv.conf lists no nameserver: DNS lookups will fail"
else
	pass "resolv.conf lists nameservers: $nameservers"
fi
if grep -Eq '^[[:space:]]*dns_cache_service_run[[:space:]]+(yes|true)' "$conf" 2>/dev/null; then
	if [ "$nameservers" = 127.0.0.1 ]; then
		pass "the local DNS cache service is on and resolv.conf uses only it"
	else
		fail "the local DNS cache service is on but resolv.conf does not use only 127.0.0.1"
	fi
else
	case " $nameservers " in
	*" 127.0.0.1 "*) fail "resolv.conf uses 127.0.0.1 but the local DNS cache service is off" ;;
	*) pass "resolv.conf does not rely on the local DNS cache service" ;;
	esac
fi
if [ -s "$FERRY_ROOT/etc/hostname" ]; then
	pass "the host name is set"
else
	fail "the host name is not set"
fi
if [ -d "$hv/qmail-disk/queue/mess/0" ] && [ -d "$hv/qmail-disk/queue/info/0" ]; then
	pass "the disk queue is in place"
else
	fail "the disk queue is missing or incomplete"
fi
if [ -L "$hv/postgres/default" ]; then
	pass "the PostgreSQL data link is in place"
else
	fail "the PostgreSQL data link (postgres/default) is missing"
fi
if [ "$fails" -gt 0 ]; then
	echo "$fails checks failed."
	exit 1
fi
echo "All checks passed."
