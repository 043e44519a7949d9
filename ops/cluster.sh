#!/usr/bin/env bash
# Local multi-node twinhub cluster on loopback: one embedded Cassandra shared by N hub nodes,
# each with its own data dir and ports. Called by `./twinhub cluster ...`.
#
# Node i (1-based) listens on HTTPS 8443+i-1, MQTT 8883+i-1, management 8558+i-1 and Akka
# remoting 25520+i-1; nodes 1 and 2 are the seed nodes. Everything lives under
# $TWINHUB_CLUSTER_DIR (default ./data/cluster): cassandra/, node-<i>/, *.pid, *.log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${TWINHUB_CLUSTER_DIR:-$ROOT/data/cluster}"
CP_FILE="$ROOT/cluster-node/target/twinhub.classpath"
CASSANDRA_PORT="${TWINHUB_CASSANDRA_PORT:-9042}"
CASSANDRA_STORAGE_PORT="${TWINHUB_CASSANDRA_STORAGE_PORT:-7000}"
JAVA_OPTS="${TWINHUB_JAVA_OPTS:--Xms256m -Xmx1g}"

die() { echo "twinhub cluster: $*" >&2; exit 1; }
classpath() { echo "$ROOT/cluster-node/target/classes:$(cat "$CP_FILE")"; }
pid_of() { [[ -f "$DIR/$1.pid" ]] && cat "$DIR/$1.pid" || true; }
# Running and not a zombie (a killed node lingers as one until its parent reaps it).
alive() {
  local p s; p="$(pid_of "$1")"
  [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null || return 1
  s="$(ps -o stat= -p "$p" 2>/dev/null || true)"
  [[ -n "$s" && "$s" != Z* ]]
}
port() { echo $(( $1 + $2 - 1 )); }   # base, node index

node_count() { ls "$DIR" 2>/dev/null | grep -c '^node-[0-9]*\.pid$' || true; }

seeds() { echo "akka://twinhub@127.0.0.1:$(port 25520 1),akka://twinhub@127.0.0.1:$(port 25520 2)"; }

wait_for() { # file text seconds pid-name
  local i
  for ((i = 0; i < $3 * 5; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    alive "$4" || { tail -20 "$1" >&2; die "$4 exited during start (log: $1)"; }
    sleep 0.2
  done
  tail -20 "$1" >&2
  die "$4 not ready within $3 s (log: $1)"
}

start_cassandra() {
  if alive cassandra; then return; fi
  mkdir -p "$DIR"
  echo "twinhub cluster: starting embedded Cassandra on 127.0.0.1:$CASSANDRA_PORT"
  : > "$DIR/cassandra.log"
  nohup java -Xmx128m -cp "$(classpath)" io.twinhub.ops.cassandra.EmbeddedCassandraMain \
    --data-dir "$DIR/cassandra" --native-port "$CASSANDRA_PORT" --storage-port "$CASSANDRA_STORAGE_PORT" \
    >> "$DIR/cassandra.log" 2>&1 < /dev/null &
  echo $! > "$DIR/cassandra.pid"
  wait_for "$DIR/cassandra.log" "Cassandra ready" 180 cassandra
}

# Nodes share the hub's keys and CA, so a token or a client's trust works on every node.
share_credentials() {
  local i=$1
  [[ $i -eq 1 ]] && return
  mkdir -p "$DIR/node-$i/security" "$DIR/node-$i/tls"
  cp -p "$DIR/node-1/security/policies.json" "$DIR/node-$i/security/"
  cp -p "$DIR/node-1/tls/ca.pem" "$DIR/node-1/tls/ca.key" "$DIR/node-$i/tls/"
}

start_node() {
  local i=$1
  if alive "node-$i"; then echo "twinhub cluster: node $i already running (pid $(pid_of "node-$i"))"; return; fi
  mkdir -p "$DIR/node-$i"
  share_credentials "$i"
  : > "$DIR/node-$i.log"
  # shellcheck disable=SC2086
  nohup java $JAVA_OPTS -cp "$(classpath)" io.twinhub.node.Main \
    --data-dir "$DIR/node-$i" \
    --http-port "$(port 8443 "$i")" --mqtt-port "$(port 8883 "$i")" \
    --management-port "$(port 8558 "$i")" --remoting-port "$(port 25520 "$i")" \
    --cassandra-contact-points "127.0.0.1:$CASSANDRA_PORT" --seed-nodes "$(seeds)" \
    >> "$DIR/node-$i.log" 2>&1 < /dev/null &
  echo $! > "$DIR/node-$i.pid"
}

cmd_start() {
  local n="${1:-3}"
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "cluster start N: N must be a positive number, got '$n'"
  start_cassandra
  start_node 1
  wait_for "$DIR/node-1.log" "twinhub node ready" 180 node-1
  local i
  for ((i = 2; i <= n; i++)); do start_node "$i"; done
  for ((i = 2; i <= n; i++)); do wait_for "$DIR/node-$i.log" "twinhub node ready" 180 "node-$i"; done
  cmd_status
  echo "owner connection string: $(grep -m1 'owner ' "$DIR/node-1.log" | sed 's/^ *owner *//')"
}

cmd_status() {
  local i n members
  n="$(node_count)"
  printf "%-10s %-8s %-7s %-7s %-6s %s\n" node pid state ready HTTPS management
  if alive cassandra; then printf "%-10s %-8s %-7s\n" cassandra "$(pid_of cassandra)" up; else printf "%-10s %-8s %-7s\n" cassandra - down; fi
  for ((i = 1; i <= n; i++)); do
    local pid state ready mgmt
    pid="$(pid_of "node-$i")"; mgmt="$(port 8558 "$i")"
    if alive "node-$i"; then state=up; else state=down; fi
    ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$mgmt/ready" || true)"
    printf "%-10s %-8s %-7s %-7s %-6s %s\n" "node-$i" "${pid:--}" "$state" "${ready:-000}" "$(port 8443 "$i")" "$mgmt"
  done
  members="$(curl -s --max-time 2 "http://127.0.0.1:$(port 8558 1)/cluster/members" 2>/dev/null | grep -o '"status":"Up"' | wc -l || true)"
  echo "members Up (seen by node-1): ${members:-0}"
}

stop_node() { # index signal
  local p; p="$(pid_of "node-$1")"
  [[ -n "$p" ]] || return 0
  kill "-$2" "$p" 2>/dev/null || true
  if [[ "$2" == TERM ]]; then
    local t; for ((t = 0; t < 450; t++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
  fi
}

cmd_stop() {
  local i n; n="$(node_count)"
  for ((i = n; i >= 1; i--)); do stop_node "$i" TERM & done
  wait
  if alive cassandra; then
    kill -TERM "$(pid_of cassandra)"
    local t; for ((t = 0; t < 300; t++)); do alive cassandra || break; sleep 0.2; done
  fi
  echo "twinhub cluster: stopped"
}

cmd_kill() { [[ -n "${1:-}" ]] || die "cluster kill <i>"; stop_node "$1" KILL; echo "twinhub cluster: node $1 killed (-9)"; }

cmd_restart() {
  [[ -n "${1:-}" ]] || die "cluster restart <i>"
  stop_node "$1" TERM
  start_node "$1"
  wait_for "$DIR/node-$1.log" "twinhub node ready" 180 "node-$1"
  echo "twinhub cluster: node $1 restarted"
}

sub="${1:-status}"; [[ $# -gt 0 ]] && shift
case "$sub" in
  start) cmd_start "$@" ;;
  status) cmd_status ;;
  stop) cmd_stop ;;
  kill) cmd_kill "$@" ;;
  restart) cmd_restart "$@" ;;
  *) die "unknown cluster command '$sub' (start [N] | status | stop | kill <i> | restart <i>)" ;;
esac
