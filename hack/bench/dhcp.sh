#!/usr/bin/env bash
# Side-by-side DHCPv4 benchmark: full DORA exchanges per second for 10,000
# known MACs, metalgit boot vs Kea (kea-dhcp4, memfile) vs dnsmasq, in one run.
#
# Usage: hack/bench/dhcp.sh            (as root: it makes two network namespaces)
#
# Environment:
#   RATES            ramp of DORA/s to try, in order (default below)
#   STEP_SECONDS     seconds per ramp step (5)
#   LATENCY_RATE     rate of the latency run (1000)
#   LATENCY_SECONDS  seconds of the latency run (10)
#   SERVERS          which servers, in order (metalgit kea dnsmasq)
#   METALGIT         a metalgit binary to use instead of building ./cmd/metalgit
#   STRICT=1         any perfdhcp drop fails a step (see server-clean below)
#   KEEP=1           keep the work directory (configs, perfdhcp outputs)
#   PIN=0            do not pin CPUs. By default, with 2 or more CPUs, the
#                    server under test runs on CPU 0 and perfdhcp on CPU 1
#                    (taskset), so the load generator does not take the
#                    server's CPU and every server gets the same one core.
#
# Topology: perfdhcp cannot share loopback with dnsmasq (dnsmasq sends a
# relayed reply to giaddr on the *server* port, which it holds itself), so
# every server runs in a namespace "server" (srv0 10.42.255.254/16) and
# perfdhcp in a namespace "client" (cli0 10.42.255.253/16) joined by a veth
# pair. perfdhcp acts as a relay (giaddr 10.42.255.253, port 67), which puts
# each request in the 10.42.0.0/16 network of the reservations without any
# relay-specific configuration; every server uses the standard ports 67/68,
# so one perfdhcp command line serves all three. Nothing else sees traffic.
#
# Measures, per server, on a ramp of rates (perfdhcp -r RATE -p STEP_SECONDS;
# a step with drops is tried twice, the better try stands):
#   zero-drop     the highest rate up to which perfdhcp saw no drop at all;
#   server-clean  the highest rate at which the server answered every request
#                 it was sent. perfdhcp's drops (DISCOVER-OFFER + REQUEST-ACK)
#                 are split with the namespaces' UDP counters into requests
#                 the server never answered (its socket overflowed, or it read
#                 and dropped them), replies that overflowed perfdhcp's own
#                 socket (perfdhcp shares the CPUs with the server) and late
#                 replies (> 1 s); only the first kind fails a server-clean
#                 step, unless STRICT=1;
#   max done/s    the most ACKs per second completed at a server-clean step.
# The ramp stops at the first step that is not server-clean, or when perfdhcp
# cannot send the rate or completes < 80% of it. Then, at LATENCY_RATE:
# avg/max delay as perfdhcp prints them, and the p99 computed from perfdhcp's
# per-exchange timestamps (-x t) over all replies (OFFERs and ACKs); for
# metalgit also the bucket p99 of its own metalgit_dhcp_reply_duration_seconds.
set -euo pipefail
cd "$(dirname "$0")/../.."

RATES=${RATES:-"250 500 1000 2000 4000 6000 8000 10000 12000 15000 20000"}
STEP_SECONDS=${STEP_SECONDS:-5}
LATENCY_RATE=${LATENCY_RATE:-1000}
LATENCY_SECONDS=${LATENCY_SECONDS:-10}
SERVERS=${SERVERS:-"metalgit kea dnsmasq"}
HOSTS=10000
SRV_IP=10.42.255.254
CLI_IP=10.42.255.253

if [ "$(id -u)" -ne 0 ]; then
	echo "dhcp.sh: needs root (network namespaces, port 67)" >&2
	exit 1
fi
CI_EXTRA_DEB_PACKAGES="kea-admin kea-dhcp4-server dnsmasq-base" hack/ci-deps.sh >&2
for c in perfdhcp kea-dhcp4 dnsmasq ip go awk python3; do
	command -v "$c" >/dev/null || { echo "dhcp.sh: $c not found" >&2; exit 1; }
done

work=$(mktemp -d /tmp/metalgit-dhcp-bench.XXXXXX)
chmod 755 "$work" # dnsmasq reads its hosts file as nobody
ns_srv=mgbench-srv-$$
ns_cli=mgbench-cli-$$
server_pid=

stop_server() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
		server_pid=
	fi
}
cleanup() {
	stop_server
	ip netns del "$ns_srv" 2>/dev/null || true
	ip netns del "$ns_cli" 2>/dev/null || true
	if [ "${KEEP:-}" = 1 ]; then
		echo "dhcp.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "dhcp.sh: $*" >&2; }

pin_server=() pin_client=()
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	pin_server=(taskset -c 0) pin_client=(taskset -c 1)
fi

# --- namespaces -----------------------------------------------------------
ip netns add "$ns_srv"
ip netns add "$ns_cli"
ip link add srv0 netns "$ns_srv" type veth peer name cli0 netns "$ns_cli"
ip -n "$ns_srv" link set lo up
ip -n "$ns_cli" link set lo up
ip -n "$ns_srv" addr add "$SRV_IP/16" dev srv0
ip -n "$ns_cli" addr add "$CLI_IP/16" dev cli0
ip -n "$ns_srv" link set srv0 up
ip -n "$ns_cli" link set cli0 up

# --- one MAC list, three host tables ---------------------------------------
# MAC 02:42:00:00:HH:LL -> 10.42.0.10 + i (10.42.0.10 … 10.42.39.25).
awk -v n="$HOSTS" 'BEGIN { for (i = 0; i < n; i++) { a = i + 10
	printf "02:42:00:00:%02x:%02x 10.42.%d.%d\n", int(i / 256), i % 256, int(a / 256), a % 256 } }' >"$work/pairs.txt"
awk '{ print $1 }' "$work/pairs.txt" >"$work/macs.txt"
awk 'BEGIN { print "hosts:" } { printf "  - mac: \"%s\"\n    address: %s/16\n", $1, $2 }' "$work/pairs.txt" >"$work/hosts.yaml"
awk '{ printf "%s,%s\n", $1, $2 }' "$work/pairs.txt" >"$work/dnsmasq.hosts"
python3 - "$work/pairs.txt" "$work/kea.json" <<'EOF'
import json, sys
res = [{"hw-address": m, "ip-address": ip} for m, ip in (l.split() for l in open(sys.argv[1]))]
cfg = {"Dhcp4": {
    "interfaces-config": {"interfaces": ["srv0/10.42.255.254"], "dhcp-socket-type": "udp"},
    "lease-database": {"type": "memfile", "persist": False, "lfc-interval": 0},
    "host-reservation-identifiers": ["hw-address"],
    "valid-lifetime": 3600,
    # Kea's fastest setup for memfile: multi-threaded packet processing.
    "multi-threading": {"enable-multi-threading": True, "thread-pool-size": 2, "packet-queue-size": 256},
    "subnet4": [{"id": 1, "subnet": "10.42.0.0/16",
                 "pools": [{"pool": "10.42.0.10 - 10.42.255.250"}],
                 "reservations": res}],
    "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "stdout"}]}],
}}
json.dump(cfg, open(sys.argv[2], "w"), indent=1)
EOF

metalgit=${METALGIT:-}
if [ -z "$metalgit" ]; then
	log "building metalgit"
	go build -o "$work/metalgit" ./cmd/metalgit
	metalgit=$work/metalgit
fi

# --- servers ---------------------------------------------------------------
# start_server runs cmd_NAME in the server namespace; `ip netns exec`
# execs it, so $! is the server's own PID. (The cmd_* arrays are used
# through start_server's nameref.) metalgit's --listen is on the server
# namespace's own loopback: the bench reads
# metalgit_dhcp_reply_duration_seconds there.
# shellcheck disable=SC2034
cmd_metalgit=("$metalgit" boot --hosts "$work/hosts.yaml" --dhcp-listen "$SRV_IP:67" --server-ip "$SRV_IP" --listen 127.0.0.1:9091)
# shellcheck disable=SC2034
cmd_kea=(kea-dhcp4 -c "$work/kea.json")
# shellcheck disable=SC2034,SC2054 # the commas are dnsmasq's
cmd_dnsmasq=(dnsmasq --keep-in-foreground --conf-file=/dev/null --pid-file= --port=0 --listen-address="$SRV_IP"
	--bind-interfaces --leasefile-ro --quiet-dhcp --dhcp-hostsfile="$work/dnsmasq.hosts" --dhcp-ignore='tag:!known'
	--dhcp-range=10.42.0.0,static,255.255.0.0 --log-facility=-)

start_server() {
	local name=$1
	local -n cmd="cmd_$name"
	log "starting $name: ${cmd[*]}"
	(
		cd "$work"
		export KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work
		exec ip netns exec "$ns_srv" "${pin_server[@]}" "${cmd[@]}" >"$work/$name.log" 2>&1
	) &
	server_pid=$!
	# Ready when one exchange completes (perfdhcp without -r would wait
	# forever for a lost reply, so always bound it).
	for _ in $(seq 50); do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			log "$name exited:"; cat "$work/$name.log" >&2; return 1
		fi
		if timeout 5 ip netns exec "$ns_cli" perfdhcp -4 -l "$CLI_IP" -M "$work/macs.txt" -r 20 -p 1 "$SRV_IP" \
			>"$work/ping.out" 2>&1 && grep -q '^received packets: [1-9]' "$work/ping.out"; then
			return 0
		fi
		sleep 0.2
	done
	log "$name does not answer:"; cat "$work/$name.log" "$work/ping.out" >&2
	return 1
}

# perfdhcp RATE SECONDS OUT [extra flags…]. -W: after the period,
# perfdhcp waits 0.5 s for the replies still in flight instead of counting
# them as drops (a reply later than -d, 1 s, is still a drop).
load() {
	local rate=$1 secs=$2 out=$3
	shift 3
	timeout $((secs + 30)) ip netns exec "$ns_cli" "${pin_client[@]}" perfdhcp -4 -l "$CLI_IP" -M "$work/macs.txt" \
		-r "$rate" -R "$HOSTS" -p "$secs" -W 500000 "$@" "$SRV_IP" >"$out" 2>&1 || true
}

# stat OUT EXCHANGE FIELD: "drops" etc. of DISCOVER-OFFER or REQUEST-ACK.
stat() {
	awk -v x="$2" -v f="$3" '/^\*\*\*Statistics for: / { s = (index($0, x "***") > 0) }
		s && index($0, f ": ") == 1 { sub(/^[^:]*: /, ""); sub(/ ms$/, ""); print; exit }' "$1"
}

# udp NS: "InDatagrams RcvbufErrors OutDatagrams" of a namespace's UDP.
udp() {
	# shellcheck disable=SC2016 # an awk program, not shell
	ip netns exec "$1" awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1; next }
		print $c["InDatagrams"], $c["RcvbufErrors"], $c["OutDatagrams"]; exit }' /proc/net/snmp
}

# lost BEFORE AFTER: requests the server never answered between two udp
# readings of its namespace (overflowed its socket, or read and dropped).
lost() {
	local -a b a
	read -r -a b <<<"$1"
	read -r -a a <<<"$2"
	echo $(((a[1] - b[1]) + (a[0] - b[0]) - (a[2] - b[2])))
}

# overflow BEFORE AFTER: replies that overflowed perfdhcp's socket.
overflow() {
	local -a b a
	read -r -a b <<<"$1"
	read -r -a a <<<"$2"
	echo $((a[1] - b[1]))
}

# drops OUT: drops over both halves (-1 when perfdhcp printed no stats).
drops() {
	local a b
	a=$(stat "$1" DISCOVER-OFFER drops)
	b=$(stat "$1" REQUEST-ACK drops)
	if [ -z "$a" ] || [ -z "$b" ]; then echo -1; else echo $((a + b)); fi
}

# p99 OUT: 99th percentile of reply delay (ms) over all OFFERs and ACKs.
p99() {
	awk '/^sent \/ received: / { printf "%.3f\n", ($6 - $4) * 1000 }' "$1" | sort -n |
		awk '{ d[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * 0.99 + 0.999999); if (i > NR) i = NR; print d[i] }'
}

# histogram: metalgit's reply-duration buckets, "LE COUNT" per line.
histogram() {
	ip netns exec "$ns_srv" curl -fsS http://127.0.0.1:9091/metrics |
		awk -F'[{}" ]+' '/^metalgit_dhcp_reply_duration_seconds_bucket/ { print $3, $NF }'
}

# bucket_p99 BEFORE AFTER: upper bound (ms) of the bucket holding the 99th
# percentile of the replies between two histogram readings.
bucket_p99() {
	awk 'NR == FNR { b[$1] = $2; next } { le[++n] = $1; c[n] = $2 - b[$1] }
		END { for (i = 1; i <= n; i++) if (c[i] >= 0.99 * c[n]) { print (le[i] == "+Inf" ? "inf" : le[i] * 1000); exit } }' "$1" "$2"
}

srv_p99=n/a
declare -A strict best achieved drops_at next_drops lat_avg lat_max lat_p99 lat_drops
for name in $SERVERS; do
	start_server "$name"
	strict[$name]=0 best[$name]=0 achieved[$name]=0 drops_at[$name]=- next_drops[$name]="none" clean=1
	for rate in $RATES; do
		# A step with drops is tried once more: other load on the machine
		# causes stray losses.
		for try in 1 2; do
			out="$work/$name-ramp-$rate-$try.out"
			srv0=$(udp "$ns_srv") cli0=$(udp "$ns_cli")
			load "$rate" "$STEP_SECONDS" "$out"
			sleep 1 # a backlog still being answered is not a loss
			srv1=$(udp "$ns_srv") cli1=$(udp "$ns_cli")
			d=$(drops "$out")
			l=$(lost "$srv0" "$srv1")
			o=$(overflow "$cli0" "$cli1")
			sent=$(stat "$out" DISCOVER-OFFER 'sent packets')
			got=$(stat "$out" REQUEST-ACK 'received packets')
			got=$((${got:-0} / STEP_SECONDS))
			log "$name @ $rate/s (try $try): ${sent:-?} DISCOVERs sent, $got DORA/s completed;" \
				"perfdhcp drops $d = server unanswered $l + perfdhcp socket overflows $o + late replies"
			# The better try stands.
			if [ "$try" = 1 ] || [ "$d" -lt "$best_d" ]; then best_d=$d best_l=$l best_o=$o best_got=$got; fi
			[ "$d" -ne 0 ] || break
		done
		d=$best_d l=$best_l o=$best_o got=$best_got
		# Zero-drop: perfdhcp saw no drop. Server-clean (unless STRICT=1):
		# the server answered every request it was sent; the drops are then
		# perfdhcp's own (it shares the CPUs) or late replies.
		if [ "$d" -eq 0 ] && [ "$clean" = 1 ]; then strict[$name]=$rate; else clean=0; fi
		if [ "$d" -ne 0 ] && { [ "${STRICT:-}" = 1 ] || [ "$l" -ne 0 ] || [ "$d" -gt "$o" ]; }; then
			next_drops[$name]="$d ($l by server) @ $rate/s"
			break
		fi
		best[$name]=$rate drops_at[$name]="$d ($l by server)"
		[ "$got" -le "${achieved[$name]}" ] || achieved[$name]=$got
		# perfdhcp itself (same CPUs) is the limit when it cannot send at
		# the asked rate, or completes < 80% of it with the server clean:
		# stop there rather than report a fiction.
		if [ "${sent:-0}" -lt $((rate * STEP_SECONDS * 9 / 10)) ] || [ "$got" -lt $((rate * 8 / 10)) ]; then
			next_drops[$name]="perfdhcp-bound at $rate/s"
			break
		fi
	done
	out="$work/$name-latency.out"
	[ "$name" != metalgit ] || histogram >"$work/hist0"
	load "$LATENCY_RATE" "$LATENCY_SECONDS" "$out" -x t
	if [ "$name" = metalgit ]; then
		histogram >"$work/hist1"
		srv_p99=$(bucket_p99 "$work/hist0" "$work/hist1")
	fi
	lat_drops[$name]=$(drops "$out")
	lat_avg[$name]=$(awk -v a="$(stat "$out" DISCOVER-OFFER 'avg delay')" -v b="$(stat "$out" REQUEST-ACK 'avg delay')" \
		'BEGIN { printf "%.2f", (a + b) / 2 }')
	lat_max[$name]=$(awk -v a="$(stat "$out" DISCOVER-OFFER 'max delay')" -v b="$(stat "$out" REQUEST-ACK 'max delay')" \
		'BEGIN { printf "%.2f", (a > b ? a : b) }')
	lat_p99[$name]=$(p99 "$out")
	log "$name @ $LATENCY_RATE/s: avg ${lat_avg[$name]} ms, p99 ${lat_p99[$name]} ms, max ${lat_max[$name]} ms, drops ${lat_drops[$name]}"
	stop_server
done

# --- table -----------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
printf '\nDORA exchanges, %d known MACs, perfdhcp relay over a veth pair (%s s per ramp step; ramp: %s)\n' \
	"$HOSTS" "$STEP_SECONDS" "$RATES"
printf '%-9s | %-16s | %-13s | %-11s | %-20s | %-34s | %-38s | %s\n' server 'DORA/s zero-drop' 'server-clean' \
	'max done/s' 'drops at that rate' 'next step: drops' "at $LATENCY_RATE/s: avg/p99/max ms (drops)" 'ratio to Kea'
for name in $SERVERS; do
	printf '%-9s | %-16s | %-13s | %-11s | %-20s | %-34s | %-38s | %s\n' "$name" "${strict[$name]}" "${best[$name]}" \
		"${achieved[$name]}" "${drops_at[$name]}" "${next_drops[$name]}" \
		"${lat_avg[$name]} / ${lat_p99[$name]} / ${lat_max[$name]} (${lat_drops[$name]})" \
		"$(ratio "${strict[$name]}" "${strict[kea]:-0}") zero-drop, $(ratio "${achieved[$name]}" "${achieved[kea]:-0}") done/s"
done
cat <<EOT
DORA/s zero-drop: highest ramp rate at which perfdhcp saw no drop at all (every step up to it clean).
server-clean: highest rate at which the server answered every request it was sent (perfdhcp's own
  socket overflows and late replies excused${STRICT:+; STRICT=1: same as zero-drop}); max done/s: most ACKs/s completed at such a rate.
p99 is computed from perfdhcp's per-exchange timestamps (end to end, OFFERs and ACKs);
metalgit's own reply-duration histogram at $LATENCY_RATE/s: p99 <= $srv_p99 ms (bucket bound).
EOT
if [ -n "${strict[metalgit]:-}" ] && [ -n "${strict[kea]:-}" ]; then
	awk -v m="${strict[metalgit]}" -v k="${strict[kea]}" -v p="${lat_p99[metalgit]}" 'BEGIN {
		printf "goal: metalgit >= 1.5x Kea at zero drops: %s; p99 < 5 ms at 1000/s: %s\n",
			(k > 0 && m >= 1.5 * k ? "met" : "NOT met"), (p != "n/a" && p < 5 ? "met" : "NOT met") }'
fi
