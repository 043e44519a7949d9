#!/usr/bin/env bash
# Local multi-node twinhub cluster on loopback: embedded Cassandra (one node, or three real
# nodes with replication factor 3) shared by N hub nodes, each with its own data dir and ports.
# Called by `./twinhub cluster ...`.
#
# Node i (1-based) listens on HTTPS 8443+i-1, MQTT 8883+i-1, management 8558+i-1 and Akka
# remoting 25520+i-1 (bases: TWINHUB_CLUSTER_{HTTP,MQTT,MANAGEMENT,REMOTING}_PORT); nodes 1 and
# 2 are the seed nodes. Cassandra node k listens on 127.0.0.k, all on the same CQL and storage
# ports (Linux routes all of 127.0.0.0/8 to lo); 127.0.0.1 is the seed. Everything lives under
# $TWINHUB_CLUSTER_DIR (default ./data/cluster): cassandra-<k>/, node-<i>/, *.pid, *.log,
# cluster.env (what `start` chose, read by the other commands).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${TWINHUB_CLUSTER_DIR:-$ROOT/data/cluster}"
CP_FILE="$ROOT/cluster-node/target/twinhub.classpath"
# What the last `start` chose wins over the environment, so status/stop/restart match it.
if [[ "${1:-}" != start && -f "$DIR/cluster.env" ]]; then
  # shellcheck disable=SC1091
  source "$DIR/cluster.env"
fi
CASSANDRA_PORT="${TWINHUB_CASSANDRA_PORT:-9042}"
CASSANDRA_STORAGE_PORT="${TWINHUB_CASSANDRA_STORAGE_PORT:-7000}"
CASSANDRA_NODES="${CASSANDRA_NODES:-1}"
HTTP_BASE="${TWINHUB_CLUSTER_HTTP_PORT:-8443}"
MQTT_BASE="${TWINHUB_CLUSTER_MQTT_PORT:-8883}"
AMQP_BASE="${TWINHUB_CLUSTER_AMQP_PORT:-5671}"
MANAGEMENT_BASE="${TWINHUB_CLUSTER_MANAGEMENT_PORT:-8558}"
REMOTING_BASE="${TWINHUB_CLUSTER_REMOTING_PORT:-25520}"
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

# Nodes 1 and 2 while the cluster forms. A restarted node joins through the other nodes only:
# a first seed node that lists itself first joins itself when the others do not answer within
# seed-node-timeout (a loaded machine), which would make a second cluster.
seeds() { # node index, "rejoin" for a restart
  local i=$1 j list=""
  if [[ "${2:-}" != rejoin ]]; then
    echo "akka://twinhub@127.0.0.1:$(port "$REMOTING_BASE" 1),akka://twinhub@127.0.0.1:$(port "$REMOTING_BASE" 2)"
    return
  fi
  for ((j = 1; j <= $(node_count); j++)); do
    [[ $j -eq $i ]] || list+="${list:+,}akka://twinhub@127.0.0.1:$(port "$REMOTING_BASE" "$j")"
  done
  echo "$list"
}

contact_points() {
  local k points=""
  for ((k = 1; k <= CASSANDRA_NODES; k++)); do points+="${points:+,}127.0.0.$k:$CASSANDRA_PORT"; done
  echo "$points"
}

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

# Cassandra node k on 127.0.0.k; the first is the seed of the others. Started one at a time:
# a Cassandra node joins a ring only while no other node is joining.
start_cassandra() {
  local k=$1 name="cassandra-$1" heap=768m
  if alive "$name"; then return; fi
  (( CASSANDRA_NODES > 1 )) && heap=512m
  mkdir -p "$DIR"
  echo "twinhub cluster: starting embedded Cassandra $k on 127.0.0.$k:$CASSANDRA_PORT"
  : > "$DIR/$name.log"
  nohup java -Xmx128m -cp "$(classpath)" io.twinhub.ops.cassandra.EmbeddedCassandraMain \
    --data-dir "$DIR/$name" --address "127.0.0.$k" --seeds "127.0.0.1:$CASSANDRA_STORAGE_PORT" \
    --native-port "$CASSANDRA_PORT" --storage-port "$CASSANDRA_STORAGE_PORT" --heap "$heap" \
    >> "$DIR/$name.log" 2>&1 < /dev/null &
  echo $! > "$DIR/$name.pid"
  wait_for "$DIR/$name.log" "Cassandra ready" 180 "$name"
}

# Nodes share the hub's keys and CA, so a token or a client's trust works on every node.
share_credentials() {
  local i=$1
  [[ $i -eq 1 ]] && return
  mkdir -p "$DIR/node-$i/security" "$DIR/node-$i/tls"
  cp -p "$DIR/node-1/security/policies.json" "$DIR/node-$i/security/"
  cp -p "$DIR/node-1/tls/ca.pem" "$DIR/node-1/tls/ca.key" "$DIR/node-$i/tls/"
}

# Roles of node i: from --roles i=twin,api (saved in cluster.env), else all of them.
roles_of() {
  local var="ROLES_$1"
  echo "${!var:-twin,api,mqtt,query}"
}

start_node() { # node index, "rejoin" for a restart
  local i=$1 mode="${2:-}"
  if alive "node-$i"; then echo "twinhub cluster: node $i already running (pid $(pid_of "node-$i"))"; return; fi
  mkdir -p "$DIR/node-$i"
  share_credentials "$i"
  : > "$DIR/node-$i.log"
  # With three Cassandra nodes the journal keyspaces are created with replication factor 3;
  # the journal writes and reads at QUORUM (the persistence plugin's default), so one
  # Cassandra node may be down.
  # shellcheck disable=SC2086
  TWINHUB_CASSANDRA_REPLICATION_FACTOR="$CASSANDRA_NODES" TWINHUB_ROLES="$(roles_of "$i")" \
  TWINHUB_AMQP_PORT="$(port "$AMQP_BASE" "$i")" \
  nohup java $JAVA_OPTS -cp "$(classpath)" io.twinhub.node.Main \
    --data-dir "$DIR/node-$i" \
    --http-port "$(port "$HTTP_BASE" "$i")" --mqtt-port "$(port "$MQTT_BASE" "$i")" \
    --management-port "$(port "$MANAGEMENT_BASE" "$i")" --remoting-port "$(port "$REMOTING_BASE" "$i")" \
    --cassandra-contact-points "$(contact_points)" --seed-nodes "$(seeds "$i" "$mode")" \
    >> "$DIR/node-$i.log" 2>&1 < /dev/null &
  echo $! > "$DIR/node-$i.pid"
}

# Writes what this start chose, so later commands (another shell) see the same cluster.
save_env() {
  local roles=("$@") r
  mkdir -p "$DIR"
  {
    echo "CASSANDRA_NODES=$CASSANDRA_NODES"
    echo "TWINHUB_CASSANDRA_PORT=$CASSANDRA_PORT"
    echo "TWINHUB_CASSANDRA_STORAGE_PORT=$CASSANDRA_STORAGE_PORT"
    echo "TWINHUB_CLUSTER_HTTP_PORT=$HTTP_BASE"
    echo "TWINHUB_CLUSTER_MQTT_PORT=$MQTT_BASE"
    echo "TWINHUB_CLUSTER_AMQP_PORT=$AMQP_BASE"
    echo "TWINHUB_CLUSTER_MANAGEMENT_PORT=$MANAGEMENT_BASE"
    echo "TWINHUB_CLUSTER_REMOTING_PORT=$REMOTING_BASE"
    for r in "${roles[@]}"; do echo "ROLES_${r%%=*}=${r#*=}"; done
  } > "$DIR/cluster.env"
}

cmd_start() {
  local n=3 roles=() arg
  while [[ $# -gt 0 ]]; do
    arg="$1"; shift
    case "$arg" in
      --cassandra-nodes)
        CASSANDRA_NODES="${1:-}"; shift || true
        [[ "$CASSANDRA_NODES" == 1 || "$CASSANDRA_NODES" == 3 ]] || die "--cassandra-nodes must be 1 or 3, got '$CASSANDRA_NODES'" ;;
      --roles)
        [[ "${1:-}" =~ ^[1-9][0-9]*=(twin|api|mqtt|query)(,(twin|api|mqtt|query))*$ ]] \
          || die "--roles takes NODE=ROLE,ROLE (roles: twin api mqtt query), got '${1:-}'"
        roles+=("$1"); shift ;;
      *)
        [[ "$arg" =~ ^[1-9][0-9]*$ ]] || die "cluster start [N] [--cassandra-nodes 1|3] [--roles I=ROLE,...]: bad argument '$arg'"
        n="$arg" ;;
    esac
  done
  if alive node-1 || alive cassandra-1; then
    die "a cluster is already running under $DIR (./twinhub cluster status; stop it first)"
  fi
  save_env "${roles[@]}"
  # shellcheck disable=SC1091
  source "$DIR/cluster.env"
  local k i
  for ((k = 1; k <= CASSANDRA_NODES; k++)); do start_cassandra "$k"; done
  start_node 1
  wait_for "$DIR/node-1.log" "twinhub node ready" 180 node-1
  for ((i = 2; i <= n; i++)); do start_node "$i"; done
  for ((i = 2; i <= n; i++)); do wait_for "$DIR/node-$i.log" "twinhub node ready" 180 "node-$i"; done
  cmd_status
  echo "owner connection string: $(grep -m1 'owner ' "$DIR/node-1.log" | sed 's/^ *owner *//')"
}

cmd_status() {
  local i k n members
  n="$(node_count)"
  printf "%-12s %-8s %-7s %-7s %-6s %-10s %s\n" node pid state ready HTTPS management roles
  for ((k = 1; k <= CASSANDRA_NODES; k++)); do
    if alive "cassandra-$k"; then local st=up; else local st=down; fi
    printf "%-12s %-8s %-7s %s\n" "cassandra-$k" "$(pid_of "cassandra-$k")" "$st" "127.0.0.$k:$CASSANDRA_PORT"
  done
  for ((i = 1; i <= n; i++)); do
    local pid state ready mgmt
    pid="$(pid_of "node-$i")"; mgmt="$(port "$MANAGEMENT_BASE" "$i")"
    if alive "node-$i"; then state=up; else state=down; fi
    ready="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$mgmt/ready" || true)"
    printf "%-12s %-8s %-7s %-7s %-6s %-10s %s\n" "node-$i" "${pid:--}" "$state" "${ready:-000}" \
      "$(port "$HTTP_BASE" "$i")" "$mgmt" "$(roles_of "$i")"
  done
  members="$(curl -s --max-time 2 "http://127.0.0.1:$(port "$MANAGEMENT_BASE" 1)/cluster/members" 2>/dev/null | grep -o '"status":"Up"' | wc -l || true)"
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

stop_cassandra() {
  local name="cassandra-$1"
  alive "$name" || return 0
  kill -TERM "$(pid_of "$name")"
  local t; for ((t = 0; t < 300; t++)); do alive "$name" || break; sleep 0.2; done
}

cmd_stop() {
  local i k n; n="$(node_count)"
  for ((i = n; i >= 1; i--)); do stop_node "$i" TERM & done
  wait
  for ((k = CASSANDRA_NODES; k >= 1; k--)); do stop_cassandra "$k" & done
  wait
  echo "twinhub cluster: stopped"
}

cmd_kill() { [[ -n "${1:-}" ]] || die "cluster kill <i>"; stop_node "$1" KILL; echo "twinhub cluster: node $1 killed (-9)"; }

cmd_restart() {
  [[ -n "${1:-}" ]] || die "cluster restart <i>"
  stop_node "$1" TERM
  start_node "$1" rejoin
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
  *) die "unknown cluster command '$sub' (start [N] [--cassandra-nodes 1|3] [--roles I=ROLE,...] | status | stop | kill <i> | restart <i>)" ;;
esac
