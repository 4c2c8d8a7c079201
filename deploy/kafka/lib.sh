# Shell functions shared by broker.sh (one node) and cluster.sh (three nodes): where the
# broker's jars are, how a node's storage is formatted, how a node is launched, how to tell
# that it has started, and how to stop nodes. Sourced, never run; it sets no options.
#
#   . "$(dirname "$0")/lib.sh"
#   kafka_me=cluster.sh                      # names the script in messages
#   kafka_heap="-Xms256m -Xmx512m"           # heap of every JVM it starts (default below)
#   kafka_require_jars
#   kafka_write_log4j "$dir"                 # $dir/log4j2.properties, logging to $dir/server.log
#   kafka_formatted "$dir/data" || kafka_format "$dir" "$dir/server.properties" "$id" "$log"
#   kafka_launch "$dir" "$dir/server.properties" "$log" "$dir/broker.pid"
#   kafka_wait_started "$dir" "$dir/broker.pid" 9092 120   # 0 started, 1 exited, 2 timed out
#   kafka_stop "$dir/broker.pid" ...         # SIGTERM all, SIGKILL what is left after a grace
#
# A node's directory holds log4j2.properties, server.log (Kafka's own log) and, written by
# kafka_launch, server.log.mark: the length of server.log when the node was launched, so that
# a restarted node is not taken for started on an earlier run's line.

kafka_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib
kafka_me=${kafka_me:-kafka}
kafka_heap=${kafka_heap:-"-Xms256m -Xmx768m"}

# Exits 1, naming the set-up, when the broker's jars (fetched by mvn in deploy/kafka) are missing.
kafka_require_jars() {
  if [ ! -d "$kafka_lib" ] || ! ls "$kafka_lib"/kafka_2.13-*.jar >/dev/null 2>&1; then
    echo "$kafka_me: no broker jars in $kafka_lib; run scripts/setup.sh first" >&2
    exit 1
  fi
}

kafka_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

kafka_pid_running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Logs to DIR/server.log: warnings, and the line kafka_wait_started looks for.
kafka_write_log4j() {
  cat > "$1/log4j2.properties" <<PROPS
status=warn
appender.file.type=File
appender.file.name=file
appender.file.fileName=$1/server.log
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

# Runs a Kafka class (a tool, or kafka.Kafka itself) with DIR's logging: kafka_java DIR CLASS ARGS...
kafka_java() {
  local dir=$1
  shift
  # shellcheck disable=SC2086  # the heap options are several words
  java $kafka_heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$kafka_lib/*" "$@"
}

# A cluster id as `kafka-storage.sh random-uuid` makes one (16 random bytes, URL-safe base64
# without padding, not starting with '-'), without the two seconds of a JVM.
kafka_random_uuid() {
  local id="-"
  while [ "${id#-}" != "$id" ]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  done
  echo "$id"
}

# True once the data directory holds a formatted KRaft storage.
kafka_formatted() { [ -f "$1/meta.properties" ]; }

# Formats the storage named by CONFIG's log.dirs for cluster CLUSTER_ID; its output goes to LOG.
# kafka_format DIR CONFIG CLUSTER_ID LOG [StorageTool arguments, e.g. --add-scram ...]
kafka_format() {
  local dir=$1 config=$2 id=$3 log=$4
  shift 4
  kafka_java "$dir" kafka.tools.StorageTool format -t "$id" -c "$config" "$@" >> "$log" 2>&1
}

# Starts a node in the background with CONFIG; its stdout and stderr go to LOG, its pid to PIDFILE.
kafka_launch() {
  local dir=$1 config=$2 log=$3 pidfile=$4
  ( (wc -l < "$dir/server.log") 2>/dev/null || echo 0) > "$dir/server.log.mark"
  # shellcheck disable=SC2086  # the heap options are several words
  nohup java $kafka_heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$kafka_lib/*" \
    kafka.Kafka "$config" >> "$log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
}

# Whether the node launched last in DIR has started: 0 it serves on PORT, 1 not yet, 2 it exited.
kafka_started() {
  local dir=$1 pidfile=$2 port=$3 mark
  kafka_pid_running "$pidfile" || return 2
  mark=$(cat "$dir/server.log.mark" 2>/dev/null || echo 0)
  kafka_port_open "$port" &&
    tail -n "+$((mark + 1))" "$dir/server.log" 2>/dev/null | grep -q 'Kafka Server started'
}

# Waits up to SECONDS for kafka_started: 0 started, 1 the node exited, 2 timed out. A node of a
# cluster starts only once a majority of the controllers answer: launch them all, then wait.
kafka_wait_started() {
  local dir=$1 pidfile=$2 port=$3 seconds=$4 rc
  local until=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$until" ]; do
    rc=0
    kafka_started "$dir" "$pidfile" "$port" || rc=$?
    case $rc in
      0) return 0 ;;
      2) return 1 ;;
    esac
    sleep 0.5
  done
  return 2
}

# Stops the nodes of the PIDFILEs together (SIGTERM: a controlled shutdown, which moves
# partition leadership away first), then SIGKILLs any still running after
# $KAM_KAFKA_STOP_GRACE_S seconds (30; a test that throws the data away may wait less). The last
# node of a cluster that lost a node can wait that long: it has no controller quorum left.
kafka_stop() {
  local pidfile pid left grace=${KAM_KAFKA_STOP_GRACE_S:-30}
  for pidfile in "$@"; do
    kafka_pid_running "$pidfile" && { kill -TERM "$(cat "$pidfile")" 2>/dev/null || true; }
  done
  for _ in $(seq 1 $((grace * 2))); do
    left=0
    for pidfile in "$@"; do kafka_pid_running "$pidfile" && left=1; done
    [ "$left" = 0 ] && break
    sleep 0.5
  done
  for pidfile in "$@"; do
    if kafka_pid_running "$pidfile"; then
      pid=$(cat "$pidfile")
      echo "$kafka_me: the node with pid $pid did not stop within $grace s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
}
