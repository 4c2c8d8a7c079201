#!/usr/bin/env bash
# Starts and stops a three-node Apache Kafka cluster in KRaft mode on 127.0.0.1: the
# replicated set-up the event store runs on in production (issue 13), on one machine, for
# tests and for `deploy/local/run.sh --cluster`.
#
#   cluster.sh start        [--dir DIR] [--port BASE]  format (first time), start the nodes that
#                                                      are not running, wait until all answer
#   cluster.sh stop         [--dir DIR]                stop all nodes (SIGTERM, then SIGKILL after
#                                                      $KAM_KAFKA_STOP_GRACE_S, default 30 s)
#   cluster.sh status       [--dir DIR]                one line per node on stdout; exit 0 when all
#                                                      three run, 3 when some do, 1 when none does
#   cluster.sh kill-node N  [--dir DIR]                SIGKILL node N (1, 2 or 3): a machine dying
#   cluster.sh start-node N [--dir DIR]                start node N again and wait until it answers
#
# Every node is a combined broker and controller. Node N listens for clients (PLAINTEXT) on
# BASE + 10*(N-1) and as a controller on the port after it: with the default BASE 9092, nodes
# 1..3 take 9092/9093, 9102/9103 and 9112/9113. The three controllers are the static quorum
# (controller.quorum.voters) of one cluster id, so the metadata survives any one node.
#
# Durability, as docs/topics.md asks of the event store: default.replication.factor=3,
# min.insync.replicas=2 and unclean.leader.election.enable=false (a record the producer had
# acknowledged with acks=all is on at least two nodes, and an out-of-sync replica never becomes
# leader), and the same for Kafka's own topics (__consumer_offsets and __transaction_state: 3
# replicas, min ISR 2). A killed node is fenced by the controller after broker.session.timeout.ms
# (4 s here, 9 s by default; heartbeats every 0.5 s on loopback), which moves its partitions'
# leadership to the survivors and takes it out of their ISRs.
#
# DIR (default: $KAM_KAFKA_CLUSTER_DIR or <repo>/.run/kafka-cluster) holds cluster.id, port
# (BASE) and one directory per node (node1..node3: server.properties, data, broker.log with its
# stdout and server.log with Kafka's log). Each node's JVM has a 512 MiB heap. The jars and
# the shared functions are broker.sh's (lib/, lib.sh).
# On success `start` prints the bootstrap list (127.0.0.1:BASE,127.0.0.1:BASE+10,
# 127.0.0.1:BASE+20) on stdout and nothing else; the other commands print progress on stderr.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kafka_me=cluster.sh
kafka_heap="-Xms256m -Xmx512m"
# shellcheck source=lib.sh
. "$here/lib.sh"

usage() {
  echo "usage: cluster.sh start|stop|status|kill-node N|start-node N [--dir DIR] [--port BASE]" >&2
  exit 2
}

cmd=${1:-}
shift || true
node_arg=""
case "$cmd" in
  kill-node | start-node)
    node_arg=${1:-}
    shift || true
    case "$node_arg" in 1 | 2 | 3) ;; *) usage ;; esac
    ;;
esac
dir=${KAM_KAFKA_CLUSTER_DIR:-$repo/.run/kafka-cluster}
base=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) base=$2; shift 2 ;;
    *) echo "cluster.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# A running cluster keeps the ports it was started on.
if [ -z "$base" ]; then base=$(cat "$dir/port" 2>/dev/null || echo 9092); fi
nodes=(1 2 3)

node_dir() { echo "$dir/node$1"; }
client_port() { echo $((base + 10 * ($1 - 1))); }
controller_port() { echo $(($(client_port "$1") + 1)); }
pidfile() { echo "$(node_dir "$1")/broker.pid"; }
running() { kafka_pid_running "$(pidfile "$1")"; }

bootstrap() {
  local n list=""
  for n in "${nodes[@]}"; do list="$list${list:+,}127.0.0.1:$(client_port "$n")"; done
  echo "$list"
}

voters() {
  local n list=""
  for n in "${nodes[@]}"; do list="$list${list:+,}$n@127.0.0.1:$(controller_port "$n")"; done
  echo "$list"
}

write_config() {
  local n=$1 ndir
  ndir=$(node_dir "$n")
  mkdir -p "$ndir"
  cat > "$ndir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$(voters)
listeners=PLAINTEXT://127.0.0.1:$(client_port "$n"),CONTROLLER://127.0.0.1:$(controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(client_port "$n")
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$ndir/data
num.partitions=3
auto.create.topics.enable=false
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=4000
log.retention.ms=-1
log.retention.bytes=-1
PROPS
  kafka_write_log4j "$ndir"
}

# Refuses to start node N when another process holds one of its ports.
check_ports() {
  local p
  for p in $(client_port "$1") $(controller_port "$1"); do
    if kafka_port_open "$p"; then
      echo "cluster.sh: port $p (node $1) is taken by another process" >&2
      exit 1
    fi
  done
}

launch() {
  local ndir
  ndir=$(node_dir "$1")
  kafka_launch "$ndir" "$ndir/server.properties" "$ndir/broker.log" "$(pidfile "$1")"
}

# Waits for the nodes given until each has started or `seconds` have passed; stops them all
# and exits 1 on failure.
await() {
  local seconds=$1 n rc left
  shift
  local until=$((SECONDS + seconds))
  for n in "$@"; do
    left=$((until - SECONDS))
    [ "$left" -gt 0 ] || left=1
    rc=0
    kafka_wait_started "$(node_dir "$n")" "$(pidfile "$n")" "$(client_port "$n")" "$left" || rc=$?
    if [ "$rc" != 0 ]; then
      if [ "$rc" = 1 ]; then
        echo "cluster.sh: node $n exited during start-up; see $(node_dir "$n")/broker.log" \
          "and server.log" >&2
      else
        echo "cluster.sh: node $n did not answer on 127.0.0.1:$(client_port "$n") within" \
          "$seconds s; see $(node_dir "$n")/server.log" >&2
      fi
      local m pids=()
      for m in "$@"; do pids+=("$(pidfile "$m")"); done
      kafka_stop "${pids[@]}"
      exit 1
    fi
  done
}

start() {
  kafka_require_jars
  local n todo=()
  for n in "${nodes[@]}"; do running "$n" || todo+=("$n"); done
  if [ ${#todo[@]} -eq 0 ]; then bootstrap; return 0; fi
  for n in "${todo[@]}"; do check_ports "$n"; done
  echo "$base" > "$dir/port"
  for n in "${nodes[@]}"; do write_config "$n"; done
  if [ ! -f "$dir/cluster.id" ]; then
    kafka_random_uuid > "$dir/cluster.id.new"
    mv "$dir/cluster.id.new" "$dir/cluster.id"
  fi
  local id failed=0
  id=$(cat "$dir/cluster.id")
  local formatting=()
  for n in "${todo[@]}"; do  # one JVM each: in parallel
    if ! kafka_formatted "$(node_dir "$n")/data"; then
      kafka_format "$(node_dir "$n")" "$(node_dir "$n")/server.properties" "$id" \
        "$(node_dir "$n")/broker.log" &
      formatting+=($!)
    fi
  done
  for n in "${formatting[@]}"; do wait "$n" || failed=1; done
  if [ "$failed" != 0 ]; then
    echo "cluster.sh: formatting the storage failed; see $dir/node*/broker.log" >&2
    exit 1
  fi
  # A node finishes starting only once a majority of the controllers answer: launch all first.
  for n in "${todo[@]}"; do launch "$n"; done
  await 180 "${todo[@]}"
  bootstrap
}

stop() {
  local n pids=()
  for n in "${nodes[@]}"; do pids+=("$(pidfile "$n")"); done
  kafka_stop "${pids[@]}"
}

status() {
  local n up=0
  for n in "${nodes[@]}"; do
    if running "$n"; then
      up=$((up + 1))
      echo "node $n running 127.0.0.1:$(client_port "$n") pid $(cat "$(pidfile "$n")")"
    else
      echo "node $n stopped 127.0.0.1:$(client_port "$n")"
    fi
  done
  [ "$up" = 3 ] && return 0
  [ "$up" = 0 ] && return 1
  return 3
}

kill_node() {
  local n=$1 pid
  if ! running "$n"; then
    echo "cluster.sh: node $n is not running" >&2
    return 0
  fi
  pid=$(cat "$(pidfile "$n")")
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$(pidfile "$n")"
  echo "cluster.sh: node $n (pid $pid) killed" >&2
}

start_node() {
  local n=$1
  running "$n" && return 0
  kafka_require_jars
  if [ ! -f "$dir/cluster.id" ] || ! kafka_formatted "$(node_dir "$n")/data"; then
    echo "cluster.sh: $dir holds no formatted node $n; use cluster.sh start" >&2
    exit 1
  fi
  check_ports "$n"
  write_config "$n"
  launch "$n"
  await 120 "$n"
  echo "cluster.sh: node $n is back on 127.0.0.1:$(client_port "$n")" >&2
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  kill-node) kill_node "$node_arg" ;;
  start-node) start_node "$node_arg" ;;
  *) usage ;;
esac
