#!/usr/bin/env bash
# The test command: set-up, build, then every test layer (unit, integration, e2e).
# Integration and e2e tests use the broker in KAM_KAFKA_BROKERS; if it is unset this
# script starts a private one-node KRaft broker for the run (with broker.sh's --secure
# listeners on the next four ports, which the TLS/SASL tests share through
# KAM_KAFKA_SECURE_DIR) and stops it afterwards.
# The bounded libFuzzer run (ctest fuzz_libfuzzer, label fuzz; tools/fuzz/run.sh) needs a
# clang build of its own, build-fuzz/: when the run includes that test, this script starts
# the build in the background at idle CPU priority (SCHED_IDLE), so that it uses the cores
# the broker-bound tests leave idle and takes none from them; the test waits for it.
#   tests/run.sh                 all layers
#   tests/run.sh -L unit         any ctest arguments narrow the run
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/deploy/build.sh" --tests

broker_dir=""
fuzz_build=""
cleanup() {
  if [ -n "$fuzz_build" ]; then kill -- "-$fuzz_build" 2>/dev/null || true; fi
  if [ -n "$broker_dir" ]; then
    "$root/deploy/kafka/broker.sh" stop --dir "$broker_dir" || true
    rm -rf "$broker_dir"
  fi
}
trap cleanup EXIT
if (cd "$root/build" && ctest -N "$@") | grep ': fuzz_libfuzzer$' >/dev/null; then
  fuzz_dir=${KAM_FUZZ_BUILD:-$root/build-fuzz}
  mkdir -p "$fuzz_dir"
  echo "tests: building $fuzz_dir in the background at idle priority" \
       "(log: $fuzz_dir/fuzz-prebuild.log)"
  idle=()
  command -v chrt >/dev/null && idle+=(chrt --idle 0)
  command -v ionice >/dev/null && idle+=(ionice -c 3)
  setsid "${idle[@]}" nice -n 19 "$root/tools/fuzz/run.sh" --build-only \
    >"$fuzz_dir/fuzz-prebuild.log" 2>&1 </dev/null &
  fuzz_build=$!
fi
if [ -z "${KAM_KAFKA_BROKERS:-}" ]; then
  broker_dir=$(mktemp -d /tmp/kam-test-kafka.XXXXXX)
  port=${KAM_TEST_KAFKA_PORT:-39092}
  echo "tests: starting a private Kafka broker on 127.0.0.1:$port"
  KAM_KAFKA_BROKERS=$("$root/deploy/kafka/broker.sh" start --dir "$broker_dir" --port "$port" \
    --secure)
  KAM_KAFKA_SECURE_DIR=$broker_dir
  export KAM_KAFKA_BROKERS KAM_KAFKA_SECURE_DIR
fi
echo "tests: using Kafka at $KAM_KAFKA_BROKERS"
cd "$root/build"
if [ $# -gt 0 ]; then
  ctest --output-on-failure --timeout 600 "$@"
else
  ctest --output-on-failure --timeout 600
fi
