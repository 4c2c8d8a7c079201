#!/usr/bin/env bash
# Installs what tests/deploy/validate.sh needs to check deploy/k8s and deploy/systemd
# offline, pinned, into tests/deploy/.cache (gitignored):
#   .cache/venv           Python packages of requirements.txt (kubernetes-validate carries
#                         Kubernetes' JSON schemas), from PyPI, wheels only
#   .cache/strimzi-crds   Strimzi's CRDs (crds/v1/*.yaml) from Maven Central (pom.xml)
# Run by deploy/setup.sh --tests. Idempotent: a second run compares a stamp of the pins and
# returns at once; a changed pin reinstalls.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$here/.cache
stamp=$cache/installed.stamp
want=$(cat "$here/requirements.txt" "$here/pom.xml" | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$cache/venv/bin/python" ] &&
   ls "$cache"/strimzi-crds/crds/v1/*-Crd-kafka.yaml >/dev/null 2>&1; then
  exit 0
fi
mkdir -p "$cache"
rm -f "$stamp"

echo "setup: installing the deployment validator (PyPI: kubernetes-validate; Maven Central: Strimzi CRDs) into tests/deploy/.cache"
# Debian's python3 makes a virtual environment only with python3-venv (ensurepip).
if ! python3 -m venv --clear "$cache/venv" >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  python3 -m venv --clear "$cache/venv"
fi
"$cache/venv/bin/pip" install --quiet --disable-pip-version-check --no-input --only-binary=:all: \
  --requirement "$here/requirements.txt"

rm -rf "$cache/strimzi-crds"
mvn -q -B -Dstyle.color=never -f "$here/pom.xml" package
ls "$cache"/strimzi-crds/crds/v1/*-Crd-kafka.yaml >/dev/null

echo "$want" > "$stamp"
