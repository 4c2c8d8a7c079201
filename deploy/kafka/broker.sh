#!/usr/bin/env bash
# Starts and stops a one-node Apache Kafka broker in KRaft mode on 127.0.0.1.
#
#   broker.sh start  [--dir DIR] [--port PORT] [--secure | --advertise-port P]
#                                                format (first time), start, wait until it answers
#   broker.sh stop   [--dir DIR]                 stop cleanly (SIGTERM, then SIGKILL after 30 s)
#   broker.sh status [--dir DIR]                 exit 0 when running
#
# DIR (default: $KAM_KAFKA_DIR or <repo>/.run/kafka) holds the configuration, the data and the log.
# PORT (default 9092) is the client listener (PLAINTEXT); the controller listens on PORT+1.
# The jars come from deploy/kafka/lib, fetched by scripts/setup.sh (mvn package in this folder).
# deploy/kafka/lib.sh holds what this script shares with cluster.sh (three nodes).
# On success `start` prints the bootstrap address (127.0.0.1:PORT) on stdout and nothing else.
#
# --secure adds, for testing the clients' TLS and SASL settings (a throwaway set-up, not a
# production one), three listeners beside PLAINTEXT (which the broker itself keeps using):
#   PORT+2  SASL_PLAINTEXT  SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN
#   PORT+3  SSL             TLS with a client certificate required (ssl.client.auth=required)
#   PORT+4  SASL_SSL        TLS (no client certificate) and SCRAM-SHA-256, SCRAM-SHA-512, PLAIN
# On the first secure start it makes, with openssl, in DIR/tls/: a CA (ca.pem, ca.key), the
# broker's certificate for IP:127.0.0.1 and DNS:localhost (broker.pem: key and chain, read by
# Kafka's PEM keystore: no keytool, no JKS), a client certificate (client.pem, client.key), and
# a random password in sasl-password (chmod 600) for the user `kam`: its SCRAM credentials are
# added when the storage is formatted (StorageTool format --add-scram), or with kafka-configs
# when DIR was formatted before without them; PLAIN's are in server.properties (chmod 600).
# DIR/tls/listeners.env names the addresses and files (KAFKA_SASL_PLAINTEXT=..., KAFKA_SSL=...).
# A client then uses, e.g.:
#   --brokers 127.0.0.1:PORT+2 --kafka-security-protocol sasl_plaintext
#     --kafka-sasl-mechanism SCRAM-SHA-256 --kafka-sasl-username kam
#     --kafka-sasl-password-file DIR/tls/sasl-password
#   --brokers 127.0.0.1:PORT+3 --kafka-security-protocol ssl --kafka-ssl-ca DIR/tls/ca.pem
#     --kafka-ssl-cert DIR/tls/client.pem --kafka-ssl-key DIR/tls/client.key
#
# --advertise-port P adds, for fault tests that put a TCP proxy between clients and the broker
# (tests/support/tcp_proxy.h), a second PLAINTEXT client listener on PORT+2 that advertises
# 127.0.0.1:P instead of itself. A client bootstrapped through a proxy on P that forwards to
# PORT+2 learns 127.0.0.1:P from the metadata and so stays behind the proxy; clients of PORT,
# and the broker's own traffic (its controller on PORT+1, PLAINTEXT as its inter-broker
# listener), never pass through it. Not with --secure, whose listeners take PORT+2.
#
# librdkafka before 2.6.1 (Debian 12 has 2.0.2) fails SCRAM against Kafka 4 brokers ("invalid
# credentials" for the right password: it sends a wrong nonce, which Kafka 4 checks strictly);
# with such a client use PLAIN (over SASL_SSL outside tests).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kafka_me=broker.sh
# shellcheck source=lib.sh
. "$here/lib.sh"
cmd=${1:-}
shift || true
dir=${KAM_KAFKA_DIR:-$repo/.run/kafka}
port=9092
secure=false
advertise_port=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) dir=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --secure) secure=true; shift ;;
    --advertise-port) advertise_port=$2; shift 2 ;;
    *) echo "broker.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
if [ -n "$advertise_port" ]; then
  case "$advertise_port" in
    ''|*[!0-9]*) echo "broker.sh: --advertise-port takes a port number, not '$advertise_port'" >&2; exit 2 ;;
  esac
  if $secure; then
    echo "broker.sh: --advertise-port and --secure both take PORT+2; use one" >&2; exit 2
  fi
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pidfile=$dir/broker.pid
log=$dir/broker.log
tls=$dir/tls
sasl_user=kam

running() { kafka_pid_running "$pidfile"; }

# The ports this start listens on.
ports() {
  if $secure; then
    seq "$port" $((port + 4))
  elif [ -n "$advertise_port" ]; then
    echo "$port" $((port + 1)) $((port + 2))
  else
    echo "$port" $((port + 1))
  fi
}

# A throwaway CA, the broker's certificate and a client certificate, made once (--secure).
make_tls() {
  [ -f "$tls/broker.pem" ] && [ -f "$tls/client.pem" ] && [ -f "$tls/sasl-password" ] && return 0
  mkdir -p "$tls"
  chmod 700 "$tls"
  (
    cd "$tls"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=kam throwaway test CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign"
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=serverAuth,clientAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" \
      > broker.ext
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost"
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile broker.ext -out broker-cert.pem
    cat broker.key broker-cert.pem ca.pem > broker.pem
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
      "extendedKeyUsage=clientAuth" > client.ext
    openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj "/CN=kam-client"
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out client.pem
    rm -f broker.csr client.csr broker.ext client.ext ca.srl
    chmod 644 ca.pem client.pem broker-cert.pem
    openssl rand -hex 24 > sasl-password.new
    mv sasl-password.new sasl-password
  ) >> "$log" 2>&1 || { echo "broker.sh: openssl failed making $tls; see $log" >&2; exit 1; }
}

write_config() {
  local cport=$((port + 1))
  local listeners="PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport"
  local advertised="PLAINTEXT://127.0.0.1:$port"
  local map="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if $secure; then
    local sasl="SASL_PLAINTEXT://127.0.0.1:$((port + 2))" ssl="SSL://127.0.0.1:$((port + 3))"
    local sasl_ssl="SASL_SSL://127.0.0.1:$((port + 4))"
    listeners="$listeners,$sasl,$ssl,$sasl_ssl"
    advertised="$advertised,$sasl,$ssl,$sasl_ssl"
    map="$map,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL"
  fi
  if [ -n "$advertise_port" ]; then
    listeners="$listeners,PROXIED://127.0.0.1:$((port + 2))"
    advertised="$advertised,PROXIED://127.0.0.1:$advertise_port"
    map="$map,PROXIED:PLAINTEXT"
  fi
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners
advertised.listeners=$advertised
controller.listener.names=CONTROLLER
listener.security.protocol.map=$map
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
  if $secure; then
    # SCRAM users live in the cluster metadata; PLAIN's (the same user and password) here.
    local scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
    local plain
    plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$sasl_user=\"$(cat "$tls/sasl-password")\";"
    chmod 600 "$dir/server.properties"
    cat >> "$dir/server.properties" <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=$scram
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=$scram
listener.name.sasl_plaintext.plain.sasl.jaas.config=$plain
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=$scram
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$scram
listener.name.sasl_ssl.plain.sasl.jaas.config=$plain
ssl.keystore.type=PEM
ssl.keystore.location=$tls/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.pem
listener.name.ssl.ssl.client.auth=required
listener.name.sasl_ssl.ssl.client.auth=none
PROPS
  fi
  kafka_write_log4j "$dir"
}

java_cmd() { kafka_java "$dir" "$@"; }

start() {
  if running; then
    if $secure && ! grep -q '^listeners=.*SASL_PLAINTEXT://' "$dir/server.properties"; then
      echo "broker.sh: the broker in $dir runs without --secure; stop it first" >&2; exit 1
    fi
    if [ -n "$advertise_port" ] &&
        ! grep -q "^advertised.listeners=.*PROXIED://127.0.0.1:$advertise_port\(,\|$\)" "$dir/server.properties"; then
      echo "broker.sh: the broker in $dir runs without --advertise-port $advertise_port; stop it first" >&2
      exit 1
    fi
    echo "127.0.0.1:$(cat "$dir/port")"; return 0
  fi
  kafka_require_jars
  local p
  for p in $(ports); do
    if kafka_port_open "$p"; then
      echo "broker.sh: port $p is taken by another process" >&2; exit 1
    fi
  done
  if $secure; then make_tls; fi
  write_config
  echo "$port" > "$dir/port"
  if ! kafka_formatted "$dir/data"; then
    local extra=()
    if $secure; then
      local password; password=$(cat "$tls/sasl-password")
      extra=(--add-scram "SCRAM-SHA-256=[name=$sasl_user,password=$password]"
             --add-scram "SCRAM-SHA-512=[name=$sasl_user,password=$password]")
      rm -f "$tls/scram-pending"
    fi
    kafka_format "$dir" "$dir/server.properties" "$(kafka_random_uuid)" "$log" "${extra[@]}"
  elif $secure && [ ! -f "$tls/scram-added" ]; then
    touch "$tls/scram-pending"  # formatted before without the user: added once it is up
  fi
  kafka_launch "$dir" "$dir/server.properties" "$log" "$pidfile"
  local rc=0
  kafka_wait_started "$dir" "$pidfile" "$port" 120 || rc=$?
  case $rc in
    0)
      if $secure; then secure_ready; fi
      echo "127.0.0.1:$port"; return 0 ;;
    1) echo "broker.sh: the broker exited during start-up; see $log and $dir/server.log" >&2; exit 1 ;;
  esac
  echo "broker.sh: the broker did not answer on 127.0.0.1:$port within 120 s; see $log" >&2
  stop; exit 1
}

# After a secure start: the SCRAM user (if the data was formatted without it), the listeners'
# addresses in DIR/tls/listeners.env, and a summary on stderr.
secure_ready() {
  if [ -f "$tls/scram-pending" ]; then
    local password mechanism; password=$(cat "$tls/sasl-password")
    for mechanism in SCRAM-SHA-256 SCRAM-SHA-512; do  # one per request
      if ! java_cmd kafka.admin.ConfigCommand --bootstrap-server "127.0.0.1:$port" --alter \
          --entity-type users --entity-name "$sasl_user" \
          --add-config "$mechanism=[password=$password]" >> "$log" 2>&1; then
        echo "broker.sh: cannot add the SCRAM user $sasl_user; see $log" >&2; stop; exit 1
      fi
    done
    rm -f "$tls/scram-pending"
  fi
  touch "$tls/scram-added"
  cat > "$tls/listeners.env" <<ENV
KAFKA_PLAINTEXT=127.0.0.1:$port
KAFKA_SASL_PLAINTEXT=127.0.0.1:$((port + 2))
KAFKA_SSL=127.0.0.1:$((port + 3))
KAFKA_SASL_SSL=127.0.0.1:$((port + 4))
KAFKA_SASL_USERNAME=$sasl_user
KAFKA_SASL_PASSWORD_FILE=$tls/sasl-password
KAFKA_SSL_CA=$tls/ca.pem
KAFKA_SSL_CERT=$tls/client.pem
KAFKA_SSL_KEY=$tls/client.key
ENV
  echo "broker.sh: secure listeners: SASL_PLAINTEXT 127.0.0.1:$((port + 2)), SSL (client" \
    "certificate required) 127.0.0.1:$((port + 3)), SASL_SSL 127.0.0.1:$((port + 4)); user" \
    "$sasl_user, password in $tls/sasl-password; see $tls/listeners.env" >&2
}

stop() { kafka_stop "$pidfile"; }

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: broker.sh start|stop|status [--dir DIR] [--port PORT] [--secure | --advertise-port P]" >&2; exit 2 ;;
esac
