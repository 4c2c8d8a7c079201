#!/usr/bin/env bash
# The run command: set-up, build, then the whole platform on this machine - a one-node
# Kafka broker (KRaft), the programme and metrics command services, the history projection
# and the board's dashboard (kam-board) - until Ctrl-C, which stops them all cleanly. On
# an empty platform it loads the demo programme through the public API (kamctl demo).
#
#   deploy/local/run.sh            start in the foreground
#   deploy/local/run.sh stop       stop what an earlier run left running
#
# State lives in .run/ (broker data, read model, logs, tokens); delete it to start afresh.
# Ports: Kafka 9092 (+9093 controller), programme commands 50051, metrics 50052, queries
# 50061, dashboard 8080; override with KAM_KAFKA_PORT, KAM_COMMANDS_PORT, KAM_METRICS_PORT,
# KAM_QUERIES_PORT, KAM_BOARD_PORT. KAM_DEMO=false skips the demo programme.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
run=$root/.run
kafka_port=${KAM_KAFKA_PORT:-9092}
commands_port=${KAM_COMMANDS_PORT:-50051}
metrics_port=${KAM_METRICS_PORT:-50052}
queries_port=${KAM_QUERIES_PORT:-50061}
board_port=${KAM_BOARD_PORT:-8080}
# Prometheus endpoints (GET /metrics): programme, metrics, history, board.
prometheus_ports=(${KAM_PROMETHEUS_PORTS:-9464 9465 9466 9467})
mkdir -p "$run/logs"

stop_all() {
  for name in kam-board kam-history-projection kam-metrics-service kam-programme-service; do
    if [ -f "$run/$name.pid" ]; then
      kill -TERM "$(cat "$run/$name.pid")" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$(cat "$run/$name.pid")" 2>/dev/null || break; sleep 0.2; done
      rm -f "$run/$name.pid"
    fi
  done
  "$root/deploy/kafka/broker.sh" stop --dir "$run/kafka"
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
if [ ! -f "$run/signing-key.pem" ] && [ ! -d "$run/kafka/data" ]; then
  (umask 077 && openssl genpkey -algorithm ed25519 -out "$run/signing-key.pem" 2>/dev/null)
  openssl pkey -in "$run/signing-key.pem" -pubout > "$run/keyring.pem"
fi
signing=()
verifying=()
if [ -f "$run/signing-key.pem" ]; then
  signing=(--signing-key "$run/signing-key.pem" --keyring "$run/keyring.pem")
  verifying=(--keyring "$run/keyring.pem")
fi

trap 'echo; echo "stopping..."; stop_all; exit 0' INT TERM
brokers=$("$root/deploy/kafka/broker.sh" start --dir "$run/kafka" --port "$kafka_port")
echo "kafka: $brokers (data in $run/kafka)"

start() {  # name, then its arguments
  local name=$1; shift
  local log=$run/logs/$name.log
  # The log is kept across runs: only this run's lines say whether it serves.
  local before; before=$( (wc -l < "$log") 2>/dev/null || echo 0)
  "$root/build/bin/$name" "$@" >> "$log" 2>&1 &
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
# One local broker: every topic has one replica (the services' default is 3).
one_broker=(--kafka-replication-factor 1)
start kam-programme-service --listen "127.0.0.1:$commands_port" --brokers "$brokers" \
  --tokens "$run/tokens" --metrics-listen "127.0.0.1:${prometheus_ports[0]}" "${signing[@]}" \
  "${one_broker[@]}"
start kam-metrics-service --listen "127.0.0.1:$metrics_port" --brokers "$brokers" \
  --tokens "$run/tokens" --snapshot-dir "$run/snapshots" \
  --metrics-listen "127.0.0.1:${prometheus_ports[1]}" "${signing[@]}" "${one_broker[@]}"
start kam-history-projection --listen "127.0.0.1:$queries_port" --brokers "$brokers" \
  --tokens "$run/tokens" --data-dir "$run/history" \
  --metrics-listen "127.0.0.1:${prometheus_ports[2]}" "${verifying[@]}" "${one_broker[@]}"
start kam-board --listen "127.0.0.1:$board_port" --queries "127.0.0.1:$queries_port" \
  --web-root "$root/build/web" --metrics-listen "127.0.0.1:${prometheus_ports[3]}"

if [ "${KAM_DEMO:-true}" = "true" ]; then
  echo "demo: loading the demo programme if the platform has none (kamctl demo)"
  "$root/build/bin/kamctl" --commands "127.0.0.1:$commands_port" --metrics "127.0.0.1:$metrics_port" \
    --queries "127.0.0.1:$queries_port" demo --tokens-file "$run/tokens" ||
    echo "demo: could not load the demo programme (see above); the platform runs without it"
fi

champion=$(awk '$3=="champion"{print $1}' "$run/tokens")
kam=$(awk '$3=="kam"{print $1}' "$run/tokens")
board=$(awk '$3=="board"{print $1}' "$run/tokens")
cat <<MSG

The KAM platform is running.

  Dashboard: http://127.0.0.1:$board_port/   log in with the board token: $board
  (.run/tokens has a token per role; the champion's is $champion)

  commands  ProgrammeCommandService  127.0.0.1:$commands_port   (log: .run/logs/kam-programme-service.log)
  metrics   MetricsCommandService    127.0.0.1:$metrics_port   (log: .run/logs/kam-metrics-service.log;
            also ingests the Kafka topic kam.inbound.metrics.v1, rejects to ...v1.dlq)
  queries   HistoryQueryService      127.0.0.1:$queries_port   (log: .run/logs/kam-history-projection.log)
            GovernanceQueryService
  board     kam-board (HTTP)         127.0.0.1:$board_port    (log: .run/logs/kam-board.log)
  kafka     $brokers                                 (topics kam.programme.v1, kam.account-metrics.v1)

  Prometheus: GET /metrics on 127.0.0.1:${prometheus_ports[0]} (commands), :${prometheus_ports[1]} (metrics),
  :${prometheus_ports[2]} (queries), :${prometheus_ports[3]} (board). Logs are one JSON object per line.
Bearer tokens per role are in .run/tokens. Try:

  export KAM_COMMANDS=127.0.0.1:$commands_port KAM_QUERIES=127.0.0.1:$queries_port
  KAM_TOKEN=$board build/bin/kamctl scorecard emea-kam
  KAM_TOKEN=$kam build/bin/kamctl nominate emea-kam acme "ACME Industries" "Top-5 by contribution"
  KAM_TOKEN=$board build/bin/kamctl history emea-kam acme

All servers offer gRPC health checking and server reflection (e.g. grpcurl -plaintext
127.0.0.1:$commands_port list). Ctrl-C stops everything.
MSG
wait
