#!/usr/bin/env bash
# Issue 23, session 17: what akka-persistence-cassandra's tag writers do while Cassandra refuses
# connections. Starts `./twinhub cassandra` and a node on it (free loopback ports, a temporary
# data dir), runs a small PATCH load, stops Cassandra (SIGTERM: drains, then the port refuses
# connections, as in CassandraOutageIT's "stopped" phase) with the load still running, then measures for
# WINDOW seconds the node's CPU and the tag writers' warning lines.
# Usage: ops/bench/scripts/tag-write-outage.sh FLUSH_INTERVAL [WINDOW_SECONDS] [EXTRA_NODE_JAVA_OPTS]
#   FLUSH_INTERVAL: "default" (the node's configuration) or a duration, e.g. 0ms, 50ms.
# Prints one line: flush-interval, warnings/s, node CPU % of a core (outage and idle before), load.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
FLUSH="${1:?flush interval (e.g. 0ms, 50ms, default)}"
WINDOW="${2:-30}"
EXTRA="${3:-}"
D="$(mktemp -d /tmp/tag-write-outage.XXXXXX)"
# Eight different ports below the kernel's ephemeral range, each bindable now (as io.twinhub.ops.net.FreePorts
# picks them: bind port 0 and close hands the same port out again, and Cassandra cannot bind port 0).
free_ports() { python3 -c '
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
out = []
while len(out) < 8:
    p = random.randrange(10000, low)
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", p))
        if p not in out: out.append(p)
    except OSError:
        pass
    finally:
        s.close()
print(*out)'; }
read -r CP SP HP PP MQ AQ MP RP < <(free_ports)
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
CPID=""; NPID=""
cleanup() {
  [[ -n "$NPID" ]] && kill -TERM "$NPID" 2>/dev/null && wait "$NPID" 2>/dev/null || true
  [[ -n "$CPID" ]] && kill -TERM "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT

"$ROOT/twinhub" cassandra --data-dir "$D/cassandra" --native-port "$CP" --storage-port "$SP" --heap 512m >"$D/cassandra.log" 2>&1 &
CPID=$!
for i in $(seq 240); do grep -q "Cassandra ready" "$D/cassandra.log" && break; sleep 1; done
grep -q "Cassandra ready" "$D/cassandra.log" || { cat "$D/cassandra.log" >&2; exit 1; }

OPTS="-Xms256m -Xmx2g $EXTRA"
[[ "$FLUSH" != default ]] && OPTS="$OPTS -Dakka.persistence.cassandra.events-by-tag.flush-interval=$FLUSH"
TWINHUB_JAVA_OPTS="$OPTS" "$ROOT/twinhub" run --cassandra-contact-points "127.0.0.1:$CP" --data-dir "$D/node" \
  --http-port "$HP" --http-plain-port "$PP" --mqtt-port "$MQ" --amqp-port "$AQ" --management-port "$MP" \
  --remoting-port "$RP" >"$D/node.log" 2>&1 &
NPID=$!
for i in $(seq 240); do grep -q "node ready" "$D/node.log" && break; sleep 1; done
grep -q "node ready" "$D/node.log" || { tail -50 "$D/node.log" >&2; exit 1; }
KEY=$(grep -o 'SharedAccessKey=[^ ;]*' "$D/node.log" | head -1 | cut -d= -f2-)
sleep 10
t0=$(ticks "$NPID"); sleep 10; IDLE=$(( ($(ticks "$NPID") - t0) * 100 / HZ / 10 ))

# 16 clients, 64 twins, plain HTTP, until $D/stop exists (through the outage, as CassandraOutageIT's
# writers); then a count of answers by status.
python3 - "$PP" "$KEY" "$D/stop" >"$D/load.log" 2>&1 <<'PY' &
import base64, hashlib, hmac, http.client, os, sys, threading, time, urllib.parse, collections
port, key, stop = int(sys.argv[1]), sys.argv[2], sys.argv[3]
se = int(time.time()) + 3600
sig = base64.b64encode(hmac.new(base64.b64decode(key), f"127.0.0.1\n{se}".encode(), hashlib.sha256).digest()).decode()
token = f"SharedAccessSignature sr=127.0.0.1&sig={urllib.parse.quote(sig, safe='')}&se={se}&skn=iothubowner"
h = {"Authorization": token, "Content-Type": "application/json"}
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
for i in range(64):
    c.request("PUT", f"/devices/spin-{i}?api-version=2021-04-12", body="{}", headers=h); c.getresponse().read()
counts = collections.Counter()
def run(w):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30); n = 0
    while not os.path.exists(stop):
        n += 1
        try:
            c.request("PATCH", f"/twins/spin-{(w * 8 + n) % 64}?api-version=2021-04-12",
                      body='{"properties":{"desired":{"n":%d}}}' % n, headers=h)
            r = c.getresponse(); r.read(); counts[r.status] += 1
            if r.status == 200 and counts[200] % 50 == 0: open(stop + ".acked", "w").write(str(counts[200]))
            if r.status != 200: time.sleep(0.2)  # a client backs off on 503, as in CassandraOutageIT
        except Exception as e:
            counts[type(e).__name__] += 1; c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
ts = [threading.Thread(target=run, args=(w,)) for w in range(16)]
[t.start() for t in ts]; [t.join() for t in ts]
print("load:", dict(counts))
PY
LPID=$!
# Until 300 PATCHes are acknowledged (at most 5 min: a loaded box).
for i in $(seq 300); do [[ $(cat "$D/stop.acked" 2>/dev/null || echo 0) -ge 300 ]] && break; sleep 1; done
# Cassandra goes away while writes are in flight; the clients keep writing (503s, 200 ms apart).
kill -TERM "$CPID"
wait "$CPID" 2>/dev/null || true; CPID=""
sleep 5
W='Writing tags has failed'
w0=$(grep -c "$W" "$D/node.log" || true); t0=$(ticks "$NPID"); L0=$(cut -d' ' -f1 /proc/loadavg)
sleep "$WINDOW"
w1=$(grep -c "$W" "$D/node.log" || true); t1=$(ticks "$NPID"); L1=$(cut -d' ' -f1 /proc/loadavg)
touch "$D/stop"; wait "$LPID" || true
printf 'flush-interval=%s outage %ss: %s tag-write warnings/s, node CPU %s%% of a core (idle before the outage %s%%); %s; load %s-%s; other warnings: %s\n' \
  "$FLUSH" "$WINDOW" "$(( (w1 - w0) / WINDOW ))" "$(( (t1 - t0) * 100 / HZ / WINDOW ))" "$IDLE" "$(cat "$D/load.log")" "$L0" "$L1" \
  "$(grep -E ' WARN ' "$D/node.log" | grep -v "$W" | sed -E 's/^[0-9:.]+ WARN +//; s/ - .*//' | sort | uniq -c | sort -rn | head -5 | tr -s ' \n' ' ')"
[[ -n "${KEEP_LOG:-}" ]] && cp "$D/node.log" "$KEEP_LOG"
