#!/usr/bin/env bash
# The run command: set-up, build, then the whole platform on this machine - a one-node
# Kafka broker (KRaft), the programme and metrics command services, the history projection
# and the board's dashboard (kam-board) - until Ctrl-C, which stops them all cleanly. On
# an empty platform it loads the demo programme through the public API (kamctl demo).
#
#   deploy/local/run.sh            start in the foreground
#   deploy/local/run.sh --cluster  the same on a three-node Kafka cluster (deploy/kafka/cluster.sh)
#   deploy/local/run.sh stop       stop what an earlier run left running
#
# --cluster runs three KRaft nodes on loopback instead of the one broker, with data in
# .run/kafka-cluster, and the services create their topics with three replicas and
# min.insync.replicas=2 (--kafka-replication-factor 3), as in production; try
# `deploy/kafka/cluster.sh kill-node 2` while it runs. Its event store is separate from the
# one broker's, and so are the read model and snapshots derived from it (.run/cluster/).
# It also runs two instances of each command service sharing their partitions through a
# writer group (--ownership group): the second ones on 50053 (commands) and 50054
# (metrics); kill one (`kill -9 $(cat .run/kam-programme-service-2.pid)`) and the other
# takes its partitions over within seconds.
#
# State lives in .run/ (broker data, read model, logs, tokens); delete it to start afresh.
# Ports: Kafka 9092 (+9093 controller; with --cluster also 9102/9103 and 9112/9113),
# programme commands 50051, metrics 50052, queries 50061, dashboard 8080; override with
# KAM_KAFKA_PORT (the first node's), KAM_COMMANDS_PORT, KAM_METRICS_PORT, KAM_QUERIES_PORT,
# KAM_BOARD_PORT (and with --cluster KAM_COMMANDS_PORT2, KAM_METRICS_PORT2). KAM_DEMO=false
# skips the demo programme.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
run=$root/.run
cluster=false
case "${1:-}" in
  "" | stop) ;;
  --cluster) cluster=true ;;
  *) echo "usage: deploy/local/run.sh [--cluster|stop]" >&2; exit 2 ;;
esac
if $cluster; then
  kafka_dir=$run/kafka-cluster
  derived=$run/cluster  # read model and snapshots: they name offsets of this event store
  # Three nodes: every topic the services create has three replicas (their default).
  replication=(--kafka-replication-factor 3)
else
  kafka_dir=$run/kafka
  derived=$run
  # One local broker: every topic has one replica (the services' default is 3).
  replication=(--kafka-replication-factor 1)
fi
kafka_port=${KAM_KAFKA_PORT:-9092}
commands_port=${KAM_COMMANDS_PORT:-50051}
metrics_port=${KAM_METRICS_PORT:-50052}
queries_port=${KAM_QUERIES_PORT:-50061}
board_port=${KAM_BOARD_PORT:-8080}
commands_port2=${KAM_COMMANDS_PORT2:-50053}
metrics_port2=${KAM_METRICS_PORT2:-50054}
# Prometheus endpoints (GET /metrics): programme, metrics, history, board, and with
# --cluster the second programme and metrics instances.
prometheus_ports=(${KAM_PROMETHEUS_PORTS:-9464 9465 9466 9467 9468 9469})
mkdir -p "$run/logs" "$derived"

stop_all() {
  for name in kam-board kam-history-projection kam-metrics-service-2 kam-programme-service-2 \
    kam-metrics-service kam-programme-service; do
    if [ -f "$run/$name.pid" ]; then
      kill -TERM "$(cat "$run/$name.pid")" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$(cat "$run/$name.pid")" 2>/dev/null || break; sleep 0.2; done
      rm -f "$run/$name.pid"
    fi
  done
  # Whichever of the two an earlier run used; stopping the other is a no-op.
  "$root/deploy/kafka/broker.sh" stop --dir "$run/kafka"
  "$root/deploy/kafka/cluster.sh" stop --dir "$run/kafka-cluster"
}

if [ "${1:-}" = "stop" ]; then stop_all; exit 0; fi

"$root/deploy/build.sh"

if [ ! -f "$run/tokens" ]; then
  # Development tokens, one principal per role; random so that no token is shared by copy.
  gen() { head -c 18 /dev/urandom | base64 | tr -d '/+=' ; }
  {
    echo "# token principal role[,role...] - development tokens for deploy/local/run.sh"
    echo "$(gen) admin@supplier.example admin"
    echo "$(gen) champion@supplier.example champion"
    echo "$(gen) kam@supplier.example kam"
    echo "$(gen) sponsor@supplier.example sponsor"
    echo "$(gen) board@supplier.example board"
    echo "$(gen) erp@supplier.example publisher"
  } > "$run/tokens"
  chmod 600 "$run/tokens"
fi

# Event signatures (docs/topics.md, "Signatures"): a fresh platform gets a writer key and a
# keyring; one that already holds unsigned events keeps running unsigned (a keyring would
# quarantine them).
if [ ! -f "$run/signing-key.pem" ] && [ ! -d "$run/kafka/data" ] &&
  [ ! -d "$run/kafka-cluster/node1/data" ]; then
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$run/signing-key.pem" 2>/dev/null)
  openssl pkey -in "$run/signing-key.pem" -pubout > "$run/keyring.pem"
fi
signing=()
verifying=()
if [ -f "$run/signing-key.pem" ]; then
  signing=(--signing-key "$run/signing-key.pem" --keyring "$run/keyring.pem")
  verifying=(--keyring "$run/keyring.pem")
fi

# Personal data (docs/topics.md, "Personal data"): the persons' data keys, outside Kafka,
# shared by the command services and the read side. Erasing a person destroys their key.
personal=(--key-dir "$run/keys")

trap 'echo; echo "stopping..."; stop_all; exit 0' INT TERM
if $cluster; then
  brokers=$("$root/deploy/kafka/cluster.sh" start --dir "$kafka_dir" --port "$kafka_port")
else
  brokers=$("$root/deploy/kafka/broker.sh" start --dir "$kafka_dir" --port "$kafka_port")
fi
echo "kafka: $brokers (data in $kafka_dir)"

start() {  # name (the binary, or the binary-N for its Nth instance), then its arguments
  local name=$1; shift
  local log=$run/logs/$name.log
  # The log is kept across runs: only this run's lines say whether it serves.
  local before; before=$( (wc -l < "$log") 2>/dev/null || echo 0)
  "$root/build/bin/${name%-[0-9]}" "$@" >> "$log" 2>&1 &
  echo $! > "$run/$name.pid"
  for _ in $(seq 1 150); do
    tail -n "+$((before + 1))" "$log" 2>/dev/null | grep -q "serving" && return 0
    kill -0 "$(cat "$run/$name.pid")" 2>/dev/null || break
    sleep 0.2
  done
  echo "$name did not start; its log:" >&2
  tail -20 "$run/logs/$name.log" >&2
  stop_all
  exit 1
}
# A development stack: inbound records name their publisher in a field, unsigned (a shared
# environment gives the services --inbound-keyring instead; docs/topics.md).
# With --cluster, the command services share their partitions with a second instance each
# (started after the demo, below) through their writer groups.
ownership=()
if $cluster; then ownership=(--ownership group); fi
start kam-programme-service --listen "127.0.0.1:$commands_port" --brokers "$brokers" \
  --tokens "$run/tokens" --metrics-listen "127.0.0.1:${prometheus_ports[0]}" "${signing[@]}" \
  "${personal[@]}" "${replication[@]}" "${ownership[@]}" --inbound-unauthenticated true
start kam-metrics-service --listen "127.0.0.1:$metrics_port" --brokers "$brokers" \
  --tokens "$run/tokens" --snapshot-dir "$derived/snapshots" \
  --metrics-listen "127.0.0.1:${prometheus_ports[1]}" "${signing[@]}" "${replication[@]}" \
  "${personal[@]}" "${ownership[@]}" --inbound-unauthenticated true
start kam-history-projection --listen "127.0.0.1:$queries_port" --brokers "$brokers" \
  --tokens "$run/tokens" --data-dir "$derived/history" \
  --metrics-listen "127.0.0.1:${prometheus_ports[2]}" "${verifying[@]}" "${replication[@]}" \
  "${personal[@]}"
start kam-board --listen "127.0.0.1:$board_port" --queries "127.0.0.1:$queries_port" \
  --web-root "$root/build/web" --metrics-listen "127.0.0.1:${prometheus_ports[3]}"

if [ "${KAM_DEMO:-true}" = "true" ]; then
  echo "demo: loading the demo programme if the platform has none (kamctl demo)"
  "$root/build/bin/kamctl" --commands "127.0.0.1:$commands_port" --metrics "127.0.0.1:$metrics_port" \
    --queries "127.0.0.1:$queries_port" demo --tokens-file "$run/tokens" ||
    echo "demo: could not load the demo programme (see above); the platform runs without it"
fi

commands_list="127.0.0.1:$commands_port"
metrics_list="127.0.0.1:$metrics_port"
if $cluster; then
  start kam-programme-service-2 --listen "127.0.0.1:$commands_port2" --brokers "$brokers" \
    --tokens "$run/tokens" --metrics-listen "127.0.0.1:${prometheus_ports[4]}" "${signing[@]}" \
    "${personal[@]}" "${replication[@]}" "${ownership[@]}" --inbound-unauthenticated true
  start kam-metrics-service-2 --listen "127.0.0.1:$metrics_port2" --brokers "$brokers" \
    --tokens "$run/tokens" --snapshot-dir "$derived/snapshots-2" \
    --metrics-listen "127.0.0.1:${prometheus_ports[5]}" "${signing[@]}" "${replication[@]}" \
    "${personal[@]}" "${ownership[@]}" --inbound-unauthenticated true
  commands_list="$commands_list,127.0.0.1:$commands_port2"
  metrics_list="$metrics_list,127.0.0.1:$metrics_port2"
fi

champion=$(awk '$3=="champion"{print $1}' "$run/tokens")
kam=$(awk '$3=="kam"{print $1}' "$run/tokens")
board=$(awk '$3=="board"{print $1}' "$run/tokens")
cat <<MSG

The KAM platform is running.

  Dashboard: http://127.0.0.1:$board_port/   log in with the board token: $board
  (.run/tokens has a token per role; the champion's is $champion)

  commands  ProgrammeCommandService  $commands_list   (logs: .run/logs/kam-programme-service*.log)
  metrics   MetricsCommandService    $metrics_list   (logs: .run/logs/kam-metrics-service*.log;
            also ingests the Kafka topic kam.inbound.metrics.v1, rejects to ...v1.dlq)
  queries   HistoryQueryService      127.0.0.1:$queries_port   (log: .run/logs/kam-history-projection.log)
            GovernanceQueryService
  board     kam-board (HTTP)         127.0.0.1:$board_port    (log: .run/logs/kam-board.log)
  kafka     $brokers                                 (topics kam.programme.v1, kam.account-metrics.v1)

  Prometheus: GET /metrics on 127.0.0.1:${prometheus_ports[0]} (commands), :${prometheus_ports[1]} (metrics),
  :${prometheus_ports[2]} (queries), :${prometheus_ports[3]} (board). Logs are one JSON object per line.
Bearer tokens per role are in .run/tokens. Try:

  export KAM_COMMANDS=$commands_list KAM_METRICS=$metrics_list KAM_QUERIES=127.0.0.1:$queries_port
  KAM_TOKEN=$board build/bin/kamctl scorecard emea-kam
  KAM_TOKEN=$kam build/bin/kamctl nominate emea-kam acme "ACME Industries" "Top-5 by contribution"
  KAM_TOKEN=$board build/bin/kamctl history emea-kam acme

All servers offer gRPC health checking and server reflection (e.g. grpcurl -plaintext
127.0.0.1:$commands_port list). Ctrl-C stops everything.
MSG
wait
