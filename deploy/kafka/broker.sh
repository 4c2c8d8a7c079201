#!/usr/bin/env bash
# Starts and stops a one-node Apache Kafka broker in KRaft mode on 127.0.0.1.
#
#   broker.sh start  [--dir DIR] [--port PORT]   format (first time), start, wait until it answers
#   broker.sh stop   [--dir DIR]                 stop cleanly (SIGTERM, then SIGKILL after 30 s)
#   broker.sh status [--dir DIR]                 exit 0 when running
#
# DIR (default: $KAM_KAFKA_DIR or <repo>/.run/kafka) holds the configuration, the data and the log.
# PORT (default 9092) is the client listener; the controller listens on PORT+1.
# The jars come from deploy/kafka/lib, fetched by scripts/setup.sh (mvn package in this folder).
# On success `start` prints the bootstrap address (127.0.0.1:PORT) on stdout and nothing else.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cmd=${1:-}
shift || true
dir=${KAM_KAFKA_DIR:-$repo/.run/kafka}
port=9092
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    *) echo "broker.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pidfile=$dir/broker.pid
log=$dir/broker.log

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  local cport=$((port + 1))
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=3
group.initial.rebalance.delay.ms=0
log.retention.ms=-1
log.retention.bytes=-1
PROPS
  cat > "$dir/log4j2.properties" <<PROPS
status=warn
appender.file.type=File
appender.file.name=file
appender.file.fileName=$dir/server.log
appender.file.layout.type=PatternLayout
appender.file.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=INFO
rootLogger.appenderRef.file.ref=file
logger.kafka.name=kafka
logger.kafka.level=WARN
logger.apache.name=org.apache.kafka
logger.apache.level=WARN
logger.started.name=kafka.server.KafkaRaftServer
logger.started.level=INFO
PROPS
}

java_cmd() {
  java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$here/lib/*" "$@"
}

start() {
  if running; then echo "127.0.0.1:$(cat "$dir/port")"; return 0; fi
  if [ ! -d "$here/lib" ] || ! ls "$here"/lib/kafka_2.13-*.jar >/dev/null 2>&1; then
    echo "broker.sh: no broker jars in $here/lib; run scripts/setup.sh first" >&2; exit 1
  fi
  if port_open "$port"; then
    echo "broker.sh: port $port is taken by another process" >&2; exit 1
  fi
  write_config
  echo "$port" > "$dir/port"
  if [ ! -f "$dir/data/meta.properties" ]; then
    java_cmd kafka.tools.StorageTool format -t "$(java_cmd kafka.tools.StorageTool random-uuid)" \
      -c "$dir/server.properties" >> "$log" 2>&1
  fi
  nohup bash -c "exec java -Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true -Dlog4j2.configurationFile='$dir/log4j2.properties' \
    -cp '$here/lib/*' kafka.Kafka '$dir/server.properties'" >> "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  for _ in $(seq 1 240); do
    if ! running; then
      echo "broker.sh: the broker exited during start-up; see $log and $dir/server.log" >&2; exit 1
    fi
    if port_open "$port" && grep -q 'Kafka Server started' "$dir/server.log" "$log" 2>/dev/null; then
      echo "127.0.0.1:$port"; return 0
    fi
    sleep 0.5
  done
  echo "broker.sh: the broker did not answer on 127.0.0.1:$port within 120 s; see $log" >&2
  stop; exit 1
}

stop() {
  running || { rm -f "$pidfile"; return 0; }
  local pid; pid=$(cat "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; return 0; }; sleep 0.5; done
  echo "broker.sh: the broker did not stop within 30 s; killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: broker.sh start|stop|status [--dir DIR] [--port PORT]" >&2; exit 2 ;;
esac
