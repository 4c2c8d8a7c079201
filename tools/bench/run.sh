#!/usr/bin/env bash
# The full benchmark: builds the platform and the Kafka Streams peer (Maven), starts a
# private broker unless KAM_KAFKA_BROKERS names one, and runs kam-bench with every section
# and every baseline. Minutes, not seconds; the test command runs only `kam-bench --quick`.
#   tools/bench/run.sh                      report to stdout and build/bench/report.{md,json}
#   tools/bench/run.sh --only 'ingestion rebuild'   (any kam-bench flags)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
"$root/deploy/build.sh"
command -v javac >/dev/null 2>&1 || {
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless >/dev/null
}
peer=$root/tools/bench/streams-peer
if [ ! -f "$peer/target/kam-streams-peer.jar" ] || [ -n "$(find "$peer/src" "$peer/pom.xml" -newer "$peer/target/kam-streams-peer.jar" -print -quit)" ]; then
  echo "bench: building the Kafka Streams peer (mvn package)"
  mvn -q -B -f "$peer/pom.xml" package
fi
dir=""
cleanup() {
  if [ -n "$dir" ]; then "$root/deploy/kafka/broker.sh" stop --dir "$dir" || true; rm -rf "$dir"; fi
}
trap cleanup EXIT
if [ -z "${KAM_KAFKA_BROKERS:-}" ]; then
  dir=$(mktemp -d /tmp/kam-bench-kafka.XXXXXX)
  KAM_KAFKA_BROKERS=$("$root/deploy/kafka/broker.sh" start --dir "$dir" --port "${KAM_BENCH_KAFKA_PORT:-39392}")
fi
mkdir -p "$root/build/bench"
"$root/build/bin/kam-bench" --brokers "$KAM_KAFKA_BROKERS" \
  --streams-peer "$peer/target/kam-streams-peer.jar" \
  --markdown "$root/build/bench/report.md" --json "$root/build/bench/report.json" "$@"
