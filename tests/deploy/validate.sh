#!/usr/bin/env bash
# The deployment files' check in the test command (ctest -R deploy_manifests, label unit):
# deploy/k8s against Kubernetes' schemas (strict, the oldest and newest supported versions)
# and Strimzi's CRDs, deploy/systemd with systemd-analyze verify (skipped, saying so, where
# systemd is not installed), both against the platform's own rules (validate.py says which),
# and then a self-test: broken copies in a temporary folder must be refused. Offline: the
# schemas come from tests/deploy/setup.sh (run by deploy/setup.sh --tests).
#   tests/deploy/validate.sh [BINARY_DIR]     BINARY_DIR: the built kam-* (default build/bin),
#                                             whose --help lists the flags the files may use
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bin=${1:-${KAM_BINARY_DIR:-$root/build/bin}}
python=$here/.cache/venv/bin/python
if [ ! -x "$python" ] || [ ! -d "$here/.cache/strimzi-crds/crds/v1" ]; then
  echo "deploy validation: the validator is not installed; run deploy/setup.sh --tests" \
    "(or tests/deploy/setup.sh)" >&2
  exit 1
fi
start=$(date +%s.%N)
"$python" "$here/validate.py" --repo "$root" --binaries "$bin"
"$python" "$here/validate.py" --repo "$root" --binaries "$bin" --self-test
printf 'deploy validation: %.1f s\n' "$(echo "$(date +%s.%N) - $start" | bc)"
