#!/usr/bin/env bash
# Installs what the platform needs on a fresh Debian 12 machine, and nothing twice:
# the C++ toolchain and libraries from Debian's packages, Java 17 and Maven for the broker,
# the Apache Kafka broker's jars from Maven Central (deploy/kafka/pom.xml), and Node.js
# for the dashboard page's build and buf.
#   deploy/setup.sh            what the platform needs to build and run
#   deploy/setup.sh --tests    also what the tests need (Debian's chromium for the browser
#                              tests and their pinned playwright-core)
# Idempotent: a second run checks and returns quickly.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

packages=(
  build-essential cmake ninja-build pkg-config git openssl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librdkafka-dev librocksdb-dev libgtest-dev libbenchmark-dev libssl-dev libabsl-dev
  libcpp-httplib-dev nlohmann-json3-dev libjemalloc-dev clang-format
  libcli11-dev libyaml-cpp-dev libtomlplusplus-dev tzdata
  # tools/fuzz/run.sh (and ctest fuzz_libfuzzer): clang; libFuzzer and the sanitizers'
  # runtimes (libclang-rt-14-dev, which clang only recommends); llvm-symbolizer for the
  # sanitizers' stack traces (llvm)
  clang libclang-rt-14-dev llvm
  openjdk-17-jre-headless maven
)
for_tests=false
[ "${1:-}" = "--tests" ] && for_tests=true
# The browser tests drive Debian's chromium (no browser is ever downloaded).
$for_tests && packages+=(chromium)
# Node.js and npm run buf (proto lint / breaking checks); the machine's own are used if present.
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

kafka_version=$(sed -n 's|.*<kafka.version>\(.*\)</kafka.version>.*|\1|p' "$here/kafka/pom.xml")
if [ ! -f "$here/kafka/lib/kafka_2.13-$kafka_version.jar" ]; then
  echo "setup: fetching Apache Kafka $kafka_version from Maven Central"
  rm -rf "$here/kafka/lib"
  mvn -q -B -f "$here/kafka/pom.xml" package
fi

if [ ! -x "$here/../tools/buf/node_modules/.bin/buf" ]; then
  echo "setup: installing buf (npm @bufbuild/buf) into tools/buf"
  (cd "$here/../tools/buf" && npm install --no-audit --no-fund --no-package-lock --loglevel=error)
fi

if $for_tests && [ ! -d "$here/../tests/browser/node_modules/playwright-core" ]; then
  echo "setup: installing playwright-core (npm, pinned) into tests/browser"
  (cd "$here/../tests/browser" && npm ci --no-audit --no-fund --loglevel=error)
fi
if $for_tests; then "$here/../tests/deploy/setup.sh"; fi  # the deployment files' validator
